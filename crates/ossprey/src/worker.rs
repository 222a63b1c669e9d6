//! `ossprey worker`: drains the job queue of the store (`ossprey-store`'s
//! `queue`).
//!
//! `--concurrency N` threads each lease a job, run it and complete it (the report
//! is stored and the job marked done in one transaction), or fail it (retried
//! later with backoff, dead-lettered after `--max-attempts`). One renewer thread
//! extends the leases of the jobs in flight, so a long analysis keeps its job while
//! a killed worker's jobs become leasable again once their lease runs out.
//!
//! On SIGTERM or SIGINT the worker stops leasing, lets the jobs in flight finish
//! for `--grace-secs`, gives back (releases) those still running, and exits 0.
//! A second signal exits at once (status 1); the leases then expire as for a
//! crash. Transient store errors (PostgreSQL restarting, SQLite busy) are logged
//! on stderr and retried with backoff, without operator action.
//!
//! Job kinds: `scan` runs the static pipeline on `eco:name@version`, `analyze`
//! adds the sandbox, and `fake` is a fast deterministic stand-in that builds a
//! tiny report without network or sandbox. `fake` exists for tests and
//! benchmarks of the queue itself (`worker_chaos.rs`, `cargo xtask bench-queue`);
//! a name starting with `fail-` makes a fake job fail, to exercise retries.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use clap::Args;
use ossprey_model::{PackageRef, Report, Verdict};
use ossprey_store::{FailOutcome, Job, LeaseOptions, RetryPolicy, Store, StoreError};
use sha2::{Digest, Sha256};

use crate::cli::{DynamicArgs, Format, LimitArgs, RegistryArgs, ScanArgs};
use crate::pipeline::{self, Context};

/// Job kinds a worker knows how to run.
const KINDS: [&str; 3] = ["scan", "analyze", "fake"];

/// Report error codes that say "try again later" rather than "this package is
/// broken": such a job is failed (and retried with backoff) instead of completed
/// with the error stored as its result.
const RETRYABLE_REPORT_ERRORS: [&str; 6] = [
    "registry-unreachable",
    "io",
    "hash-mismatch",
    "bad-registry-response",
    // This host cannot run the sandbox (now): another worker may.
    "sandbox-unavailable",
    "runtime-unavailable",
];

/// Arguments of `ossprey worker`.
#[derive(Debug, Args)]
pub struct WorkerArgs {
    /// Jobs run in parallel (threads).
    #[arg(long, short = 'c', value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=1024))]
    pub concurrency: u32,

    /// Store URL: sqlite://PATH or postgres://… [default: a SQLite file in the user's data dir].
    #[arg(long, env = "OSSPREY_DB", value_name = "URL")]
    pub db: Option<String>,

    /// Lease duration in seconds; the lease of a running job is renewed every third
    /// of it, and a dead worker's jobs are leased again once it has passed.
    #[arg(long, value_name = "SECS", default_value_t = 300.0)]
    pub lease_secs: f64,

    /// Attempts before a job is dead-lettered (its last error is kept).
    #[arg(long, value_name = "N", default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub max_attempts: u32,

    /// Run at most one job, then exit.
    #[arg(long, conflicts_with = "exit_when_empty")]
    pub once: bool,

    /// Exit once no job is queued or leased (instead of polling for new ones).
    #[arg(long)]
    pub exit_when_empty: bool,

    /// Job kinds to take, comma-separated: scan, analyze, fake (a test/benchmark
    /// kind: a tiny deterministic report, no network).
    #[arg(long, value_delimiter = ',', default_values_t = ["scan".to_string(), "analyze".to_string()])]
    pub kinds: Vec<String>,

    /// After SIGTERM/SIGINT, how long jobs in flight may run before they are
    /// released back to the queue.
    #[arg(long, value_name = "SECS", default_value_t = 30.0)]
    pub grace_secs: f64,

    /// How often an idle worker looks for new jobs, in seconds.
    #[arg(long, value_name = "SECS", default_value_t = 1.0)]
    pub poll_secs: f64,

    /// How long each `fake` job takes, in milliseconds (tests and benchmarks).
    #[arg(long, value_name = "MS", default_value_t = 0)]
    pub fake_ms: u64,

    /// Name of this worker in the queue [default: HOST:PID].
    #[arg(long, value_name = "NAME")]
    pub worker_id: Option<String>,

    /// No line per job on stderr (errors and retries are still logged).
    #[arg(long, short = 'q')]
    pub quiet: bool,

    /// Allowlist file for `scan`/`analyze` jobs (`[[allow]]` entries with a reason).
    #[arg(long, env = "OSSPREY_CONFIG", value_name = "PATH")]
    pub config: Option<PathBuf>,

    #[command(flatten)]
    pub registry: RegistryArgs,

    #[command(flatten)]
    pub limits: LimitArgs,

    #[command(flatten)]
    pub dynamic: DynamicArgs,
}

/// Runs `ossprey worker` until the queue is empty (`--exit-when-empty`), one job is
/// done (`--once`), or a signal stops it. Errors only on a setup problem or a
/// store error that is not transient.
pub fn run(args: WorkerArgs) -> anyhow::Result<()> {
    let lease = secs_arg("--lease-secs", args.lease_secs)?;
    anyhow::ensure!(
        lease >= Duration::from_millis(100),
        "--lease-secs must be at least 0.1"
    );
    let grace = secs_arg("--grace-secs", args.grace_secs)?;
    let poll = secs_arg("--poll-secs", args.poll_secs)?;
    let mut kinds = args.kinds.clone();
    kinds.sort();
    kinds.dedup();
    for kind in &kinds {
        anyhow::ensure!(
            KINDS.contains(&kind.as_str()),
            "unknown job kind {kind:?} in --kinds (known: {})",
            KINDS.join(", ")
        );
    }

    // Signals first: a SIGTERM that arrives while the runtime is being provisioned
    // must still stop the worker cleanly.
    let stop = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGTERM, signal_hook::consts::SIGINT] {
        // A second signal while stopping exits at once.
        signal_hook::flag::register_conditional_shutdown(signal, 1, Arc::clone(&stop))
            .context("installing signal handlers")?;
        signal_hook::flag::register(signal, Arc::clone(&stop))
            .context("installing signal handlers")?;
    }

    let url = args.db.clone().unwrap_or_else(Store::default_url);
    let store = Arc::new(open_store(&url, &stop)?);

    let WorkerArgs {
        config,
        registry,
        limits,
        dynamic,
        ..
    } = args;
    let scan_args = ScanArgs {
        targets: Vec::new(),
        format: Format::Jsonl,
        jobs: Some(1),
        quiet: true,
        fail_on: None,
        files: false,
        config,
        registry,
        limits,
        store: Default::default(),
    };
    // A host without a working sandbox must not take `analyze` jobs only to fail
    // them: leave them to workers that can run them.
    if kinds.iter().any(|k| k == "analyze")
        && let Some(why) = crate::sandbox_check::host_check(false).unavailable_reason()
    {
        eprintln!("ossprey worker: not taking analyze jobs: the sandbox cannot run here: {why}");
        kinds.retain(|k| k != "analyze");
        anyhow::ensure!(!kinds.is_empty(), "no job kind left that this host can run");
    }
    let wants = |k: &str| kinds.iter().any(|x| x == k);
    let scan_ctx = if wants("scan") {
        Some(Context::new(&scan_args, None).context("setting up the scan pipeline")?)
    } else {
        None
    };
    let analyze_ctx = if wants("analyze") {
        Some(Context::new(&scan_args, Some(&dynamic)).context("setting up the sandbox")?)
    } else {
        None
    };

    let worker_id = args.worker_id.unwrap_or_else(default_worker_id);
    let shared = Arc::new(Shared {
        store,
        stop,
        lease,
        poll,
        lease_options: LeaseOptions {
            kinds: kinds.clone(),
            max_attempts: args.max_attempts,
        },
        retry: RetryPolicy {
            max_attempts: args.max_attempts,
            ..RetryPolicy::default()
        },
        once: args.once,
        exit_when_empty: args.exit_when_empty,
        quiet: args.quiet,
        fake_delay: Duration::from_millis(args.fake_ms),
        scan_ctx,
        analyze_ctx,
        in_flight: Mutex::new(HashMap::new()),
    });
    if !args.quiet {
        eprintln!(
            "ossprey worker {worker_id}: {} thread(s), kinds {}, lease {:.1}s, store {}",
            args.concurrency,
            kinds.join(","),
            lease.as_secs_f64(),
            redact_url(&url)
        );
    }

    let threads = if args.once { 1 } else { args.concurrency };
    let handles: Vec<JoinHandle<anyhow::Result<()>>> = (0..threads)
        .map(|i| {
            let shared = Arc::clone(&shared);
            let name = format!("{worker_id}/{i}");
            std::thread::Builder::new()
                .name(format!("worker-{i}"))
                .spawn(move || {
                    let result = shared.work(&name);
                    if result.is_err() {
                        // A store error nobody can wait out (full disk, read-only
                        // database, …): the other threads stop leasing too.
                        shared.stop.store(true, Ordering::SeqCst);
                    }
                    result
                })
                .context("starting a worker thread")
        })
        .collect::<anyhow::Result<_>>()?;
    {
        let shared = Arc::clone(&shared);
        std::thread::Builder::new()
            .name("lease-renewer".into())
            .spawn(move || shared.renew_leases())
            .context("starting the lease renewer")?;
    }

    // Wait for the threads; after a signal, for at most the grace period.
    let mut stopping_since: Option<Instant> = None;
    loop {
        if handles.iter().all(JoinHandle::is_finished) {
            break;
        }
        if shared.stop.load(Ordering::SeqCst) {
            let since = *stopping_since.get_or_insert_with(|| {
                let n = lock(&shared.in_flight).len();
                eprintln!(
                    "ossprey worker: stopping: no new jobs; waiting up to {:.0}s for {n} in flight",
                    grace.as_secs_f64()
                );
                Instant::now()
            });
            if since.elapsed() >= grace {
                shared.release_in_flight();
                break;
            }
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    // Threads still running a job past the grace period are abandoned (their jobs
    // were released); the others tell how they ended.
    let mut first_error = None;
    for handle in handles {
        if !handle.is_finished() {
            continue;
        }
        match handle.join() {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                first_error.get_or_insert(e);
            }
            Err(_) => {
                first_error.get_or_insert(anyhow::anyhow!("a worker thread panicked"));
            }
        }
    }
    match first_error {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

/// State shared by the worker threads, the renewer and the main thread.
struct Shared {
    store: Arc<Store>,
    stop: Arc<AtomicBool>,
    lease: Duration,
    poll: Duration,
    lease_options: LeaseOptions,
    retry: RetryPolicy,
    once: bool,
    exit_when_empty: bool,
    quiet: bool,
    fake_delay: Duration,
    scan_ctx: Option<Context>,
    analyze_ctx: Option<Context>,
    /// Jobs leased and not yet completed, failed or released, by id: what the
    /// renewer extends and what a stop after the grace period gives back.
    in_flight: Mutex<HashMap<i64, Job>>,
}

/// What running one job gave.
enum JobOutcome {
    /// A report to store (possibly with an `error` that retrying would not fix).
    Report(Box<Report>),
    /// Retry later.
    Failed(String),
}

impl Shared {
    fn stopping(&self) -> bool {
        self.stop.load(Ordering::SeqCst)
    }

    /// One worker thread: lease, run, complete, until told to stop.
    fn work(&self, name: &str) -> anyhow::Result<()> {
        while !self.stopping() {
            let Some(leased) = self.with_retry("leasing a job", || {
                self.store.lease_with(name, self.lease, &self.lease_options)
            })?
            else {
                return Ok(()); // stopped while the store was unreachable
            };
            let Some(job) = leased else {
                if self.once {
                    return Ok(());
                }
                if self.exit_when_empty {
                    let pending = self.with_retry("counting pending jobs", || {
                        self.store.pending_jobs(&self.lease_options.kinds)
                    })?;
                    if pending == Some(0) {
                        return Ok(());
                    }
                }
                self.sleep_unless_stopped(jitter(self.poll));
                continue;
            };
            lock(&self.in_flight).insert(job.id, job.clone());
            let started = Instant::now();
            let outcome = self.run_job(&job);
            // What happened, for the log line.
            let finished: anyhow::Result<Option<String>> = match &outcome {
                JobOutcome::Report(report) => self
                    .with_retry("completing a job", || self.store.complete(&job, report))
                    .map(|done| done.map(|()| "done".to_string())),
                JobOutcome::Failed(error) => self
                    .with_retry("failing a job", || {
                        self.store.fail_with(&job, error, &self.retry)
                    })
                    .map(|failed| {
                        failed.map(|outcome| match outcome {
                            FailOutcome::Retry { after } => {
                                format!("failed, retry in {:.0}s: {error}", after.as_secs_f64())
                            }
                            FailOutcome::Dead => format!("failed, dead-lettered: {error}"),
                        })
                    }),
            };
            lock(&self.in_flight).remove(&job.id);
            let what = format!(
                "job {} {}:{}@{} ({}, attempt {})",
                job.id,
                job.ecosystem.as_str(),
                job.name,
                job.version,
                job.kind,
                job.attempts
            );
            match finished {
                Ok(Some(result)) => {
                    if !self.quiet {
                        let ms = started.elapsed().as_millis();
                        eprintln!("ossprey worker {name}: {what} {result} ({ms} ms)");
                    }
                }
                // Stopped while the store was unreachable: the lease will expire.
                Ok(None) => return Ok(()),
                Err(e)
                    if e.downcast_ref::<StoreError>()
                        .is_some_and(StoreError::is_lease_lost) =>
                {
                    // Another worker owns the job now (our lease expired, or it was
                    // released at shutdown); its result is the one that counts.
                    eprintln!("ossprey worker {name}: {what}: lease lost, result dropped");
                }
                Err(e) => return Err(e),
            }
            if self.once {
                return Ok(());
            }
        }
        Ok(())
    }

    /// Runs the analysis a job asks for. Never panics on the job's contents: the
    /// name and version come from the queue and are validated by the spec parser.
    fn run_job(&self, job: &Job) -> JobOutcome {
        let target = format!("{}:{}@{}", job.ecosystem.as_str(), job.name, job.version);
        let ctx = match job.kind.as_str() {
            "fake" => return fake_analysis(job, &target, self.fake_delay),
            "scan" => self.scan_ctx.as_ref(),
            "analyze" => self.analyze_ctx.as_ref(),
            _ => None,
        };
        let Some(ctx) = ctx else {
            // Leasing filters by kind, so this is a job kind this binary does not know.
            return JobOutcome::Failed(format!("unknown job kind {:?}", job.kind));
        };
        let report = pipeline::scan_target(ctx, &target);
        if let Some(error) = &report.error
            && RETRYABLE_REPORT_ERRORS.contains(&error.code.as_str())
        {
            return JobOutcome::Failed(format!("{}: {}", error.code, error.message));
        }
        JobOutcome::Report(Box::new(report))
    }

    /// Runs `op`, retrying transient store errors with exponential backoff (logged
    /// on stderr) for as long as the worker is not stopped. `Ok(None)`: stopped.
    fn with_retry<T>(
        &self,
        what: &str,
        mut op: impl FnMut() -> Result<T, StoreError>,
    ) -> anyhow::Result<Option<T>> {
        let mut delay = Duration::from_millis(50);
        let mut failures = 0u32;
        loop {
            match op() {
                Ok(value) => {
                    if failures > 0 {
                        eprintln!("ossprey worker: store reachable again ({what})");
                    }
                    return Ok(Some(value));
                }
                Err(e) if e.is_transient() => {
                    failures += 1;
                    eprintln!(
                        "ossprey worker: transient store error while {what} (retry {failures} in {} ms): {e}",
                        delay.as_millis()
                    );
                    // Completing is retried even while stopping: the grace period
                    // bounds it, and a stored result beats a re-run.
                    if self.stopping() && what == "leasing a job" {
                        return Ok(None);
                    }
                    std::thread::sleep(jitter(delay));
                    delay = (delay * 2).min(Duration::from_secs(5));
                }
                Err(e) => return Err(anyhow::Error::new(e).context(what.to_string())),
            }
        }
    }

    fn sleep_unless_stopped(&self, total: Duration) {
        let deadline = Instant::now() + total;
        while !self.stopping() {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            std::thread::sleep(left.min(Duration::from_millis(20)));
        }
    }

    /// Extends the lease of every job in flight, every third of the lease.
    fn renew_leases(&self) {
        let period = self.lease / 3;
        loop {
            std::thread::sleep(period);
            let jobs: Vec<Job> = lock(&self.in_flight).values().cloned().collect();
            for job in jobs {
                match self.store.renew(&job, self.lease) {
                    Ok(()) => {}
                    Err(e) if e.is_lease_lost() => {
                        eprintln!("ossprey worker: job {}: lease lost while running", job.id);
                    }
                    // Transient or not, the next round tries again; the lease has
                    // two more thirds to go.
                    Err(e) => {
                        eprintln!("ossprey worker: renewing the lease of job {}: {e}", job.id)
                    }
                }
            }
        }
    }

    /// Gives back every job still in flight (grace period over), without counting
    /// an attempt.
    fn release_in_flight(&self) {
        let jobs: Vec<Job> = lock(&self.in_flight).drain().map(|(_, job)| job).collect();
        for job in jobs {
            match self.store.release(&job) {
                Ok(()) => eprintln!("ossprey worker: released job {} back to the queue", job.id),
                Err(e) => eprintln!(
                    "ossprey worker: could not release job {} (its lease will expire): {e}",
                    job.id
                ),
            }
        }
    }
}

/// The `fake` job kind: a tiny deterministic report, for tests and benchmarks of
/// the queue. Takes `delay`; a name starting with `fail-` fails instead.
fn fake_analysis(job: &Job, target: &str, delay: Duration) -> JobOutcome {
    if !delay.is_zero() {
        std::thread::sleep(delay);
    }
    if job.name.starts_with("fail-") {
        return JobOutcome::Failed(format!("fake failure of {target} (name starts with fail-)"));
    }
    let mut report = Report::new(target);
    report.package = Some(PackageRef {
        ecosystem: job.ecosystem,
        name: job.name.clone(),
        version: Some(job.version.clone()),
    });
    let digest = Sha256::digest(format!("ossprey-fake-job:{target}").as_bytes());
    report.sha256 = Some(digest.iter().map(|b| format!("{b:02x}")).collect());
    // No findings, so benign with score 0: what the scoring model gives an empty
    // package, not a made-up judgement.
    report.verdict = Some(Verdict::Benign);
    report.score = Some(0.0);
    report.duration_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX);
    JobOutcome::Report(Box::new(report))
}

/// Opens the store, retrying while it is unreachable (a worker started before its
/// database is the normal case in a fresh deployment).
fn open_store(url: &str, stop: &AtomicBool) -> anyhow::Result<Store> {
    let mut delay = Duration::from_millis(100);
    loop {
        match Store::open(url) {
            Ok(store) => return Ok(store),
            Err(e) if e.is_transient() && !stop.load(Ordering::SeqCst) => {
                eprintln!(
                    "ossprey worker: store {} unreachable, retrying in {} ms: {e}",
                    redact_url(url),
                    delay.as_millis()
                );
                std::thread::sleep(delay);
                delay = (delay * 2).min(Duration::from_secs(5));
            }
            Err(e) => {
                return Err(e).with_context(|| format!("opening the store {}", redact_url(url)));
            }
        }
    }
}

fn secs_arg(flag: &str, secs: f64) -> anyhow::Result<Duration> {
    anyhow::ensure!(
        secs.is_finite() && secs >= 0.0,
        "{flag} must be a non-negative number of seconds"
    );
    Duration::try_from_secs_f64(secs).map_err(|_| anyhow::anyhow!("{flag} {secs} is too large"))
}

fn default_worker_id() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_default();
    let host = if host.is_empty() {
        "localhost".to_string()
    } else {
        host
    };
    format!("{host}:{}", std::process::id())
}

/// The URL without its password, for logs.
fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let Some((userinfo, host)) = rest.split_once('@') else {
        return url.to_string();
    };
    match userinfo.split_once(':') {
        Some((user, _password)) => format!("{scheme}://{user}:***@{host}"),
        None => url.to_string(),
    }
}

/// `d` ± 25 %, so many idle workers do not poll in lockstep.
fn jitter(d: Duration) -> Duration {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |t| t.subsec_nanos());
    // 0.75 .. 1.25 from the clock's low bits: spread, not security.
    let factor = 0.75 + f64::from(nanos % 1000) / 2000.0;
    d.mul_f64(factor)
}

/// Locks `m`, also after a thread panicked while holding it (the map stays usable).
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_the_password_only() {
        assert_eq!(
            redact_url("postgres://ossprey:s3cret@db:5432/ossprey"),
            "postgres://ossprey:***@db:5432/ossprey"
        );
        assert_eq!(redact_url("sqlite:///tmp/x.db"), "sqlite:///tmp/x.db");
    }

    #[test]
    fn jitter_stays_within_a_quarter() {
        for _ in 0..100 {
            let d = jitter(Duration::from_millis(1000));
            assert!(d >= Duration::from_millis(750) && d <= Duration::from_millis(1250));
        }
    }
}
