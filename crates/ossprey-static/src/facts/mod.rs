//! Facts read from source code: what a file imports, which interesting calls it
//! makes and with which literal arguments, and where.
//!
//! One language-neutral shape, [`SourceFacts`], is filled by a real parser per
//! language ([`js`] with oxc, [`python`] with ruff's parser). Parsers recover:
//! a file that does not parse still yields every fact the parser could read,
//! plus `parse_errors` (itself a signal; malware is often deliberately broken).
//! Text-level facts that need no parser (URLs, IPs, blobs, obfuscation markers)
//! come from [`text`], which runs on every text file, parsed or not.
//!
//! Nothing here executes, imports or evaluates package code.

pub mod js;
pub mod python;
pub mod shell;
pub mod text;

use serde::Serialize;

/// Caps that keep one hostile file from producing unbounded facts.
pub const MAX_CALLS: usize = 20_000;
pub const MAX_IMPORTS: usize = 5_000;
pub const MAX_STRINGS: usize = 20_000;
/// Longest literal kept verbatim; longer ones are truncated (their full length is kept).
pub const MAX_LITERAL_CHARS: usize = 4_096;
/// Deepest nesting of [`Arg::Call`] recorded.
pub const MAX_ARG_DEPTH: usize = 4;
pub const MAX_PARSE_ERRORS: usize = 20;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Language {
    Python,
    Javascript,
    Typescript,
}

/// Everything a parser read from one file.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct SourceFacts {
    /// The parser produced a tree without errors.
    pub parsed: bool,
    /// First few syntax errors, as the parser words them, with 1-based lines.
    pub parse_errors: Vec<(u32, String)>,
    pub imports: Vec<Import>,
    pub calls: Vec<Call>,
    /// String literals (after unescaping), in source order, capped at [`MAX_STRINGS`].
    pub strings: Vec<StringLit>,
    /// Names of functions and classes defined at module level (for the execute phase and
    /// to tell module-level code from code that only runs when called).
    pub definitions: Vec<String>,
}

impl SourceFacts {
    /// Gives back the spare capacity of the fact vectors. A package's facts
    /// live until its rules ran; growth slack on hundreds of files of a large
    /// bundle package was tens of megabytes.
    pub fn shrink_to_fit(&mut self) {
        self.parse_errors.shrink_to_fit();
        self.imports.shrink_to_fit();
        self.calls.shrink_to_fit();
        for call in &mut self.calls {
            call.kwargs.shrink_to_fit();
        }
        self.strings.shrink_to_fit();
        self.definitions.shrink_to_fit();
    }
}

/// `import x`, `from x import y`, `require('x')`, `import x from 'x'`, dynamic `import('x')`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Import {
    /// The module as written: `os`, `subprocess`, `child_process`, `node:fs`, `./lib/x`.
    pub module: String,
    /// Imported member for `from x import y` / `import {y} from 'x'`; `None` for the whole module.
    pub member: Option<String>,
    pub line: u32,
    /// The module name was not a literal (`require(x)`, `__import__(name)`, `importlib.import_module(v)`).
    pub dynamic: bool,
}

/// A call (or `new`) expression.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Call {
    /// Dotted callee with import aliases resolved to the module's real name:
    /// `os.system`, `subprocess.Popen`, `child_process.exec`, `eval`, `exec`,
    /// `Function` (also for `new Function`), `base64.b64decode`, `Buffer.from`,
    /// `fetch`, `https.request`, `requests.post`. A method call on an object whose
    /// origin is unknown is `?.method` (e.g. `?.connect`, `?.write`).
    pub callee: String,
    pub args: Vec<Arg>,
    /// Keyword arguments (`shell=True`) as name → value.
    pub kwargs: Vec<(String, Arg)>,
    /// 1-based line of the call.
    pub line: u32,
    /// Where the call sits: `None` at module top level (runs on import/require),
    /// else the innermost enclosing function or class name (`PostInstall.run`,
    /// `<lambda>`, `<anonymous>`).
    pub scope: Option<String>,
    /// The source text of the call, collapsed to one line and bounded to 200 chars.
    pub snippet: String,
}

/// What an argument is, as far as static reading can tell.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "kind", content = "value", rename_all = "lowercase")]
pub enum Arg {
    /// A string literal, or a concatenation / template / f-string whose parts are all literal.
    Str(String),
    /// A number or boolean literal, as written.
    Const(String),
    /// A bare name or attribute path (`cmd`, `os.environ`, `process.env.HOME`), aliases resolved.
    Name(String),
    /// Another call; decode chains like `exec(zlib.decompress(base64.b64decode(s)))` nest here.
    Call { callee: String, args: Vec<Arg> },
    /// A list/array literal of arguments (`["curl", url]`).
    List(Vec<Arg>),
    /// Anything else (a string built from non-literal parts, a lambda, an operator, …).
    Other,
}

/// A string literal and where it is.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct StringLit {
    /// The value, truncated to [`MAX_LITERAL_CHARS`] characters.
    pub value: String,
    /// Length in characters of the full value.
    pub len: usize,
    pub line: u32,
}

impl Arg {
    /// The literal string, when this argument is one.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Arg::Str(s) => Some(s),
            _ => None,
        }
    }

    /// Callees of this argument and every call nested in it, outermost first.
    pub fn nested_callees(&self) -> Vec<&str> {
        let mut out = Vec::new();
        let mut stack = vec![self];
        while let Some(arg) = stack.pop() {
            match arg {
                Arg::Call { callee, args } => {
                    out.push(callee.as_str());
                    stack.extend(args.iter().rev());
                }
                Arg::List(items) => stack.extend(items.iter().rev()),
                _ => {}
            }
        }
        out
    }
}

/// 1-based line number of byte `offset` in `source`, given the byte offsets of line starts.
pub fn line_of(line_starts: &[usize], offset: usize) -> u32 {
    let idx = line_starts.partition_point(|&start| start <= offset);
    u32::try_from(idx.max(1)).unwrap_or(u32::MAX)
}

/// Byte offsets at which each line of `source` starts.
pub fn line_starts(source: &str) -> Vec<usize> {
    std::iter::once(0)
        .chain(source.match_indices('\n').map(|(i, _)| i + 1))
        .collect()
}

/// Collapses whitespace and bounds `text` to `max` characters, for snippets.
pub fn snippet(text: &str, max: usize) -> String {
    let mut out = String::with_capacity(text.len().min(max * 4));
    let mut last_space = false;
    for (n, c) in text.chars().enumerate() {
        if n >= max * 4 {
            break;
        }
        let c = if c.is_whitespace() || c.is_control() {
            ' '
        } else {
            c
        };
        if c == ' ' && last_space {
            continue;
        }
        last_space = c == ' ';
        out.push(c);
    }
    let trimmed = out.trim();
    match trimmed.char_indices().nth(max) {
        Some((i, _)) => format!("{}…", &trimmed[..i]),
        None => trimmed.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_numbers_are_one_based() {
        let src = "a\nbb\n\nc";
        let starts = line_starts(src);
        assert_eq!(line_of(&starts, 0), 1);
        assert_eq!(line_of(&starts, 2), 2);
        assert_eq!(line_of(&starts, 5), 3);
        assert_eq!(line_of(&starts, 6), 4);
    }

    #[test]
    fn nested_callees_walk_decode_chains() {
        let arg = Arg::Call {
            callee: "zlib.decompress".into(),
            args: vec![Arg::Call {
                callee: "base64.b64decode".into(),
                args: vec![Arg::Str("eJw=".into())],
            }],
        };
        assert_eq!(
            arg.nested_callees(),
            ["zlib.decompress", "base64.b64decode"]
        );
    }

    #[test]
    fn snippets_are_one_bounded_line() {
        assert_eq!(snippet("os.system(\n    'id'\n)", 200), "os.system( 'id' )");
        assert_eq!(snippet("abcdef", 3), "abc…");
    }
}
