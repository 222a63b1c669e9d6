//! Deciding where (and whether) to parse a Python file so deep nesting cannot
//! overflow the stack.
//!
//! ruff's parser builds trees as deep as the source nests (`1+1+…`, `a.b.c…`,
//! `[[[…]]]`, `not not …`), and both parsing and dropping such a tree recurse
//! once per level, about 65 bytes of stack each (measured with ruff 0.0.10,
//! release build). A hostile 2 MB line of `1+1+…` therefore aborts the whole
//! process on an 8 MB main thread. Since nesting depth never exceeds the byte
//! length, small files are parsed in place; larger ones are lexed first to
//! bound their nesting, then parsed on a thread whose stack fits that bound,
//! or not parsed at all when the bound is absurd.

use ruff_python_ast::token::TokenKind;
use ruff_python_parser::{Mode, lexer};

/// Files up to this size nest at most this many levels, which fits in any
/// thread stack we are likely to be called on (8K levels × ~65 B ≈ 0.5 MB).
const INLINE_MAX_BYTES: usize = 8 * 1024;
/// Estimated nesting up to which a larger file is still parsed in place.
const INLINE_MAX_LEVELS: usize = 4_096;
/// Stack bytes reserved per estimated level on a dedicated thread: twice the
/// measured ~65 B, for the parser, the drop and slack in the estimate.
const STACK_PER_LEVEL: usize = 160;
/// Fixed stack on top of the per-level share (the fact walker, caller frames).
const STACK_BASE: usize = 4 << 20;
/// Deepest estimated nesting we parse at all. 1M levels touch at most ~65 MB
/// of stack, inside the 200 MB per-package memory budget; real code, even
/// generated or obfuscated, stays orders of magnitude below this.
const MAX_LEVELS: usize = 1_000_000;
/// Weight of one indentation level: a nested block costs a few statement frames.
const LEVELS_PER_INDENT: usize = 4;

/// Where to parse one file.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Plan {
    /// On the caller's thread.
    Inline,
    /// On a new thread with this many bytes of stack.
    Thread(usize),
    /// Not at all, with a reason for `parse_errors`.
    Refuse(&'static str),
}

/// Chooses how to parse `source`.
pub(super) fn plan(source: &str) -> Plan {
    // ruff's lexer asserts (panics) on sources over 4 GiB.
    if u32::try_from(source.len()).is_err() {
        return Plan::Refuse("file too large to parse");
    }
    if source.len() <= INLINE_MAX_BYTES {
        return Plan::Inline;
    }
    let levels = estimate_nesting(source);
    if levels <= INLINE_MAX_LEVELS {
        Plan::Inline
    } else if levels <= MAX_LEVELS {
        Plan::Thread(STACK_BASE + levels * STACK_PER_LEVEL)
    } else {
        Plan::Refuse("expressions nest too deeply to parse safely")
    }
}

/// An upper estimate of how deeply the syntax tree of `source` nests.
///
/// Every level of expression nesting consumes at least one operator, dot,
/// keyword or bracket token, and a comma, semicolon or new logical line starts
/// a sibling rather than a child; so per bracket level we count such tokens
/// since the last separator, and sum over open brackets. Indentation adds
/// statement nesting. Literals and names add nothing, so a 50 MB string is
/// depth 1 and a million-element list literal is depth 2.
pub(super) fn estimate_nesting(source: &str) -> usize {
    let mut lexer = lexer::lex(source, Mode::Module);
    // Operator count since the last separator, per open bracket level.
    let mut levels: Vec<usize> = vec![0];
    // Sum of `levels` plus the number of open brackets.
    let mut total = 0usize;
    let mut indent = 0usize;
    let mut max = 0usize;
    loop {
        match lexer.next_token() {
            TokenKind::EndOfFile => break,
            TokenKind::Lpar
            | TokenKind::Lsqb
            | TokenKind::Lbrace
            | TokenKind::FStringStart
            | TokenKind::TStringStart => {
                // The bracket itself may be a postfix (call/subscript) on the
                // current level, and opens a level of its own.
                if let Some(current) = levels.last_mut() {
                    *current += 1;
                }
                levels.push(0);
                total += 2;
            }
            TokenKind::Rpar
            | TokenKind::Rsqb
            | TokenKind::Rbrace
            | TokenKind::FStringEnd
            | TokenKind::TStringEnd => {
                if levels.len() > 1 {
                    let inner = levels.pop().unwrap_or(0);
                    total = total.saturating_sub(inner + 1);
                }
            }
            TokenKind::Comma | TokenKind::Semi => {
                if let Some(current) = levels.last_mut() {
                    total = total.saturating_sub(*current);
                    *current = 0;
                }
            }
            TokenKind::Newline => {
                // The lexer only ends a logical line outside brackets.
                levels.clear();
                levels.push(0);
                total = 0;
            }
            TokenKind::Indent => indent += 1,
            TokenKind::Dedent => indent = indent.saturating_sub(1),
            TokenKind::Name
            | TokenKind::Int
            | TokenKind::Float
            | TokenKind::Complex
            | TokenKind::String
            | TokenKind::FStringMiddle
            | TokenKind::TStringMiddle
            | TokenKind::NonLogicalNewline
            | TokenKind::Comment
            | TokenKind::True
            | TokenKind::False
            | TokenKind::None
            | TokenKind::Ellipsis => {}
            _ => {
                if let Some(current) = levels.last_mut() {
                    *current += 1;
                }
                total += 1;
            }
        }
        max = max.max(total.saturating_add(indent.saturating_mul(LEVELS_PER_INDENT)));
    }
    max
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flat_data_is_shallow_however_long() {
        let list = format!("x = [{}]\n", "1, ".repeat(100_000));
        assert!(estimate_nesting(&list) < 10);
        let string = format!("x = '{}'\n", "A".repeat(100_000));
        assert!(estimate_nesting(&string) < 10);
    }

    #[test]
    fn operator_chains_and_brackets_count_as_depth() {
        assert!(estimate_nesting(&format!("x = {}1\n", "1+".repeat(5_000))) >= 5_000);
        assert!(
            estimate_nesting(&format!("x = {}{}\n", "[".repeat(3_000), "]".repeat(3_000))) >= 3_000
        );
        assert!(estimate_nesting(&format!("x = a{}\n", "()".repeat(3_000))) >= 3_000);
        assert!(estimate_nesting(&format!("x = {}a\n", "lambda:".repeat(3_000))) >= 3_000);
    }

    #[test]
    fn plan_sends_deep_files_to_a_big_stack_and_refuses_absurd_ones() {
        assert_eq!(plan("import os\n"), Plan::Inline);
        assert!(matches!(
            plan(&format!("x = {}1\n", "1+".repeat(50_000))),
            Plan::Thread(_)
        ));
        assert!(matches!(
            plan(&format!("x = {}1\n", "1+".repeat(1_100_000))),
            Plan::Refuse(_)
        ));
    }
}
