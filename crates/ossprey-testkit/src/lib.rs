//! Test support shared by ossprey's crates. Never a dependency of shipped code.
//!
//! * [`FakeServer`]: a scripted HTTP/1.1 server on 127.0.0.1 that stands in for
//!   a registry, so tests never reach a real network.
//! * [`archives`]: builders for the tar, tar.gz and zip packages tests serve and scan.

pub mod archives;
mod fake_http;
pub mod postgres;

pub use fake_http::{FakeServer, Reply, SeenRequest, dead_base};
