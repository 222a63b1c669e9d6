//! The throwaway PostgreSQL server: starts, stops, restarts on the same port, and
//! leaves nothing behind.

use std::net::TcpStream;

use ossprey_testkit::postgres::PgServer;

fn accepts(port: u16) -> bool {
    TcpStream::connect(("127.0.0.1", port)).is_ok()
}

#[test]
fn start_stop_restart_and_cleanup() {
    let mut server = match PgServer::start() {
        Ok(s) => s,
        Err(reason) => {
            println!("SKIP: start_stop_restart_and_cleanup: {reason}");
            return;
        }
    };
    let port = server.port();
    assert!(server.is_running() && accepts(port), "{}", server.log());
    assert!(server.url().contains(&format!("127.0.0.1:{port}")));
    let url = server.create_database("scratch").expect("createdb");
    assert!(url.ends_with("/scratch"));

    server.stop().expect("stop");
    assert!(!server.is_running());
    assert!(!accepts(port), "still listening after stop");

    server.start_again().expect("start again");
    assert!(accepts(port));
    server.restart().expect("restart");
    assert!(server.is_running() && accepts(port));
    server.crash().expect("crash");
    assert!(!accepts(port));
    server.start_again().expect("recover after crash");
    assert!(accepts(port));
    // The database made before the restarts survived them.
    assert!(
        server.create_database("scratch").is_err(),
        "scratch vanished"
    );

    drop(server);
    assert!(!accepts(port), "server outlived its PgServer");
}
