//! Python facts with ruff's parser.
//!
//! One pass over the (possibly error-recovered) syntax tree records imports,
//! calls with their literal arguments, string literals and module-level
//! definitions. Callees are dotted names with import aliases resolved
//! (`import os as o; o.system` → `os.system`), including the dynamic forms
//! malware uses to hide them: `__import__('os').system`,
//! `getattr(os, 'system')`, `builtins.exec`, `globals()['exec']`.
//!
//! Conventions the rules rely on:
//! - A method call on an object of unknown origin (a parameter such as `self`,
//!   a local variable, a call result, a literal) is `?.method`; a bare name that
//!   was neither imported nor bound in the file (a builtin, or something from
//!   `from x import *`) is kept as written.
//! - Reads of the environment are synthetic calls with callee `os.environ`:
//!   `os.environ['HOME']` → args `[Str("HOME")]`; the whole mapping used as a
//!   value (`dict(os.environ)`, `os.environ.copy()`) → args `[Other]`.
//!   `os.environ.get(...)` and `os.getenv(...)` are ordinary calls.
//! - `scope` is `None` for code that runs on import (module level, including
//!   inside `if`/`try`/`with`/`if __name__ == '__main__'`), else the qualified
//!   name of the innermost `def`/`class`/lambda (`PostInstall.run`,
//!   `f.<lambda>`). Statements directly in a class body also run on import;
//!   they get the class name as scope, and rules decide how to weigh that.
//! - Comprehensions run where they are written, so they keep the enclosing
//!   scope; a comprehension argument is `List([<element>])`.
//! - Import aliases are tracked file-wide in source order (imports inside
//!   functions count too): precise enough for detection, cheap to compute.
//!
//! Nothing here imports, evaluates or executes the code it reads.

mod nesting;

use std::collections::{HashMap, HashSet};

use ruff_python_ast::visitor::{self, Visitor};
use ruff_python_ast::{
    self as ast, CmpOp, Expr, ExprContext, FStringPart, InterpolatedStringElement, Operator,
    PySourceType, Stmt, UnaryOp,
};
use ruff_python_parser::parse_unchecked_source;
use ruff_text_size::{Ranged, TextRange};

use super::{
    Arg, Call, Import, MAX_ARG_DEPTH, MAX_CALLS, MAX_IMPORTS, MAX_LITERAL_CHARS, MAX_PARSE_ERRORS,
    MAX_STRINGS, SourceFacts, StringLit, line_of, line_starts, snippet,
};

/// Deepest syntax nesting the fact walker descends into. Deeper code is
/// skipped (operator chains and method chains are walked iteratively, so they
/// do not count against this).
const MAX_WALK_DEPTH: usize = 400;
/// Most elements of one list/tuple literal recorded as [`Arg::List`] items.
const MAX_LIST_ITEMS: usize = 256;
/// Most attribute segments in a dotted name; longer chains are not names.
const MAX_DOTTED_PARTS: usize = 16;
/// How deeply `getattr(getattr(__import__('a'), 'b'), 'c')` forms are resolved.
const MAX_RESOLVE_DEPTH: usize = 8;
/// Characters of a call's source kept as its snippet.
const SNIPPET_CHARS: usize = 200;

/// Builtins that keep their meaning when assigned to another name
/// (`e = exec; e(code)` is still `exec`).
const TRACKED_BUILTINS: &[&str] = &[
    "exec",
    "eval",
    "compile",
    "__import__",
    "getattr",
    "open",
    "globals",
    "locals",
    "vars",
    "builtins",
    "__builtins__",
    "chr",
    "ord",
    "bytes",
    "bytearray",
    "input",
];

/// `os.environ` methods that read or write one key: not a mass read.
const ENVIRON_KEYED_METHODS: &[&str] = &[
    "get",
    "pop",
    "setdefault",
    "update",
    "__getitem__",
    "__setitem__",
    "__contains__",
];

/// Reads facts from one Python file.
///
/// `path` is informational only; every file is parsed as a Python module.
/// Never panics on any input: files that nest absurdly deeply are not parsed
/// (reported in `parse_errors`), and deep ones are parsed on a thread with a
/// stack to match (see `nesting`).
pub fn extract(path: &str, source: &str) -> SourceFacts {
    let _ = path;
    match nesting::plan(source) {
        nesting::Plan::Inline => extract_parsed(source),
        nesting::Plan::Thread(stack) => std::thread::scope(|scope| {
            std::thread::Builder::new()
                .name("ossprey-python-parse".into())
                .stack_size(stack)
                .spawn_scoped(scope, || extract_parsed(source))
                .ok()
                .and_then(|handle| handle.join().ok())
                .unwrap_or_else(|| unparsed("could not start a parser thread"))
        }),
        nesting::Plan::Refuse(reason) => unparsed(reason),
    }
}

/// Facts for a file we did not parse.
fn unparsed(reason: &str) -> SourceFacts {
    SourceFacts {
        parsed: false,
        parse_errors: vec![(1, reason.to_owned())],
        ..SourceFacts::default()
    }
}

/// Parses `source` (recovering from errors) and walks the tree. The tree is
/// dropped here too, on the same stack, because dropping recurses as deep as
/// parsing does.
fn extract_parsed(source: &str) -> SourceFacts {
    let parsed = parse_unchecked_source(source, PySourceType::Python);
    let mut walker = Walker::new(source);
    walker.facts.parsed = parsed.errors().is_empty();
    walker.facts.parse_errors = parsed
        .errors()
        .iter()
        .take(MAX_PARSE_ERRORS)
        .map(|error| {
            let line = line_of(&walker.starts, usize::from(error.location.start()));
            (line, snippet(&error.error.to_string(), SNIPPET_CHARS))
        })
        .collect();
    walker.visit_body(&parsed.syntax().body);
    walker.facts
}

/// The tree walk and what it has learned so far about names in the file.
struct Walker<'s> {
    source: &'s str,
    starts: Vec<usize>,
    facts: SourceFacts,
    /// Local name → what it stands for (`o` → `os`, `P` → `subprocess.Popen`).
    aliases: HashMap<String, String>,
    /// Names bound by assignment, parameters, loops, `with … as`, `except … as`:
    /// attributes of these are on objects of unknown origin (`?.method`).
    locals: HashSet<String>,
    /// Qualified names of the enclosing `def`/`class`/lambda, innermost last.
    scopes: Vec<String>,
    depth: usize,
}

impl<'s> Walker<'s> {
    fn new(source: &'s str) -> Self {
        Self {
            source,
            starts: line_starts(source),
            facts: SourceFacts::default(),
            aliases: HashMap::new(),
            locals: HashSet::new(),
            scopes: Vec::new(),
            depth: 0,
        }
    }

    fn line(&self, range: TextRange) -> u32 {
        line_of(&self.starts, usize::from(range.start()))
    }

    fn snippet(&self, range: TextRange) -> String {
        let text = self
            .source
            .get(usize::from(range.start())..usize::from(range.end()))
            .unwrap_or("");
        snippet(text, SNIPPET_CHARS)
    }

    fn scope(&self) -> Option<String> {
        self.scopes.last().cloned()
    }

    fn enter_scope(&mut self, name: &str) {
        let qualified = match self.scopes.last() {
            Some(outer) => format!("{outer}.{name}"),
            None => name.to_owned(),
        };
        self.scopes.push(qualified);
    }

    fn bind_local(&mut self, name: &str) {
        if !self.locals.contains(name) {
            self.locals.insert(name.to_owned());
        }
    }

    // ---- names -------------------------------------------------------------

    /// The dotted name `expr` stands for, aliases resolved; `?.attr` for an
    /// attribute of an unknown object; `None` when it is not a name at all.
    fn dotted(&self, expr: &Expr) -> Option<String> {
        self.dotted_at(expr, 0)
    }

    fn dotted_at(&self, expr: &Expr, depth: usize) -> Option<String> {
        // Attribute segments, outermost first.
        let mut parts: Vec<&str> = Vec::new();
        let mut base = expr;
        while let Expr::Attribute(attribute) = base {
            if parts.len() >= MAX_DOTTED_PARTS {
                return None;
            }
            parts.push(attribute.attr.as_str());
            base = &attribute.value;
        }
        let Some(root) = self.base_name(base, !parts.is_empty(), depth) else {
            return parts.first().map(|last| format!("?.{last}"));
        };
        let mut name = root;
        for part in parts.iter().rev() {
            name.push('.');
            name.push_str(part);
        }
        Some(normalize_builtins(name))
    }

    /// What the innermost part of a dotted expression names. `receiver` says an
    /// attribute is taken of it, where a local variable means "unknown object".
    fn base_name(&self, expr: &Expr, receiver: bool, depth: usize) -> Option<String> {
        match expr {
            Expr::Name(name) => {
                let id = name.id.as_str();
                if let Some(target) = self.aliases.get(id) {
                    Some(target.clone())
                } else if receiver && (matches!(id, "self" | "cls") || self.locals.contains(id)) {
                    None
                } else {
                    Some(id.to_owned())
                }
            }
            Expr::Call(call) if depth < MAX_RESOLVE_DEPTH => {
                let callee = self.dotted_at(&call.func, depth + 1)?;
                let args = &call.arguments.args;
                match callee.as_str() {
                    "__import__" | "importlib.import_module" | "importlib.__import__" => {
                        args.first().and_then(literal_text)
                    }
                    "getattr" => {
                        let attribute = args.get(1).and_then(literal_text)?;
                        let object = args.first()?;
                        let owner = self
                            .base_or_dotted(object, depth + 1)
                            .unwrap_or_else(|| "?".to_owned());
                        Some(format!("{owner}.{attribute}"))
                    }
                    _ => None,
                }
            }
            // `__builtins__['exec']`, `globals()['exec']`, `vars(builtins)['exec']`.
            Expr::Subscript(subscript) if depth < MAX_RESOLVE_DEPTH => {
                let key = literal_text(&subscript.slice)?;
                let holder = match &*subscript.value {
                    Expr::Call(call) => self.dotted_at(&call.func, depth + 1)?,
                    other => self.dotted_at(other, depth + 1)?,
                };
                matches!(
                    holder.as_str(),
                    "__builtins__" | "__dict__" | "globals" | "locals" | "vars"
                )
                .then_some(key)
            }
            _ => None,
        }
    }

    /// `dotted`, but a bare local name counts as an unknown object (for the
    /// object of `getattr`).
    fn base_or_dotted(&self, expr: &Expr, depth: usize) -> Option<String> {
        match expr {
            Expr::Name(_) => self.base_name(expr, true, depth),
            _ => self.dotted_at(expr, depth),
        }
    }

    /// The callee name recorded for a call of `func`.
    fn callee(&self, func: &Expr) -> String {
        self.dotted(func).unwrap_or_else(|| "?".to_owned())
    }

    /// What a name assigned `value` should resolve to, if it keeps a known meaning.
    fn alias_for_value(&self, value: &Expr) -> Option<String> {
        match value {
            Expr::Name(name) => {
                let id = name.id.as_str();
                self.aliases.get(id).cloned().or_else(|| {
                    (TRACKED_BUILTINS.contains(&id) && !self.locals.contains(id))
                        .then(|| id.to_owned())
                })
            }
            Expr::Attribute(_) | Expr::Call(_) | Expr::Subscript(_) => {
                self.dotted(value).filter(|name| !name.starts_with('?'))
            }
            _ => None,
        }
    }

    fn is_environ(&self, expr: &Expr) -> bool {
        let candidate = match expr {
            Expr::Attribute(attribute) => matches!(attribute.attr.as_str(), "environ" | "environb"),
            Expr::Name(name) => self.aliases.contains_key(name.id.as_str()),
            _ => false,
        };
        candidate
            && matches!(
                self.dotted(expr).as_deref(),
                Some("os.environ" | "os.environb")
            )
    }

    // ---- recording ---------------------------------------------------------

    fn record_import(
        &mut self,
        module: String,
        member: Option<String>,
        range: TextRange,
        dynamic: bool,
    ) {
        if self.facts.imports.len() < MAX_IMPORTS {
            let line = self.line(range);
            self.facts.imports.push(Import {
                module,
                member,
                line,
                dynamic,
            });
        }
    }

    fn record_string(&mut self, value: &str, range: TextRange) {
        if self.facts.strings.len() < MAX_STRINGS {
            let line = self.line(range);
            let len = value.chars().count();
            self.facts.strings.push(StringLit {
                value: truncate(value),
                len,
                line,
            });
        }
    }

    fn record_call(&mut self, call: &ast::ExprCall) {
        let callee = self.callee(&call.func);
        if matches!(
            callee.as_str(),
            "__import__" | "importlib.import_module" | "importlib.__import__"
        ) {
            match call.arguments.args.first().and_then(literal_text) {
                Some(module) => self.record_import(module, None, call.range(), false),
                None => self.record_import("<dynamic>".to_owned(), None, call.range(), true),
            }
        }
        if self.facts.calls.len() >= MAX_CALLS {
            return;
        }
        let args = call
            .arguments
            .args
            .iter()
            .map(|arg| self.arg(arg, 0))
            .collect();
        let kwargs = call
            .arguments
            .keywords
            .iter()
            .map(|keyword| {
                let name = keyword
                    .arg
                    .as_ref()
                    .map_or("**", |arg| arg.as_str())
                    .to_owned();
                (name, self.arg(&keyword.value, 0))
            })
            .collect();
        self.facts.calls.push(Call {
            callee,
            args,
            kwargs,
            line: self.line(call.range()),
            scope: self.scope(),
            snippet: self.snippet(call.range()),
        });
    }

    /// A read of the environment, as a synthetic `os.environ` call.
    fn record_environ(&mut self, key: Arg, range: TextRange) {
        if self.facts.calls.len() < MAX_CALLS {
            self.facts.calls.push(Call {
                callee: "os.environ".to_owned(),
                args: vec![key],
                kwargs: Vec::new(),
                line: self.line(range),
                scope: self.scope(),
                snippet: self.snippet(range),
            });
        }
    }

    /// What an argument expression is, as far as reading it statically tells.
    fn arg(&self, expr: &Expr, depth: usize) -> Arg {
        match expr {
            Expr::StringLiteral(_) | Expr::BytesLiteral(_) | Expr::FString(_) | Expr::BinOp(_) => {
                literal_text(expr).map_or(Arg::Other, Arg::Str)
            }
            Expr::NumberLiteral(number) => Arg::Const(truncate(&self.snippet(number.range))),
            Expr::UnaryOp(unary)
                if matches!(unary.op, UnaryOp::USub | UnaryOp::UAdd)
                    && unary.operand.is_number_literal_expr() =>
            {
                Arg::Const(truncate(&self.snippet(unary.range)))
            }
            Expr::BooleanLiteral(boolean) => {
                Arg::Const(if boolean.value { "True" } else { "False" }.into())
            }
            Expr::NoneLiteral(_) => Arg::Const("None".into()),
            Expr::Name(_) | Expr::Attribute(_) => self.dotted(expr).map_or(Arg::Other, Arg::Name),
            Expr::Call(call) if depth < MAX_ARG_DEPTH => Arg::Call {
                callee: self.callee(&call.func),
                args: call
                    .arguments
                    .args
                    .iter()
                    .map(|arg| self.arg(arg, depth + 1))
                    .collect(),
            },
            Expr::List(ast::ExprList { elts, .. })
            | Expr::Tuple(ast::ExprTuple { elts, .. })
            | Expr::Set(ast::ExprSet { elts, .. })
                if depth < MAX_ARG_DEPTH =>
            {
                Arg::List(
                    elts.iter()
                        .take(MAX_LIST_ITEMS)
                        .map(|item| self.arg(item, depth + 1))
                        .collect(),
                )
            }
            Expr::ListComp(ast::ExprListComp { elt, .. })
            | Expr::SetComp(ast::ExprSetComp { elt, .. })
            | Expr::Generator(ast::ExprGenerator { elt, .. })
                if depth < MAX_ARG_DEPTH =>
            {
                Arg::List(vec![self.arg(elt, depth + 1)])
            }
            _ => Arg::Other,
        }
    }

    // ---- statements with bindings ------------------------------------------

    fn on_import(&mut self, import: &ast::StmtImport) {
        for alias in &import.names {
            let module = alias.name.as_str();
            self.record_import(module.to_owned(), None, alias.range, false);
            match &alias.asname {
                Some(local) => {
                    self.aliases
                        .insert(local.as_str().to_owned(), module.to_owned());
                }
                None => {
                    // `import a.b` binds `a`, which then names the package `a`.
                    let head = module.split('.').next().unwrap_or(module);
                    self.aliases.insert(head.to_owned(), head.to_owned());
                }
            }
        }
    }

    fn on_import_from(&mut self, import: &ast::StmtImportFrom) {
        let dots = usize::try_from(import.level).unwrap_or(0).min(64);
        let mut module = ".".repeat(dots);
        if let Some(name) = &import.module {
            module.push_str(name.as_str());
        }
        for alias in &import.names {
            let member = alias.name.as_str();
            self.record_import(module.clone(), Some(member.to_owned()), alias.range, false);
            if member == "*" {
                continue;
            }
            let local = alias
                .asname
                .as_ref()
                .unwrap_or(&alias.name)
                .as_str()
                .to_owned();
            let target = if module.ends_with('.') || module.is_empty() {
                format!("{module}{member}")
            } else {
                format!("{module}.{member}")
            };
            self.aliases.insert(local, normalize_builtins(target));
        }
    }

    fn on_assign(&mut self, assign: &ast::StmtAssign) {
        let [Expr::Name(target)] = assign.targets.as_slice() else {
            return;
        };
        let name = target.id.as_str();
        match self.alias_for_value(&assign.value) {
            Some(meaning) => {
                self.aliases.insert(name.to_owned(), meaning);
            }
            // Rebinding at module level replaces an import; inside a function
            // it is usually an unrelated local, so the alias stays.
            None if self.scopes.is_empty() => {
                self.aliases.remove(name);
            }
            None => {}
        }
    }

    // ---- iterative walks of long chains -------------------------------------

    /// Walks a call and the method chain under it (`a().b().c()`) without
    /// recursing once per link, recording innermost first.
    fn walk_call_chain(&mut self, call: &ast::ExprCall) {
        let mut chain = vec![call];
        let mut innermost = call;
        while let Expr::Attribute(attribute) = &*innermost.func
            && let Expr::Call(inner) = &*attribute.value
        {
            chain.push(inner);
            innermost = inner;
        }
        self.visit_expr(&innermost.func);
        for link in chain.iter().rev() {
            self.record_call(link);
            self.visit_arguments(&link.arguments);
        }
    }

    /// Walks `a + b + c + …` along its left spine without recursing per operator.
    fn walk_binop_chain(&mut self, binop: &ast::ExprBinOp) {
        let mut rights = vec![&*binop.right];
        let mut left = &*binop.left;
        while let Expr::BinOp(inner) = left {
            rights.push(&inner.right);
            left = &inner.left;
        }
        self.visit_expr(left);
        for right in rights.into_iter().rev() {
            self.visit_expr(right);
        }
    }

    /// Python 2's `exec code` statement does not parse as Python 3: the
    /// recovered tree holds a bare `exec` expression followed, on the same
    /// line, by the executed expression. Record it as the call it is.
    fn recover_py2_exec(&mut self, stmt: &Stmt, next: Option<&Stmt>) {
        let Stmt::Expr(ast::StmtExpr { value, .. }) = stmt else {
            return;
        };
        let Expr::Name(name) = &**value else { return };
        let Some(Stmt::Expr(ast::StmtExpr { value: code, .. })) = next else {
            return;
        };
        if name.id.as_str() != "exec"
            || self.aliases.contains_key("exec")
            || self.line(name.range) != self.line(code.range())
            || self.facts.calls.len() >= MAX_CALLS
        {
            return;
        }
        // `exec code in namespace`
        let code = match &**code {
            Expr::Compare(compare) if compare.ops.first() == Some(&CmpOp::In) => &*compare.left,
            other => other,
        };
        let range = TextRange::new(name.range.start(), code.range().end());
        self.facts.calls.push(Call {
            callee: "exec".to_owned(),
            args: vec![self.arg(code, 0)],
            kwargs: Vec::new(),
            line: self.line(range),
            scope: self.scope(),
            snippet: self.snippet(range),
        });
    }

    fn record_literals(&mut self, expr: &Expr) {
        match expr {
            Expr::StringLiteral(string) => {
                let value = string.value.to_str();
                self.record_string(value, string.range);
            }
            Expr::BytesLiteral(bytes) => {
                let value: Vec<u8> = bytes.value.bytes().collect();
                self.record_string(&String::from_utf8_lossy(&value), bytes.range);
            }
            Expr::FString(fstring) => {
                for part in fstring.value.iter() {
                    match part {
                        FStringPart::Literal(literal) => {
                            self.record_string(&literal.value, literal.range)
                        }
                        FStringPart::FString(inner) => {
                            for element in inner.elements.iter() {
                                if let InterpolatedStringElement::Literal(literal) = element {
                                    self.record_string(&literal.value, literal.range);
                                }
                            }
                        }
                    }
                }
            }
            _ => {}
        }
    }
}

impl<'a> Visitor<'a> for Walker<'_> {
    fn visit_body(&mut self, body: &'a [Stmt]) {
        for (index, stmt) in body.iter().enumerate() {
            if !self.facts.parsed {
                self.recover_py2_exec(stmt, body.get(index + 1));
            }
            self.visit_stmt(stmt);
        }
    }

    fn visit_stmt(&mut self, stmt: &'a Stmt) {
        if self.depth >= MAX_WALK_DEPTH {
            return;
        }
        self.depth += 1;
        match stmt {
            Stmt::FunctionDef(function) => {
                if self.scopes.is_empty() {
                    self.facts
                        .definitions
                        .push(function.name.as_str().to_owned());
                }
                // Decorators, defaults and annotations run where the `def` is.
                for decorator in &function.decorator_list {
                    self.visit_decorator(decorator);
                }
                self.visit_parameters(&function.parameters);
                if let Some(returns) = &function.returns {
                    self.visit_annotation(returns);
                }
                self.enter_scope(function.name.as_str());
                self.visit_body(&function.body);
                self.scopes.pop();
            }
            Stmt::ClassDef(class) => {
                if self.scopes.is_empty() {
                    self.facts.definitions.push(class.name.as_str().to_owned());
                }
                for decorator in &class.decorator_list {
                    self.visit_decorator(decorator);
                }
                if let Some(arguments) = &class.arguments {
                    self.visit_arguments(arguments);
                }
                self.enter_scope(class.name.as_str());
                self.visit_body(&class.body);
                self.scopes.pop();
            }
            Stmt::Import(import) => self.on_import(import),
            Stmt::ImportFrom(import) => self.on_import_from(import),
            Stmt::Assign(assign) => {
                // The value is evaluated before the name is rebound.
                self.visit_expr(&assign.value);
                self.on_assign(assign);
                for target in &assign.targets {
                    self.visit_expr(target);
                }
            }
            _ => visitor::walk_stmt(self, stmt),
        }
        self.depth -= 1;
    }

    fn visit_expr(&mut self, expr: &'a Expr) {
        if self.depth >= MAX_WALK_DEPTH {
            return;
        }
        self.depth += 1;
        match expr {
            Expr::Call(call) => self.walk_call_chain(call),
            Expr::BinOp(binop) => self.walk_binop_chain(binop),
            Expr::Lambda(lambda) => {
                if let Some(parameters) = &lambda.parameters {
                    self.visit_parameters(parameters);
                }
                self.enter_scope("<lambda>");
                self.visit_expr(&lambda.body);
                self.scopes.pop();
            }
            Expr::Name(name) => match name.ctx {
                ExprContext::Store => self.bind_local(name.id.as_str()),
                ExprContext::Load if self.is_environ(expr) => {
                    self.record_environ(Arg::Other, name.range)
                }
                _ => {}
            },
            Expr::Attribute(attribute) => {
                if attribute.ctx == ExprContext::Load && self.is_environ(expr) {
                    self.record_environ(Arg::Other, attribute.range);
                    visitor::walk_expr(self, expr);
                } else if ENVIRON_KEYED_METHODS.contains(&attribute.attr.as_str())
                    && self.is_environ(&attribute.value)
                {
                    // `os.environ.get`: one key, recorded as the call itself;
                    // walk inside `os.environ` without counting it as a mass read.
                    visitor::walk_expr(self, &attribute.value);
                } else {
                    visitor::walk_expr(self, expr);
                }
            }
            Expr::Subscript(subscript) if self.is_environ(&subscript.value) => {
                if subscript.ctx == ExprContext::Load {
                    let key = self.arg(&subscript.slice, 0);
                    self.record_environ(key, subscript.range);
                }
                visitor::walk_expr(self, &subscript.value);
                self.visit_expr(&subscript.slice);
            }
            // `'X' in os.environ` tests one key.
            Expr::Compare(compare)
                if compare
                    .ops
                    .iter()
                    .any(|op| matches!(op, CmpOp::In | CmpOp::NotIn)) =>
            {
                self.visit_expr(&compare.left);
                for comparator in &compare.comparators {
                    if self.is_environ(comparator) {
                        visitor::walk_expr(self, comparator);
                    } else {
                        self.visit_expr(comparator);
                    }
                }
            }
            Expr::StringLiteral(_) | Expr::BytesLiteral(_) => self.record_literals(expr),
            Expr::FString(_) => {
                self.record_literals(expr);
                visitor::walk_expr(self, expr);
            }
            _ => visitor::walk_expr(self, expr),
        }
        self.depth -= 1;
    }

    fn visit_parameter(&mut self, parameter: &'a ast::Parameter) {
        self.bind_local(parameter.name.as_str());
        visitor::walk_parameter(self, parameter);
    }

    fn visit_except_handler(&mut self, handler: &'a ast::ExceptHandler) {
        let ast::ExceptHandler::ExceptHandler(inner) = handler;
        if let Some(name) = &inner.name {
            self.bind_local(name.as_str());
        }
        visitor::walk_except_handler(self, handler);
    }
}

/// `builtins.exec` and `__builtins__.exec` are `exec`.
fn normalize_builtins(name: String) -> String {
    for prefix in ["builtins.", "__builtins__."] {
        if let Some(rest) = name.strip_prefix(prefix)
            && !rest.is_empty()
            && rest != "__dict__"
        {
            return rest.to_owned();
        }
    }
    name
}

/// The value of an all-literal string expression: a (possibly implicitly
/// concatenated) string, a bytes literal as lossy text, an f-string without
/// expressions, or `+` of those. Bounded to [`MAX_LITERAL_CHARS`] characters.
fn literal_text(expr: &Expr) -> Option<String> {
    let mut out = String::new();
    let mut budget = MAX_LITERAL_CHARS;
    append_literal(expr, &mut out, &mut budget, 0)?;
    Some(out)
}

fn append_literal(expr: &Expr, out: &mut String, budget: &mut usize, depth: usize) -> Option<()> {
    match expr {
        Expr::StringLiteral(string) => {
            for part in string.value.iter() {
                push_bounded(out, &part.value, budget);
            }
        }
        Expr::BytesLiteral(bytes) => {
            for part in bytes.value.iter() {
                push_bounded(out, &String::from_utf8_lossy(&part.value), budget);
            }
        }
        Expr::FString(fstring) => {
            for part in fstring.value.iter() {
                match part {
                    FStringPart::Literal(literal) => push_bounded(out, &literal.value, budget),
                    FStringPart::FString(inner) => {
                        for element in inner.elements.iter() {
                            match element {
                                InterpolatedStringElement::Literal(literal) => {
                                    push_bounded(out, &literal.value, budget);
                                }
                                InterpolatedStringElement::Interpolation(_) => return None,
                            }
                        }
                    }
                }
            }
        }
        Expr::BinOp(binop) if binop.op == Operator::Add && depth < MAX_RESOLVE_DEPTH => {
            // Iterate the left spine: `'a' + 'b' + 'c'` nests to the left.
            let mut rights = vec![&*binop.right];
            let mut left = &*binop.left;
            while let Expr::BinOp(inner) = left {
                if inner.op != Operator::Add {
                    return None;
                }
                rights.push(&inner.right);
                left = &inner.left;
            }
            append_literal(left, out, budget, depth + 1)?;
            for right in rights.into_iter().rev() {
                append_literal(right, out, budget, depth + 1)?;
            }
        }
        _ => return None,
    }
    Some(())
}

/// Appends at most `budget` more characters of `text`.
fn push_bounded(out: &mut String, text: &str, budget: &mut usize) {
    if *budget == 0 {
        return;
    }
    match text.char_indices().nth(*budget) {
        Some((cut, _)) => {
            out.push_str(&text[..cut]);
            *budget = 0;
        }
        None => {
            out.push_str(text);
            *budget -= text.chars().count();
        }
    }
}

/// The first [`MAX_LITERAL_CHARS`] characters of `text`.
fn truncate(text: &str) -> String {
    match text.char_indices().nth(MAX_LITERAL_CHARS) {
        Some((cut, _)) => text[..cut].to_owned(),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(source: &str) -> SourceFacts {
        extract("t.py", source)
    }

    fn callees(facts: &SourceFacts) -> Vec<&str> {
        facts
            .calls
            .iter()
            .map(|call| call.callee.as_str())
            .collect()
    }

    fn call<'f>(facts: &'f SourceFacts, callee: &str) -> &'f Call {
        facts
            .calls
            .iter()
            .find(|call| call.callee == callee)
            .unwrap_or_else(|| panic!("no call to {callee} in {:?}", callees(facts)))
    }

    fn str_arg(s: &str) -> Arg {
        Arg::Str(s.to_owned())
    }

    #[test]
    fn import_forms_are_recorded() {
        let f = facts(
            "import os\nimport os.path as p\nfrom subprocess import Popen as P, run\nfrom . import sibling\nfrom ..pkg import thing\nfrom os import *\nm = __import__('socket')\nn = importlib.import_module('ctypes')\nq = __import__(name)\n",
        );
        let imports: Vec<(&str, Option<&str>, u32, bool)> = f
            .imports
            .iter()
            .map(|i| (i.module.as_str(), i.member.as_deref(), i.line, i.dynamic))
            .collect();
        assert_eq!(
            imports,
            [
                ("os", None, 1, false),
                ("os.path", None, 2, false),
                ("subprocess", Some("Popen"), 3, false),
                ("subprocess", Some("run"), 3, false),
                (".", Some("sibling"), 4, false),
                ("..pkg", Some("thing"), 5, false),
                ("os", Some("*"), 6, false),
                ("socket", None, 7, false),
                ("ctypes", None, 8, false),
                ("<dynamic>", None, 9, true),
            ]
        );
        assert!(f.parsed);
    }

    #[test]
    fn aliases_resolve_to_real_module_names() {
        let f = facts(
            "import os as o\nfrom subprocess import Popen as P\nimport urllib.request\nfrom os import *\no.system('a')\nP(['b'])\nurllib.request.urlopen('http://x')\nsystem('c')\n",
        );
        assert_eq!(
            callees(&f),
            [
                "os.system",
                "subprocess.Popen",
                "urllib.request.urlopen",
                "system"
            ]
        );
        assert_eq!(
            call(&f, "subprocess.Popen").args,
            [Arg::List(vec![str_arg("b")])]
        );
    }

    #[test]
    fn assignments_of_imported_names_are_aliases() {
        let f = facts(
            "import subprocess\nrun = subprocess.run\nsp = subprocess\ne = exec\nrun('x')\nsp.call('y')\ne('z')\n",
        );
        assert_eq!(callees(&f), ["subprocess.run", "subprocess.call", "exec"]);
    }

    #[test]
    fn dynamic_lookups_resolve_when_literal() {
        let f = facts(
            "import os, builtins\n__import__('os').system('a')\ngetattr(os, 'system')('b')\ngetattr(__import__('os'), 'popen')('c')\nbuiltins.exec('d')\n__builtins__.eval('e')\nglobals()['exec']('f')\ngetattr(os, name)('g')\n",
        );
        let outer: Vec<&str> = f
            .calls
            .iter()
            .filter(|c| !matches!(c.callee.as_str(), "__import__" | "getattr" | "globals"))
            .map(|c| c.callee.as_str())
            .collect();
        assert_eq!(
            outer,
            [
                "os.system",
                "os.system",
                "os.popen",
                "exec",
                "eval",
                "exec",
                "?"
            ]
        );
    }

    #[test]
    fn decode_chains_nest_in_arguments() {
        let f = facts(
            "import base64, zlib\nexec(base64.b64decode('cHJpbnQoMSk='))\nexec(zlib.decompress(base64.b64decode(b'eJw=')))\n",
        );
        let execs: Vec<&Call> = f.calls.iter().filter(|c| c.callee == "exec").collect();
        assert_eq!(
            execs[0].args,
            [Arg::Call {
                callee: "base64.b64decode".into(),
                args: vec![str_arg("cHJpbnQoMSk=")]
            }]
        );
        assert_eq!(
            execs[1].args[0].nested_callees(),
            ["zlib.decompress", "base64.b64decode"]
        );
        // Inner calls are recorded in their own right too.
        assert_eq!(
            f.calls
                .iter()
                .filter(|c| c.callee == "base64.b64decode")
                .count(),
            2
        );
    }

    #[test]
    fn chr_joins_show_their_element_calls() {
        let f = facts(
            "exec(''.join(chr(c) for c in [112, 114]))\nx = ''.join([chr(c) for c in data])\n",
        );
        let joins: Vec<&Call> = f.calls.iter().filter(|c| c.callee == "?.join").collect();
        assert_eq!(joins.len(), 2);
        let element = Arg::List(vec![Arg::Call {
            callee: "chr".into(),
            args: vec![Arg::Name("c".into())],
        }]);
        assert_eq!(joins[0].args, std::slice::from_ref(&element));
        assert_eq!(joins[1].args, [element]);
        assert_eq!(call(&f, "exec").args[0].nested_callees(), ["?.join", "chr"]);
    }

    #[test]
    fn literal_arguments_fold_and_classify() {
        let f = facts(
            "f('a' 'b', 'c' + 'd', f'e', b'\\x41', 1, -2, True, None, x, os.sep, [1], {1: 2}, f'{x}', 'a' * 3)\n",
        );
        assert_eq!(
            call(&f, "f").args,
            [
                str_arg("ab"),
                str_arg("cd"),
                str_arg("e"),
                str_arg("A"),
                Arg::Const("1".into()),
                Arg::Const("-2".into()),
                Arg::Const("True".into()),
                Arg::Const("None".into()),
                Arg::Name("x".into()),
                Arg::Name("os.sep".into()),
                Arg::List(vec![Arg::Const("1".into())]),
                Arg::Other,
                Arg::Other,
                Arg::Other,
            ]
        );
    }

    #[test]
    fn shell_true_is_a_keyword_argument() {
        let f = facts("import subprocess\nsubprocess.run(cmd, shell=True, **extra)\n");
        let run = call(&f, "subprocess.run");
        assert_eq!(run.args, [Arg::Name("cmd".into())]);
        assert_eq!(
            run.kwargs[0],
            ("shell".to_owned(), Arg::Const("True".into()))
        );
        assert_eq!(run.kwargs[1].0, "**");
    }

    #[test]
    fn environment_reads_are_recorded() {
        let f = facts(
            "import os, json\nfrom os import environ\na = os.environ['AWS_SECRET_ACCESS_KEY']\nb = os.environ.get('HOME')\nc = os.getenv('TOKEN')\nd = json.dumps(dict(os.environ))\ne = os.environ.copy()\ng = str(environ)\nos.environ['X'] = '1'\nif 'CI' in os.environ: pass\n",
        );
        let environ: Vec<(&[Arg], u32)> = f
            .calls
            .iter()
            .filter(|c| c.callee == "os.environ")
            .map(|c| (c.args.as_slice(), c.line))
            .collect();
        assert_eq!(
            environ,
            [
                (&[str_arg("AWS_SECRET_ACCESS_KEY")][..], 3),
                (&[Arg::Other][..], 6),
                (&[Arg::Other][..], 7),
                (&[Arg::Other][..], 8),
            ]
        );
        assert_eq!(call(&f, "os.environ.get").args, [str_arg("HOME")]);
        assert_eq!(call(&f, "os.getenv").args, [str_arg("TOKEN")]);
        assert_eq!(call(&f, "dict").args, [Arg::Name("os.environ".into())]);
    }

    #[test]
    fn scope_tells_import_time_from_call_time() {
        let f = facts(
            "import os\nfrom setuptools.command.install import install\nos.system('a')\nif __name__ == '__main__':\n    try:\n        os.system('b')\n    except Exception as e:\n        e.log()\nclass PostInstall(install):\n    os.system('c')\n    def run(self):\n        os.system('d')\n        self.system()\n        f = lambda: os.system('e')\n",
        );
        let scopes: Vec<(&str, Option<&str>)> = f
            .calls
            .iter()
            .map(|c| (c.callee.as_str(), c.scope.as_deref()))
            .collect();
        assert_eq!(
            scopes,
            [
                ("os.system", None),
                ("os.system", None),
                ("?.log", None),
                ("os.system", Some("PostInstall")),
                ("os.system", Some("PostInstall.run")),
                ("?.system", Some("PostInstall.run")),
                ("os.system", Some("PostInstall.run.<lambda>")),
            ]
        );
        assert_eq!(f.definitions, ["PostInstall"]);
    }

    #[test]
    fn benign_look_alikes_keep_their_own_names() {
        let f = facts(
            "import re\nre.compile('x')\nself.system()\nsocket.socket().connect(addr)\ns = make()\ns.connect(addr)\n",
        );
        assert_eq!(
            callees(&f),
            [
                "re.compile",
                "?.system",
                "socket.socket",
                "?.connect",
                "make",
                "?.connect"
            ]
        );
    }

    #[test]
    fn python2_files_still_yield_facts() {
        let f = facts(
            "import os, base64\nprint \"installing\"\nexec base64.b64decode('aW1wb3J0IG9z')\nexec code in globals()\ndef f():\n    print 'x'\n    os.popen('ls')\n",
        );
        assert!(!f.parsed);
        assert!(!f.parse_errors.is_empty() && f.parse_errors[0].0 == 2);
        let execs: Vec<(&[Arg], u32)> = f
            .calls
            .iter()
            .filter(|c| c.callee == "exec")
            .map(|c| (c.args.as_slice(), c.line))
            .collect();
        assert_eq!(execs.len(), 2);
        assert_eq!(execs[0].0[0].nested_callees(), ["base64.b64decode"]);
        assert_eq!(execs[0].1, 3);
        assert_eq!(execs[1].0, [Arg::Name("code".into())]);
        let popen = call(&f, "os.popen");
        assert_eq!((popen.line, popen.scope.as_deref()), (7, Some("f")));
    }

    #[test]
    fn lines_and_snippets_point_at_the_call() {
        let f = facts("import os\n\n\nx = 1; os.system(\n    'id'\n)\n");
        let system = call(&f, "os.system");
        assert_eq!(system.line, 4);
        assert_eq!(system.snippet, "os.system( 'id' )");
        assert_eq!(
            f.strings,
            [StringLit {
                value: "id".into(),
                len: 2,
                line: 5
            }]
        );
    }

    #[test]
    fn long_literals_are_truncated_with_their_full_length() {
        let blob = "A".repeat(MAX_LITERAL_CHARS + 10);
        let f = facts(&format!("exec(base64.b64decode('{blob}'))\n"));
        assert_eq!(f.strings[0].len, MAX_LITERAL_CHARS + 10);
        assert_eq!(f.strings[0].value.chars().count(), MAX_LITERAL_CHARS);
    }

    #[test]
    fn long_chains_do_not_hide_calls() {
        // The first operand of a long `+` chain and the innermost call of a long
        // method chain sit deepest in the tree.
        let concat = format!("x = exec('a'){}\n", " + chr(1)".repeat(2_000));
        assert_eq!(
            facts(&concat)
                .calls
                .iter()
                .filter(|c| c.callee == "exec")
                .count(),
            1
        );
        let chain = format!(
            "x = base64.b64decode('a'){}\n",
            ".replace('a', '')".repeat(2_000)
        );
        let f = facts(&chain);
        assert_eq!(f.calls[0].callee, "base64.b64decode");
        assert_eq!(f.calls.len(), 2_001);
    }

    #[test]
    fn hostile_nesting_does_not_overflow_the_stack() {
        for source in [
            format!("x = {}1\n", "1+".repeat(200_000)),
            format!("x = {}{}\n", "[".repeat(100_000), "]".repeat(100_000)),
            format!("x = a{}\n", ".b".repeat(200_000)),
            format!("x = {}a\n", "not ".repeat(100_000)),
            format!("x = {}1\n", "-".repeat(2_000_000)),
        ] {
            let f = facts(&source);
            assert!(f.parse_errors.len() <= MAX_PARSE_ERRORS);
        }
        let absurd = facts(&format!("x = {}1\n", "-".repeat(2_000_000)));
        assert!(!absurd.parsed);
    }
}
