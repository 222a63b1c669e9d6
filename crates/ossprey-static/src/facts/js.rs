//! JavaScript and TypeScript facts, read with oxc's parser.
//!
//! [`extract`] parses one file (recovering what it can from broken files), then walks
//! the tree once and records imports (`require`, `import`, `export … from`, dynamic
//! `import()`), calls and `new` expressions with their literal arguments, reads of
//! `process.env`, every string literal, and the module-level definitions.
//!
//! Callees are dotted names with module aliases resolved: after
//! `const {exec: run} = require('node:child_process')`, `run('id')` is recorded as
//! `child_process.exec`. Aliases are flat (one map per file, not per lexical scope): a
//! local that shadows an imported name may be resolved to the import. That errs towards
//! reporting, which is the right side for a malware scanner.
//!
//! Everything here reads hostile input: no recursion is unbounded (the tree walk stops
//! descending past [`MAX_WALK_DEPTH`]; long `+` chains are walked iteratively), every
//! output is capped by the limits in [`super`], and nothing is ever evaluated.

use std::collections::{HashMap, HashSet};

use std::cell::Cell;

use oxc_allocator::Allocator;
use oxc_ast::AstKind;
use oxc_ast::ast::{
    Argument, ArrayExpressionElement, BinaryExpression, BinaryOperator, BindingPattern,
    CallExpression, ChainElement, ComputedMemberExpression, Declaration, ExportAllDeclaration,
    ExportDefaultDeclarationKind, ExportFromDeclaration, Expression, ImportDeclaration,
    ImportDeclarationSpecifier, ImportExpression, LogicalOperator, MemberExpression, NewExpression,
    ObjectExpression, ObjectPropertyKind, Program, PropertyKey, SimpleAssignmentTarget, SourceType,
    Statement, StaticMemberExpression, StringLiteral, TemplateElement, TemplateLiteral,
    VariableDeclarator,
};
use oxc_ast_visit::{Visit, walk};
use oxc_parser::Parser;
use oxc_span::{GetSpan, Span};

use super::{
    Arg, Call, Import, MAX_ARG_DEPTH, MAX_CALLS, MAX_IMPORTS, MAX_LITERAL_CHARS, MAX_PARSE_ERRORS,
    MAX_STRINGS, SourceFacts, StringLit, line_of, line_starts, snippet,
};

/// Deepest expression/statement nesting the walk descends into. Deeper code (only ever
/// seen in generated or hostile input) is skipped so the walk cannot exhaust the stack.
pub const MAX_WALK_DEPTH: usize = 400;
/// Files nesting at most this deep are parsed on a long-lived parser thread
/// (one per calling thread, with the same [`PARSE_STACK_BYTES`] stack) instead
/// of a new thread each: creating and tearing down a thread with a 256 MB
/// stack per file cost more than parsing small files (core-js, ~6000 small
/// modules: 2.4 s of system time of 3.1 s). Deeper files still get a fresh
/// thread, so the stack pages a deep parse touches are given back after it.
const REUSED_THREAD_NESTING: usize = 1_000;
/// Deepest bracket nesting parsed at all, and the parser thread's stack, sized so that
/// nesting fits with a wide margin (oxc needs ~1-3 KiB of stack per level). The stack is
/// reserved address space; only the pages a parse touches are committed.
const MAX_NESTING: usize = 10_000;
const PARSE_STACK_BYTES: usize = 256 << 20;
/// Positional arguments kept per call (`String.fromCharCode(…)` with thousands of codes
/// keeps the first ones).
const MAX_ARGS: usize = 256;
/// Items kept per array literal argument and properties kept per object literal argument.
const MAX_ITEMS: usize = 64;
/// Longest attribute path kept in a dotted name (`a.b.c…`).
const MAX_PATH_PARTS: usize = 32;
/// Module-level definitions kept.
const MAX_DEFINITIONS: usize = 5_000;
/// Aliases remembered per file.
const MAX_ALIASES: usize = 20_000;
/// How many times a file that stops the parser is re-parsed with the offending
/// statement blanked out, and the largest file for which that is tried (each attempt
/// is a full parse).
const MAX_RECOVERY_PARSES: usize = 8;
const MAX_RECOVERY_BYTES: usize = 4 << 20;
/// Longest line blanked whole during recovery; on longer (minified) lines only the
/// statement around the error is blanked.
const MAX_BLANK_LINE: usize = 2_000;

/// The callee recorded for every read of `process.env` (see [`extract`]).
pub const PROCESS_ENV: &str = "process.env";

/// Reads facts from one JavaScript or TypeScript file.
///
/// The language comes from the extension (`.ts`, `.tsx`, `.mts`, `.cts`, `.d.ts` are
/// TypeScript; `.mjs` is a module; `.cjs` a script; anything else is JavaScript, module or
/// script decided by content, with JSX allowed). A file that does not parse still yields
/// what could be read: oxc recovers from many errors by itself, and when it has to stop,
/// the statement at the error is blanked out (offsets kept, so lines stay right) and the
/// file parsed again, a bounded number of times. `parsed` is false and `parse_errors`
/// holds the first parse's errors whenever the original text had any.
///
/// Besides real calls, every read of `process.env` is recorded as a synthetic call with
/// callee [`PROCESS_ENV`] and one argument: `Str(NAME)` for `process.env.NAME` or
/// `process.env['NAME']`, `Other` for a computed key or a use of the whole object
/// (`JSON.stringify(process.env)`), so rules can count environment harvesting.
pub fn extract(path: &str, source: &str) -> SourceFacts {
    // oxc's parser recurses once per nesting level and has no depth limit of its own:
    // refuse absurd nesting, and parse on a thread whose stack fits the nesting allowed.
    let depth = bracket_depth(source);
    if depth > MAX_NESTING {
        return SourceFacts {
            parsed: false,
            parse_errors: vec![(
                1,
                format!("nesting deeper than {MAX_NESTING} brackets ({depth}); not parsed"),
            )],
            ..SourceFacts::default()
        };
    }
    if ON_PARSE_STACK.with(Cell::get) {
        return std::panic::catch_unwind(|| extract_on_this_thread(path, source)).unwrap_or_else(
            |_| SourceFacts {
                parsed: false,
                parse_errors: vec![(1, "parser failed".to_owned())],
                ..SourceFacts::default()
            },
        );
    }
    if depth <= REUSED_THREAD_NESTING
        && let Some(facts) = parser_thread::extract(path, source)
    {
        return facts;
    }
    let parsed = std::thread::scope(|scope| {
        std::thread::Builder::new()
            .name("ossprey-js-parse".to_owned())
            .stack_size(PARSE_STACK_BYTES)
            .spawn_scoped(scope, || extract_on_this_thread(path, source))
            .map(|handle| handle.join())
    });
    match parsed {
        Ok(Ok(facts)) => facts,
        // The thread could not start: parse here, within the caller's stack.
        Err(_) => extract_on_this_thread(path, source),
        Ok(Err(_)) => SourceFacts {
            parsed: false,
            parse_errors: vec![(1, "parser failed".to_owned())],
            ..SourceFacts::default()
        },
    }
}

thread_local! {
    /// Set on threads started by [`with_parse_stack`]: their stack already fits
    /// any parse [`extract`] accepts, so it parses in place.
    static ON_PARSE_STACK: Cell<bool> = const { Cell::new(false) };
}

/// Runs `work` on a new thread with the parser's stack ([`PARSE_STACK_BYTES`]),
/// where [`extract`] parses in place: one thread for a whole package instead
/// of a hand-off to a parser thread per file, which cost two context switches
/// per file (a third of the CPU time of packages of thousands of small
/// modules on a loaded machine). `None` when the thread cannot be started or
/// `work` panicked.
pub fn with_parse_stack<R: Send>(work: impl FnOnce() -> R + Send) -> Option<R> {
    std::thread::scope(|scope| {
        std::thread::Builder::new()
            .name("ossprey-js-parse".to_owned())
            .stack_size(PARSE_STACK_BYTES)
            .spawn_scoped(scope, || {
                ON_PARSE_STACK.with(|on| on.set(true));
                work()
            })
            .ok()?
            .join()
            .ok()
    })
}

/// A long-lived parser thread per calling thread, see [`REUSED_THREAD_NESTING`].
mod parser_thread {
    use std::cell::RefCell;
    use std::panic::{AssertUnwindSafe, catch_unwind};
    use std::sync::mpsc::{Receiver, Sender, channel};

    use super::{PARSE_STACK_BYTES, SourceFacts, extract_on_this_thread};

    /// A file to parse, copied: the thread outlives the caller's borrow.
    type Job = (String, String);
    /// `None` when the parser panicked on the file.
    type Done = Option<SourceFacts>;

    struct Worker {
        jobs: Sender<Job>,
        done: Receiver<Done>,
    }

    thread_local! {
        // Dropped with the calling thread: the sender goes, and the parser
        // thread's `recv` ends its loop.
        static WORKER: RefCell<Option<Worker>> = const { RefCell::new(None) };
    }

    fn start() -> Option<Worker> {
        let (jobs, job_rx) = channel::<Job>();
        let (done_tx, done) = channel::<Done>();
        std::thread::Builder::new()
            .name("ossprey-js-parse".to_owned())
            .stack_size(PARSE_STACK_BYTES)
            .spawn(move || {
                while let Ok((path, source)) = job_rx.recv() {
                    let facts =
                        catch_unwind(AssertUnwindSafe(|| extract_on_this_thread(&path, &source)))
                            .ok();
                    if done_tx.send(facts).is_err() {
                        break;
                    }
                }
            })
            .ok()?;
        Some(Worker { jobs, done })
    }

    /// Parses on this thread's parser thread. `None` when no parser thread
    /// could be started or reached (the caller falls back to a fresh thread);
    /// a parser panic yields the same "parser failed" facts as that path.
    pub(super) fn extract(path: &str, source: &str) -> Option<SourceFacts> {
        WORKER.with(|cell| {
            let mut slot = cell.try_borrow_mut().ok()?;
            if slot.is_none() {
                *slot = start();
            }
            let worker = slot.as_ref()?;
            let sent = worker.jobs.send((path.to_owned(), source.to_owned()));
            let answer = sent.ok().and_then(|()| worker.done.recv().ok());
            let Some(done) = answer else {
                // The thread is gone: start a new one next time.
                *slot = None;
                return None;
            };
            Some(done.unwrap_or_else(|| SourceFacts {
                parsed: false,
                parse_errors: vec![(1, "parser failed".to_owned())],
                ..SourceFacts::default()
            }))
        })
    }
}

/// Deepest bracket nesting (`(`, `[`, `{`) outside strings and comments: a cheap upper
/// bound on how deep the parser will recurse for bracketed code.
fn bracket_depth(source: &str) -> usize {
    let bytes = source.as_bytes();
    let (mut depth, mut max, mut i) = (0usize, 0usize, 0usize);
    while let Some(&b) = bytes.get(i) {
        match b {
            b'(' | b'[' | b'{' => {
                depth += 1;
                max = max.max(depth);
            }
            b')' | b']' | b'}' => depth = depth.saturating_sub(1),
            b'"' | b'\'' | b'`' => {
                // Skip to the closing quote (template substitutions are counted as text:
                // an over-estimate only in pathological templates).
                i += 1;
                while let Some(&c) = bytes.get(i) {
                    if c == b'\\' {
                        i += 1;
                    } else if c == b || (c == b'\n' && b != b'`') {
                        break;
                    }
                    i += 1;
                }
            }
            b'/' if bytes.get(i + 1) == Some(&b'/') => {
                i = bytes
                    .get(i..)
                    .and_then(|rest| rest.iter().position(|&c| c == b'\n'))
                    .map_or(bytes.len(), |n| i + n);
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => {
                i = source
                    .get(i + 2..)
                    .and_then(|rest| rest.find("*/"))
                    .map_or(bytes.len(), |n| i + 2 + n + 1);
            }
            _ => {}
        }
        i += 1;
    }
    max
}

fn extract_on_this_thread(path: &str, source: &str) -> SourceFacts {
    let source_type = source_type_for(path);
    let starts = line_starts(source);
    let mut facts = SourceFacts::default();
    let mut patched: Option<String> = None;
    for attempt in 0..=MAX_RECOVERY_PARSES {
        let text = patched.as_deref().unwrap_or(source);
        let allocator = Allocator::default();
        let ret = Parser::new(&allocator, text, source_type).parse();
        if attempt == 0 {
            facts.parsed = ret.diagnostics.is_empty() && !ret.panicked;
            for error in ret.diagnostics.iter().take(MAX_PARSE_ERRORS) {
                let offset = error
                    .labels
                    .first()
                    .map_or(0, |label| label.offset() as usize);
                facts
                    .parse_errors
                    .push((line_of(&starts, offset), error.message.to_string()));
            }
        }
        let give_up = attempt == MAX_RECOVERY_PARSES || source.len() > MAX_RECOVERY_BYTES;
        if !ret.panicked || give_up {
            // Blanking keeps every byte offset, so lines and snippets from the patched
            // text are those of the original (bar the blanked statements).
            let mut walker = Walker::new(text, &starts, facts);
            walker.collect_module_bindings(&ret.program);
            walker.visit_program(&ret.program);
            return walker.facts;
        }
        let Some(offset) = ret
            .diagnostics
            .iter()
            .filter_map(|error| error.labels.first().map(|label| label.offset() as usize))
            .max()
        else {
            break;
        };
        match blank_around(text, offset) {
            Some(next) => patched = Some(next),
            None => break,
        }
    }
    facts
}

/// The source type for `path`, defaulting to JavaScript (JSX allowed: `<` cannot start an
/// expression in plain JS, so allowing JSX changes nothing for files without it).
fn source_type_for(path: &str) -> SourceType {
    match SourceType::from_path(path) {
        Ok(source_type) if source_type.is_javascript() && !source_type.is_jsx() => {
            source_type.with_jsx(true)
        }
        Ok(source_type) => source_type,
        Err(_) => SourceType::unambiguous().with_jsx(true),
    }
}

/// `text` with the statement around byte `offset` replaced by spaces (the whole line when
/// it is short, else from the previous `;`/`}` to the next `;`), or `None` when there is
/// nothing left to blank there.
fn blank_around(text: &str, offset: usize) -> Option<String> {
    let bytes = text.as_bytes();
    let offset = offset.min(bytes.len());
    let line_start = bytes
        .get(..offset)?
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |i| i + 1);
    let line_end = bytes
        .get(offset..)?
        .iter()
        .position(|&b| b == b'\n')
        .map_or(bytes.len(), |i| offset + i);
    let (start, end) = if line_end - line_start <= MAX_BLANK_LINE {
        (line_start, line_end)
    } else {
        let back = bytes.get(line_start..offset)?;
        let start = back
            .iter()
            .rposition(|&b| b == b';' || b == b'}')
            .map_or(line_start, |i| line_start + i + 1);
        let fwd = bytes.get(offset..line_end)?;
        let end = fwd
            .iter()
            .position(|&b| b == b';')
            .map_or(line_end, |i| offset + i + 1);
        (start, end)
    };
    let region = bytes.get(start..end)?;
    if region.iter().all(u8::is_ascii_whitespace) {
        return None;
    }
    let mut out = Vec::with_capacity(bytes.len());
    out.extend_from_slice(bytes.get(..start)?);
    // Every byte becomes an ASCII space, so multi-byte characters vanish whole and the
    // result stays valid UTF-8 with the same length.
    out.extend(
        region
            .iter()
            .map(|&b| if b == b'\n' { b'\n' } else { b' ' }),
    );
    out.extend_from_slice(bytes.get(end..)?);
    String::from_utf8(out).ok()
}

/// Removes the `node:` scheme so `node:fs` and `fs` resolve alike.
fn strip_node_prefix(module: &str) -> &str {
    module.strip_prefix("node:").unwrap_or(module)
}

/// Names under which the global object is reachable; `global.eval` is `eval`.
fn is_global_object(name: &str) -> bool {
    matches!(name, "global" | "globalThis" | "window" | "self")
}

/// Resolved callees that load a CommonJS module.
fn is_require(callee: &str) -> bool {
    matches!(
        callee,
        "require" | "module.require" | "process.mainModule.require" | "require.main.require"
    )
}

/// The module-interop helpers compilers wrap `require` in (tsc's `__importDefault` and
/// `__importStar`, Babel's `_interopRequireDefault` and `_interopRequireWildcard`, also
/// reached through `tslib`).
fn is_interop_helper(callee: &str) -> bool {
    let last = callee.rsplit('.').next().unwrap_or(callee);
    matches!(
        last,
        "__importDefault" | "__importStar" | "_interopRequireDefault" | "_interopRequireWildcard"
    )
}

/// `s` cut to [`MAX_LITERAL_CHARS`] characters, and its full length in characters.
fn bounded(s: &str) -> (String, usize) {
    let len = s.chars().count();
    match s.char_indices().nth(MAX_LITERAL_CHARS) {
        Some((i, _)) => (s.get(..i).unwrap_or_default().to_owned(), len),
        None => (s.to_owned(), len),
    }
}

/// Skips wrappers that do not change which value an expression denotes: parentheses,
/// TypeScript assertions, `await`, and the comma operator (`(0, eval)` is `eval`).
fn unwrap_expr<'e, 'a>(mut expr: &'e Expression<'a>) -> &'e Expression<'a> {
    loop {
        expr = match expr.get_inner_expression() {
            Expression::SequenceExpression(seq) => match seq.expressions.last() {
                Some(last) => last,
                None => return expr,
            },
            Expression::AwaitExpression(a) => &a.argument,
            inner => return inner,
        };
    }
}

/// The string an expression denotes when it is a literal, a template without
/// substitutions, or a `+` concatenation of those. `None` when any part is not literal.
/// Concatenations are walked iteratively down their left spine, so long obfuscated chains
/// cost no stack; right operands nest at most `budget` deep.
fn literal_string(expr: &Expression<'_>, budget: usize) -> Option<String> {
    match unwrap_expr(expr) {
        Expression::StringLiteral(lit) => Some(lit.value.as_str().to_owned()),
        Expression::TemplateLiteral(tpl) => template_string(tpl),
        Expression::BinaryExpression(bin) if bin.operator == BinaryOperator::Addition => {
            let budget = budget.checked_sub(1)?;
            let mut rights = Vec::new();
            let mut cur: &BinaryExpression<'_> = bin;
            let leftmost = loop {
                rights.push(&cur.right);
                match unwrap_expr(&cur.left) {
                    Expression::BinaryExpression(b) if b.operator == BinaryOperator::Addition => {
                        cur = b
                    }
                    other => break other,
                }
            };
            // Check every part is literal before building anything.
            let is_leaf = |e: &Expression<'_>| {
                matches!(
                    unwrap_expr(e),
                    Expression::StringLiteral(_) | Expression::TemplateLiteral(_)
                )
            };
            let mut out = literal_string(leftmost, budget)?;
            for right in rights.iter().rev() {
                if !is_leaf(right) && !matches!(unwrap_expr(right), Expression::BinaryExpression(_))
                {
                    return None;
                }
            }
            for right in rights.iter().rev() {
                let part = literal_string(right, budget)?;
                // Keep a little past the cap so `bounded` still sees the value is long.
                if out.len() <= MAX_LITERAL_CHARS * 4 {
                    out.push_str(&part);
                }
            }
            Some(out)
        }
        _ => None,
    }
}

fn template_string(tpl: &TemplateLiteral<'_>) -> Option<String> {
    if !tpl.expressions.is_empty() {
        return None;
    }
    let mut out = String::new();
    for quasi in &tpl.quasis {
        out.push_str(quasi.value.cooked.as_ref()?.as_str());
    }
    Some(out)
}

/// The string a *name position* denotes (a `require` argument, a computed property
/// key): [`literal_string`], or one of the constant idioms obfuscators use to hide a
/// name from text search, folded without evaluating anything:
/// `['child_', 'process'].join('')`, `String.fromCharCode(101, 118, 97, 108)`,
/// `Buffer.from([102, 115]).toString()`, `'sf'.split('').reverse().join('')`.
///
/// Only names are folded: argument values keep their decode calls (`eval(atob('…'))`
/// stays a decode chain for the rules that look for one).
fn folded_name(expr: &Expression<'_>) -> Option<String> {
    if let Some(s) = literal_string(expr, 8) {
        return Some(s);
    }
    let Expression::CallExpression(call) = unwrap_expr(expr) else {
        return None;
    };
    let member = unwrap_expr(&call.callee).as_member_expression()?;
    let method = member.static_property_name()?;
    let object = unwrap_expr(member.object());
    match method {
        // `[…].join(sep)` and `'…'.split('').reverse().join('')`.
        "join" => {
            let sep = match call.arguments.first() {
                None => ",".to_owned(),
                Some(a) => literal_string(a.as_expression()?, 2)?,
            };
            match object {
                Expression::ArrayExpression(arr) => {
                    let mut parts = Vec::with_capacity(arr.elements.len().min(MAX_ITEMS));
                    for el in arr.elements.iter().take(MAX_ITEMS + 1) {
                        parts.push(literal_string(el.as_expression()?, 4)?);
                    }
                    (parts.len() <= MAX_ITEMS).then(|| parts.join(&sep))
                }
                Expression::CallExpression(rev) => {
                    let rev_member = unwrap_expr(&rev.callee).as_member_expression()?;
                    if rev_member.static_property_name()? != "reverse" || !sep.is_empty() {
                        return None;
                    }
                    let Expression::CallExpression(split) = unwrap_expr(rev_member.object()) else {
                        return None;
                    };
                    let split_member = unwrap_expr(&split.callee).as_member_expression()?;
                    let empty_sep = split
                        .arguments
                        .first()
                        .and_then(Argument::as_expression)
                        .and_then(|e| literal_string(e, 1))
                        .is_some_and(|s| s.is_empty());
                    if split_member.static_property_name()? != "split" || !empty_sep {
                        return None;
                    }
                    let text = literal_string(split_member.object(), 4)?;
                    Some(text.chars().rev().collect())
                }
                _ => None,
            }
        }
        // `String.fromCharCode(…)` with only numeric literals.
        "fromCharCode" if matches!(object, Expression::Identifier(id) if id.name == "String") => {
            char_codes(call.arguments.iter().map(Argument::as_expression))
        }
        // `Buffer.from([…]).toString()` (utf8 by default) with only numeric literals.
        "toString" if call.arguments.is_empty() => {
            let Expression::CallExpression(from) = object else {
                return None;
            };
            let from_member = unwrap_expr(&from.callee).as_member_expression()?;
            let is_buffer_from = from_member.static_property_name() == Some("from")
                && matches!(unwrap_expr(from_member.object()), Expression::Identifier(id) if id.name == "Buffer");
            if !is_buffer_from || from.arguments.len() != 1 {
                return None;
            }
            let Some(Expression::ArrayExpression(arr)) = from
                .arguments
                .first()
                .and_then(Argument::as_expression)
                .map(unwrap_expr)
            else {
                return None;
            };
            char_codes(
                arr.elements
                    .iter()
                    .map(ArrayExpressionElement::as_expression),
            )
        }
        _ => None,
    }
}

/// The string spelled by numeric character codes, when every item is a numeric literal
/// naming a character and there are at most [`MAX_ITEMS`] of them (names are short).
fn char_codes<'e, 'a: 'e>(
    items: impl Iterator<Item = Option<&'e Expression<'a>>>,
) -> Option<String> {
    let mut out = String::new();
    for (n, item) in items.enumerate() {
        if n >= MAX_ITEMS {
            return None;
        }
        let Expression::NumericLiteral(num) = unwrap_expr(item?) else {
            return None;
        };
        let code = num.value;
        if !(0.0..=f64::from(u32::MAX)).contains(&code) || code.fract() != 0.0 {
            return None;
        }
        out.push(char::from_u32(code as u32)?);
    }
    (!out.is_empty()).then_some(out)
}

/// The name of a static property key (`a`, `'a'`, `[`a`]`).
fn property_key_name(key: &PropertyKey<'_>) -> Option<String> {
    match key {
        PropertyKey::StaticIdentifier(id) => Some(id.name.as_str().to_owned()),
        PropertyKey::PrivateIdentifier(id) => Some(format!("#{}", id.name.as_str())),
        other => other.as_expression().and_then(|e| literal_string(e, 4)),
    }
}

/// The tree walk: holds the alias map, the scope stack and the facts being filled.
struct Walker<'s> {
    source: &'s str,
    line_starts: &'s [usize],
    facts: SourceFacts,
    /// Local name → what it denotes (`cp` → `child_process`, `run` → `child_process.exec`).
    aliases: HashMap<String, String>,
    /// Enclosing functions/classes, innermost last; `None` marks code that runs on load
    /// (the body of a top-level immediately-invoked function).
    scopes: Vec<Option<String>>,
    /// Span starts of functions invoked right where they are defined at top level.
    iife_starts: HashSet<u32>,
    /// Span start of a function or class → the name its context gives it
    /// (`const run = () => …`, methods, `exports.x = function …`).
    pending_names: HashMap<u32, String>,
    /// Span start of a `process.env` expression already counted by its parent member
    /// read (or skipped because the parent writes to it).
    env_consumed: Option<u32>,
    /// Span start of a member expression that is an assignment target (a write, not a read).
    write_target: Option<u32>,
    /// Locals bound to the path of another installed module (`const p =
    /// require.resolve('m')`), so a later `fs.writeFileSync(p, …)` reads as a write to it.
    module_paths: HashMap<String, Arg>,
    depth: usize,
}

impl<'s> Walker<'s> {
    fn new(source: &'s str, line_starts: &'s [usize], facts: SourceFacts) -> Self {
        Walker {
            source,
            line_starts,
            facts,
            aliases: HashMap::new(),
            scopes: Vec::new(),
            iife_starts: HashSet::new(),
            pending_names: HashMap::new(),
            env_consumed: None,
            write_target: None,
            module_paths: HashMap::new(),
            depth: 0,
        }
    }

    fn line(&self, span: Span) -> u32 {
        line_of(self.line_starts, span.start as usize)
    }

    fn snippet(&self, span: Span) -> String {
        // Bound the slice before collapsing it: snippets are short, calls can be megabytes.
        let start = span.start as usize;
        let end = (span.end as usize).min(start.saturating_add(MAX_LITERAL_CHARS));
        let mut end = end.min(self.source.len());
        while end > start && !self.source.is_char_boundary(end) {
            end -= 1;
        }
        self.source
            .get(start..end)
            .map(|text| snippet(text, 200))
            .unwrap_or_default()
    }

    fn scope(&self) -> Option<String> {
        self.scopes.last().cloned().flatten()
    }

    fn at_top_level(&self) -> bool {
        self.scopes.last().is_none_or(Option::is_none)
    }

    fn add_alias(&mut self, local: &str, target: String) {
        if self.aliases.len() < MAX_ALIASES || self.aliases.contains_key(local) {
            self.aliases.insert(local.to_owned(), target);
        }
    }

    fn add_definition(&mut self, name: &str) {
        if self.facts.definitions.len() < MAX_DEFINITIONS
            && !self.facts.definitions.iter().any(|d| d == name)
        {
            self.facts.definitions.push(name.to_owned());
        }
    }

    fn add_import(&mut self, module: Option<String>, member: Option<String>, span: Span) {
        if self.facts.imports.len() >= MAX_IMPORTS {
            return;
        }
        let line = self.line(span);
        let dynamic = module.is_none();
        let module = module.map_or_else(|| "<dynamic>".to_owned(), |m| bounded(&m).0);
        self.facts.imports.push(Import {
            module,
            member,
            line,
            dynamic,
        });
    }

    fn add_string(&mut self, value: &str, span: Span) {
        if self.facts.strings.len() >= MAX_STRINGS {
            return;
        }
        let (value, len) = bounded(value);
        let line = self.line(span);
        self.facts.strings.push(StringLit { value, len, line });
    }

    // ---- names ---------------------------------------------------------------------

    /// What an identifier denotes after alias resolution.
    fn resolve_ident(&self, name: &str) -> String {
        self.aliases
            .get(name)
            .cloned()
            .unwrap_or_else(|| name.to_owned())
    }

    /// The dotted path an expression denotes (`child_process`, `process.env.HOME`), or
    /// `None` when its origin is unknown (a call result, `this`, a literal, …).
    fn path_of(&self, expr: &Expression<'_>) -> Option<String> {
        let mut props: Vec<String> = Vec::new();
        let mut cur = unwrap_expr(expr);
        let root_is_module;
        let root = loop {
            if props.len() > MAX_PATH_PARTS {
                return None;
            }
            match cur {
                Expression::Identifier(id) => {
                    let name = id.name.as_str();
                    root_is_module = self.aliases.get(name).is_some_and(|t| !t.contains('.'));
                    break self.resolve_ident(name);
                }
                Expression::StaticMemberExpression(m) => {
                    props.push(m.property.name.as_str().to_owned());
                    cur = unwrap_expr(&m.object);
                }
                Expression::ComputedMemberExpression(m) => {
                    props.push(folded_name(&m.expression)?);
                    cur = unwrap_expr(&m.object);
                }
                Expression::ChainExpression(chain) => match &chain.expression {
                    ChainElement::StaticMemberExpression(m) => {
                        props.push(m.property.name.as_str().to_owned());
                        cur = unwrap_expr(&m.object);
                    }
                    ChainElement::ComputedMemberExpression(m) => {
                        props.push(folded_name(&m.expression)?);
                        cur = unwrap_expr(&m.object);
                    }
                    _ => return None,
                },
                Expression::CallExpression(call) => {
                    root_is_module = true;
                    break self.required_module(call)?;
                }
                _ => return None,
            }
        };
        let mut parts = props.iter().rev().map(String::as_str).peekable();
        // `os_1.default.hostname` (compiled ES module interop) is `os.hostname`: a
        // module's `default` export is the module itself here.
        if root_is_module && parts.peek() == Some(&"default") {
            parts.next();
        }
        let mut out = root;
        // `global.eval` is `eval`, `globalThis.process.env` is `process.env`.
        if is_global_object(&out) {
            match parts.next() {
                Some(first) => out = self.resolve_ident(first),
                None => return Some(out),
            }
        }
        for part in parts {
            out.push('.');
            out.push_str(part);
        }
        Some(out)
    }

    /// The module name (without `node:`) when `call` is `require('literal')`.
    fn required_module(&self, call: &CallExpression<'_>) -> Option<String> {
        if call.arguments.len() != 1 {
            return None;
        }
        let callee = self.path_of(&call.callee)?;
        let arg = call.arguments.first()?.as_expression()?;
        if is_interop_helper(&callee) {
            // `__importDefault(require("os"))` from tsc, `_interopRequireDefault(…)` from
            // Babel: the helper returns the module (or a `{ default: module }` wrapper).
            // One level only, so this cannot recurse.
            let Expression::CallExpression(inner) = unwrap_expr(arg) else {
                return None;
            };
            if inner.arguments.len() != 1 || !is_require(&self.path_of(&inner.callee)?) {
                return None;
            }
            let module = folded_name(inner.arguments.first()?.as_expression()?)?;
            return Some(strip_node_prefix(&module).to_owned());
        }
        if !is_require(&callee) {
            return None;
        }
        let module = folded_name(arg)?;
        Some(strip_node_prefix(&module).to_owned())
    }

    /// The dotted callee of a call or `new`: a resolved path, `?.method` for a method on
    /// an unknown object, `path.?` for a computed method name, `?` otherwise.
    fn callee_name(&self, callee: &Expression<'_>) -> String {
        let callee = unwrap_expr(callee);
        let member = match callee {
            Expression::ChainExpression(chain) => chain.expression.as_member_expression(),
            other => other.as_member_expression(),
        };
        if let Some(member) = member {
            let object = member.object();
            let prop = match member {
                MemberExpression::StaticMemberExpression(m) => {
                    Some(m.property.name.as_str().to_owned())
                }
                MemberExpression::ComputedMemberExpression(m) => folded_name(&m.expression),
                MemberExpression::PrivateFieldExpression(m) => {
                    Some(format!("#{}", m.field.name.as_str()))
                }
            };
            return match (self.path_of(object), prop) {
                (Some(path), Some(prop)) if is_global_object(&path) => self.resolve_ident(&prop),
                (Some(path), Some(prop)) => format!("{path}.{prop}"),
                (Some(path), None) => format!("{path}.?"),
                (None, Some(prop)) => format!("?.{prop}"),
                (None, None) => "?".to_owned(),
            };
        }
        self.path_of(callee).unwrap_or_else(|| "?".to_owned())
    }

    // ---- arguments ---------------------------------------------------------------

    fn args_of(&self, arguments: &[Argument<'_>], depth: usize) -> (Vec<Arg>, Vec<(String, Arg)>) {
        let mut args = Vec::with_capacity(arguments.len().min(MAX_ARGS));
        let mut kwargs = Vec::new();
        for argument in arguments.iter().take(MAX_ARGS) {
            match argument.as_expression() {
                Some(expr) => {
                    if let Expression::ObjectExpression(obj) = unwrap_expr(expr) {
                        self.object_kwargs(obj, depth, &mut kwargs);
                    }
                    args.push(self.arg_of(expr, depth));
                }
                None => args.push(Arg::Other),
            }
        }
        (args, kwargs)
    }

    /// The literal properties of an options object (`{shell: true}`).
    fn object_kwargs(
        &self,
        obj: &ObjectExpression<'_>,
        depth: usize,
        out: &mut Vec<(String, Arg)>,
    ) {
        for prop in obj.properties.iter().take(MAX_ITEMS) {
            if let ObjectPropertyKind::ObjectProperty(p) = prop
                && !p.method
                && let Some(key) = property_key_name(&p.key)
            {
                // An option whose value is opaque says nothing a rule reads, and
                // bundles pass hundreds of thousands of such objects (props,
                // styles): keeping them cost ~50 MB on a 100 MB icon package.
                let value = self.arg_of(&p.value, depth + 1);
                if !matches!(value, Arg::Other) {
                    out.push((bounded(&key).0, value));
                }
            }
        }
    }

    fn arg_of(&self, expr: &Expression<'_>, depth: usize) -> Arg {
        if let Some(s) = literal_string(expr, 8) {
            return Arg::Str(bounded(&s).0);
        }
        let expr = unwrap_expr(expr);
        match expr {
            Expression::NumericLiteral(n) => Arg::Const(
                n.raw
                    .map_or_else(|| n.value.to_string(), |raw| raw.as_str().to_owned()),
            ),
            Expression::BooleanLiteral(b) => Arg::Const(b.value.to_string()),
            Expression::NullLiteral(_) => Arg::Const("null".to_owned()),
            Expression::Identifier(id) if !self.aliases.contains_key(id.name.as_str()) => self
                .module_paths
                .get(id.name.as_str())
                .cloned()
                .unwrap_or_else(|| Arg::Name(id.name.as_str().to_owned())),
            Expression::Identifier(_)
            | Expression::StaticMemberExpression(_)
            | Expression::ComputedMemberExpression(_) => {
                self.path_of(expr).map_or(Arg::Other, Arg::Name)
            }
            Expression::ChainExpression(chain) => match &chain.expression {
                ChainElement::CallExpression(call) if depth < MAX_ARG_DEPTH => {
                    self.call_arg(&call.callee, &call.arguments, depth)
                }
                ChainElement::CallExpression(_) => Arg::Other,
                _ => self.path_of(expr).map_or(Arg::Other, Arg::Name),
            },
            Expression::ArrayExpression(arr) if depth < MAX_ARG_DEPTH => Arg::List(
                arr.elements
                    .iter()
                    .take(MAX_ITEMS)
                    .map(|el| match el {
                        ArrayExpressionElement::SpreadElement(_)
                        | ArrayExpressionElement::Elision(_) => Arg::Other,
                        other => other
                            .as_expression()
                            .map_or(Arg::Other, |e| self.arg_of(e, depth + 1)),
                    })
                    .collect(),
            ),
            Expression::CallExpression(call) if depth < MAX_ARG_DEPTH => {
                self.call_arg(&call.callee, &call.arguments, depth)
            }
            Expression::NewExpression(new) if depth < MAX_ARG_DEPTH => {
                self.call_arg(&new.callee, &new.arguments, depth)
            }
            _ => Arg::Other,
        }
    }

    /// A nested call as an argument. A method called on another call's result
    /// (`Buffer.from(s, 'base64').toString()`, `atob(s).split('')…`) stands for the
    /// innermost call that produced the data, so decode chains read as
    /// `eval(Buffer.from(…))`; the method calls are still recorded as calls of their own.
    fn call_arg(&self, callee: &Expression<'_>, arguments: &[Argument<'_>], depth: usize) -> Arg {
        let mut callee = callee;
        let mut arguments = arguments;
        for _ in 0..MAX_PATH_PARTS {
            let member = match unwrap_expr(callee) {
                Expression::ChainExpression(chain) => chain.expression.as_member_expression(),
                other => other.as_member_expression(),
            };
            let Some(member) = member else { break };
            let (inner_callee, inner_args) = match unwrap_expr(member.object()) {
                Expression::CallExpression(c) if self.required_module(c).is_none() => {
                    (&c.callee, &c.arguments)
                }
                Expression::NewExpression(n) => (&n.callee, &n.arguments),
                _ => break,
            };
            callee = inner_callee;
            arguments = inner_args;
        }
        let name = self.callee_name(callee);
        let (args, _) = self.args_of(arguments, depth + 1);
        Arg::Call { callee: name, args }
    }

    // ---- recording -------------------------------------------------------------

    fn record_call(
        &mut self,
        callee_expr: &Expression<'_>,
        arguments: &[Argument<'_>],
        span: Span,
    ) {
        // Past the call cap only imports are still wanted: skip naming other callees.
        if self.facts.calls.len() >= MAX_CALLS && !self.may_be_require(callee_expr) {
            return;
        }
        let callee = self.callee_name(callee_expr);
        if is_require(&callee) {
            let module = arguments
                .first()
                .and_then(Argument::as_expression)
                .and_then(folded_name);
            self.add_import(module, None, span);
        }
        self.push_call(callee, arguments, span);
    }

    fn push_call(&mut self, callee: String, arguments: &[Argument<'_>], span: Span) {
        if self.facts.calls.len() >= MAX_CALLS {
            return;
        }
        let (args, kwargs) = self.args_of(arguments, 0);
        self.facts.calls.push(Call {
            callee,
            args,
            kwargs,
            line: self.line(span),
            scope: self.scope(),
            snippet: self.snippet(span),
        });
    }

    fn push_env_read(&mut self, arg: Arg, span: Span) {
        if self.facts.calls.len() >= MAX_CALLS {
            return;
        }
        self.facts.calls.push(Call {
            callee: PROCESS_ENV.to_owned(),
            args: vec![arg],
            kwargs: Vec::new(),
            line: self.line(span),
            scope: self.scope(),
            snippet: self.snippet(span),
        });
    }

    /// Whether `expr` denotes `process.env` (without allocating: this runs on every
    /// member expression).
    fn is_process_env(&self, expr: &Expression<'_>) -> bool {
        match unwrap_expr(expr) {
            Expression::Identifier(id) => self
                .aliases
                .get(id.name.as_str())
                .is_some_and(|t| t == PROCESS_ENV),
            Expression::StaticMemberExpression(m) if m.property.name == "env" => {
                self.is_process(&m.object)
            }
            Expression::ComputedMemberExpression(m)
                if folded_name(&m.expression).is_some_and(|k| k == "env") =>
            {
                self.is_process(&m.object)
            }
            _ => false,
        }
    }

    fn is_process(&self, expr: &Expression<'_>) -> bool {
        match unwrap_expr(expr) {
            Expression::Identifier(id) => {
                let name = id.name.as_str();
                match self.aliases.get(name) {
                    Some(target) => target == "process",
                    None => name == "process",
                }
            }
            Expression::StaticMemberExpression(m) if m.property.name == "process" => {
                matches!(unwrap_expr(&m.object), Expression::Identifier(id) if is_global_object(id.name.as_str()))
            }
            _ => false,
        }
    }

    // ---- bindings ----------------------------------------------------------------

    /// Aliases and definitions from the module's top-level statements, read before the
    /// walk so functions declared above a `require` still resolve it (hoisting).
    fn collect_module_bindings(&mut self, program: &Program<'_>) {
        for stmt in &program.body {
            self.collect_statement_bindings(stmt);
        }
    }

    fn collect_statement_bindings(&mut self, stmt: &Statement<'_>) {
        match stmt {
            Statement::VariableDeclaration(decl) => {
                for d in &decl.declarations {
                    self.bind_declarator(d);
                    if let BindingPattern::BindingIdentifier(id) = &d.id
                        && d.init.as_ref().is_some_and(|e| {
                            matches!(
                                unwrap_expr(e),
                                Expression::FunctionExpression(_)
                                    | Expression::ArrowFunctionExpression(_)
                                    | Expression::ClassExpression(_)
                            )
                        })
                    {
                        self.add_definition(id.name.as_str());
                    }
                }
            }
            Statement::FunctionDeclaration(f) => {
                if let Some(id) = &f.id {
                    self.add_definition(id.name.as_str());
                }
            }
            Statement::ClassDeclaration(c) => {
                if let Some(id) = &c.id {
                    self.add_definition(id.name.as_str());
                }
            }
            Statement::ImportDeclaration(decl) => self.bind_import(decl),
            Statement::ExportDeclaration(export) => match &export.declaration {
                Declaration::FunctionDeclaration(f) => {
                    if let Some(id) = &f.id {
                        self.add_definition(id.name.as_str());
                    }
                }
                Declaration::ClassDeclaration(c) => {
                    if let Some(id) = &c.id {
                        self.add_definition(id.name.as_str());
                    }
                }
                Declaration::VariableDeclaration(decl) => {
                    for d in &decl.declarations {
                        self.bind_declarator(d);
                        if let BindingPattern::BindingIdentifier(id) = &d.id {
                            self.add_definition(id.name.as_str());
                        }
                    }
                }
                _ => {}
            },
            Statement::ExportDefaultDeclaration(export) => match &export.declaration {
                ExportDefaultDeclarationKind::FunctionDeclaration(f) => {
                    self.add_definition(f.id.as_ref().map_or("default", |id| id.name.as_str()));
                }
                ExportDefaultDeclarationKind::ClassDeclaration(c) => {
                    self.add_definition(c.id.as_ref().map_or("default", |id| id.name.as_str()));
                }
                _ => {}
            },
            Statement::ExpressionStatement(stmt) => {
                if let Expression::AssignmentExpression(assign) = &stmt.expression {
                    self.exported_definitions(assign);
                }
            }
            _ => {}
        }
    }

    /// `module.exports.x = …`, `exports.x = …`, `module.exports = {a, b}`.
    fn exported_definitions(&mut self, assign: &oxc_ast::ast::AssignmentExpression<'_>) {
        let Some(member) = assign.left.as_member_expression() else {
            return;
        };
        let Some(target) = self.path_of(member.object()) else {
            return;
        };
        let prop = member.static_property_name();
        match (target.as_str(), prop) {
            ("module", Some("exports")) => {
                if let Expression::ObjectExpression(obj) = unwrap_expr(&assign.right) {
                    for p in obj.properties.iter().take(MAX_ITEMS) {
                        if let ObjectPropertyKind::ObjectProperty(p) = p
                            && let Some(key) = property_key_name(&p.key)
                        {
                            self.add_definition(&key);
                        }
                    }
                }
            }
            ("exports" | "module.exports", Some(name)) => self.add_definition(name),
            _ => {}
        }
    }

    fn bind_import(&mut self, decl: &ImportDeclaration<'_>) {
        if decl.import_kind.is_type() {
            return;
        }
        let module = strip_node_prefix(decl.source.value.as_str()).to_owned();
        for spec in decl.specifiers.iter().flatten() {
            match spec {
                ImportDeclarationSpecifier::ImportSpecifier(s) => {
                    if s.import_kind.is_type() {
                        continue;
                    }
                    let imported = s.imported.name();
                    let target = if imported == "default" {
                        module.clone()
                    } else {
                        format!("{module}.{imported}")
                    };
                    self.add_alias(s.local.name.as_str(), target);
                }
                ImportDeclarationSpecifier::ImportDefaultSpecifier(s) => {
                    self.add_alias(s.local.name.as_str(), module.clone())
                }
                ImportDeclarationSpecifier::ImportNamespaceSpecifier(s) => {
                    self.add_alias(s.local.name.as_str(), module.clone());
                }
            }
        }
    }

    /// Aliases from `x = require('m')`, `{a, b: c} = require('m')`, `x = require('m').y`,
    /// `x = await import('m')`, and `x = <known path>` (`const e = eval`,
    /// `const env = process.env`, `const r = require`).
    fn bind_declarator(&mut self, decl: &VariableDeclarator<'_>) {
        let Some(init) = &decl.init else { return };
        if let (BindingPattern::BindingIdentifier(id), Expression::CallExpression(call)) =
            (&decl.id, unwrap_expr(init))
            && self.module_paths.len() < MAX_ALIASES
            // Cheap check first: this runs for every declarator initialised by a call.
            && unwrap_expr(&call.callee)
                .as_member_expression()
                .and_then(MemberExpression::static_property_name)
                == Some("resolve")
            && self.callee_name(&call.callee) == "require.resolve"
        {
            let arg = self.call_arg(&call.callee, &call.arguments, 1);
            self.module_paths.insert(id.name.as_str().to_owned(), arg);
        }
        let Some(target) = self.binding_target(init) else {
            return;
        };
        match &decl.id {
            BindingPattern::BindingIdentifier(id) if id.name.as_str() != target => {
                self.add_alias(id.name.as_str(), target);
            }
            BindingPattern::ObjectPattern(pattern) => {
                for prop in pattern.properties.iter().take(MAX_ITEMS) {
                    let Some(key) = property_key_name(&prop.key) else {
                        continue;
                    };
                    let local = match &prop.value {
                        BindingPattern::BindingIdentifier(id) => id,
                        BindingPattern::AssignmentPattern(p) => match &p.left {
                            BindingPattern::BindingIdentifier(id) => id,
                            _ => continue,
                        },
                        _ => continue,
                    };
                    self.add_alias(local.name.as_str(), format!("{target}.{key}"));
                }
            }
            _ => {}
        }
    }

    /// What a binding's initialiser denotes, when that is worth remembering.
    fn binding_target(&self, init: &Expression<'_>) -> Option<String> {
        let mut init = unwrap_expr(init);
        // `var env = process.env || {}`: a fallback does not change what is bound.
        for _ in 0..MAX_PATH_PARTS {
            match init {
                Expression::LogicalExpression(l)
                    if matches!(l.operator, LogicalOperator::Or | LogicalOperator::Coalesce) =>
                {
                    init = unwrap_expr(&l.left);
                }
                _ => break,
            }
        }
        match init {
            Expression::ImportExpression(import) => {
                literal_string(&import.source, 8).map(|m| strip_node_prefix(&m).to_owned())
            }
            Expression::CallExpression(call) => self.required_module(call),
            Expression::Identifier(_)
            | Expression::StaticMemberExpression(_)
            | Expression::ComputedMemberExpression(_) => {
                let path = self.path_of(init)?;
                // Only names that lead somewhere interesting: module aliases and the
                // globals that reach code execution, processes and the environment.
                let root = path.split('.').next().unwrap_or_default();
                let known = matches!(
                    root,
                    "eval"
                        | "Function"
                        | "require"
                        | "module"
                        | "process"
                        | "Buffer"
                        | "atob"
                        | "fetch"
                ) || self.root_is_alias_or_module(init);
                known.then_some(path)
            }
            _ => None,
        }
    }

    /// Names a function or class by where it is bound, for `scope`.
    fn name_from_context(&mut self, value: &Expression<'_>, name: String) {
        match unwrap_expr(value) {
            Expression::FunctionExpression(f) => {
                self.pending_names.insert(f.span.start, name);
            }
            Expression::ArrowFunctionExpression(f) => {
                self.pending_names.insert(f.span.start, name);
            }
            Expression::ClassExpression(c) => {
                self.pending_names.insert(c.span.start, name);
            }
            _ => {}
        }
    }

    /// If `callee` is a function invoked where it stands (`(function(){…})()`,
    /// `(() => …)()`, `(function(){…}).call(this)`), its span start.
    fn iife_function_start(callee: &Expression<'_>) -> Option<u32> {
        let mut callee = unwrap_expr(callee);
        if let Expression::StaticMemberExpression(m) = callee
            && matches!(m.property.name.as_str(), "call" | "apply")
        {
            callee = unwrap_expr(&m.object);
        }
        match callee {
            Expression::FunctionExpression(f) => Some(f.span.start),
            Expression::ArrowFunctionExpression(f) => Some(f.span.start),
            _ => None,
        }
    }

    fn enter_function_scope(&mut self, start: u32, own_name: Option<&str>) {
        if self.at_top_level() && self.iife_starts.remove(&start) {
            self.pending_names.remove(&start);
            self.scopes.push(None);
            return;
        }
        let name = self
            .pending_names
            .remove(&start)
            .or_else(|| own_name.map(str::to_owned))
            .unwrap_or_else(|| "<anonymous>".to_owned());
        self.scopes.push(Some(name));
    }
}

impl<'a> Visit<'a> for Walker<'_> {
    fn enter_node(&mut self, kind: AstKind<'a>) {
        match kind {
            AstKind::Function(f) => {
                self.enter_function_scope(f.span.start, f.id.as_ref().map(|id| id.name.as_str()))
            }
            AstKind::ArrowFunctionExpression(f) => self.enter_function_scope(f.span.start, None),
            AstKind::Class(c) => {
                let name = self
                    .pending_names
                    .remove(&c.span.start)
                    .or_else(|| c.id.as_ref().map(|id| id.name.as_str().to_owned()))
                    .unwrap_or_else(|| "<anonymous>".to_owned());
                self.scopes.push(Some(name));
            }
            _ => {}
        }
    }

    fn leave_node(&mut self, kind: AstKind<'a>) {
        if matches!(
            kind,
            AstKind::Function(_) | AstKind::ArrowFunctionExpression(_) | AstKind::Class(_)
        ) {
            self.scopes.pop();
        }
    }

    fn visit_statement(&mut self, it: &Statement<'a>) {
        if self.depth >= MAX_WALK_DEPTH {
            return;
        }
        self.depth += 1;
        walk::walk_statement(self, it);
        self.depth -= 1;
    }

    fn visit_expression(&mut self, it: &Expression<'a>) {
        if self.depth >= MAX_WALK_DEPTH {
            return;
        }
        self.depth += 1;
        walk::walk_expression(self, it);
        self.depth -= 1;
    }

    /// Walks `a + b + c + …` iteratively: obfuscators build strings from thousands of
    /// concatenated pieces, and the left-deep tree would otherwise cost one stack frame
    /// (and one unit of walk depth) per piece.
    fn visit_binary_expression(&mut self, it: &BinaryExpression<'a>) {
        if !matches!(it.left, Expression::BinaryExpression(_)) {
            self.visit_expression(&it.left);
            self.visit_expression(&it.right);
            return;
        }
        let mut rights = Vec::new();
        let mut cur = it;
        let leftmost = loop {
            rights.push(&cur.right);
            match &cur.left {
                Expression::BinaryExpression(b) => cur = b,
                other => break other,
            }
        };
        self.visit_expression(leftmost);
        for right in rights.into_iter().rev() {
            self.visit_expression(right);
        }
    }

    fn visit_call_expression(&mut self, it: &CallExpression<'a>) {
        if self.at_top_level()
            && let Some(start) = Self::iife_function_start(&it.callee)
        {
            self.iife_starts.insert(start);
        } else if !it.callee.get_inner_expression().is_function() {
            self.record_call(&it.callee, &it.arguments, it.span);
        }
        walk::walk_call_expression(self, it);
    }

    fn visit_new_expression(&mut self, it: &NewExpression<'a>) {
        self.record_call(&it.callee, &it.arguments, it.span);
        walk::walk_new_expression(self, it);
    }

    fn visit_import_expression(&mut self, it: &ImportExpression<'a>) {
        let module = literal_string(&it.source, 8);
        self.add_import(module, None, it.span);
        walk::walk_import_expression(self, it);
    }

    fn visit_import_declaration(&mut self, it: &ImportDeclaration<'a>) {
        if !it.import_kind.is_type() {
            let module = it.source.value.as_str();
            match &it.specifiers {
                Some(specs) if !specs.is_empty() => {
                    let mut whole = false;
                    for spec in specs {
                        match spec {
                            ImportDeclarationSpecifier::ImportSpecifier(s)
                                if !s.import_kind.is_type() =>
                            {
                                let member = s.imported.name().as_str().to_owned();
                                self.add_import(Some(module.to_owned()), Some(member), s.span);
                            }
                            ImportDeclarationSpecifier::ImportSpecifier(_) => {}
                            _ if whole => {}
                            _ => {
                                whole = true;
                                self.add_import(Some(module.to_owned()), None, it.span);
                            }
                        }
                    }
                }
                _ => self.add_import(Some(module.to_owned()), None, it.span),
            }
        }
        walk::walk_import_declaration(self, it);
    }

    fn visit_export_from_declaration(&mut self, it: &ExportFromDeclaration<'a>) {
        if !it.export_kind.is_type() {
            let module = it.source.value.as_str();
            if it.specifiers.is_empty() {
                self.add_import(Some(module.to_owned()), None, it.span);
            }
            for spec in &it.specifiers {
                if !spec.export_kind.is_type() {
                    let member = spec.local.name().as_str().to_owned();
                    self.add_import(Some(module.to_owned()), Some(member), spec.span);
                }
            }
        }
        walk::walk_export_from_declaration(self, it);
    }

    fn visit_export_all_declaration(&mut self, it: &ExportAllDeclaration<'a>) {
        if !it.export_kind.is_type() {
            self.add_import(Some(it.source.value.as_str().to_owned()), None, it.span);
        }
        walk::walk_export_all_declaration(self, it);
    }

    fn visit_variable_declarator(&mut self, it: &VariableDeclarator<'a>) {
        // Bindings inside functions (and top-level IIFEs) count too; top-level ones were
        // read before the walk, re-reading them is harmless.
        self.bind_declarator(it);
        if let (BindingPattern::BindingIdentifier(id), Some(init)) = (&it.id, &it.init) {
            self.name_from_context(init, id.name.as_str().to_owned());
        }
        walk::walk_variable_declarator(self, it);
    }

    fn visit_assignment_expression(&mut self, it: &oxc_ast::ast::AssignmentExpression<'a>) {
        if let Some(member) = it.left.as_member_expression() {
            self.write_target = Some(member.span().start);
            if let Some(path) = self.path_of(member.as_expression()) {
                let name = path.rsplit('.').next().unwrap_or_default().to_owned();
                let name = if path.starts_with("module.exports") || path.starts_with("exports.") {
                    name
                } else {
                    path
                };
                self.name_from_context(&it.right, name);
            }
        } else if let Some(SimpleAssignmentTarget::AssignmentTargetIdentifier(id)) =
            it.left.as_simple_assignment_target()
        {
            if let Some(target) = self.binding_target(&it.right)
                && id.name.as_str() != target
            {
                self.add_alias(id.name.as_str(), target);
            }
            self.name_from_context(&it.right, id.name.as_str().to_owned());
        }
        walk::walk_assignment_expression(self, it);
    }

    fn visit_object_property(&mut self, it: &oxc_ast::ast::ObjectProperty<'a>) {
        if let Some(key) = property_key_name(&it.key) {
            self.name_from_context(&it.value, key);
        }
        walk::walk_object_property(self, it);
    }

    fn visit_method_definition(&mut self, it: &oxc_ast::ast::MethodDefinition<'a>) {
        let class = self.scope().unwrap_or_else(|| "<anonymous>".to_owned());
        let key = property_key_name(&it.key).unwrap_or_else(|| "?".to_owned());
        self.pending_names
            .insert(it.value.span.start, format!("{class}.{key}"));
        walk::walk_method_definition(self, it);
    }

    fn visit_property_definition(&mut self, it: &oxc_ast::ast::PropertyDefinition<'a>) {
        if let Some(value) = &it.value {
            let class = self.scope().unwrap_or_else(|| "<anonymous>".to_owned());
            let key = property_key_name(&it.key).unwrap_or_else(|| "?".to_owned());
            self.name_from_context(value, format!("{class}.{key}"));
        }
        walk::walk_property_definition(self, it);
    }

    fn visit_static_member_expression(&mut self, it: &StaticMemberExpression<'a>) {
        let is_write = self.write_target.take_if(|s| *s == it.span.start).is_some();
        if self.is_process_env(&it.object) {
            self.env_consumed = Some(it.object.span().start);
            if !is_write {
                self.push_env_read(Arg::Str(bounded(it.property.name.as_str()).0), it.span);
            }
        } else if self.env_consumed != Some(it.span.start) && self.is_process_env_member(it) {
            self.push_env_read(Arg::Other, it.span);
        }
        walk::walk_static_member_expression(self, it);
    }

    fn visit_computed_member_expression(&mut self, it: &ComputedMemberExpression<'a>) {
        let is_write = self.write_target.take_if(|s| *s == it.span.start).is_some();
        if self.is_process_env(&it.object) {
            self.env_consumed = Some(it.object.span().start);
            if !is_write {
                let arg =
                    folded_name(&it.expression).map_or(Arg::Other, |s| Arg::Str(bounded(&s).0));
                self.push_env_read(arg, it.span);
            }
        } else if self.env_consumed != Some(it.span.start)
            && folded_name(&it.expression).is_some_and(|k| k == "env")
            && self.is_process(&it.object)
        {
            self.push_env_read(Arg::Other, it.span);
        }
        walk::walk_computed_member_expression(self, it);
    }

    fn visit_identifier_reference(&mut self, it: &oxc_ast::ast::IdentifierReference<'a>) {
        // `const env = process.env; send(env)` is a whole-environment read too.
        if self.env_consumed != Some(it.span.start)
            && self
                .aliases
                .get(it.name.as_str())
                .is_some_and(|t| t == PROCESS_ENV)
        {
            self.push_env_read(Arg::Other, it.span);
        }
    }

    fn visit_string_literal(&mut self, it: &StringLiteral<'a>) {
        self.add_string(it.value.as_str(), it.span);
    }

    fn visit_template_element(&mut self, it: &TemplateElement<'a>) {
        let value = it.value.cooked.as_ref().unwrap_or(&it.value.raw);
        self.add_string(value.as_str(), it.span);
    }
}

impl Walker<'_> {
    /// A cheap, allocation-free over-approximation of "this callee resolves to require".
    fn may_be_require(&self, callee: &Expression<'_>) -> bool {
        match unwrap_expr(callee) {
            Expression::Identifier(id) => {
                id.name == "require"
                    || self
                        .aliases
                        .get(id.name.as_str())
                        .is_some_and(|t| is_require(t))
            }
            Expression::StaticMemberExpression(m) => m.property.name == "require",
            _ => false,
        }
    }

    /// Whether the object chain under `expr` starts at an alias (`cp.exec`) or at
    /// `require('m')` (`require('m').exec`).
    fn root_is_alias_or_module(&self, expr: &Expression<'_>) -> bool {
        let mut cur = unwrap_expr(expr);
        for _ in 0..=MAX_PATH_PARTS {
            match cur {
                Expression::Identifier(id) => return self.aliases.contains_key(id.name.as_str()),
                Expression::CallExpression(call) => return self.required_module(call).is_some(),
                other => match other.as_member_expression() {
                    Some(member) => cur = unwrap_expr(member.object()),
                    None => return false,
                },
            }
        }
        false
    }

    /// `process.env` used whole (not as the object of a further member read).
    fn is_process_env_member(&self, it: &StaticMemberExpression<'_>) -> bool {
        it.property.name == "env" && self.is_process(&it.object)
    }
}

#[cfg(test)]
mod tests;
