//! Rewriting a template's source before minijinja compiles it: list and
//! dict literals into the mutable Python list and dict, `'...' % x` into
//! Python's formatting, and date arithmetic into the `+`/`-` helpers; and
//! reading a macro's argument names from its signature.

use std::borrow::Cow;

use minijinja::machinery::{tokenize, Span, Token, WhitespaceConfig};
use minijinja::syntax::SyntaxConfig;

use crate::render::pycompat::operands::{arithmetic_operands, is_keyword, matching, operand_end};

/// Rewrites a whole template (`in_expr` false) or one expression (`in_expr`
/// true) so that its list and dict literals are mutable and `'...' % x`
/// formats, as the docs of [`crate::render::pycompat`] describe. Returns
/// the source unchanged when there is nothing to rewrite or when it does
/// not tokenize (minijinja then reports the syntax error itself, at the
/// right place).
pub fn rewrite(source: &str, in_expr: bool) -> Cow<'_, str> {
    // Cheap exit: a template has no expression without a `{`; a bare
    // expression has nothing to rewrite without one of these characters.
    let rewritable = |c: char| matches!(c, '[' | '%' | '{') || (in_expr && matches!(c, '-' | '+'));
    if !source.contains(rewritable) {
        return Cow::Borrowed(source);
    }
    let mut tokens: Vec<(Token<'_>, Span)> = Vec::new();
    for token in tokenize(
        source,
        in_expr,
        SyntaxConfig::default(),
        WhitespaceConfig::default(),
    ) {
        match token {
            Ok(t) => tokens.push(t),
            Err(_) => return Cow::Borrowed(source),
        }
    }
    let mut edits: Vec<Edit> = Vec::new();
    for i in 0..tokens.len() {
        match tokens[i].0 {
            Token::BracketOpen if starts_literal(i.checked_sub(1).map(|p| &tokens[p].0)) => {
                if let Some(close) = matching(&tokens, i) {
                    wrap(&mut edits, &tokens[i].1, &tokens[close].1, "__sluice_list(");
                }
            }
            Token::BraceOpen => {
                if let Some(close) = matching(&tokens, i) {
                    dict_literal(&mut edits, &tokens, i, close);
                }
            }
            Token::Mod if i > 0 && matches!(tokens[i - 1].0, Token::Str(_) | Token::String(_)) => {
                if let Some(end) = operand_end(&tokens, i + 1) {
                    call_operator(&mut edits, &tokens, (i - 1, i, end), "__sluice_mod(");
                }
            }
            Token::Minus | Token::Plus if i > 0 => {
                if let Some((start, end)) = arithmetic_operands(&tokens, i) {
                    let call = if matches!(tokens[i].0, Token::Minus) {
                        "__sluice_sub("
                    } else {
                        "__sluice_add("
                    };
                    call_operator(&mut edits, &tokens, (start, i, end), call);
                }
            }
            _ => {}
        }
    }
    if edits.is_empty() {
        return Cow::Borrowed(source);
    }
    edits.sort_by_key(|e| e.key);
    let mut out = String::with_capacity(source.len() + edits.len() * 16);
    let mut pos = 0;
    for edit in &edits {
        out.push_str(&source[pos..edit.at]);
        out.push_str(edit.text);
        pos = edit.until;
    }
    out.push_str(&source[pos..]);
    Cow::Owned(out)
}

/// The argument names of the first `{% macro name(...) %}` in `source`,
/// in order (`a, b=1, c=[1, 2]` gives `a`, `b`, `c`); empty when there is
/// none or it does not tokenize.
pub fn macro_arguments(source: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut depth = 0usize;
    let mut expect_name = false;
    let mut in_macro = false;
    let mut prev_macro_kw = false;
    for token in tokenize(
        source,
        false,
        SyntaxConfig::default(),
        WhitespaceConfig::default(),
    ) {
        let Ok((token, _)) = token else { break };
        if !in_macro {
            if prev_macro_kw && matches!(token, Token::ParenOpen) {
                in_macro = true;
                depth = 1;
                expect_name = true;
                continue;
            }
            prev_macro_kw = matches!(token, Token::Ident(_)) && prev_macro_kw
                || matches!(token, Token::Ident("macro"));
            continue;
        }
        match token {
            Token::ParenOpen | Token::BracketOpen | Token::BraceOpen => depth += 1,
            Token::ParenClose | Token::BracketClose | Token::BraceClose => {
                depth -= 1;
                if depth == 0 {
                    break;
                }
            }
            Token::Comma if depth == 1 => expect_name = true,
            Token::Ident(name) if depth == 1 && expect_name => {
                names.push(name.to_owned());
                expect_name = false;
            }
            Token::BlockEnd => break,
            _ => {}
        }
    }
    names
}

/// One text edit: replace `at..until` by `text`. `key` orders edits at the
/// same offset: closing parentheses (kind 0) before opening ones (kind 2),
/// inner closes before outer ones, outer opens before inner ones.
#[derive(Debug)]
struct Edit {
    at: usize,
    until: usize,
    key: (usize, u8, isize),
    text: &'static str,
}

/// Turns the binary expression whose first, operator and last tokens are
/// `(start, op, end)` into a call: `call` (a function name and its open
/// parenthesis) before the left operand, `,` for the operator, `)` after
/// the right operand.
fn call_operator(
    edits: &mut Vec<Edit>,
    tokens: &[(Token<'_>, Span)],
    (start, op, end): (usize, usize, usize),
    call: &'static str,
) {
    wrap(edits, &tokens[start].1, &tokens[end].1, call);
    let span = &tokens[op].1;
    edits.push(Edit {
        at: span.start_offset as usize,
        until: span.end_offset as usize,
        key: (span.start_offset as usize, 1, 0),
        text: ",",
    });
}

/// Rewrites the dict literal whose braces are tokens `open` and `close`
/// into a call on the list of its pairs: `{k: v, k2: v2}` becomes
/// `__sluice_dict([(k, v), (k2, v2)])`, so that the keys keep the order
/// they are written in, as Python's (minijinja's map literals sort their
/// keys). Items are split at the `,` and `:` outside nested brackets. `{}`,
/// and a literal that is not all `key: value` items (minijinja reports
/// that), become `__sluice_dict({...})`.
fn dict_literal(edits: &mut Vec<Edit>, tokens: &[(Token<'_>, Span)], open: usize, close: usize) {
    // Each item as (first token, its `:`, last token).
    let mut items: Vec<(usize, usize, usize)> = Vec::new();
    let mut start = open + 1;
    let mut colon = None;
    let mut depth = 0usize;
    for j in open + 1..=close {
        match tokens[j].0 {
            Token::ParenOpen | Token::BracketOpen | Token::BraceOpen => depth += 1,
            Token::ParenClose | Token::BracketClose | Token::BraceClose if j < close => {
                depth = depth.saturating_sub(1);
            }
            Token::Colon if depth == 0 && colon.is_none() => colon = Some(j),
            Token::Comma | Token::BraceClose if depth == 0 => {
                match colon {
                    Some(c) if start < c && c + 1 < j => items.push((start, c, j - 1)),
                    // A trailing comma ends no item.
                    None if start == j && j == close && !items.is_empty() => {}
                    _ => {
                        wrap(edits, &tokens[open].1, &tokens[close].1, "__sluice_dict(");
                        return;
                    }
                }
                start = j + 1;
                colon = None;
            }
            _ => {}
        }
    }
    let (open_span, close_span) = (&tokens[open].1, &tokens[close].1);
    // The brace is replaced after any call that opens at the same offset
    // around the whole literal (those end later, so they sort first).
    edits.push(Edit {
        at: open_span.start_offset as usize,
        until: open_span.end_offset as usize,
        key: (
            open_span.start_offset as usize,
            2,
            -(close_span.end_offset as isize),
        ),
        text: "__sluice_dict([",
    });
    for (first, colon, last) in items {
        wrap(edits, &tokens[first].1, &tokens[last].1, "(");
        replace(edits, &tokens[colon].1, ",");
    }
    replace(edits, close_span, "])");
}

/// Replaces the token at `span` by `text`, after the closing parentheses
/// inserted at the same offset (an operand that ends right before it).
fn replace(edits: &mut Vec<Edit>, span: &Span, text: &'static str) {
    edits.push(Edit {
        at: span.start_offset as usize,
        until: span.end_offset as usize,
        key: (span.start_offset as usize, 1, 0),
        text,
    });
}

/// Adds `call` (a function name and its open parenthesis) before `open`
/// and `)` after `close`.
fn wrap(edits: &mut Vec<Edit>, open: &Span, close: &Span, call: &'static str) {
    let start = open.start_offset as usize;
    let end = close.end_offset as usize;
    let text = call;
    edits.push(Edit {
        at: start,
        until: start,
        key: (start, 2, -(end as isize)),
        text,
    });
    edits.push(Edit {
        at: end,
        until: end,
        key: (end, 0, -(start as isize)),
        text: ")",
    });
}

/// Whether a `[` after token `prev` opens a list literal (rather than a
/// subscript such as `x[0]` or `f()[1]`).
fn starts_literal(prev: Option<&Token<'_>>) -> bool {
    match prev {
        None => true,
        Some(Token::Ident(word)) => is_keyword(word),
        Some(
            Token::Str(_)
            | Token::String(_)
            | Token::Int(_)
            | Token::Int128(_)
            | Token::Float(_)
            | Token::ParenClose
            | Token::BracketClose
            | Token::BraceClose,
        ) => false,
        Some(_) => true,
    }
}
