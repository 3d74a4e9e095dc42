//! Finding the operands of `%`, `-` and `+` in a template's tokens, and
//! the brackets that match: the token scanning the rewrite relies on to
//! leave everything it cannot rewrite safely as it is.

use minijinja::machinery::{Span, Token};

/// For the binary `-` (or `+`) at `op`: the first and last token of the
/// whole expression `left op right`, when it can be rewritten into
/// `__sluice_sub(left, right)` (`__sluice_add`) without changing its
/// meaning: both operands are simple (a primary with its attribute
/// lookups, calls, subscripts and filters) and bounded on both sides by
/// something that binds looser than `+`/`-` (`=`, `(`, `,`, `{{`, `}}`,
/// a comparison, `and`/`or`/`if`/`else`, ...). Everything else, chains and
/// mixes with `*` included, stays minijinja's arithmetic. `+` is rewritten
/// only next to a `timedelta`, since it is mostly string and list
/// concatenation, which minijinja does natively.
///
/// Python's datetime arithmetic (`dt - timedelta(days=1)`, `dt2 - dt1`) is
/// what this is for; the functions keep Jinja's meaning for numbers.
pub(super) fn arithmetic_operands(
    tokens: &[(Token<'_>, Span)],
    op: usize,
) -> Option<(usize, usize)> {
    if !ends_operand(&tokens[op - 1].0) {
        return None; // unary minus
    }
    let start = operand_start(tokens, op - 1)?;
    let end = operand_end(tokens, op + 1)?;
    let before = start.checked_sub(1).map(|i| &tokens[i].0);
    let after = tokens.get(end + 1).map(|t| &t.0);
    if !loose_before(before) || !loose_after(after) {
        return None;
    }
    // `+` is rewritten only where Python's meaning differs from Jinja's and
    // may matter: date arithmetic (a `timedelta` operand), lists (a list
    // literal operand: Python's `a + [x]` is a new list that takes
    // `append`, minijinja's a lazy sequence that does not), and every `+`
    // of a `{% set %}` (whose value may be a list that is mutated later).
    if matches!(tokens[op].0, Token::Plus)
        && !tokens[start..=end]
            .iter()
            .any(|(t, _)| matches!(t, Token::Ident("timedelta") | Token::BracketOpen))
        && !in_set_statement(tokens, op)
    {
        return None;
    }
    Some((start, end))
}

/// Whether token `at` is inside a `{% set ... %}` tag.
fn in_set_statement(tokens: &[(Token<'_>, Span)], at: usize) -> bool {
    for i in (0..at).rev() {
        match tokens[i].0 {
            Token::BlockStart => {
                return matches!(tokens.get(i + 1).map(|t| &t.0), Some(Token::Ident("set")))
            }
            Token::BlockEnd | Token::VariableStart | Token::VariableEnd => return false,
            _ => {}
        }
    }
    false
}

/// Whether `token` can end an operand (so a following `-` is binary).
fn ends_operand(token: &Token<'_>) -> bool {
    match token {
        Token::Ident(word) => !is_keyword(word),
        Token::Str(_)
        | Token::String(_)
        | Token::Int(_)
        | Token::Int128(_)
        | Token::Float(_)
        | Token::ParenClose
        | Token::BracketClose => true,
        _ => false,
    }
}

pub(super) fn is_keyword(word: &str) -> bool {
    matches!(
        word,
        "in" | "and" | "or" | "not" | "if" | "else" | "is" | "return" | "do" | "set" | "for"
    )
}

/// The first token of the simple operand that ends at `end` (see
/// [`arithmetic_operands`]), walking back over calls, subscripts,
/// attribute lookups and filters.
fn operand_start(tokens: &[(Token<'_>, Span)], end: usize) -> Option<usize> {
    let mut j = end;
    loop {
        match tokens[j].0 {
            Token::ParenClose | Token::BracketClose => {
                j = matching_back(tokens, j)?;
                match j.checked_sub(1).map(|p| &tokens[p].0) {
                    Some(Token::Ident(w)) if !is_keyword(w) => j -= 1,
                    Some(Token::ParenClose | Token::BracketClose) => {
                        j -= 1;
                        continue;
                    }
                    _ => return Some(j),
                }
            }
            Token::Ident(w) if !is_keyword(w) => {}
            Token::Str(_)
            | Token::String(_)
            | Token::Int(_)
            | Token::Int128(_)
            | Token::Float(_) => return Some(j),
            _ => return None,
        }
        // `j` is at a name: continue through `x.name` and `x|name`.
        match j.checked_sub(1).map(|p| &tokens[p].0) {
            Some(Token::Dot | Token::Pipe) if j >= 2 => j -= 2,
            _ => return Some(j),
        }
    }
}

/// Index of the opening token matching the closing one at `close`.
fn matching_back(tokens: &[(Token<'_>, Span)], close: usize) -> Option<usize> {
    let mut depth = 0usize;
    for j in (0..=close).rev() {
        match tokens[j].0 {
            Token::ParenClose | Token::BracketClose | Token::BraceClose => depth += 1,
            Token::ParenOpen | Token::BracketOpen | Token::BraceOpen => {
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    return Some(j);
                }
            }
            Token::VariableStart | Token::BlockStart => return None,
            _ => {}
        }
    }
    None
}

/// Whether a token before an operand binds looser than `+`/`-`.
fn loose_before(token: Option<&Token<'_>>) -> bool {
    match token {
        None => true,
        Some(Token::Ident(word)) => matches!(
            *word,
            "in" | "and" | "or" | "not" | "if" | "else" | "return" | "do"
        ),
        Some(
            Token::VariableStart
            | Token::BlockStart
            | Token::ParenOpen
            | Token::BracketOpen
            | Token::BraceOpen
            | Token::Comma
            | Token::Colon
            | Token::Assign
            | Token::Tilde
            | Token::Eq
            | Token::Ne
            | Token::Gt
            | Token::Gte
            | Token::Lt
            | Token::Lte,
        ) => true,
        Some(_) => false,
    }
}

/// Whether a token after an operand binds looser than `+`/`-`.
fn loose_after(token: Option<&Token<'_>>) -> bool {
    match token {
        None => true,
        Some(Token::Ident(word)) => matches!(*word, "and" | "or" | "if" | "else" | "in" | "not"),
        Some(
            Token::VariableEnd
            | Token::BlockEnd
            | Token::ParenClose
            | Token::BracketClose
            | Token::BraceClose
            | Token::Comma
            | Token::Colon
            | Token::Tilde
            | Token::Eq
            | Token::Ne
            | Token::Gt
            | Token::Gte
            | Token::Lt
            | Token::Lte,
        ) => true,
        Some(_) => false,
    }
}

/// Index of the token closing the bracket, parenthesis or brace at `open`;
/// `None` when the brackets do not match (minijinja reports that itself).
pub(super) fn matching(tokens: &[(Token<'_>, Span)], open: usize) -> Option<usize> {
    let mut stack: Vec<u8> = Vec::new();
    for (i, (token, _)) in tokens.iter().enumerate().skip(open) {
        let closes = match token {
            Token::BracketOpen => {
                stack.push(b']');
                continue;
            }
            Token::ParenOpen => {
                stack.push(b')');
                continue;
            }
            Token::BraceOpen => {
                stack.push(b'}');
                continue;
            }
            Token::BracketClose => b']',
            Token::ParenClose => b')',
            Token::BraceClose => b'}',
            Token::VariableEnd | Token::BlockEnd => return None,
            _ => continue,
        };
        if stack.pop()? != closes {
            return None;
        }
        if stack.is_empty() {
            return Some(i);
        }
    }
    None
}

/// Index of the last token of the right operand of `%` that starts at
/// `start`: a primary (name, literal or bracketed group) with its trailing
/// attribute lookups, calls, subscripts and filters, as Jinja's precedence
/// binds them tighter than `%`.
pub(super) fn operand_end(tokens: &[(Token<'_>, Span)], start: usize) -> Option<usize> {
    let mut i = start;
    while matches!(tokens.get(i)?.0, Token::Minus | Token::Plus) {
        i += 1;
    }
    let mut end = match tokens.get(i)?.0 {
        Token::ParenOpen | Token::BracketOpen | Token::BraceOpen => matching(tokens, i)?,
        Token::Ident(_)
        | Token::Str(_)
        | Token::String(_)
        | Token::Int(_)
        | Token::Int128(_)
        | Token::Float(_) => i,
        _ => return None,
    };
    loop {
        match tokens.get(end + 1).map(|t| &t.0) {
            Some(Token::Dot)
                if matches!(tokens.get(end + 2).map(|t| &t.0), Some(Token::Ident(_))) =>
            {
                end += 2;
            }
            Some(Token::ParenOpen | Token::BracketOpen) => end = matching(tokens, end + 1)?,
            Some(Token::Pipe)
                if matches!(tokens.get(end + 2).map(|t| &t.0), Some(Token::Ident(_))) =>
            {
                end += 2;
                if matches!(tokens.get(end + 1).map(|t| &t.0), Some(Token::ParenOpen)) {
                    end = matching(tokens, end + 1)?;
                }
            }
            _ => return Some(end),
        }
    }
}
