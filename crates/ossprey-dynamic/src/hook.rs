//! The sandbox's [`NetnsHook`] backed by the sinkhole.
//!
//! `configure` runs inside the sandbox's fresh network namespace (in its init, before
//! any package code): [`ossprey_sinkhole::configure`] brings `lo` up, routes every IPv4
//! address to `lo`, redirects every TCP connection to the sinkhole's port, opens the
//! sinkhole's sockets there and verifies that the namespace has no interface but `lo`
//! (it fails otherwise, and the sandbox then refuses to run the command). `serve` runs
//! in the supervisor with those sockets and starts the sinkhole on its own thread;
//! [`SinkholeHook::finish`] stops it after the phase and returns what it recorded.
//!
//! One hook serves one phase: the sinkhole's log then holds exactly that phase's
//! traffic.

use std::os::fd::OwnedFd;
use std::sync::Mutex;

use ossprey_sandbox::NetnsHook;
use ossprey_sinkhole::{NetworkLog, RunningSinkhole, Sinkhole, SinkholeConfig, SinkholeSockets};

/// A [`NetnsHook`] that seals the namespace with the sinkhole and serves it.
#[derive(Debug, Default)]
pub struct SinkholeHook {
    config: SinkholeConfig,
    running: Mutex<Option<RunningSinkhole>>,
    /// Why serving failed, if it did (reported as a phase note).
    failure: Mutex<Option<String>>,
}

impl SinkholeHook {
    /// A hook with the sinkhole's default ports (TCP 1, DNS 53).
    pub fn new() -> Self {
        Self::default()
    }

    /// Stops the sinkhole and returns its log; `Err` with the reason when it never
    /// served (the sandbox failed before the sockets were passed, or they were unusable).
    pub fn finish(&self) -> Result<NetworkLog, String> {
        let running = self.running.lock().map(|mut r| r.take()).unwrap_or(None);
        match running {
            Some(r) => Ok(r.stop()),
            None => Err(self
                .failure
                .lock()
                .ok()
                .and_then(|f| f.clone())
                .unwrap_or_else(|| "the sinkhole never started".into())),
        }
    }

    fn fail(&self, why: String) {
        if let Ok(mut f) = self.failure.lock() {
            *f = Some(why);
        }
    }
}

impl NetnsHook for SinkholeHook {
    fn configure(&self) -> Result<Vec<OwnedFd>, String> {
        let sockets = ossprey_sinkhole::configure(&self.config).map_err(|e| e.to_string())?;
        Ok(sockets.into_fds().into())
    }

    fn serve(&self, sockets: Vec<OwnedFd>) {
        let started = SinkholeSockets::from_fds(sockets).and_then(|s| Sinkhole::default().spawn(s));
        match started {
            Ok(running) => {
                if let Ok(mut slot) = self.running.lock() {
                    // A previous serve of the same hook would be a bug of the caller:
                    // stop it rather than leak its thread.
                    if let Some(old) = slot.replace(running) {
                        let _ = old.stop();
                    }
                }
            }
            Err(e) => self.fail(format!("sinkhole: {e}")),
        }
    }
}
