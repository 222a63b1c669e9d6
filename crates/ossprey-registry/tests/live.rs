//! Fetches real packages from the real registries. Skipped unless `OSSPREY_LIVE=1`.

use ossprey_model::PackageSpec;
use ossprey_registry::{Registries, RegistryConfig};

#[test]
fn live_registries() {
    if std::env::var("OSSPREY_LIVE").as_deref() != Ok("1") {
        println!(
            "skipping live registry test: set OSSPREY_LIVE=1 to fetch from PyPI, npm and crates.io"
        );
        return;
    }
    let cache = tempfile::tempdir().expect("tempdir");
    let mut cfg = RegistryConfig::default_for_user();
    cfg.cache_dir = cache.path().to_owned();
    let registries = Registries::new(cfg).expect("registries");
    for (spec, filename) in [
        ("pypi:requests@2.32.3", "requests-2.32.3.tar.gz"),
        ("npm:left-pad@1.3.0", "left-pad-1.3.0.tgz"),
        ("crates:serde@1.0.210", "serde-1.0.210.crate"),
    ] {
        let parsed: PackageSpec = spec.parse().expect("spec");
        let f = registries
            .fetch(&parsed)
            .unwrap_or_else(|e| panic!("{spec}: [{}] {e}", e.code()));
        println!(
            "{spec}: {} bytes sha256 {} ({:?})",
            f.artifact.size, f.artifact.sha256, f.artifact.source
        );
        assert_eq!(f.filename, filename);
        assert!(f.artifact.size > 1000);
        let again = registries.fetch(&parsed).expect("cached");
        assert!(again.from_cache);
    }
    let latest = registries
        .fetch(&"pypi:six".parse().expect("spec"))
        .expect("latest six");
    println!("pypi:six latest is {}", latest.package);
}
