use super::*;

fn js(source: &str) -> SourceFacts {
    extract("index.js", source)
}

fn callees(facts: &SourceFacts) -> Vec<&str> {
    facts.calls.iter().map(|c| c.callee.as_str()).collect()
}

fn call<'f>(facts: &'f SourceFacts, callee: &str) -> &'f Call {
    facts
        .calls
        .iter()
        .find(|c| c.callee == callee)
        .unwrap_or_else(|| panic!("no call to {callee} in {:?}", callees(facts)))
}

fn imports(facts: &SourceFacts) -> Vec<(&str, Option<&str>, bool)> {
    facts
        .imports
        .iter()
        .map(|i| (i.module.as_str(), i.member.as_deref(), i.dynamic))
        .collect()
}

#[test]
fn every_import_form_is_recorded() {
    let facts = js("const a = require('a');
import b from 'b';
import {c1 as c2, c3} from 'c';
import * as d from 'd';
import 'e';
export {f1} from 'f';
export * from 'g';
import('h');
require(name);
import(name);
module.require('i');
process.mainModule.require('j');
");
    assert_eq!(
        imports(&facts),
        [
            ("a", None, false),
            ("b", None, false),
            ("c", Some("c1"), false),
            ("c", Some("c3"), false),
            ("d", None, false),
            ("e", None, false),
            ("f", Some("f1"), false),
            ("g", None, false),
            ("h", None, false),
            ("<dynamic>", None, true),
            ("<dynamic>", None, true),
            ("i", None, false),
            ("j", None, false),
        ]
    );
    assert!(facts.parsed, "{:?}", facts.parse_errors);
}

#[test]
fn aliases_resolve_to_module_names() {
    let facts = js("const cp = require('child_process');
const {exec, spawn: sp} = require('node:child_process');
import {execSync as es} from 'node:child_process';
import * as https from 'https';
cp.exec('a');
exec('b');
sp('c');
es('d');
require('child_process').execFile('e');
https.request('f');
cp['spawnSync']('g');
");
    assert_eq!(
        callees(&facts)
            .into_iter()
            .filter(|c| *c != "require")
            .collect::<Vec<_>>(),
        [
            "child_process.exec",
            "child_process.exec",
            "child_process.spawn",
            "child_process.execSync",
            "child_process.execFile",
            "https.request",
            "child_process.spawnSync",
        ]
    );
    // The module name in imports is as written.
    assert!(imports(&facts).contains(&("node:child_process", Some("execSync"), false)));
}

#[test]
fn functions_declared_before_the_require_still_resolve_it() {
    let facts =
        js("function run() { cp.exec('id'); }\nconst cp = require('child_process');\nrun();");
    assert_eq!(
        call(&facts, "child_process.exec").scope.as_deref(),
        Some("run")
    );
}

#[test]
fn code_execution_callees_are_normalised() {
    let facts = js("eval(a);
(0, eval)(b);
global.eval(c);
globalThis['ev' + 'al'](d);
window.eval(e);
new Function('return 1')();
Function('x', 'return x');
setTimeout('alert(1)', 10);
eval?.(f);
");
    assert_eq!(
        callees(&facts),
        [
            "eval",
            "eval",
            "eval",
            "eval",
            "eval",
            "?",
            "Function",
            "Function",
            "setTimeout",
            "eval"
        ]
    );
    assert_eq!(
        call(&facts, "setTimeout").args,
        [Arg::Str("alert(1)".into()), Arg::Const("10".into())]
    );
    assert_eq!(
        facts.calls[5].args,
        Vec::<Arg>::new(),
        "the call of the new Function's result"
    );
    assert_eq!(facts.calls[6].args, [Arg::Str("return 1".into())]);
}

#[test]
fn decode_chains_nest_as_call_arguments() {
    let facts = js(
        "eval(Buffer.from(s, 'base64').toString());\neval(atob(p).split('').reverse().join(''));",
    );
    assert_eq!(
        facts.calls[0].args,
        [Arg::Call {
            callee: "Buffer.from".into(),
            args: vec![Arg::Name("s".into()), Arg::Str("base64".into())]
        }]
    );
    assert_eq!(facts.calls[0].args[0].nested_callees(), ["Buffer.from"]);
    let second = facts
        .calls
        .iter()
        .filter(|c| c.callee == "eval")
        .nth(1)
        .map(|c| &c.args);
    assert_eq!(
        second,
        Some(&vec![Arg::Call {
            callee: "atob".into(),
            args: vec![Arg::Name("p".into())]
        }])
    );
    // The inner calls are recorded on their own too.
    assert!(callees(&facts).contains(&"Buffer.from"));
    assert!(callees(&facts).contains(&"?.toString"));
}

#[test]
fn process_env_reads_are_counted() {
    let facts = js("const token = process.env.NPM_TOKEN;
const k = process.env[key];
const h = process.env['HOME'];
send(JSON.stringify(process.env));
process.env.X = '1';
fetch(url, {body: process.env.AWS_SECRET});
");
    let env: Vec<&Vec<Arg>> = facts
        .calls
        .iter()
        .filter(|c| c.callee == PROCESS_ENV)
        .map(|c| &c.args)
        .collect();
    assert_eq!(
        env,
        [
            &vec![Arg::Str("NPM_TOKEN".into())],
            &vec![Arg::Other],
            &vec![Arg::Str("HOME".into())],
            &vec![Arg::Other],
            &vec![Arg::Str("AWS_SECRET".into())],
        ]
    );
    assert_eq!(
        call(&facts, "JSON.stringify").args,
        [Arg::Name("process.env".into())]
    );
    let fetch = call(&facts, "fetch");
    assert_eq!(
        fetch.kwargs,
        [(
            "body".to_owned(),
            Arg::Name("process.env.AWS_SECRET".into())
        )]
    );
}

#[test]
fn process_env_through_an_alias_is_counted() {
    let facts = js("const env = process.env;\npost(env.TOKEN, env);");
    let env: Vec<&Vec<Arg>> = facts
        .calls
        .iter()
        .filter(|c| c.callee == PROCESS_ENV)
        .map(|c| &c.args)
        .collect();
    assert_eq!(
        env,
        [
            &vec![Arg::Other],
            &vec![Arg::Str("TOKEN".into())],
            &vec![Arg::Other]
        ]
    );
    assert_eq!(
        call(&facts, "post").args,
        [
            Arg::Name("process.env.TOKEN".into()),
            Arg::Name("process.env".into())
        ]
    );
}

#[test]
fn scope_tells_load_time_code_from_functions() {
    let facts = js("top();
function named() { inNamed(); }
(function () { inIife(); })();
(() => { inArrowIife(); })();
!function () { inBangIife(); }();
(function () { inCallIife(); }).call(this);
const arrow = () => { inArrow(); };
setTimeout(function () { inCallback(); });
class Installer { run() { inMethod(); } }
module.exports.hook = function () { inExport(); };
(function () { function inner() { deep(); } })();
");
    let scope_of = |callee: &str| call(&facts, callee).scope.clone();
    assert_eq!(scope_of("top"), None);
    assert_eq!(scope_of("inNamed").as_deref(), Some("named"));
    assert_eq!(scope_of("inIife"), None);
    assert_eq!(scope_of("inArrowIife"), None);
    assert_eq!(scope_of("inBangIife"), None);
    assert_eq!(scope_of("inCallIife"), None);
    assert_eq!(scope_of("inArrow").as_deref(), Some("arrow"));
    assert_eq!(scope_of("inCallback").as_deref(), Some("<anonymous>"));
    assert_eq!(scope_of("inMethod").as_deref(), Some("Installer.run"));
    assert_eq!(scope_of("inExport").as_deref(), Some("hook"));
    assert_eq!(scope_of("deep").as_deref(), Some("inner"));
}

#[test]
fn definitions_list_module_level_functions_classes_and_exports() {
    let facts = js("function a() {}
class B {}
const c = () => {};
exports.d = 1;
module.exports.e = function () {};
module.exports = { f, g: 1 };
function outer() { function notModuleLevel() {} }
");
    assert_eq!(
        facts.definitions,
        ["a", "B", "c", "d", "e", "f", "g", "outer"]
    );
    let esm = extract(
        "m.mjs",
        "export function h() {}\nexport class I {}\nexport const j = 1;",
    );
    assert_eq!(esm.definitions, ["h", "I", "j"]);
}

#[test]
fn typescript_is_parsed_with_types() {
    let facts = extract(
        "src/index.ts",
        "import type { T } from './types';
import { exec } from 'child_process';
interface Opts { cmd: string }
enum E { A = 'a' }
function run<T>(o: Opts): void { exec(o.cmd as string, { shell: true }); }
const x = <any>foo;
",
    );
    assert!(facts.parsed, "{:?}", facts.parse_errors);
    let exec = call(&facts, "child_process.exec");
    assert_eq!(exec.args[0], Arg::Name("o.cmd".into()));
    assert_eq!(
        exec.kwargs,
        [("shell".to_owned(), Arg::Const("true".into()))]
    );
    assert_eq!(exec.scope.as_deref(), Some("run"));
    // Type-only imports run nothing and are not recorded.
    assert_eq!(imports(&facts), [("child_process", Some("exec"), false)]);
}

#[test]
fn tsx_and_jsx_parse() {
    assert!(extract("a.tsx", "const a = <div>{f()}</div>;").parsed);
    assert!(extract("a.jsx", "const a = <div>{f()}</div>;").parsed);
    // JSX in a plain .js file, as React packages ship it.
    assert!(js("const a = <div>{f()}</div>;").parsed);
    assert!(extract("LICENSE-ish", "f(1 < 2)").parsed);
}

#[test]
fn broken_files_still_yield_calls_around_the_error() {
    let facts = js(
        "before('x');\nthis is not @@ javascript {{;\nafter(require('child_process').exec('id'));\n",
    );
    assert!(!facts.parsed);
    assert!(!facts.parse_errors.is_empty());
    assert_eq!(facts.parse_errors[0].0, 2);
    let names = callees(&facts);
    assert!(names.contains(&"before"), "{names:?}");
    assert!(names.contains(&"after"), "{names:?}");
    assert_eq!(call(&facts, "child_process.exec").line, 3);
}

#[test]
fn broken_minified_line_keeps_the_other_statements() {
    // One long line, as minifiers write: only the broken statement is blanked.
    let pad = "x".repeat(MAX_BLANK_LINE);
    let facts = js(&format!(
        "before();var a='{pad}';this is @@ broken;after();"
    ));
    assert!(!facts.parsed);
    let names = callees(&facts);
    assert!(
        names.contains(&"before") && names.contains(&"after"),
        "{names:?}"
    );
}

#[test]
fn template_literals_and_concatenations_are_strings() {
    let facts = js(
        "exec(`curl http://x`);\nexec(`curl ${host}`);\nexec('cu' + 'rl' + ` -s`);\nexec('a' + b);",
    );
    let args: Vec<&Arg> = facts.calls.iter().map(|c| &c.args[0]).collect();
    assert_eq!(
        args,
        [
            &Arg::Str("curl http://x".into()),
            &Arg::Other,
            &Arg::Str("curl -s".into()),
            &Arg::Other
        ]
    );
    let strings: Vec<&str> = facts.strings.iter().map(|s| s.value.as_str()).collect();
    assert_eq!(
        strings,
        ["curl http://x", "curl ", "", "cu", "rl", " -s", "a"]
    );
}

#[test]
fn args_of_every_kind() {
    let facts = js("f(1, true, null, x, a.b, [1, 'y'], g(2), () => 1, ...rest, -1);");
    assert_eq!(
        facts.calls[0].args,
        [
            Arg::Const("1".into()),
            Arg::Const("true".into()),
            Arg::Const("null".into()),
            Arg::Name("x".into()),
            Arg::Name("a.b".into()),
            Arg::List(vec![Arg::Const("1".into()), Arg::Str("y".into())]),
            Arg::Call {
                callee: "g".into(),
                args: vec![Arg::Const("2".into())]
            },
            Arg::Other,
            Arg::Other,
            Arg::Other,
        ]
    );
}

#[test]
fn nested_call_arguments_stop_at_max_depth() {
    let facts = js("a(b(c(d(e(f(g(1)))))));");
    let mut depth = 0;
    let mut arg = facts.calls[0].args.first();
    while let Some(Arg::Call { args, .. }) = arg {
        depth += 1;
        arg = args.first();
    }
    assert_eq!(depth, MAX_ARG_DEPTH);
    assert_eq!(arg, Some(&Arg::Other));
}

#[test]
fn lines_and_snippets_point_at_the_call() {
    let facts = js("// header\n\nconst x = 1;\n  fetch(\n    'http://example.test'\n  );\n");
    let fetch = call(&facts, "fetch");
    assert_eq!(fetch.line, 4);
    assert_eq!(fetch.snippet, "fetch( 'http://example.test' )");
    assert_eq!(facts.strings[0].line, 5);
}

#[test]
fn regex_exec_is_not_child_process_exec() {
    let facts = js(
        "const cp = require('child_process');\n/x/.exec(s);\nconst re = /y/;\nre.exec(s);\nthis.exec(s);",
    );
    assert_eq!(callees(&facts)[1..], ["?.exec", "re.exec", "?.exec"]);
}

#[test]
fn long_strings_are_truncated_with_their_full_length() {
    let long = "A".repeat(MAX_LITERAL_CHARS + 10);
    let facts = js(&format!("eval('{long}');"));
    assert_eq!(facts.strings[0].len, MAX_LITERAL_CHARS + 10);
    assert_eq!(facts.strings[0].value.chars().count(), MAX_LITERAL_CHARS);
    assert!(
        matches!(&facts.calls[0].args[0], Arg::Str(s) if s.chars().count() == MAX_LITERAL_CHARS)
    );
}

#[test]
fn long_concatenation_chains_cost_no_stack() {
    // A left-deep tree far deeper than the walk limit.
    let pieces = vec!["'ab'"; 10_000].join("+");
    let facts = js(&format!("eval({pieces});\nafter();"));
    assert!(matches!(&facts.calls[0].args[0], Arg::Str(s) if s.starts_with("abab")));
    assert_eq!(callees(&facts), ["eval", "after"]);
    assert_eq!(facts.strings.len(), 10_000);
}

#[test]
fn deep_nesting_is_cut_without_overflowing() {
    let depth = 3_000;
    let source = format!(
        "{}deep(){};\nafter();",
        "f(".repeat(depth),
        ")".repeat(depth)
    );
    let facts = js(&source);
    assert!(callees(&facts).contains(&"after"));
    assert!(facts.calls.len() < depth);
}

#[test]
fn caps_bound_the_output() {
    let source = "f('s');".repeat(MAX_CALLS + 10);
    let facts = js(&source);
    assert_eq!(facts.calls.len(), MAX_CALLS);
    assert_eq!(facts.strings.len(), MAX_STRINGS);
}

#[test]
fn absurd_nesting_is_refused_not_overflowed() {
    let depth = MAX_NESTING + 1;
    let facts = js(&format!("{}1{}", "(".repeat(depth), ")".repeat(depth)));
    assert!(!facts.parsed);
    assert!(
        facts.parse_errors[0].1.contains("nesting"),
        "{:?}",
        facts.parse_errors
    );
    // Brackets inside strings and comments are not nesting.
    let quoted = format!(
        "f('{}', \"{}\"); // {}\n/* {} */",
        "(".repeat(depth),
        "[".repeat(depth),
        "{".repeat(depth),
        "(".repeat(depth)
    );
    assert_eq!(bracket_depth(&quoted), 1);
}

#[test]
fn names_hidden_by_constant_idioms_are_folded() {
    let facts = js("const cp = require(['child_', 'process'].join(''));
cp.exec('id');
const f = require(String.fromCharCode(102, 115));
f.readFileSync('/etc/passwd');
const n = require(Buffer.from([110, 101, 116]).toString());
n.connect(1);
const o = require('so'.split('').reverse().join(''));
o.hostname();
global[['ev', 'al'].join('')](x);
");
    let names = callees(&facts);
    for want in [
        "child_process.exec",
        "fs.readFileSync",
        "net.connect",
        "os.hostname",
        "eval",
    ] {
        assert!(names.contains(&want), "{want} not in {names:?}");
    }
}

#[test]
fn decode_calls_in_argument_values_are_not_folded() {
    // Rules look for decode chains feeding eval: folding is for names only.
    let facts = js("eval(String.fromCharCode(97, 108, 101, 114, 116));");
    assert!(matches!(
        call(&facts, "eval").args.first(),
        Some(Arg::Call { callee, .. }) if callee == "String.fromCharCode"
    ));
}

#[test]
fn char_codes_that_name_no_character_are_not_folded() {
    let facts = js("require(String.fromCharCode(1e20)); require(String.fromCharCode(1.5, x));");
    assert!(imports(&facts).iter().all(|(_, _, dynamic)| *dynamic));
}

#[test]
fn computed_env_key_and_fallback_binding_read_the_whole_environment() {
    let facts = js("var env = process['en' + 'v'] || {};
req.write(JSON.stringify(env));");
    assert!(
        facts.calls.iter().any(|c| c.callee == PROCESS_ENV),
        "{:?}",
        callees(&facts)
    );
    assert_eq!(
        call(&facts, "JSON.stringify").args,
        [Arg::Name("process.env".into())]
    );
}

#[test]
fn a_local_bound_to_a_resolved_module_path_is_followed() {
    let facts = js("const p = require.resolve('other');
fs.writeFileSync(p, 'x');
const q = compute();
fs.writeFileSync(q, 'y');");
    let writes: Vec<_> = facts
        .calls
        .iter()
        .filter(|c| c.callee == "fs.writeFileSync")
        .map(|c| c.args.first().cloned())
        .collect();
    assert_eq!(
        writes,
        [
            Some(Arg::Call {
                callee: "require.resolve".into(),
                args: vec![Arg::Str("other".into())]
            }),
            Some(Arg::Name("q".into()))
        ]
    );
}

#[test]
fn compiled_module_interop_resolves_to_the_module() {
    let facts = js(r#"
var __importDefault = (this && this.__importDefault) || function (m) { return m && m.__esModule ? m : { default: m }; };
const os_1 = __importDefault(require("os"));
const cp = tslib_1.__importStar(require("node:child_process"));
var _https = _interopRequireDefault(require("https"));
os_1.default.hostname();
cp.exec("id");
_https.default.get("https://example.invalid/");
const other = __importDefault(notRequire("os"));
other.default.hostname();
"#);
    let names = callees(&facts);
    assert!(names.contains(&"os.hostname"), "{names:?}");
    assert!(names.contains(&"child_process.exec"), "{names:?}");
    assert!(names.contains(&"https.get"), "{names:?}");
    assert!(!names.contains(&"os.default.hostname"), "{names:?}");
    // `__importDefault(notRequire("os"))` is not a module: only the first call resolves.
    assert_eq!(
        names.iter().filter(|n| **n == "os.hostname").count(),
        1,
        "{names:?}"
    );
}

#[test]
fn socket_clients_are_named_by_module() {
    let facts = js(r#"
const WebSocket = require("ws");
const { io } = require("socket.io-client");
const ws = new WebSocket("wss://example.invalid");
const s = io("https://example.invalid");
"#);
    let names = callees(&facts);
    assert!(names.contains(&"ws"), "{names:?}");
    assert!(names.contains(&"socket.io-client.io"), "{names:?}");
}
