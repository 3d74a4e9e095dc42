//! A `re.sub` replacement in Python's syntax (`\1`, `\g<1>`, `\g<name>`,
//! `\n`, `\t`, `\\`), parsed once and expanded for each match.

use fancy_regex::Captures;
use minijinja::Error;

use crate::render::re::args::invalid;

/// One piece of a `sub` replacement.
#[derive(Debug)]
enum Piece {
    Text(String),
    Group(usize),
    Named(String),
}

/// A parsed `sub` replacement string, in Python's syntax.
#[derive(Debug)]
pub(super) struct Replacement(Vec<Piece>);

impl Replacement {
    pub(super) fn parse(repl: &str) -> Result<Replacement, Error> {
        let mut pieces = Vec::new();
        let mut text = String::new();
        let mut chars = repl.chars().peekable();
        while let Some(c) = chars.next() {
            if c != '\\' {
                text.push(c);
                continue;
            }
            let group = match chars.next() {
                Some(d) if d.is_ascii_digit() => {
                    let mut n = d.to_string();
                    if let Some(&d2) = chars.peek().filter(|d| d.is_ascii_digit()) {
                        n.push(d2);
                        chars.next();
                    }
                    Some(Piece::Group(n.parse().unwrap_or(0)))
                }
                Some('g') if chars.peek() == Some(&'<') => {
                    chars.next();
                    let name: String = chars.by_ref().take_while(|&c| c != '>').collect();
                    Some(match name.parse::<usize>() {
                        Ok(n) => Piece::Group(n),
                        Err(_) => Piece::Named(name),
                    })
                }
                Some('n') => {
                    text.push('\n');
                    None
                }
                Some('t') => {
                    text.push('\t');
                    None
                }
                Some('r') => {
                    text.push('\r');
                    None
                }
                Some('\\') => {
                    text.push('\\');
                    None
                }
                Some(other) if other.is_ascii_alphabetic() => {
                    return Err(invalid(format!(
                        "re.sub: bad escape `\\{other}` in the replacement `{repl}`"
                    )))
                }
                Some(other) => {
                    text.push('\\');
                    text.push(other);
                    None
                }
                None => return Err(invalid("re.sub: the replacement ends with a lone `\\`")),
            };
            if let Some(g) = group {
                pieces.push(Piece::Text(std::mem::take(&mut text)));
                pieces.push(g);
            }
        }
        pieces.push(Piece::Text(text));
        Ok(Replacement(pieces))
    }

    pub(super) fn expand(&self, c: &Captures) -> Result<String, Error> {
        let mut out = String::new();
        for piece in &self.0 {
            match piece {
                Piece::Text(t) => out.push_str(t),
                Piece::Group(n) if *n < c.len() => {
                    out.push_str(c.get(*n).map_or("", |m| m.as_str()));
                }
                Piece::Group(n) => {
                    return Err(invalid(format!("re.sub: invalid group reference {n}")))
                }
                Piece::Named(name) => match c.name(name) {
                    Some(m) => out.push_str(m.as_str()),
                    None => return Err(invalid(format!("re.sub: unknown group name `{name}`"))),
                },
            }
        }
        Ok(out)
    }
}
