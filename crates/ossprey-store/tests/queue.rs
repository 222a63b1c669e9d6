//! The job queue on both backends: leases and their expiry, lost leases, backoff
//! and dead letter, idempotent enqueue, priorities, release, kinds, and many
//! threads leasing at once. Each test runs on a fresh SQLite file and on a fresh
//! PostgreSQL database (a server the test starts; `SKIP:` when PostgreSQL is not
//! installed).

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ossprey_model::{Ecosystem, PackageRef, Report, Verdict};
use ossprey_store::{
    Enqueued, FailOutcome, Job, JobState, LeaseOptions, NewJob, RetryPolicy, Store, StoreError,
};

/// Fresh stores for each scenario.
mod common {
    use ossprey_store::Store;

    /// A store and what keeps its database alive.
    pub struct Fresh {
        pub store: Store,
        _dir: tempfile::TempDir,
    }

    pub fn sqlite(_name: &str) -> Option<Fresh> {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("queue.db").display());
        Some(Fresh {
            store: Store::open(&url).unwrap(),
            _dir: dir,
        })
    }
}

fn job(name: &str, priority: i32) -> NewJob {
    NewJob {
        ecosystem: Ecosystem::Pypi,
        name: name.to_string(),
        version: "1.0".to_string(),
        kind: "fake".to_string(),
        priority,
    }
}

fn report_for(job: &Job) -> Report {
    let mut r = Report::new(format!("pypi:{}@{}", job.name, job.version));
    r.package = Some(PackageRef {
        ecosystem: job.ecosystem,
        name: job.name.clone(),
        version: Some(job.version.clone()),
    });
    r.verdict = Some(Verdict::Benign);
    r.score = Some(0.0);
    r
}

fn analyses(store: &Store) -> i64 {
    store.count_rows("analyses").unwrap()
}

fn lease(store: &Store, worker: &str, ms: u64) -> Option<Job> {
    store.lease(worker, Duration::from_millis(ms)).unwrap()
}

fn assert_lease_lost(result: Result<impl std::fmt::Debug, StoreError>) {
    match result {
        Err(e) => assert!(e.is_lease_lost(), "expected a lost lease, got {e}"),
        Ok(v) => panic!("expected a lost lease, got Ok({v:?})"),
    }
}

fn enqueue_is_idempotent(store: &Store) {
    let first = store.enqueue(&job("a", 0)).unwrap();
    let Enqueued::New(id) = first else {
        panic!("first enqueue must be new: {first:?}")
    };
    assert_eq!(store.enqueue(&job("a", 0)).unwrap(), Enqueued::Existing(id));
    // Same package, other kind or version: other jobs.
    let scan = NewJob {
        kind: "scan".into(),
        ..job("a", 0)
    };
    assert!(matches!(store.enqueue(&scan).unwrap(), Enqueued::New(other) if other != id));
    let v2 = NewJob {
        version: "2.0".into(),
        ..job("a", 0)
    };
    assert!(matches!(store.enqueue(&v2).unwrap(), Enqueued::New(_)));

    // Done: enqueueing again changes nothing.
    let leased = store
        .lease_with("w", Duration::from_secs(60), &only_kind("fake"))
        .unwrap()
        .unwrap();
    assert_eq!(leased.id, id);
    store.complete(&leased, &report_for(&leased)).unwrap();
    assert_eq!(store.enqueue(&job("a", 5)).unwrap(), Enqueued::Existing(id));
    let record = store.job(id).unwrap().unwrap();
    assert_eq!(record.state, JobState::Done);
    assert_eq!(record.priority, 0, "re-enqueue must not touch the job");

    // Dead: likewise.
    // Highest priority, so it is the next one leased.
    store.enqueue(&job("d", 10)).unwrap();
    let d = store
        .lease_with("w", Duration::from_secs(60), &only_kind("fake"))
        .unwrap()
        .unwrap();
    let once = RetryPolicy {
        max_attempts: 1,
        ..RetryPolicy::default()
    };
    assert_eq!(
        store.fail_with(&d, "boom", &once).unwrap(),
        FailOutcome::Dead
    );
    assert_eq!(d.name, "d");
    assert_eq!(
        store.enqueue(&job("d", 10)).unwrap(),
        Enqueued::Existing(d.id)
    );
    assert_eq!(store.job(d.id).unwrap().unwrap().state, JobState::Dead);
    assert!(store.enqueue(&job("", 0)).is_err(), "empty name");
    assert!(
        store.enqueue(&job(&"n".repeat(2000), 0)).is_err(),
        "huge name"
    );
    assert!(
        store
            .enqueue(&NewJob {
                kind: "Not A Kind".into(),
                ..job("x", 0)
            })
            .is_err()
    );
}

fn concurrent_enqueues_make_one_job(store: &Store) {
    let new = std::sync::atomic::AtomicUsize::new(0);
    std::thread::scope(|s| {
        for _ in 0..6 {
            s.spawn(|| {
                for i in 0..50 {
                    if let Enqueued::New(_) = store.enqueue(&job(&format!("race-{i}"), 0)).unwrap()
                    {
                        new.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    }
                }
            });
        }
    });
    assert_eq!(new.into_inner(), 50, "each job is new exactly once");
    assert_eq!(store.queue_counts().unwrap().queued, 50);
}

fn only_kind(kind: &str) -> LeaseOptions {
    LeaseOptions {
        kinds: vec![kind.to_string()],
        ..LeaseOptions::default()
    }
}

fn priority_then_age(store: &Store) {
    for (name, priority) in [("low", -1), ("mid-old", 5), ("high", 10), ("mid-new", 5)] {
        store.enqueue(&job(name, priority)).unwrap();
    }
    let order: Vec<String> = std::iter::from_fn(|| lease(store, "w", 60_000))
        .map(|j| j.name)
        .collect();
    assert_eq!(order, ["high", "mid-old", "mid-new", "low"]);
}

fn expired_lease_is_leasable_again(store: &Store) {
    store.enqueue(&job("slow", 0)).unwrap();
    let a = lease(store, "a", 600).unwrap();
    assert_eq!(a.attempts, 1);
    assert!(
        lease(store, "b", 600).is_none(),
        "a live lease must not be shared"
    );
    std::thread::sleep(Duration::from_millis(800));
    let b = lease(store, "b", 60_000).expect("an expired lease is leasable");
    assert_eq!(b.id, a.id);
    assert_eq!(b.attempts, 2, "an expired lease counts as an attempt");
    assert_ne!(b.lease_token, a.lease_token);
}

fn lost_lease_cannot_write(store: &Store) {
    store.enqueue(&job("contested", 0)).unwrap();
    let a = lease(store, "a", 150).unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let b = lease(store, "b", 60_000).unwrap();
    assert_eq!(a.id, b.id);

    assert_lease_lost(store.complete(&a, &report_for(&a)));
    assert_eq!(analyses(store), 0, "a refused complete must store nothing");
    assert_lease_lost(store.fail(&a, "late failure"));
    assert_lease_lost(store.release(&a));
    assert_lease_lost(store.renew(&a, Duration::from_secs(60)));
    let record = store.job(a.id).unwrap().unwrap();
    assert_eq!(record.state, JobState::Leased);
    assert_eq!(record.leased_by.as_deref(), Some("b"));
    assert_eq!(record.last_error, None);

    store.complete(&b, &report_for(&b)).unwrap();
    assert_eq!(analyses(store), 1);
    let record = store.job(b.id).unwrap().unwrap();
    assert_eq!(record.state, JobState::Done);
    assert!(record.analysis_id.is_some(), "done jobs name their result");
    // Completing twice is refused as well: one job, one result row.
    assert_lease_lost(store.complete(&b, &report_for(&b)));
    assert_eq!(analyses(store), 1);
}

fn backoff_then_dead_letter(store: &Store) {
    store.enqueue(&job("flaky", 0)).unwrap();
    let policy = RetryPolicy {
        max_attempts: 3,
        base_backoff: Duration::from_millis(600),
        max_backoff: Duration::from_secs(10),
    };
    let first = lease(store, "w", 60_000).unwrap();
    assert_eq!(
        store.fail_with(&first, "error 1", &policy).unwrap(),
        FailOutcome::Retry {
            after: Duration::from_millis(600)
        }
    );
    let record = store.job(first.id).unwrap().unwrap();
    assert_eq!(
        (record.state, record.last_error.as_deref()),
        (JobState::Queued, Some("error 1"))
    );
    assert!(
        lease(store, "w", 60_000).is_none(),
        "not before its backoff"
    );
    std::thread::sleep(Duration::from_millis(800));
    let second = lease(store, "w", 60_000).expect("leasable after the backoff");
    assert_eq!(second.attempts, 2);
    assert_eq!(
        store.fail_with(&second, "error 2", &policy).unwrap(),
        FailOutcome::Retry {
            after: Duration::from_millis(1200)
        }
    );
    assert!(lease(store, "w", 60_000).is_none());
    std::thread::sleep(Duration::from_millis(1400));
    let third = lease(store, "w", 60_000).unwrap();
    assert_eq!(third.attempts, 3);
    assert_eq!(
        store.fail_with(&third, "error 3", &policy).unwrap(),
        FailOutcome::Dead
    );
    let record = store.job(third.id).unwrap().unwrap();
    assert_eq!(record.state, JobState::Dead);
    assert_eq!(record.last_error.as_deref(), Some("error 3"));
    assert_eq!(record.attempts, 3);
    std::thread::sleep(Duration::from_millis(50));
    assert!(
        lease(store, "w", 60_000).is_none(),
        "dead jobs are never leased"
    );
    assert_eq!(store.queue_counts().unwrap().dead, 1);
}

fn crash_on_last_attempt_dead_letters(store: &Store) {
    store.enqueue(&job("kills-its-worker", 0)).unwrap();
    let options = LeaseOptions {
        max_attempts: 2,
        ..LeaseOptions::default()
    };
    let short = Duration::from_millis(100);
    let first = store.lease_with("a", short, &options).unwrap().unwrap();
    std::thread::sleep(Duration::from_millis(200));
    let second = store.lease_with("b", short, &options).unwrap().unwrap();
    assert_eq!((second.id, second.attempts), (first.id, 2));
    std::thread::sleep(Duration::from_millis(200));
    assert!(store.lease_with("c", short, &options).unwrap().is_none());
    let record = store.job(first.id).unwrap().unwrap();
    assert_eq!(record.state, JobState::Dead);
    let error = record.last_error.unwrap_or_default();
    assert!(error.contains("expired") && error.contains('b'), "{error}");
}

fn release_does_not_count_an_attempt(store: &Store) {
    store.enqueue(&job("interrupted", 0)).unwrap();
    let a = lease(store, "a", 60_000).unwrap();
    assert_eq!(a.attempts, 1);
    store.release(&a).unwrap();
    let record = store.job(a.id).unwrap().unwrap();
    assert_eq!((record.state, record.attempts), (JobState::Queued, 0));
    let b = lease(store, "b", 60_000).expect("a released job is leasable at once");
    assert_eq!((b.id, b.attempts), (a.id, 1));
    assert_lease_lost(store.complete(&a, &report_for(&a)));
}

fn renew_keeps_the_lease(store: &Store) {
    store.enqueue(&job("long", 0)).unwrap();
    let a = lease(store, "a", 1000).unwrap();
    for _ in 0..3 {
        std::thread::sleep(Duration::from_millis(400));
        store.renew(&a, Duration::from_millis(1000)).unwrap();
    }
    // 1.2 s after leasing for 1 s: still a's.
    assert!(lease(store, "b", 1000).is_none());
    store.complete(&a, &report_for(&a)).unwrap();
}

fn kinds_filter(store: &Store) {
    store
        .enqueue(&NewJob {
            kind: "analyze".into(),
            ..job("sandboxed", 100)
        })
        .unwrap();
    store.enqueue(&job("fast", 0)).unwrap();
    let only_fake = only_kind("fake");
    let got = store
        .lease_with("w", Duration::from_secs(60), &only_fake)
        .unwrap()
        .unwrap();
    assert_eq!(got.name, "fast");
    assert!(
        store
            .lease_with("w", Duration::from_secs(60), &only_fake)
            .unwrap()
            .is_none()
    );
    assert_eq!(store.pending_jobs(&["fake".into()]).unwrap(), 1);
    assert_eq!(store.pending_jobs(&["analyze".into()]).unwrap(), 1);
    assert_eq!(store.pending_jobs(&[]).unwrap(), 2);
}

fn threads_take_each_job_once(store: &Store) {
    const JOBS: usize = 200;
    for i in 0..JOBS {
        store.enqueue(&job(&format!("pkg-{i}"), 0)).unwrap();
    }
    let store = Arc::new(store);
    let seen = Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for t in 0..6 {
            let (store, seen) = (&store, &seen);
            s.spawn(move || {
                let worker = format!("t{t}");
                while let Some(job) = lease(store, &worker, 60_000) {
                    store.complete(&job, &report_for(&job)).unwrap();
                    seen.lock().unwrap().push(job.id);
                }
            });
        }
    });
    let seen = seen.into_inner().unwrap();
    let unique: HashSet<i64> = seen.iter().copied().collect();
    assert_eq!(seen.len(), JOBS, "every job leased exactly once");
    assert_eq!(unique.len(), JOBS);
    assert_eq!(analyses(&store), i64::try_from(JOBS).unwrap());
    assert_eq!(store.queue_counts().unwrap().done, JOBS as u64);
}

/// Declares one `#[test]` per scenario for a backend; `$open` gives a fresh store
/// (or `None` to skip).
macro_rules! scenarios {
    ($backend:ident, $open:path: $($name:ident),* $(,)?) => {
        mod $backend {
            $(
                #[test]
                fn $name() {
                    let Some(store) = $open(stringify!($name)) else { return };
                    super::$name(&store.store);
                }
            )*
        }
    };
}

scenarios!(sqlite, crate::common::sqlite:
    enqueue_is_idempotent,
    concurrent_enqueues_make_one_job,
    priority_then_age,
    expired_lease_is_leasable_again,
    lost_lease_cannot_write,
    backoff_then_dead_letter,
    crash_on_last_attempt_dead_letters,
    release_does_not_count_an_attempt,
    renew_keeps_the_lease,
    kinds_filter,
    threads_take_each_job_once,
);

/// One scenario: runs against a fresh store, panics on failure.
type Scenario = fn(&Store);

/// The same scenarios on PostgreSQL: one server (starting one costs seconds), a
/// fresh database per scenario, run one after the other.
#[test]
fn postgres_scenarios() {
    let server = match ossprey_testkit::postgres::PgServer::start() {
        Ok(server) => server,
        Err(reason) => {
            eprintln!("SKIP: {reason}");
            return;
        }
    };
    let scenarios: [(&str, Scenario); 11] = [
        ("enqueue_is_idempotent", enqueue_is_idempotent),
        (
            "concurrent_enqueues_make_one_job",
            concurrent_enqueues_make_one_job,
        ),
        ("priority_then_age", priority_then_age),
        (
            "expired_lease_is_leasable_again",
            expired_lease_is_leasable_again,
        ),
        ("lost_lease_cannot_write", lost_lease_cannot_write),
        ("backoff_then_dead_letter", backoff_then_dead_letter),
        (
            "crash_on_last_attempt_dead_letters",
            crash_on_last_attempt_dead_letters,
        ),
        (
            "release_does_not_count_an_attempt",
            release_does_not_count_an_attempt,
        ),
        ("renew_keeps_the_lease", renew_keeps_the_lease),
        ("kinds_filter", kinds_filter),
        ("threads_take_each_job_once", threads_take_each_job_once),
    ];
    for (name, scenario) in scenarios {
        eprintln!("postgres: {name}");
        let url = server.create_database(name).unwrap();
        let store = Store::open(&url).unwrap();
        scenario(&store);
    }
}
