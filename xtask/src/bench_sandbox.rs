//! `cargo xtask bench-sandbox [--count N] [--runs-true N] [--no-throughput]
//! [--backend native|gvisor|both]` — what the sandbox costs (issues 4 and 7; run as root
//! with the runtime provisioned).
//!
//! Generates `N` (default 20) small harmless pure-Python sdists (a `setup.py` that
//! imports a few stdlib modules and writes a few files into the home directory) and
//! `N` npm packages whose `postinstall` runs `node -e` doing some fs work, then for
//! each package, in the same run and interleaved:
//!
//! - **unsandboxed**: the install phase's exact command line and environment (the
//!   runtime driver's [`PhaseSpec`]) in a `chroot` into the runtime's root filesystem,
//!   with the spec's writable directories and inputs bound in — the same layout the
//!   sandbox gives, minus the sandbox (as `ossprey-runtime`'s smoke test runs it). It
//!   runs in fresh mount and network namespaces (`unshare --mount --net`), because a
//!   chroot needs its bind mounts somewhere and the packages must reach no network
//!   even here; that costs about a millisecond;
//! - **sandboxed**: `ossprey_dynamic::analyze` with only the install phase — the whole
//!   production path: random identity, scratch directories, sinkhole, namespaces,
//!   seccomp, landlock, the ptrace tracer, the conversion into the report.
//!
//! It prints the sandboxed/unsandboxed ratio per ecosystem and overall (the issue's
//! target: ≤ 1.3×), the setup+teardown cost of the sandbox alone (`/bin/true` in it,
//! with and without the sinkhole, against a plain spawn of `/bin/true`; target ≤ 50 ms)
//! and, unless `--no-throughput`, analyses per hour: every package analysed with all
//! three phases, on as many threads as the machine has cores.
//!
//! `--backend` chooses the sandbox (default `native`); `both` runs every measurement on
//! both backends in the same run, interleaved per package, and adds the gVisor/native
//! ratio of the install phase (sum and median of per-package ratios) and analyses per
//! hour for each backend.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail, ensure};
use ossprey_model::Ecosystem;
use ossprey_runtime::drivers::{
    DriverOptions, InputSource, PackageHints, PackageInput, Phase, PhaseSpec, SandboxLayout,
    phase_spec,
};
use ossprey_runtime::{Options, Runtime};
use ossprey_sandbox::Backend;
use ossprey_testkit::archives::tar_gz;

/// Entry point of `cargo xtask bench-sandbox`.
pub fn run(args: &[String]) -> anyhow::Result<()> {
    let mut count = 20usize;
    let mut runs_true = 30usize;
    let mut throughput = true;
    let mut backends = vec![Backend::Native];
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--count" => count = it.next().context("--count N")?.parse()?,
            "--runs-true" => runs_true = it.next().context("--runs-true N")?.parse()?,
            "--no-throughput" => throughput = false,
            "--backend" => {
                backends = match it.next().map(String::as_str) {
                    Some("both") => Backend::ALL.to_vec(),
                    Some(b) => vec![b.parse().map_err(anyhow::Error::msg)?],
                    None => bail!("--backend native|gvisor|both"),
                }
            }
            other => bail!("unknown argument {other:?}"),
        }
    }
    ensure!(count > 0 && runs_true > 0, "counts must be positive");
    ensure!(
        ossprey_runtime::running_as_root(),
        "bench-sandbox needs root (the sandbox maps the caller's uid; the chroot baseline mounts)"
    );
    if let Some(why) = ossprey_dynamic::sandbox_unavailable() {
        bail!("the sandbox cannot run here: {why}");
    }
    for tool in ["unshare", "chroot"] {
        ensure!(
            ossprey_runtime::find_tool(tool).is_some(),
            "`{tool}` is needed for the unsandboxed baseline"
        );
    }
    if backends.contains(&Backend::Gvisor) {
        ossprey_sandbox::gvisor::probe()
            .map_err(|why| anyhow::anyhow!("--backend gvisor: {why}"))?;
    }
    let runtime = Runtime::open(&Options::from_env())?.context(
        "no sandbox runtime in the cache; build it with `cargo run -p ossprey-runtime --example provision_runtime`",
    )?;
    let dir = tempfile::Builder::new()
        .prefix("ossprey-bench-sandbox-")
        .tempdir()?;
    let mut packages = Vec::new();
    for i in 0..count {
        packages.push(pypi_package(dir.path(), i)?);
        packages.push(npm_package(dir.path(), i)?);
    }
    println!(
        "bench-sandbox: {count} sdists + {count} npm packages, runtime {}, {} cores",
        runtime.key(),
        cores()
    );

    // 1. Install phase, sandboxed (each backend) vs. chroot, interleaved (alternating
    //    which goes first so neither always gets the warmer page cache).
    // Per backend: eco -> (chroot, sandboxed, count); per-package ratios (their median
    // resists the odd slow run on a shared machine); the sandbox's own phase clock.
    let mut totals: BTreeMap<(Backend, &str), (Duration, Duration, usize)> = BTreeMap::new();
    let mut ratios: BTreeMap<(Backend, &str), Vec<f64>> = BTreeMap::new();
    let mut phase_ms: BTreeMap<Backend, u64> = BTreeMap::new();
    let mut gvisor_over_native: Vec<f64> = Vec::new();
    for (n, pkg) in packages.iter().enumerate() {
        let mut order: Vec<Option<Backend>> = vec![None];
        order.extend(backends.iter().copied().map(Some));
        if n % 4 >= 2 {
            order.reverse();
        }
        let mut bare = Duration::ZERO;
        let mut boxed: BTreeMap<Backend, Duration> = BTreeMap::new();
        for step in order {
            match step {
                None => bare = install_unsandboxed(&runtime, pkg)?,
                Some(b) => {
                    let (t, ms) = install_sandboxed(&runtime, pkg, b)?;
                    *phase_ms.entry(b).or_default() += ms;
                    boxed.insert(b, t);
                }
            }
        }
        let eco = eco_name(pkg.ecosystem);
        for (&b, &t) in &boxed {
            for key in [eco, "all"] {
                ratios.entry((b, key)).or_default().push(ms(t) / ms(bare));
            }
            let e = totals.entry((b, eco)).or_default();
            e.0 += bare;
            e.1 += t;
            e.2 += 1;
        }
        if let (Some(g), Some(nat)) = (boxed.get(&Backend::Gvisor), boxed.get(&Backend::Native)) {
            gvisor_over_native.push(ms(*g) / ms(*nat));
        }
    }
    let median = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
    };
    let mut sums: BTreeMap<Backend, Duration> = BTreeMap::new();
    for &backend in &backends {
        println!(
            "\ninstall phase, {} sandbox (sum over packages; each run checked to have succeeded):",
            backend.as_str()
        );
        println!(
            "  {:<6} {:>5} {:>14} {:>14} {:>7} {:>14}",
            "eco", "pkgs", "chroot", "sandboxed", "ratio", "median ratio"
        );
        let (mut all_bare, mut all_boxed) = (Duration::ZERO, Duration::ZERO);
        for ((b, eco), (bare, boxed, n)) in &totals {
            if *b != backend {
                continue;
            }
            all_bare += *bare;
            all_boxed += *boxed;
            println!(
                "  {eco:<6} {n:>5} {:>11.0} ms {:>11.0} ms {:>6.2}x {:>13.2}x   (mean {:.0} vs {:.0} ms)",
                ms(*bare),
                ms(*boxed),
                ms(*boxed) / ms(*bare),
                median(ratios.get(&(backend, *eco)).cloned().unwrap_or_default()),
                ms(*bare) / *n as f64,
                ms(*boxed) / *n as f64
            );
        }
        println!(
            "  {:<6} {:>5} {:>11.0} ms {:>11.0} ms {:>6.2}x {:>13.2}x   (target <= 1.30x for native)",
            "all",
            packages.len(),
            ms(all_bare),
            ms(all_boxed),
            ms(all_boxed) / ms(all_bare),
            median(ratios.get(&(backend, "all")).cloned().unwrap_or_default())
        );
        println!(
            "  (the sandbox's own phase clock summed to {} ms of the {:.0} ms; the rest is analyze()'s setup and report conversion)",
            phase_ms.get(&backend).copied().unwrap_or(0),
            ms(all_boxed)
        );
        sums.insert(backend, all_boxed);
    }
    if let (Some(g), Some(nat)) = (sums.get(&Backend::Gvisor), sums.get(&Backend::Native)) {
        println!(
            "\ngvisor/native, install phase: {:.2}x on the sums ({:.0} vs {:.0} ms), median per-package ratio {:.2}x",
            ms(*g) / ms(*nat),
            ms(*g),
            ms(*nat),
            median(gvisor_over_native)
        );
    }

    // 2. Setup + teardown: /bin/true.
    let spawn = time_many(runs_true, || {
        let st = Command::new("/bin/true").status()?;
        ensure!(st.success(), "/bin/true failed");
        Ok(())
    })?;
    println!("\nsetup+teardown, /bin/true, {runs_true} runs each (median / mean / max):");
    println!(
        "  {:<42} {:>7.2} / {:>7.2} / {:>7.2} ms",
        "plain spawn on the host", spawn.median, spawn.mean, spawn.max
    );
    for &backend in &backends {
        let bare_sandbox = time_many(runs_true, || {
            true_in_sandbox(&runtime, false, backend).map(drop)
        })?;
        // With the sinkhole, also how much of it is stopping the sinkhole afterwards.
        let mut stops = Vec::new();
        let sealed_sandbox = time_many(runs_true, || {
            stops.push(true_in_sandbox(&runtime, true, backend)?);
            Ok(())
        })?;
        stops.sort_by(f64::total_cmp);
        let b = backend.as_str();
        for (label, t) in [
            (format!("{b} sandbox (no network hook)"), &bare_sandbox),
            (
                format!("{b} sandbox + sinkhole (as analyze)"),
                &sealed_sandbox,
            ),
        ] {
            println!(
                "  {label:<42} {:>7.2} / {:>7.2} / {:>7.2} ms",
                t.median, t.mean, t.max
            );
        }
        println!(
            "  of which stopping the sinkhole (SinkholeHook::finish): median {:.2} ms",
            stops.get(stops.len() / 2).copied().unwrap_or(f64::NAN)
        );
        println!(
            "  {b} sandbox overhead over a spawn: {:.2} ms bare, {:.2} ms with the sinkhole (median; target <= 50 ms for native)",
            bare_sandbox.median - spawn.median,
            sealed_sandbox.median - spawn.median
        );
    }

    // 3. Throughput: full analyses (install, import, execute), one thread per core.
    for &backend in backends.iter().filter(|_| throughput) {
        let threads = cores().max(1);
        let started = Instant::now();
        let next = std::sync::atomic::AtomicUsize::new(0);
        let options = ossprey_dynamic::DynamicOptions {
            phases: Phase::ALL.to_vec(),
            phase_timeout: Duration::from_secs(60),
            backend,
            ..Default::default()
        };
        let failures = std::sync::Mutex::new(Vec::new());
        std::thread::scope(|s| {
            for _ in 0..threads {
                s.spawn(|| {
                    loop {
                        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let Some(pkg) = packages.get(i) else { break };
                        if let Err(e) = analyze_checked(&runtime, pkg, &options) {
                            failures
                                .lock()
                                .unwrap()
                                .push(format!("{}: {e:#}", pkg.name));
                        }
                    }
                });
            }
        });
        let failures = failures.into_inner().unwrap();
        ensure!(failures.is_empty(), "analyses failed: {failures:#?}");
        let wall = started.elapsed();
        println!(
            "\nthroughput, {} sandbox: {} full analyses (install+import+execute) on {threads} threads in {:.1} s = {:.1} s each, {:.0} analyses/hour",
            backend.as_str(),
            packages.len(),
            wall.as_secs_f64(),
            wall.as_secs_f64() / packages.len() as f64,
            packages.len() as f64 * 3600.0 / wall.as_secs_f64()
        );
    }
    Ok(())
}

fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, usize::from)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn eco_name(e: Ecosystem) -> &'static str {
    match e {
        Ecosystem::Npm => "npm",
        Ecosystem::Pypi => "pypi",
        _ => "other",
    }
}

/// Timings of repeated runs, in milliseconds.
struct Stats {
    median: f64,
    mean: f64,
    max: f64,
}

fn time_many(n: usize, mut f: impl FnMut() -> anyhow::Result<()>) -> anyhow::Result<Stats> {
    f()?; // warm-up, not counted
    let mut v = Vec::with_capacity(n);
    for _ in 0..n {
        let t = Instant::now();
        f()?;
        v.push(ms(t.elapsed()));
    }
    v.sort_by(f64::total_cmp);
    Ok(Stats {
        median: v[v.len() / 2],
        mean: v.iter().sum::<f64>() / v.len() as f64,
        max: v[v.len() - 1],
    })
}

// ---------------------------------------------------------------------------------
// The generated packages (ours, harmless).
// ---------------------------------------------------------------------------------

/// The generated sdists' `setup.py` (`NAME`, `VERSION` replaced): a few stdlib
/// imports and five small files written into the home directory.
const SDIST_SETUP_PY: &str = r#"import hashlib, json, os, re, textwrap
from setuptools import setup

out = os.path.join(os.path.expanduser('~'), '.NAME')
os.makedirs(out, exist_ok=True)
for j in range(5):
    data = json.dumps({'pkg': 'NAME', 'j': j, 'h': hashlib.sha256(str(j).encode()).hexdigest()})
    assert re.match(r'[{]', data)
    with open(os.path.join(out, 'f%d.json' % j), 'w') as f:
        f.write(textwrap.dedent(data))

setup(name='NAME', version='VERSION', py_modules=['NAME'])
"#;

fn pypi_package(dir: &Path, i: usize) -> anyhow::Result<PackageInput> {
    let name = format!("benchpkg{i}");
    let setup = SDIST_SETUP_PY
        .replace("NAME", &name)
        .replace("VERSION", &format!("1.0.{i}"));
    let pkg_info = format!("Metadata-Version: 2.1\nName: {name}\nVersion: 1.0.{i}\n");
    let module = format!("def hello():\n    return '{name}'\n");
    let root = format!("{name}-1.0.{i}");
    let bytes = tar_gz(&[
        (&format!("{root}/setup.py"), setup.as_bytes()),
        (&format!("{root}/PKG-INFO"), pkg_info.as_bytes()),
        (&format!("{root}/{name}.py"), module.as_bytes()),
    ]);
    let archive_name = format!("{root}.tar.gz");
    let archive = dir.join(&archive_name);
    std::fs::write(&archive, bytes)?;
    Ok(PackageInput {
        ecosystem: Ecosystem::Pypi,
        name: name.clone(),
        version: Some(format!("1.0.{i}")),
        archive,
        archive_name,
        hints: PackageHints {
            python_modules: vec![name],
            ..PackageHints::default()
        },
    })
}

fn npm_package(dir: &Path, i: usize) -> anyhow::Result<PackageInput> {
    let name = format!("bench-npm-{i}");
    let script = "node -e \"const fs=require('fs'),path=require('path');\
fs.mkdirSync('out',{recursive:true});\
for(let j=0;j<5;j++)fs.writeFileSync(path.join('out','f'+j+'.json'),JSON.stringify({j,at:process.cwd()}));\
console.log(fs.readdirSync('out').length)\"";
    let manifest = serde_json::json!({
        "name": name,
        "version": format!("1.0.{i}"),
        "main": "index.js",
        "scripts": {"postinstall": script}
    });
    let bytes = tar_gz(&[
        (
            "package/package.json",
            serde_json::to_vec_pretty(&manifest)?.as_slice(),
        ),
        (
            "package/index.js",
            format!("module.exports = {{ hello: () => '{name}' }};\n").as_bytes(),
        ),
    ]);
    let archive_name = format!("{name}-1.0.{i}.tgz");
    let archive = dir.join(&archive_name);
    std::fs::write(&archive, bytes)?;
    Ok(PackageInput {
        ecosystem: Ecosystem::Npm,
        name,
        version: Some(format!("1.0.{i}")),
        archive,
        archive_name,
        hints: PackageHints::default(),
    })
}

// ---------------------------------------------------------------------------------
// The two ways of running the install phase.
// ---------------------------------------------------------------------------------

fn driver_options() -> DriverOptions {
    DriverOptions {
        install_deadline: Duration::from_secs(60),
        ..DriverOptions::default()
    }
}

/// `analyze` with the install phase only; the wall time and the phase's own clock.
fn install_sandboxed(
    runtime: &Runtime,
    pkg: &PackageInput,
    backend: Backend,
) -> anyhow::Result<(Duration, u64)> {
    let options = ossprey_dynamic::DynamicOptions {
        phases: vec![Phase::Install],
        phase_timeout: Duration::from_secs(60),
        backend,
        ..Default::default()
    };
    let t = Instant::now();
    let result = analyze_checked(runtime, pkg, &options)?;
    let elapsed = t.elapsed();
    let ms = result.install.as_ref().map_or(0, |p| p.duration_ms);
    Ok((elapsed, ms))
}

/// `analyze`, failing unless every requested phase completed with exit code 0.
fn analyze_checked(
    runtime: &Runtime,
    pkg: &PackageInput,
    options: &ossprey_dynamic::DynamicOptions,
) -> anyhow::Result<ossprey_model::DynamicResult> {
    let mut result = ossprey_dynamic::analyze(runtime, pkg, options)?;
    for phase in &options.phases {
        let Some(Some(report)) = result.phase_mut(phase.as_str()).map(|p| p.as_ref()) else {
            bail!(
                "{}: no {} phase: {:?}",
                pkg.name,
                phase.as_str(),
                result.notes
            );
        };
        ensure!(
            report.status == ossprey_model::dynamic::PhaseStatus::Completed
                && report.exit_code == Some(0),
            "{} {}: {:?} exit {:?}: {}",
            pkg.name,
            phase.as_str(),
            report.status,
            report.exit_code,
            report.stderr.text
        );
    }
    Ok(result)
}

/// The install phase's spec run in a chroot into the runtime, no sandbox.
fn install_unsandboxed(runtime: &Runtime, pkg: &PackageInput) -> anyhow::Result<Duration> {
    let spec = phase_spec(
        pkg,
        Phase::Install,
        &SandboxLayout::default(),
        &driver_options(),
    )?;
    let scratch = tempfile::Builder::new()
        .prefix("ossprey-bench-chroot-")
        .tempdir()?;
    let script = chroot_script(runtime, &spec, scratch.path())?;
    let t = Instant::now();
    let out = Command::new("unshare")
        .args(["--mount", "--net", "--propagation", "private", "--"])
        .args(["/bin/sh", "-c", &script])
        .stdin(Stdio::null())
        .output()?;
    let elapsed = t.elapsed();
    ensure!(
        out.status.success(),
        "{} unsandboxed install failed ({}): {}",
        pkg.name,
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(elapsed)
}

fn sq(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// A shell script that mounts the runtime read-only at `scratch/root`, binds the
/// spec's writable directories and inputs, mounts `/proc` and execs the command.
fn chroot_script(runtime: &Runtime, spec: &PhaseSpec, scratch: &Path) -> anyhow::Result<String> {
    let newroot = scratch.join("root");
    std::fs::create_dir(&newroot)?;
    let nr = newroot.display().to_string();
    let mut script = format!(
        "set -e\nmount --bind {root} {r}\nmount -o remount,bind,ro {r}\n",
        root = sq(&runtime.root().to_string_lossy()),
        r = sq(&nr)
    );
    for (n, path) in spec.writable.iter().enumerate() {
        let host = scratch.join(format!("rw{n}"));
        std::fs::create_dir(&host)?;
        script += &format!(
            "mount --bind {} {}\n",
            sq(&host.to_string_lossy()),
            sq(&format!("{nr}{path}"))
        );
    }
    let mut parents: BTreeMap<String, PathBuf> = BTreeMap::new();
    for input in &spec.inputs {
        let (parent, file) = input
            .path
            .rsplit_once('/')
            .context("input path without a directory")?;
        let n = parents.len();
        let host = parents
            .entry(parent.to_owned())
            .or_insert_with(|| scratch.join(format!("in{n}")))
            .clone();
        std::fs::create_dir_all(&host)?;
        match &input.source {
            InputSource::HostFile(p) => {
                std::fs::copy(p, host.join(file))?;
            }
            InputSource::Embedded(text) => std::fs::write(host.join(file), text)?,
        }
    }
    for (parent, host) in &parents {
        let target = sq(&format!("{nr}{parent}"));
        script += &format!(
            "mount --bind {} {target}\nmount -o remount,bind,ro {target}\n",
            sq(&host.to_string_lossy())
        );
    }
    script += &format!("mount -t proc proc {}\n", sq(&format!("{nr}/proc")));
    let env: Vec<String> = spec
        .env
        .iter()
        .map(|(k, v)| sq(&format!("{k}={v}")))
        .collect();
    let argv: Vec<String> = spec.argv.iter().map(|a| sq(a)).collect();
    script += &format!(
        "exec chroot {} /usr/bin/env -i {} /bin/sh -c 'cd \"$1\" && shift && exec \"$@\"' sh {} {}\n",
        sq(&nr),
        env.join(" "),
        sq(&spec.cwd),
        argv.join(" ")
    );
    Ok(script)
}

/// `/bin/true` in the sandbox over the runtime, with or without the sinkhole; returns
/// how long stopping the sinkhole took (ms, 0 without it).
fn true_in_sandbox(runtime: &Runtime, sinkhole: bool, backend: Backend) -> anyhow::Result<f64> {
    let policy = ossprey_sandbox::Policy::new(ossprey_sandbox::RootFs::from_dir(runtime.root()));
    let phase = ossprey_sandbox::Phase::new(["/bin/true"]).timeout(Duration::from_secs(10));
    let mut sandbox = ossprey_sandbox::Sandbox::new().with_backend(backend);
    let hook = sinkhole.then(|| Arc::new(ossprey_dynamic::SinkholeHook::new()));
    if let Some(h) = &hook {
        sandbox = sandbox.with_netns_hook(h.clone());
    }
    let result = sandbox.run(&policy, &phase)?;
    let stop = Instant::now();
    if let Some(h) = &hook {
        h.finish().map_err(anyhow::Error::msg)?;
    }
    let stop_ms = ms(stop.elapsed());
    ensure!(
        result.status == ossprey_sandbox::PhaseStatus::Completed
            && result.exit.and_then(|e| e.code) == Some(0),
        "/bin/true in the sandbox: {:?} {:?} {:?}",
        result.status,
        result.exit,
        result.error
    );
    Ok(stop_ms)
}
