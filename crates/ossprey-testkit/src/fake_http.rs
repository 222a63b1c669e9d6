//! A tiny scripted HTTP/1.1 server on loopback, for tests only.
//!
//! Each route answers from a script of responses (the last one repeats), may
//! delay before answering, and counts its requests. Unknown paths get 404. Every
//! connection is closed after one response, so clients never reuse a socket.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

/// One scripted answer.
#[derive(Clone, Debug)]
pub struct Reply {
    pub status: u16,
    pub body: Vec<u8>,
    pub delay: Duration,
    pub content_type: String,
    /// Omit `Content-Length`: the body then ends when the connection closes.
    pub no_length: bool,
}

impl Reply {
    pub fn ok(body: impl Into<Vec<u8>>) -> Self {
        Self {
            status: 200,
            body: body.into(),
            delay: Duration::ZERO,
            content_type: "application/octet-stream".into(),
            no_length: false,
        }
    }
    pub fn json(body: &serde_json::Value) -> Self {
        Self {
            content_type: "application/json".into(),
            ..Self::ok(body.to_string())
        }
    }
    pub fn status(status: u16) -> Self {
        Self {
            status,
            ..Self::ok(format!("status {status}"))
        }
    }
    pub fn without_length(mut self) -> Self {
        self.no_length = true;
        self
    }
    pub fn delayed(mut self, delay: Duration) -> Self {
        self.delay = delay;
        self
    }
}

/// A request as the server saw it.
#[derive(Clone, Debug)]
pub struct SeenRequest {
    pub path: String,
    pub headers: HashMap<String, String>,
}

#[derive(Debug, Default)]
struct State {
    routes: HashMap<String, (Vec<Reply>, usize)>,
    seen: Vec<SeenRequest>,
}

#[derive(Debug)]
pub struct FakeServer {
    pub base: String,
    state: Arc<Mutex<State>>,
}

impl FakeServer {
    pub fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        let state = Arc::new(Mutex::new(State::default()));
        let shared = Arc::clone(&state);
        // The thread is left running: it dies with the test process.
        thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let state = Arc::clone(&shared);
                thread::spawn(move || serve(stream, &state));
            }
        });
        Self { base, state }
    }

    /// Scripts `path` (path only, no query) to answer with `replies` in order, the last repeating.
    pub fn route(&self, path: &str, replies: Vec<Reply>) {
        self.state
            .lock()
            .expect("lock")
            .routes
            .insert(path.to_owned(), (replies, 0));
    }

    /// How many requests `path` received.
    pub fn hits(&self, path: &str) -> usize {
        self.state
            .lock()
            .expect("lock")
            .seen
            .iter()
            .filter(|r| r.path == path)
            .count()
    }

    pub fn total_hits(&self) -> usize {
        self.state.lock().expect("lock").seen.len()
    }

    pub fn requests(&self, path: &str) -> Vec<SeenRequest> {
        self.state
            .lock()
            .expect("lock")
            .seen
            .iter()
            .filter(|r| r.path == path)
            .cloned()
            .collect()
    }
}

fn serve(stream: TcpStream, state: &Mutex<State>) {
    let Ok(clone) = stream.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(clone);
    let mut line = String::new();
    if reader.read_line(&mut line).is_err() {
        return;
    }
    let target = line.split_whitespace().nth(1).unwrap_or("/").to_owned();
    let path = target.split('?').next().unwrap_or("/").to_owned();
    let mut headers = HashMap::new();
    loop {
        let mut h = String::new();
        match reader.read_line(&mut h) {
            Ok(0) | Err(_) => break,
            Ok(_) if h.trim().is_empty() => break,
            Ok(_) => {
                if let Some((k, v)) = h.split_once(':') {
                    headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_owned());
                }
            }
        }
    }
    let reply = {
        let mut st = state.lock().expect("lock");
        st.seen.push(SeenRequest {
            path: path.clone(),
            headers,
        });
        match st.routes.get_mut(&path) {
            Some((replies, next)) if !replies.is_empty() => {
                let r = replies[(*next).min(replies.len() - 1)].clone();
                *next += 1;
                r
            }
            _ => Reply::status(404),
        }
    };
    thread::sleep(reply.delay);
    let mut out = stream;
    let length = if reply.no_length {
        String::new()
    } else {
        format!("Content-Length: {}\r\n", reply.body.len())
    };
    let head = format!(
        "HTTP/1.1 {} X\r\nContent-Type: {}\r\n{length}Connection: close\r\n\r\n",
        reply.status, reply.content_type
    );
    let _ = out.write_all(head.as_bytes());
    let _ = out.write_all(&reply.body);
    let _ = out.flush();
}

/// An address where nothing listens.
pub fn dead_base() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    drop(listener);
    format!("http://{addr}")
}
