fn main() {
    let mut p = ossprey_sandbox::Policy::new(ossprey_sandbox::RootFs::host_system());
    p.limits.output_capture_bytes = 4096;
    let d = std::path::Path::new("/tmp/gvdbg/home");
    let _ = std::fs::remove_dir_all(d);
    std::fs::create_dir_all(d.join(".ssh")).unwrap();
    std::fs::write(d.join(".ssh/id_rsa"), "KEY").unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(
        d.join(".ssh/id_rsa"),
        std::fs::Permissions::from_mode(0o600),
    )
    .unwrap();
    std::fs::set_permissions(d.join(".ssh"), std::fs::Permissions::from_mode(0o700)).unwrap();
    p.binds
        .push(ossprey_sandbox::Bind::writable(d, p.identity.home.clone()));
    let ph = ossprey_sandbox::Phase::new(["sh", "-c", &std::env::args().nth(1).unwrap()])
        .timeout(std::time::Duration::from_secs(5));
    let r = ossprey_sandbox::Sandbox::new()
        .with_backend(ossprey_sandbox::Backend::Gvisor)
        .run(&p, &ph)
        .unwrap();
    println!("{}\n{}", r.stdout.text, r.stderr.text);
    for e in r
        .events
        .iter()
        .filter(|e| format!("{:?}", e.kind).contains("id_rsa"))
    {
        println!("{e:?}");
    }
}
