//! A compiled `re` pattern (`re.compile(...)`, and behind every
//! module-level function): Python's flags and inline flags, the anchored
//! forms `match` and `fullmatch` need, a cache of compiled patterns, and
//! the methods `search` ... `sub`.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex};

use fancy_regex::{Captures, Regex};
use minijinja::value::{Object, ObjectRepr};
use minijinja::{Error, ErrorKind, State, Value};

use crate::render::re::args::{invalid, Args};
use crate::render::re::match_object::Match;
use crate::render::re::replacement::Replacement;

/// A compiled pattern (`re.compile(...)`), also used for the module-level
/// functions. Holds the pattern as searched, anchored at the start (for
/// `match`) and at both ends (for `fullmatch`).
#[derive(Debug)]
pub(super) struct Pattern {
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
    pub(super) fn new(source: &str, flags: i64) -> Result<Pattern, Error> {
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

    pub(super) fn run(&self, method: &str, args: &Args) -> Result<Value, Error> {
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
