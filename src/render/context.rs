//! The invocation-wide parts of dbt's template context: `flags`, `graph`,
//! `selected_resources`, `api`, and dbt's base-context helpers
//! (`local_md5`, `set`, `set_strict`, `zip_strict`, `try_or_compiler_error`,
//! `diff_of_two_dicts`).
//!
//! `flags`, `graph` and `selected_resources` start as dbt has them before
//! anything is known (no command, `{}`, `[]`); a command replaces them with
//! [`crate::render::Renderer::add_global`] as dbt fills them in: the flags
//! before parsing, the graph once parsing is done (so, as in dbt, a parse
//! render sees an empty graph and only `execute` renders see the nodes), and
//! the selection once it is made.

use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, Mutex};

use md5::Digest;
use minijinja::value::{DynObject, Enumerator, Kwargs, Object, ObjectRepr, Rest};
use minijinja::{Environment, Error, ErrorKind, State, Value};

use crate::error::{Error as SluiceError, ErrorKind as SluiceKind};
use crate::render::call::COMPILER_ERROR;
use crate::render::column::ColumnClass;
use crate::render::relation::RelationClass;

/// The values of dbt's `flags` object for one invocation.
///
/// Only what sluice's command line decides is variable; the rest are dbt's
/// defaults, so that `flags.X` reads as it would under dbt 1.12.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Flags {
    /// dbt's `WHICH`: the command (`run`, `build`, `test`, `seed`,
    /// `snapshot`, `compile`, `list`, `generate`, ...); none when empty.
    pub which: String,
    /// `--full-refresh`.
    pub full_refresh: bool,
    /// `--empty`.
    pub empty: bool,
    /// `--fail-fast`.
    pub fail_fast: bool,
    /// `--store-failures` (sluice has no such flag: false).
    pub store_failures: bool,
    /// `--quiet`.
    pub quiet: bool,
    /// The command line, as dbt's `INVOCATION_COMMAND`.
    pub invocation_command: String,
    /// `--profiles-dir`, when given.
    pub profiles_dir: Option<String>,
}

impl Flags {
    /// The `flags` object templates see.
    pub fn value(&self) -> Value {
        Value::from_object(FlagsObject(self.clone()))
    }
}

/// The names `flags` answers to, in the order `{{ flags }}` prints them.
const FLAG_NAMES: &[&str] = &[
    "CACHE_SELECTED_ONLY",
    "DEBUG",
    "EMPTY",
    "FAIL_FAST",
    "FULL_REFRESH",
    "HINTS_ENABLED",
    "INDIRECT_SELECTION",
    "INTROSPECT",
    "INVOCATION_COMMAND",
    "LOG_CACHE_EVENTS",
    "LOG_FORMAT",
    "LOG_PATH",
    "MAXIMUM_SEED_SIZE_MIB",
    "NO_PRINT",
    "PARTIAL_PARSE",
    "PRINTER_WIDTH",
    "PROFILES_DIR",
    "QUIET",
    "REQUIRE_SQL_HEADER_IN_TEST_CONFIGS",
    "SEND_ANONYMOUS_USAGE_STATS",
    "STATIC_PARSER",
    "STORE_FAILURES",
    "TARGET_PATH",
    "USE_COLORS",
    "USE_EXPERIMENTAL_PARSER",
    "VERSION_CHECK",
    "WARN_ERROR",
    "WHICH",
    "WRITE_JSON",
];

/// dbt's `flags`: an attribute per flag (`flags.FULL_REFRESH`,
/// `flags.WHICH`); an unknown name is undefined, as on dbt's namespace.
#[derive(Debug)]
struct FlagsObject(Flags);

impl FlagsObject {
    fn flag(&self, name: &str) -> Option<Value> {
        let f = &self.0;
        let none = Value::from(());
        Some(match name {
            "WHICH" if f.which.is_empty() => none,
            "WHICH" => Value::from(f.which.clone()),
            "FULL_REFRESH" => Value::from(f.full_refresh),
            "EMPTY" => Value::from(f.empty),
            "FAIL_FAST" => Value::from(f.fail_fast),
            "STORE_FAILURES" => Value::from(f.store_failures),
            "QUIET" => Value::from(f.quiet),
            "INVOCATION_COMMAND" => Value::from(f.invocation_command.clone()),
            "PROFILES_DIR" => f.profiles_dir.clone().map_or(none, Value::from),
            "USE_COLORS" => Value::from(std::env::var_os("NO_COLOR").is_none()),
            "WARN_ERROR" | "NO_PRINT" | "TARGET_PATH" => none,
            "DEBUG"
            | "PARTIAL_PARSE"
            | "CACHE_SELECTED_ONLY"
            | "LOG_CACHE_EVENTS"
            | "USE_EXPERIMENTAL_PARSER"
            | "SEND_ANONYMOUS_USAGE_STATS"
            | "REQUIRE_SQL_HEADER_IN_TEST_CONFIGS" => Value::from(false),
            "STATIC_PARSER" | "INTROSPECT" | "WRITE_JSON" | "VERSION_CHECK" | "HINTS_ENABLED" => {
                Value::from(true)
            }
            "PRINTER_WIDTH" => Value::from(80),
            "MAXIMUM_SEED_SIZE_MIB" => Value::from(1),
            "LOG_FORMAT" => Value::from("default"),
            "LOG_PATH" => Value::from("logs"),
            "INDIRECT_SELECTION" => Value::from("eager"),
            _ => return None,
        })
    }
}

impl fmt::Display for FlagsObject {
    /// As Python's `argparse.Namespace` repr, which dbt's flags print as.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = FLAG_NAMES
            .iter()
            .filter_map(|n| {
                let v = self.flag(n)?;
                let shown = match v.as_str() {
                    Some(s) => format!("'{}'", s.replace('\\', "\\\\").replace('\'', "\\'")),
                    None => v.to_string(),
                };
                Some(format!("{n}={shown}"))
            })
            .collect();
        write!(f, "Namespace({})", parts.join(", "))
    }
}

impl Object for FlagsObject {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Plain
    }

    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        self.flag(key.as_str()?)
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        Enumerator::Str(FLAG_NAMES)
    }

    fn render(self: &Arc<Self>, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// A Python set as dbt's `set()` returns it: unique values, in the order
/// first seen (Python's order is arbitrary; this one is reproducible), with
/// `add`, `update`, `remove`, `discard`, `union`, `intersection`,
/// `difference`, `issubset`, `issuperset` and `isdisjoint`. Two sets are
/// equal when they hold the same values in any order, as Python's.
#[derive(Debug, Default)]
pub struct PySet(Mutex<Vec<Value>>);

impl PySet {
    /// A set of the unique values of `items`.
    pub fn new(items: impl IntoIterator<Item = Value>) -> PySet {
        let mut out: Vec<Value> = Vec::new();
        for v in items {
            if !out.contains(&v) {
                out.push(v);
            }
        }
        PySet(Mutex::new(out))
    }

    fn items(&self) -> Vec<Value> {
        self.0.lock().map(|v| v.clone()).unwrap_or_default()
    }
}

impl fmt::Display for PySet {
    /// As Python's set repr: `{1, 'a'}`, and `set()` when empty.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let items = self.items();
        if items.is_empty() {
            return f.write_str("set()");
        }
        let shown: Vec<String> = items
            .iter()
            .map(|v| match v.as_str() {
                Some(s) => format!("'{s}'"),
                None => v.to_string(),
            })
            .collect();
        write!(f, "{{{}}}", shown.join(", "))
    }
}

/// The values of an iterable argument.
///
/// Errors: the value cannot be iterated.
fn iterable(v: &Value, what: &str) -> Result<Vec<Value>, Error> {
    if let Some(set) = v.downcast_object_ref::<PySet>() {
        return Ok(set.items());
    }
    if v.is_undefined()
        || v.is_none()
        || v.is_number()
        || v.kind() == minijinja::value::ValueKind::Bool
    {
        return Err(Error::new(
            ErrorKind::InvalidOperation,
            format!("{what}: `{v}` is not iterable"),
        ));
    }
    v.try_iter().map(Iterator::collect).map_err(|_| {
        Error::new(
            ErrorKind::InvalidOperation,
            format!("{what}: `{v}` is not iterable"),
        )
    })
}

impl Object for PySet {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Iterable
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        Enumerator::Values(self.items())
    }

    fn enumerator_len(self: &Arc<Self>) -> Option<usize> {
        Some(self.items().len())
    }

    /// Python's `==` on sets: the same values, whatever the order they were
    /// added in (dbt_utils' `equality` test compares
    /// `set(columns | map(attribute='quoted'))` of two relations whose
    /// columns come in different orders). Unequal sets give `None`, so
    /// minijinja falls back to comparing them as sequences (never equal).
    fn custom_cmp(self: &Arc<Self>, other: &DynObject) -> Option<Ordering> {
        let other = other.downcast_ref::<Self>()?;
        let (mine, theirs) = (self.items(), other.items());
        (mine.len() == theirs.len() && mine.iter().all(|v| theirs.contains(v)))
            .then_some(Ordering::Equal)
    }

    fn call_method(
        self: &Arc<Self>,
        _state: &State<'_, '_>,
        method: &str,
        args: &[Value],
    ) -> Result<Value, Error> {
        let arg = |i: usize| -> Result<Vec<Value>, Error> {
            args.get(i)
                .map(|v| iterable(v, &format!("set.{method}")))
                .unwrap_or_else(|| Ok(Vec::new()))
        };
        let mine = self.items();
        let set = |items: Vec<Value>| Ok(Value::from_object(PySet::new(items)));
        match method {
            "add" => {
                if let (Some(v), Ok(mut items)) = (args.first(), self.0.lock()) {
                    if !items.contains(v) {
                        items.push(v.clone());
                    }
                }
                Ok(Value::from(()))
            }
            "update" => {
                let mut all = mine;
                for i in 0..args.len() {
                    all.extend(arg(i)?);
                }
                if let Ok(mut items) = self.0.lock() {
                    *items = PySet::new(all).items();
                }
                Ok(Value::from(()))
            }
            "remove" | "discard" => {
                let v = args.first().cloned().unwrap_or_default();
                let found = mine.contains(&v);
                if method == "remove" && !found {
                    return Err(Error::new(
                        ErrorKind::InvalidOperation,
                        format!("set.remove: `{v}` is not in the set"),
                    ));
                }
                if let Ok(mut items) = self.0.lock() {
                    items.retain(|x| x != &v);
                }
                Ok(Value::from(()))
            }
            "union" => {
                let mut all = mine;
                for i in 0..args.len() {
                    all.extend(arg(i)?);
                }
                set(all)
            }
            "intersection" => {
                let other = arg(0)?;
                set(mine.into_iter().filter(|v| other.contains(v)).collect())
            }
            "difference" => {
                let other = arg(0)?;
                set(mine.into_iter().filter(|v| !other.contains(v)).collect())
            }
            "symmetric_difference" => {
                let other = arg(0)?;
                let mut out: Vec<Value> = mine
                    .iter()
                    .filter(|v| !other.contains(v))
                    .cloned()
                    .collect();
                out.extend(other.into_iter().filter(|v| !mine.contains(v)));
                set(out)
            }
            "issubset" => {
                let other = arg(0)?;
                Ok(Value::from(mine.iter().all(|v| other.contains(v))))
            }
            "issuperset" => {
                let other = arg(0)?;
                Ok(Value::from(other.iter().all(|v| mine.contains(v))))
            }
            "isdisjoint" => {
                let other = arg(0)?;
                Ok(Value::from(!mine.iter().any(|v| other.contains(v))))
            }
            "copy" => set(mine),
            _ => Err(Error::new(
                ErrorKind::UnknownMethod,
                format!("set has no method `{method}`"),
            )),
        }
    }

    fn render(self: &Arc<Self>, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// A compilation error carrying `msg` as the user's own message, as
/// `exceptions.raise_compiler_error` raises.
fn compiler_error(msg: String) -> Error {
    Error::new(ErrorKind::InvalidOperation, COMPILER_ERROR)
        .with_source(SluiceError::new(SluiceKind::Jinja, msg))
}

/// dbt's `zip`/`zip_strict` result: tuples of the i-th values, as long as the shortest.
fn zip_lists(lists: &[Vec<Value>]) -> Value {
    let n = lists.iter().map(Vec::len).min().unwrap_or(0);
    Value::from(
        (0..n)
            .map(|i| Value::from(lists.iter().map(|l| l[i].clone()).collect::<Vec<_>>()))
            .collect::<Vec<_>>(),
    )
}

/// `diff_of_two_dicts(dict_a, dict_b)`: `dict_a` minus `dict_b`, keys and
/// list values compared ignoring case, as dbt's.
fn diff_of_two_dicts(a: &Value, b: &Value) -> Result<Value, Error> {
    let lower = |v: &Value| v.to_string().to_lowercase();
    let mut b_lower: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for k in b.try_iter()? {
        let vals = b.get_item(&k)?;
        b_lower.insert(
            lower(&k),
            iterable(&vals, "diff_of_two_dicts")?
                .iter()
                .map(lower)
                .collect(),
        );
    }
    let mut out: Vec<(Value, Value)> = Vec::new();
    for k in a.try_iter()? {
        let vals = iterable(&a.get_item(&k)?, "diff_of_two_dicts")?;
        let kept: Vec<Value> = match b_lower.get(&lower(&k)) {
            Some(other) => vals
                .into_iter()
                .filter(|v| !other.contains(&lower(v)))
                .collect(),
            None => vals,
        };
        if !kept.is_empty() {
            out.push((k, Value::from(kept)));
        }
    }
    Ok(Value::from_iter(out))
}

/// Registers `flags`, `graph`, `selected_resources` (at their pre-command
/// values), `api` and dbt's base-context helpers on `env`.
pub fn register(env: &mut Environment<'static>) {
    env.add_global("flags", Flags::default().value());
    env.add_global("graph", Value::from(BTreeMap::<String, Value>::new()));
    env.add_global("selected_resources", Value::from(Vec::<Value>::new()));
    env.add_global(
        "api",
        Value::from_iter([
            ("Relation", Value::from_object(RelationClass)),
            ("Column", Value::from_object(ColumnClass)),
        ]),
    );
    // As dbt's `local_md5`: the hex MD5 of the text, computed locally.
    env.add_function("local_md5", |text: String| {
        Value::from(format!("{:x}", md5::Md5::digest(text.as_bytes())))
    });
    // As dbt's `set(value, default=None)`: the unique values, or `default` for a non-iterable.
    env.add_function(
        "set",
        |value: Value, default: Option<Value>, kwargs: Kwargs| -> Result<Value, Error> {
            let default = match default {
                Some(d) => Some(d),
                None => kwargs.get::<Option<Value>>("default")?,
            };
            kwargs.assert_all_used()?;
            Ok(match iterable(&value, "set") {
                Ok(items) => Value::from_object(PySet::new(items)),
                Err(_) => default.unwrap_or(Value::from(())),
            })
        },
    );
    // As dbt's `set_strict(value)`: the unique values; a non-iterable is an error.
    env.add_function("set_strict", |value: Value| -> Result<Value, Error> {
        iterable(&value, "set_strict").map(|items| Value::from_object(PySet::new(items)))
    });
    // As dbt's `zip_strict(*args)`: `zip`, but a non-iterable is an error.
    env.add_function("zip_strict", |lists: Rest<Value>| -> Result<Value, Error> {
        let lists: Vec<Vec<Value>> = lists
            .iter()
            .map(|l| iterable(l, "zip_strict"))
            .collect::<Result<_, _>>()?;
        Ok(zip_lists(&lists))
    });
    // As dbt's `try_or_compiler_error(message_if_exception, func, *args, **kwargs)`.
    env.add_function(
        "try_or_compiler_error",
        |state: &State, message: String, func: Value, args: Rest<Value>| -> Result<Value, Error> {
            func.call(state, &args).map_err(|_| compiler_error(message))
        },
    );
    env.add_function(
        "diff_of_two_dicts",
        |a: Value, b: Value| -> Result<Value, Error> { diff_of_two_dicts(&a, &b) },
    );
    crate::render::modules::register_operators(env);
    // dbt's `thread_id`: the worker's name; sluice's workers are not named, so the first.
    env.add_global("thread_id", Value::from("Thread-1"));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env() -> Environment<'static> {
        let mut env = Environment::new();
        register(&mut env);
        env
    }

    fn render(src: &str) -> String {
        env().render_str(src, ()).unwrap()
    }

    /// Pins dbt's flags object: flags are attributes, an unknown one is
    /// undefined, and before a command is known WHICH is none.
    #[test]
    fn flags_read_as_dbt_namespace() {
        let mut env = env();
        env.add_global(
            "flags",
            Flags {
                which: "run".into(),
                full_refresh: true,
                ..Flags::default()
            }
            .value(),
        );
        let out = env
            .render_str(
                "{{ flags.WHICH }} {{ flags.FULL_REFRESH }} {{ flags.EMPTY }} {{ flags.NOPE is defined }} {{ flags.WARN_ERROR is none }} {{ flags.WHICH in ['run', 'build'] }}",
                (),
            )
            .unwrap();
        assert_eq!(out, "run True False False True True");
        assert_eq!(render("{{ flags.WHICH is none }}"), "True");
        assert!(
            render("{{ flags }}").starts_with("Namespace(CACHE_SELECTED_ONLY=False, DEBUG=False")
        );
    }

    /// Pins dbt's base-context helpers: `local_md5` (hex MD5), `set` and
    /// `set_strict` (unique values; `set` gives the default for a
    /// non-iterable), `zip_strict`, `diff_of_two_dicts`.
    #[test]
    fn base_context_helpers_as_dbt() {
        assert_eq!(
            render("{{ local_md5('hello world') }}"),
            "5eb63bbbe01eeed093cb22bb8f5acdc3"
        );
        assert_eq!(
            render("{% set s = set([1, 2, 2, 3]) %}{{ s | length }} {{ 2 in s }} {{ s | list }} {{ set(5) is none }} {{ set(5, default='x') }}"),
            "3 True [1, 2, 3] True x"
        );
        assert_eq!(
            render("{% set s = set_strict(['a', 'b', 'a']) %}{% do s.add('c') %}{{ s }} {{ s.issubset(['a', 'b', 'c', 'd']) }} {{ s.difference(['a']) }}"),
            "{'a', 'b', 'c'} True {'b', 'c'}"
        );
        assert!(env().render_str("{{ set_strict(5) }}", ()).is_err());
        // Python's set equality ignores order: dbt_utils' `equality` test
        // compares the column sets of two relations whose columns are in
        // different orders.
        assert_eq!(
            render("{{ set(['a', 'b']) == set(['b', 'a', 'b']) }} {{ set(['a', 'b']) != set(['b', 'a']) }} {{ set(['a']) == set(['a', 'b']) }} {{ set(['a', 'c']) != set(['a', 'b']) }}"),
            "True False False True"
        );
        assert_eq!(
            render("{{ zip_strict([1, 2], ['alice', 'bob']) | list }}"),
            "[[1, \"alice\"], [2, \"bob\"]]"
        );
        assert!(env().render_str("{{ zip_strict([1], 5) }}", ()).is_err());
        assert_eq!(
            render("{{ diff_of_two_dicts({'key_x': ['value_1', 'VALUE_2'], 'KEY_Y': ['value_3']}, {'key_x': ['value_1'], 'key_z': ['value_4']}) }}"),
            // minijinja's dict literals iterate in key order (Python's in insertion order).
            "{\"KEY_Y\": [\"value_3\"], \"key_x\": [\"VALUE_2\"]}"
        );
    }

    /// Pins dbt's `try_or_compiler_error`: the function's value, or a
    /// compilation error with the given message when it fails.
    #[test]
    fn try_or_compiler_error_as_dbt() {
        let mut env = env();
        env.add_function("half", |n: i64| -> Result<i64, Error> {
            if n % 2 == 0 {
                Ok(n / 2)
            } else {
                Err(Error::new(ErrorKind::InvalidOperation, "odd"))
            }
        });
        assert_eq!(
            env.render_str("{{ try_or_compiler_error('bad', half, 4) }}", ())
                .unwrap(),
            "2"
        );
        let err = env
            .render_str("{{ try_or_compiler_error('not even', half, 3) }}", ())
            .unwrap_err();
        let inner = std::error::Error::source(&err)
            .and_then(|s| s.downcast_ref::<SluiceError>())
            .expect("sluice error");
        assert_eq!(inner.message(), "not even");
    }

    /// Pins dbt's parse-time globals: `graph` is `{}` and `selected_resources` is `[]`.
    #[test]
    fn graph_and_selection_are_empty_before_a_command_fills_them() {
        assert_eq!(
            render("{{ graph | length }} {{ graph.nodes is defined }} {{ selected_resources }}"),
            "0 False []"
        );
    }
}
