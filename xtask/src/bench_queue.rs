//! `cargo xtask bench-queue [--jobs N] [--threads T] [--backend sqlite|postgres|both]
//! [--pypi-per-day N] [--npm-per-day N] [--static-ms-pypi MS] [--static-ms-npm MS]
//! [--sandbox-per-hour N] [--peak F]` — throughput of the job queue (issue 6's
//! benchmark) and the worker capacity it implies.
//!
//! For each backend, on a fresh database (a temporary SQLite file; a PostgreSQL
//! server started through `ossprey_testkit::postgres`):
//!
//! - **enqueue**: `N` jobs (default 5,000) enqueued one by one from one thread, each
//!   its own transaction, as `ossprey watch` does;
//! - **re-enqueue**: the same `N` again (all `Existing`: the idempotency check);
//! - **lease+complete**: `T` threads (default 4) each lease a job and complete it
//!   with a small report (stored with its analysis row in the same transaction) until
//!   the queue is empty — the whole per-job cost the store adds to a worker.
//!
//! Then it computes how many worker machines the combined PyPI + npm release rate
//! needs, static-only and with the sandbox, from the measured analysis costs passed
//! in (defaults: the figures measured on this machine by `cargo xtask eval` and
//! `cargo xtask bench-sandbox`) and the release rates (see `--pypi-per-day`).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail, ensure};
use ossprey_model::{Ecosystem, PackageRef, Report, Verdict};
use ossprey_store::{Enqueued, Job, NewJob, Store};
use ossprey_testkit::postgres::PgServer;

/// What to measure and the inputs of the capacity paragraph.
struct Options {
    jobs: usize,
    threads: usize,
    sqlite: bool,
    postgres: bool,
    pypi_per_day: f64,
    npm_per_day: f64,
    static_ms_pypi: f64,
    static_ms_npm: f64,
    sandbox_per_hour: f64,
    peak: f64,
}

/// One backend's numbers.
struct Measured {
    backend: &'static str,
    enqueue_per_s: f64,
    reenqueue_per_s: f64,
    complete_per_s: f64,
}

/// Entry point of `cargo xtask bench-queue`.
pub fn run(args: &[String]) -> anyhow::Result<()> {
    let mut o = Options {
        jobs: 5000,
        threads: 4,
        sqlite: true,
        postgres: true,
        // Release rates: see the paragraph printed at the end for where they come from.
        pypi_per_day: 25_000.0,
        npm_per_day: 100_000.0,
        // `cargo xtask eval` on this machine: median static scan per package.
        static_ms_pypi: 14.0,
        static_ms_npm: 2.0,
        // `cargo xtask bench-sandbox` on this machine (2 cores): all three phases.
        sandbox_per_hour: 5842.0,
        // Releases are not spread evenly over the day; size for this many times the mean.
        peak: 3.0,
    };
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut num = |flag: &str| -> anyhow::Result<f64> {
            let v: f64 = it
                .next()
                .with_context(|| format!("{flag} needs a value"))?
                .parse()
                .with_context(|| format!("{flag} needs a number"))?;
            ensure!(v.is_finite() && v > 0.0, "{flag} must be positive");
            Ok(v)
        };
        match a.as_str() {
            "--jobs" => o.jobs = num("--jobs")? as usize,
            "--threads" => o.threads = num("--threads")? as usize,
            "--pypi-per-day" => o.pypi_per_day = num("--pypi-per-day")?,
            "--npm-per-day" => o.npm_per_day = num("--npm-per-day")?,
            "--static-ms-pypi" => o.static_ms_pypi = num("--static-ms-pypi")?,
            "--static-ms-npm" => o.static_ms_npm = num("--static-ms-npm")?,
            "--sandbox-per-hour" => o.sandbox_per_hour = num("--sandbox-per-hour")?,
            "--peak" => o.peak = num("--peak")?,
            "--backend" => {
                let b = it.next().context("--backend sqlite|postgres|both")?;
                (o.sqlite, o.postgres) = match b.as_str() {
                    "sqlite" => (true, false),
                    "postgres" => (false, true),
                    "both" => (true, true),
                    other => bail!("unknown backend {other:?}"),
                };
            }
            other => bail!("unknown argument {other:?}"),
        }
    }
    ensure!(
        o.jobs > 0 && o.threads > 0,
        "--jobs and --threads must be positive"
    );

    let mut results = Vec::new();
    if o.sqlite {
        let dir = tempfile::tempdir()?;
        let url = format!("sqlite://{}", dir.path().join("bench.db").display());
        results.push(measure("sqlite", &url, &o)?);
    }
    if o.postgres {
        match PgServer::start() {
            Ok(server) => results.push(measure("postgres", &server.url(), &o)?),
            Err(reason) => eprintln!("postgres: SKIP: {reason}"),
        }
    }

    println!(
        "\nqueue throughput ({} jobs, {} lease+complete threads, {} cores):",
        o.jobs,
        o.threads,
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    println!(
        "  {:<10} {:>12} {:>14} {:>18}",
        "backend", "enqueue/s", "re-enqueue/s", "lease+complete/s"
    );
    for m in &results {
        println!(
            "  {:<10} {:>12.0} {:>14.0} {:>18.0}",
            m.backend, m.enqueue_per_s, m.reenqueue_per_s, m.complete_per_s
        );
    }
    print_capacity(&o, &results);
    Ok(())
}

fn measure(backend: &'static str, url: &str, o: &Options) -> anyhow::Result<Measured> {
    eprintln!("{backend}: opening {url}");
    let store = Arc::new(Store::open(url).with_context(|| format!("opening {url}"))?);
    let new_jobs: Vec<NewJob> = (0..o.jobs)
        .map(|i| NewJob {
            ecosystem: if i % 2 == 0 {
                Ecosystem::Pypi
            } else {
                Ecosystem::Npm
            },
            name: format!("bench-package-{i}"),
            version: "1.0.0".into(),
            kind: "fake".into(),
            priority: (i % 4) as i32,
        })
        .collect();

    let started = Instant::now();
    for job in &new_jobs {
        let e = store.enqueue(job)?;
        ensure!(matches!(e, Enqueued::New(_)), "{e:?} on a fresh queue");
    }
    let enqueue = started.elapsed();

    let started = Instant::now();
    for job in &new_jobs {
        let e = store.enqueue(job)?;
        ensure!(matches!(e, Enqueued::Existing(_)), "{e:?} on re-enqueue");
    }
    let reenqueue = started.elapsed();

    let done = AtomicU64::new(0);
    let started = Instant::now();
    std::thread::scope(|s| -> anyhow::Result<()> {
        let handles: Vec<_> = (0..o.threads)
            .map(|t| {
                let (store, done) = (&store, &done);
                s.spawn(move || -> anyhow::Result<()> {
                    let worker = format!("bench-{t}");
                    while let Some(job) = store.lease(&worker, Duration::from_secs(600))? {
                        store.complete(&job, &report_for(&job))?;
                        done.fetch_add(1, Ordering::Relaxed);
                    }
                    Ok(())
                })
            })
            .collect();
        for h in handles {
            h.join()
                .map_err(|_| anyhow::anyhow!("a bench thread panicked"))??;
        }
        Ok(())
    })?;
    let complete = started.elapsed();
    let done = done.into_inner();
    ensure!(
        done == o.jobs as u64,
        "{backend}: completed {done} of {} jobs",
        o.jobs
    );
    let counts = store.queue_counts()?;
    ensure!(counts.done == o.jobs as u64, "{backend}: {counts:?}");

    let per_s = |d: Duration| o.jobs as f64 / d.as_secs_f64().max(1e-9);
    let m = Measured {
        backend,
        enqueue_per_s: per_s(enqueue),
        reenqueue_per_s: per_s(reenqueue),
        complete_per_s: per_s(complete),
    };
    eprintln!(
        "{backend}: enqueue {:.2}s, re-enqueue {:.2}s, lease+complete {:.2}s",
        enqueue.as_secs_f64(),
        reenqueue.as_secs_f64(),
        complete.as_secs_f64()
    );
    Ok(m)
}

/// A small report, like a clean static scan's (a benign verdict, no findings).
fn report_for(job: &Job) -> Report {
    let mut r = Report::new(format!(
        "{}:{}@{}",
        job.ecosystem.as_str(),
        job.name,
        job.version
    ));
    r.package = Some(PackageRef {
        ecosystem: job.ecosystem,
        name: job.name.clone(),
        version: Some(job.version.clone()),
    });
    r.verdict = Some(Verdict::Benign);
    r.score = Some(0.0);
    r.duration_ms = 14;
    r
}

fn print_capacity(o: &Options, results: &[Measured]) {
    let per_day = o.pypi_per_day + o.npm_per_day;
    let per_s_mean = per_day / 86_400.0;
    let per_s_peak = per_s_mean * o.peak;
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get()) as f64;
    // Static: CPU-bound, one package per core at a time.
    let static_core_s_per_day =
        (o.pypi_per_day * o.static_ms_pypi + o.npm_per_day * o.static_ms_npm) / 1000.0;
    let static_machines_mean = static_core_s_per_day / 86_400.0 / cores;
    let static_machines_peak = static_machines_mean * o.peak;
    let sandbox_machines_mean = per_day / 24.0 / o.sandbox_per_hour;
    let sandbox_machines_peak = sandbox_machines_mean * o.peak;
    let slowest_queue = results
        .iter()
        .map(|m| (m.backend, m.complete_per_s.min(m.enqueue_per_s)))
        .min_by(|a, b| a.1.total_cmp(&b.1));

    println!("\nworker capacity for PyPI + npm:");
    println!(
        "  release rate: {:.0} PyPI + {:.0} npm = {per_day:.0} releases/day = {per_s_mean:.2}/s \
         on average, {per_s_peak:.2}/s at {:.0}x peak",
        o.pypi_per_day, o.npm_per_day, o.peak
    );
    println!(
        "  static only ({:.0} ms/PyPI, {:.0} ms/npm per package, {cores:.0} cores/machine): \
         {static_core_s_per_day:.0} core-seconds/day = {static_machines_mean:.3} machines on \
         average, {static_machines_peak:.3} at peak -> {} machine(s)",
        o.static_ms_pypi,
        o.static_ms_npm,
        static_machines_peak.ceil().max(1.0)
    );
    println!(
        "  with the sandbox ({:.0} analyses/hour/machine): {sandbox_machines_mean:.2} machines on \
         average, {sandbox_machines_peak:.2} at peak -> {} machine(s)",
        o.sandbox_per_hour,
        sandbox_machines_peak.ceil().max(1.0)
    );
    if let Some((backend, rate)) = slowest_queue {
        println!(
            "  the queue itself: the slowest measured backend ({backend}) moves {rate:.0} jobs/s, \
             {:.0}x the peak release rate",
            rate / per_s_peak.max(1e-9)
        );
    }
    println!(
        "\n  Where the rates come from: none of the registries' feeds or statistics pages is \
         reachable from this machine, so the release rates are inputs (--pypi-per-day, \
         --npm-per-day), not measurements. The PyPI default, 25,000 new releases/day, is the \
         figure issue 6's brief gives, marked there as to be checked; it could not be checked \
         from here. The npm default, 4x PyPI, is an assumption (npm has several times PyPI's \
         packages). Replace both with what `ossprey watch` enqueues in a day once it runs \
         against the real feeds. The analysis costs are this machine's: static medians from \
         `cargo xtask eval` (download time not included: fetching is I/O-bound and overlaps \
         across --concurrency threads), the sandbox rate from `cargo xtask bench-sandbox` \
         (install+import+execute, {cores:.0} cores). The answer is linear in every input: \
         machines = releases/day x cost per release / capacity per machine."
    );
}
