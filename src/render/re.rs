//! `modules.re`: Python's `re` module as dbt macros call it, on the
//! `fancy-regex` crate (which adds what Python has and the `regex` crate
//! lacks: look-behind, look-ahead and back-references).
//!
//! Covered: `search`, `match`, `fullmatch`, `findall`, `finditer`, `sub`,
//! `split`, `escape`, `compile` (a pattern object with the same methods and
//! `.pattern`/`.flags`), the flags (`re.I`/`IGNORECASE`, `M`/`MULTILINE`,
//! `S`/`DOTALL`, `X`/`VERBOSE`, `A`/`ASCII`, `U`/`UNICODE`) given as the
//! `flags` argument or inline (`(?ix)`), and match objects with `group()`
//! (by number or name), `groups()`, `groupdict()`, `start()`, `end()`,
//! `span()`. As Python: `match` is anchored at the start and `fullmatch` at
//! both ends (not "the first match happens to start at 0"), `findall` gives
//! the group when there is one and tuples when there are several, `split`
//! keeps the groups, and `sub`'s replacement takes `\1`, `\g<1>`,
//! `\g<name>` and the escapes `\n`, `\t`, `\\`. Python's `$` also matching
//! before a final newline is not reproduced.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex};

use fancy_regex::{Captures, Regex};
use minijinja::value::{Kwargs, Object, ObjectRepr};
use minijinja::{Error, ErrorKind, State, Value};

/// Python's flag values (`re.IGNORECASE == 2`, ...), by attribute name.
const FLAGS: &[(&str, i64)] = &[
    ("I", 2),
    ("IGNORECASE", 2),
    ("L", 4),
    ("LOCALE", 4),
    ("M", 8),
    ("MULTILINE", 8),
    ("S", 16),
    ("DOTALL", 16),
    ("U", 32),
    ("UNICODE", 32),
    ("X", 64),
    ("VERBOSE", 64),
    ("A", 256),
    ("ASCII", 256),
];

fn invalid(msg: impl Into<String>) -> Error {
    Error::new(ErrorKind::InvalidOperation, msg.into())
}

/// The `modules.re` object.
#[derive(Debug)]
pub struct ReModule;

impl Object for ReModule {
    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        let key = key.as_str()?;
        FLAGS
            .iter()
            .find(|(name, _)| *name == key)
            .map(|(_, v)| Value::from(*v))
    }

    fn call_method(
        self: &Arc<Self>,
        _state: &State<'_, '_>,
        method: &str,
        args: &[Value],
    ) -> Result<Value, Error> {
        let args = Args::new(method, args)?;
        match method {
            "escape" => Ok(Value::from(escape(&args.text(0, "pattern")?))),
            "compile" => {
                let flags = args.int(1, "flags")?.unwrap_or(0);
                Ok(Value::from_object(Pattern::new(
                    &args.text(0, "pattern")?,
                    flags,
                )?))
            }
            "search" | "match" | "fullmatch" | "findall" | "finditer" | "split" | "sub" => {
                let flags_at = match method {
                    "split" | "sub" => 3,
                    _ => 2,
                };
                let flags = args.int(flags_at, "flags")?.unwrap_or(0);
                let pattern = Pattern::new(&args.text(0, "pattern")?, flags)?;
                pattern.run(method, &args.shifted())
            }
            _ => Err(Error::new(
                ErrorKind::UnknownMethod,
                format!("re has no function `{method}`"),
            )),
        }
    }
}

/// The positional and keyword arguments of one call.
struct Args {
    method: String,
    positional: Vec<Value>,
    kwargs: Option<Kwargs>,
    /// Positions taken off the front (the pattern, for a module-level call
    /// forwarded to the pattern's method).
    offset: usize,
}

impl Args {
    fn new(method: &str, args: &[Value]) -> Result<Args, Error> {
        let kwargs = args.last().and_then(|v| Kwargs::try_from(v.clone()).ok());
        let positional = if kwargs.is_some() {
            &args[..args.len() - 1]
        } else {
            args
        };
        Ok(Args {
            method: method.to_owned(),
            positional: positional.to_vec(),
            kwargs,
            offset: 0,
        })
    }

    /// The same arguments without the first positional one.
    fn shifted(&self) -> Args {
        Args {
            method: self.method.clone(),
            positional: self.positional.get(1..).unwrap_or_default().to_vec(),
            kwargs: self.kwargs.clone(),
            offset: self.offset + 1,
        }
    }

    fn get(&self, pos: usize, name: &str) -> Option<Value> {
        self.kwargs
            .as_ref()
            .and_then(|k| k.get::<Option<Value>>(name).ok().flatten())
            .or_else(|| self.positional.get(pos).cloned())
    }

    fn text(&self, pos: usize, name: &str) -> Result<String, Error> {
        match self.get(pos, name) {
            Some(v) if v.as_str().is_some() => Ok(v.as_str().unwrap_or_default().to_owned()),
            Some(v) if v.is_none() || v.is_undefined() => Err(invalid(format!(
                "re.{}: `{name}` is none; expected a string",
                self.method
            ))),
            Some(v) => Ok(v.to_string()),
            None => Err(invalid(format!(
                "re.{} needs the `{name}` argument",
                self.method
            ))),
        }
    }

    fn int(&self, pos: usize, name: &str) -> Result<Option<i64>, Error> {
        self.get(pos, name)
            .filter(|v| !v.is_none() && !v.is_undefined())
            .map(|v| {
                i64::try_from(v.clone())
                    .map_err(|_| invalid(format!("re.{}: `{name}` must be a number", self.method)))
            })
            .transpose()
    }
}

/// A compiled pattern (`re.compile(...)`), also used for the module-level
/// functions. Holds the pattern as searched, anchored at the start (for
/// `match`) and at both ends (for `fullmatch`).
#[derive(Debug)]
struct Pattern {
    source: String,
    flags: i64,
    search: Arc<Regex>,
    at_start: Arc<Regex>,
    whole: Arc<Regex>,
}

/// Compiled patterns by their Rust source: macros compile the same pattern
/// for every node (dbt_project_evaluator: several per model).
static CACHE: LazyLock<Mutex<HashMap<String, Arc<Regex>>>> = LazyLock::new(Default::default);

fn compiled(source: &str, shown: &str) -> Result<Arc<Regex>, Error> {
    if let Some(re) = CACHE.lock().ok().and_then(|c| c.get(source).cloned()) {
        return Ok(re);
    }
    let re = Arc::new(
        Regex::new(source).map_err(|e| invalid(format!("re: bad pattern `{shown}`: {e}")))?,
    );
    if let Ok(mut cache) = CACHE.lock() {
        if cache.len() > 512 {
            cache.clear();
        }
        cache.insert(source.to_owned(), re.clone());
    }
    Ok(re)
}

impl Pattern {
    fn new(source: &str, flags: i64) -> Result<Pattern, Error> {
        // Inline flags at the very start apply to the whole pattern, as
        // Python's; they are hoisted in front of the anchors.
        let (inline, body) = leading_flags(source);
        let mut letters = String::new();
        for (bit, letter) in [(2, 'i'), (8, 'm'), (16, 's'), (64, 'x')] {
            if flags & bit != 0 || inline.contains(letter) {
                letters.push(letter);
            }
        }
        let prefix = if letters.is_empty() {
            String::new()
        } else {
            format!("(?{letters})")
        };
        // In verbose mode a trailing comment would swallow the closing
        // parenthesis: end the body with a newline (ignored there).
        let end = if letters.contains('x') { "\n" } else { "" };
        Ok(Pattern {
            source: source.to_owned(),
            flags,
            search: compiled(&format!("{prefix}{body}"), source)?,
            at_start: compiled(&format!("{prefix}\\A(?:{body}{end})"), source)?,
            whole: compiled(&format!("{prefix}\\A(?:{body}{end})\\z"), source)?,
        })
    }

    fn run(&self, method: &str, args: &Args) -> Result<Value, Error> {
        let runtime = |e: fancy_regex::Error| invalid(format!("re.{method}: {e}"));
        match method {
            "search" | "match" | "fullmatch" => {
                let text = args.text(0, "string")?;
                let re = match method {
                    "match" => &self.at_start,
                    "fullmatch" => &self.whole,
                    _ => &self.search,
                };
                Ok(match re.captures(&text).map_err(runtime)? {
                    Some(c) => Value::from_object(Match::new(re, &c)),
                    None => Value::from(()),
                })
            }
            "findall" => {
                let text = args.text(0, "string")?;
                let mut all = Vec::new();
                for c in self.search.captures_iter(&text) {
                    let c = c.map_err(runtime)?;
                    let group = |i: usize| Value::from(c.get(i).map_or("", |m| m.as_str()));
                    all.push(match c.len() {
                        1 => group(0),
                        2 => group(1),
                        n => Value::from((1..n).map(group).collect::<Vec<_>>()),
                    });
                }
                Ok(Value::from(all))
            }
            "finditer" => {
                let text = args.text(0, "string")?;
                let mut all = Vec::new();
                for c in self.search.captures_iter(&text) {
                    all.push(Value::from_object(Match::new(
                        &self.search,
                        &c.map_err(runtime)?,
                    )));
                }
                Ok(Value::from(all))
            }
            "split" => {
                let text = args.text(0, "string")?;
                let max = args.int(1, "maxsplit")?.unwrap_or(0);
                let mut out = Vec::new();
                let mut last = 0;
                for (n, c) in self.search.captures_iter(&text).enumerate() {
                    if max > 0 && n as i64 >= max {
                        break;
                    }
                    let c = c.map_err(runtime)?;
                    let m = c.get(0).expect("group 0 is the whole match");
                    out.push(Value::from(&text[last..m.start()]));
                    for g in 1..c.len() {
                        out.push(
                            c.get(g)
                                .map_or(Value::from(()), |g| Value::from(g.as_str())),
                        );
                    }
                    last = m.end();
                }
                out.push(Value::from(&text[last..]));
                Ok(Value::from(out))
            }
            "sub" => {
                let repl = args.text(0, "repl")?;
                let text = args.text(1, "string")?;
                let count = args.int(2, "count")?.unwrap_or(0).max(0) as usize;
                let template = Replacement::parse(&repl)?;
                let mut failed = None;
                let out = self
                    .search
                    .try_replacen(&text, count, |c: &Captures| {
                        template.expand(c).unwrap_or_else(|e| {
                            failed = Some(e);
                            String::new()
                        })
                    })
                    .map_err(runtime)?
                    .into_owned();
                match failed {
                    Some(e) => Err(e),
                    None => Ok(Value::from(out)),
                }
            }
            _ => Err(Error::new(
                ErrorKind::UnknownMethod,
                format!("re pattern has no method `{method}`"),
            )),
        }
    }
}

impl Object for Pattern {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Plain
    }

    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        match key.as_str()? {
            "pattern" => Some(Value::from(self.source.clone())),
            "flags" => Some(Value::from(self.flags)),
            _ => None,
        }
    }

    fn call_method(
        self: &Arc<Self>,
        _state: &State<'_, '_>,
        method: &str,
        args: &[Value],
    ) -> Result<Value, Error> {
        self.run(method, &Args::new(method, args)?)
    }

    fn render(self: &Arc<Self>, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "re.compile({:?})", self.source)
    }
}

/// The flag letters of an inline `(?aiLmsux)` group at the start of
/// `pattern`, and the rest of the pattern.
fn leading_flags(pattern: &str) -> (&str, &str) {
    if let Some(rest) = pattern.strip_prefix("(?") {
        if let Some(close) = rest.find(')') {
            let letters = &rest[..close];
            if !letters.is_empty() && letters.chars().all(|c| "aiLmsux".contains(c)) {
                return (letters, &rest[close + 1..]);
            }
        }
    }
    ("", pattern)
}

/// Python's `re.escape` (3.7+): a backslash before each character that is
/// special in a pattern.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if "()[]{}?*+-|^$\\.&~# \t\n\r\x0b\x0c".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// One piece of a `sub` replacement.
#[derive(Debug)]
enum Piece {
    Text(String),
    Group(usize),
    Named(String),
}

/// A parsed `sub` replacement string, in Python's syntax.
#[derive(Debug)]
struct Replacement(Vec<Piece>);

impl Replacement {
    fn parse(repl: &str) -> Result<Replacement, Error> {
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

    fn expand(&self, c: &Captures) -> Result<String, Error> {
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

/// A match: its groups (0 = the whole match) with their spans, and the
/// names of the named groups.
#[derive(Debug)]
struct Match {
    groups: Vec<Option<(String, usize, usize)>>,
    names: Vec<(String, usize)>,
}

impl Match {
    fn new(re: &Regex, c: &Captures) -> Match {
        let groups = (0..c.len())
            .map(|i| {
                c.get(i)
                    .map(|m| (m.as_str().to_owned(), m.start(), m.end()))
            })
            .collect();
        let names = re
            .capture_names()
            .enumerate()
            .filter_map(|(i, n)| n.map(|n| (n.to_owned(), i)))
            .collect();
        Match { groups, names }
    }

    fn index(&self, which: Option<&Value>) -> Result<usize, Error> {
        let Some(which) = which else { return Ok(0) };
        if let Some(name) = which.as_str() {
            return self
                .names
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, i)| *i)
                .ok_or_else(|| invalid(format!("no such group `{name}`")));
        }
        let n = usize::try_from(which.clone())?;
        if n < self.groups.len() {
            Ok(n)
        } else {
            Err(invalid(format!("no such group {n}")))
        }
    }

    fn text(&self, i: usize) -> Value {
        self.groups[i]
            .as_ref()
            .map_or(Value::from(()), |g| Value::from(g.0.clone()))
    }
}

impl Object for Match {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Plain
    }

    fn call_method(
        self: &Arc<Self>,
        _state: &State<'_, '_>,
        method: &str,
        args: &[Value],
    ) -> Result<Value, Error> {
        let span = |i: usize| {
            self.groups[i]
                .as_ref()
                .map_or((-1, -1), |g| (g.1 as i64, g.2 as i64))
        };
        match method {
            "group" if args.len() > 1 => Ok(Value::from(
                args.iter()
                    .map(|a| self.index(Some(a)).map(|i| self.text(i)))
                    .collect::<Result<Vec<_>, _>>()?,
            )),
            "group" => Ok(self.text(self.index(args.first())?)),
            "groups" => Ok(Value::from(
                (1..self.groups.len())
                    .map(|i| self.text(i))
                    .collect::<Vec<_>>(),
            )),
            "groupdict" => Ok(Value::from_iter(
                self.names.iter().map(|(n, i)| (n.clone(), self.text(*i))),
            )),
            "start" => Ok(Value::from(span(self.index(args.first())?).0)),
            "end" => Ok(Value::from(span(self.index(args.first())?).1)),
            "span" => {
                let (s, e) = span(self.index(args.first())?);
                Ok(Value::from(vec![Value::from(s), Value::from(e)]))
            }
            _ => Err(Error::new(
                ErrorKind::UnknownMethod,
                format!("re match has no method `{method}`"),
            )),
        }
    }

    fn render(self: &Arc<Self>, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (s, e) = self.groups[0].as_ref().map_or((0, 0), |g| (g.1, g.2));
        let text = self.groups[0].as_ref().map_or("", |g| g.0.as_str());
        write!(f, "<re.Match object; span=({s}, {e}), match='{text}'>")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(src: &str) -> String {
        let mut env = minijinja::Environment::new();
        env.add_global("re", Value::from_object(ReModule));
        env.render_str(src, ())
            .unwrap_or_else(|e| format!("error: {e}"))
    }

    #[test]
    fn look_behind_and_verbose_patterns_work_as_in_python() {
        // dbt_project_evaluator's hard-coded-reference patterns use both.
        let src = r#"{{ re.findall('(?ix)
            # not after "distinct "
            (?<!distinct\s)
            (from|join)\s+([a-z_]+)  # a table name', 'select distinct from x from orders join items') }}"#;
        assert_eq!(render(src), r#"[["from", "orders"], ["join", "items"]]"#);
    }

    #[test]
    fn flags_come_as_argument_constant_or_inline() {
        assert_eq!(
            render("{{ re.IGNORECASE }} {{ re.I }} {{ re.X }}"),
            "2 2 64"
        );
        assert_eq!(
            render("{{ re.findall('\\\\bselect[ (]', 'SELECT (1) select 2', re.IGNORECASE) | length }}"),
            "2"
        );
        assert_eq!(
            render("{{ re.search('ab', 'xAB', flags=re.I).group() }}"),
            "AB"
        );
        assert_eq!(render("{{ re.search('(?i)ab', 'xAB').group() }}"), "AB");
    }

    #[test]
    fn match_and_fullmatch_are_anchored_not_first_match_checks() {
        // Python: re.fullmatch('a|ab', 'ab') matches 'ab'; the leftmost-first
        // match is 'a', which a "first match spans it all" check would reject.
        assert_eq!(render("{{ re.fullmatch('a|ab', 'ab').group() }}"), "ab");
        assert_eq!(render("{{ re.match('b', 'ab') is none }}"), "True");
        assert_eq!(render("{{ re.match('a', 'ab').span() }}"), "[0, 1]");
    }

    #[test]
    fn sub_takes_python_replacement_syntax() {
        assert_eq!(
            render(r#"{{ re.sub('(a)(b)', '\\2\\1', 'xaby') }}"#),
            "xbay"
        );
        assert_eq!(
            render(r#"{{ re.sub('(?P<first>a)', '<\\g<first>|\\g<1>>', 'ba') }}"#),
            "b<a|a>"
        );
        // `$` is plain text in a Python replacement (it is special to the regex crate).
        assert_eq!(render("{{ re.sub('a', '$1', 'a') }}"), "$1");
        assert_eq!(render("{{ re.sub('a', 'b', 'aaa', 2) }}"), "bba");
        assert!(render(r#"{{ re.sub('a', '\\q', 'a') }}"#).contains("bad escape"));
    }

    #[test]
    fn split_keeps_groups_and_findall_shapes_follow_the_groups() {
        assert_eq!(render("{{ re.split('(,)', 'a,b') }}"), r#"["a", ",", "b"]"#);
        assert_eq!(render("{{ re.split(',', 'a,b,c', 1) }}"), r#"["a", "b,c"]"#);
        assert_eq!(
            render("{{ re.findall('[0-9]+', 'a1b22') }}"),
            r#"["1", "22"]"#
        );
        assert_eq!(
            render("{{ re.findall('v(\\\\d)', 'v1 v2') }}"),
            r#"["1", "2"]"#
        );
    }

    #[test]
    fn compiled_patterns_and_match_objects() {
        let src = "{% set p = re.compile('(?P<k>[a-z]+)=(?P<v>[0-9]+)') %}{% set m = p.search('x: ab=12') %}\
                   {{ m.group('k') }} {{ m.group(2) }} {{ m.groupdict()['v'] }} {{ m.start() }} {{ p.pattern }}";
        assert_eq!(render(src), "ab 12 12 3 (?P<k>[a-z]+)=(?P<v>[0-9]+)");
        assert_eq!(render("{{ re.escape('a.b*c') }}"), "a\\.b\\*c");
    }

    #[test]
    fn bad_patterns_are_errors_naming_the_pattern() {
        assert!(render("{{ re.search('(', 'x') }}").contains("bad pattern `(`"));
    }
}
