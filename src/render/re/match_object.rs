//! A match object as Python's `re.Match`: `group()` by number or name,
//! `groups()`, `groupdict()`, `start()`, `end()`, `span()`.

use std::sync::Arc;

use fancy_regex::{Captures, Regex};
use minijinja::value::{Object, ObjectRepr};
use minijinja::{Error, ErrorKind, State, Value};

use crate::render::re::args::invalid;

/// A match: its groups (0 = the whole match) with their spans, and the
/// names of the named groups.
#[derive(Debug)]
pub(super) struct Match {
    groups: Vec<Option<(String, usize, usize)>>,
    names: Vec<(String, usize)>,
}

impl Match {
    pub(super) fn new(re: &Regex, c: &Captures) -> Match {
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
