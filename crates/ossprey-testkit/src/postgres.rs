//! A throwaway PostgreSQL server for tests.
//!
//! [`PgServer::start`] runs `initdb` into a fresh temporary directory and starts
//! `postgres` on 127.0.0.1 on a free port (plus a Unix socket in the same
//! directory), with trust authentication for the user `ossprey`. PostgreSQL refuses
//! to run as root, so when the tests run as root the cluster belongs to `nobody`.
//! The server is killed and its directory removed on drop.
//!
//! When the PostgreSQL binaries are missing, `start` returns an error the tests
//! print as `SKIP: <reason>`. The binaries are looked up in `$OSSPREY_PG_BIN`, then
//! the newest `/usr/lib/postgresql/*/bin`, then `PATH`.

use std::fs;
use std::io::Read;
use std::net::{TcpListener, TcpStream};
use std::os::unix::fs::chown;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// How long a start may take before it counts as failed.
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// A running (or stopped) test PostgreSQL server. See the module docs.
#[derive(Debug)]
pub struct PgServer {
    bin: PathBuf,
    root: PathBuf,
    data: PathBuf,
    port: u16,
    /// uid/gid the server runs as (`nobody` when the tests run as root).
    owner: Option<(u32, u32)>,
    child: Option<Child>,
    starts: u32,
}

impl PgServer {
    /// Creates a cluster in a temporary directory and starts it.
    pub fn start() -> Result<PgServer, String> {
        let bin = find_bin().ok_or_else(|| {
            "PostgreSQL binaries not found (set OSSPREY_PG_BIN, or apt-get install postgresql)"
                .to_owned()
        })?;
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let root = std::env::temp_dir().join(format!("ossprey-pg-{}-{nanos}", std::process::id()));
        fs::create_dir_all(&root).map_err(|e| format!("creating {}: {e}", root.display()))?;
        let owner = if is_root() {
            let ids = nobody_ids();
            chown(&root, Some(ids.0), Some(ids.1))
                .map_err(|e| format!("chown {} to nobody: {e}", root.display()))?;
            Some(ids)
        } else {
            None
        };
        let port = free_port()?;
        let mut server = PgServer {
            bin,
            data: root.join("data"),
            root,
            port,
            owner,
            child: None,
            starts: 0,
        };
        let out = server
            .command("initdb")
            .args([
                "-U",
                "ossprey",
                "--auth=trust",
                "-E",
                "UTF8",
                "--no-sync",
                "-D",
            ])
            .arg(&server.data)
            .output()
            .map_err(|e| format!("running initdb: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "initdb failed: {}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        server.start_server()?;
        Ok(server)
    }

    /// `postgres://ossprey@127.0.0.1:PORT/postgres`.
    pub fn url(&self) -> String {
        self.url_for("postgres")
    }

    /// The URL of database `db` on this server.
    pub fn url_for(&self, db: &str) -> String {
        format!("postgres://ossprey@127.0.0.1:{}/{db}", self.port)
    }

    /// The TCP port the server listens on (the same across restarts).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Creates database `name` and returns its URL.
    pub fn create_database(&self, name: &str) -> Result<String, String> {
        let out = self
            .command("createdb")
            .args(["-h", "127.0.0.1", "-U", "ossprey", "-p"])
            .arg(self.port.to_string())
            .arg(name)
            .output()
            .map_err(|e| format!("running createdb: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "createdb {name} failed: {}",
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        Ok(self.url_for(name))
    }

    /// Whether the server process is running.
    pub fn is_running(&mut self) -> bool {
        self.child
            .as_mut()
            .is_some_and(|c| matches!(c.try_wait(), Ok(None)))
    }

    /// Stops the server with a fast shutdown (clients are disconnected, the data is
    /// kept). A no-op when it is not running.
    pub fn stop(&mut self) -> Result<(), String> {
        self.shutdown("fast")
    }

    /// Stops the server like a crash (`immediate` mode: no checkpoint; the next
    /// start runs crash recovery).
    pub fn crash(&mut self) -> Result<(), String> {
        self.shutdown("immediate")
    }

    /// Starts the server again on the same port and data directory.
    pub fn start_again(&mut self) -> Result<(), String> {
        if self.is_running() {
            return Ok(());
        }
        self.start_server()
    }

    /// [`stop`](Self::stop) then [`start_again`](Self::start_again).
    pub fn restart(&mut self) -> Result<(), String> {
        self.stop()?;
        self.start_again()
    }

    /// The server's log so far (every start), for failure messages.
    pub fn log(&self) -> String {
        let mut all = String::new();
        for n in 1..=self.starts {
            if let Ok(mut f) = fs::File::open(self.log_path(n)) {
                let _ = f.read_to_string(&mut all);
            }
        }
        all
    }

    fn log_path(&self, n: u32) -> PathBuf {
        self.root.join(format!("postgres-{n}.log"))
    }

    fn shutdown(&mut self, mode: &str) -> Result<(), String> {
        let Some(mut child) = self.child.take() else {
            return Ok(());
        };
        if matches!(child.try_wait(), Ok(Some(_))) {
            return Ok(());
        }
        let out = self
            .command("pg_ctl")
            .args(["stop", "-w", "-t", "30", "-m", mode, "-D"])
            .arg(&self.data)
            .output();
        let stopped = out.as_ref().is_ok_and(|o| o.status.success());
        if !stopped {
            // pg_ctl could not stop it: kill the postmaster so nothing is left behind.
            let _ = child.kill();
        }
        let _ = child.wait();
        if stopped {
            Ok(())
        } else {
            Err(format!(
                "pg_ctl stop -m {mode} failed: {}",
                out.map(|o| String::from_utf8_lossy(&o.stderr).into_owned())
                    .unwrap_or_else(|e| e.to_string())
            ))
        }
    }

    fn start_server(&mut self) -> Result<(), String> {
        self.starts += 1;
        let log_path = self.log_path(self.starts);
        let log = fs::File::create(&log_path)
            .map_err(|e| format!("creating {}: {e}", log_path.display()))?;
        if let Some((uid, gid)) = self.owner {
            chown(&log_path, Some(uid), Some(gid)).map_err(|e| format!("chown log: {e}"))?;
        }
        let log_err = log.try_clone().map_err(|e| format!("log file: {e}"))?;
        let child = self
            .command("postgres")
            .arg("-D")
            .arg(&self.data)
            .arg("-p")
            .arg(self.port.to_string())
            .arg("-k")
            .arg(&self.root)
            .args([
                "-c",
                "listen_addresses=127.0.0.1",
                // A test cluster: durability off for speed (a crash of the machine
                // loses a test, not data).
                "-c",
                "fsync=off",
                "-c",
                "full_page_writes=off",
                "-c",
                "max_connections=300",
            ])
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log_err)
            .spawn()
            .map_err(|e| format!("starting postgres: {e}"))?;
        self.child = Some(child);
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            let ready = fs::read_to_string(&log_path)
                .is_ok_and(|l| l.contains("ready to accept connections"));
            if ready && TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return Ok(());
            }
            if let Some(child) = self.child.as_mut()
                && let Ok(Some(status)) = child.try_wait()
            {
                self.child = None;
                return Err(format!(
                    "postgres exited ({status}) while starting: {}",
                    fs::read_to_string(&log_path).unwrap_or_default()
                ));
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "postgres did not become ready in {START_TIMEOUT:?}: {}",
                    fs::read_to_string(&log_path).unwrap_or_default()
                ));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// A command for one of the PostgreSQL binaries, as the cluster's owner, run
    /// from the cluster's directory (the owner may not be able to read ours).
    fn command(&self, program: &str) -> Command {
        let mut cmd = Command::new(self.bin.join(program));
        cmd.current_dir(&self.root);
        cmd.env_remove("PGDATA").env("LC_ALL", "C");
        if let Some((uid, gid)) = self.owner {
            cmd.uid(uid).gid(gid).env("HOME", &self.root);
        }
        cmd
    }
}

impl Drop for PgServer {
    fn drop(&mut self) {
        // `crash` kills the postmaster itself when pg_ctl cannot stop it.
        let _ = self.crash();
        let _ = fs::remove_dir_all(&self.root);
    }
}

fn find_bin() -> Option<PathBuf> {
    let has_all = |dir: &Path| {
        ["initdb", "postgres", "pg_ctl", "createdb"]
            .iter()
            .all(|b| dir.join(b).is_file())
    };
    if let Some(dir) = std::env::var_os("OSSPREY_PG_BIN").map(PathBuf::from) {
        return has_all(&dir).then_some(dir);
    }
    let mut versions: Vec<(u32, PathBuf)> = fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let v = e.file_name().to_str()?.parse::<u32>().ok()?;
            Some((v, e.path().join("bin")))
        })
        .filter(|(_, dir)| has_all(dir))
        .collect();
    versions.sort();
    if let Some((_, dir)) = versions.pop() {
        return Some(dir);
    }
    std::env::var_os("PATH").and_then(|paths| std::env::split_paths(&paths).find(|d| has_all(d)))
}

fn is_root() -> bool {
    // The owner of /proc/self is the process's effective uid.
    fs::metadata("/proc/self").is_ok_and(|m| std::os::unix::fs::MetadataExt::uid(&m) == 0)
}

/// `nobody`'s uid and gid from /etc/passwd (65534 when it is not listed).
fn nobody_ids() -> (u32, u32) {
    fs::read_to_string("/etc/passwd")
        .ok()
        .and_then(|p| {
            p.lines().find_map(|line| {
                let mut f = line.split(':');
                if f.next()? != "nobody" {
                    return None;
                }
                let uid = f.nth(1)?.parse().ok()?;
                let gid = f.next()?.parse().ok()?;
                Some((uid, gid))
            })
        })
        .unwrap_or((65534, 65534))
}

fn free_port() -> Result<u16, String> {
    let l = TcpListener::bind(("127.0.0.1", 0)).map_err(|e| format!("finding a free port: {e}"))?;
    l.local_addr()
        .map(|a| a.port())
        .map_err(|e| format!("finding a free port: {e}"))
}
