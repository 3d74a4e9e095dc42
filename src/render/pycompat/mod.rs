//! Python-Jinja semantics that dbt macros rely on and minijinja lacks.
//!
//! dbt renders with Jinja2 on Python, so package macros build lists and
//! dicts by mutating them (`{% do cols.append(c) %}`,
//! `{% do d.update({...}) %}`) and format strings with Python's `%`
//! operator (`"%s_%s" % (a, b)`). minijinja's lists and maps are immutable
//! values and its `%` is arithmetic only. Rather than fork minijinja (dbt's
//! own Rust engine did), sluice rewrites each template's source before
//! compiling it, with minijinja's own tokenizer (`unstable_machinery`):
//!
//! - a list literal `[...]` becomes `__sluice_list([...])`, a
//!   [`MutableList`] with Python's list methods;
//! - a dict literal `{k: v, ...}` becomes `__sluice_dict([(k, v), ...])`,
//!   a [`MutableDict`] with Python's dict methods whose keys keep the order
//!   they are written in (a minijinja map literal would sort them);
//! - `'literal' % operand` becomes `__sluice_mod('literal', operand)`:
//!   printf-style formatting for strings, modulo for numbers.
//!
//! Line numbers never change (nothing is inserted across lines). Columns
//! after a rewrite on the same line shift by the inserted text; see
//! docs/decisions/python-jinja.md.
//!
//! The rewrite is in `rewrite` (with the operand scanning of `operands`);
//! the values it creates are [`MutableList`] (`list`) and [`MutableDict`]
//! (`dict`); `repr` prints values as Python does.

mod dict;
mod list;
mod operands;
mod repr;
mod rewrite;
#[cfg(test)]
mod tests;

use indexmap::IndexMap;
use minijinja::value::{from_args, Rest, ValueKind};
use minijinja::{Environment, Error, ErrorKind, State, Value};

use crate::render::pycompat::dict::{map_items, pairs};

pub use crate::render::pycompat::dict::MutableDict;
pub use crate::render::pycompat::list::MutableList;
pub use crate::render::pycompat::repr::{python_json_string, python_str_repr};
pub use crate::render::pycompat::rewrite::{macro_arguments, rewrite};

/// Name of the function a list literal is wrapped in.
const LIST_FN: &str = "__sluice_list";
/// Name of the function a dict literal is wrapped in.
const DICT_FN: &str = "__sluice_dict";
/// Name of the function `'...' % x` becomes.
const MOD_FN: &str = "__sluice_mod";

/// Registers the functions the rewrite calls.
pub fn register(env: &mut Environment<'_>) {
    env.add_function(LIST_FN, |v: Value| -> Result<Value, Error> {
        Ok(MutableList::value(v.try_iter()?.collect()))
    });
    env.add_function(DICT_FN, |v: Value| -> Result<Value, Error> {
        let items = if v.kind() == ValueKind::Map {
            map_items(&v)?
        } else {
            pairs(&v)?
        };
        Ok(MutableDict::value(items.into_iter().collect()))
    });
    env.add_function(MOD_FN, python_mod);
}

/// The environment's unknown-method callback: minijinja-contrib's Python
/// methods, plus what Python gives the values it returns. `str.split`,
/// `rsplit` and `splitlines` return a Python list ([`MutableList`]); any
/// other sequence (a tuple in Python: agate's `column.values()`, `zip`
/// items) answers `index` and `count`.
pub fn unknown_method(
    state: &State<'_, '_>,
    value: &Value,
    method: &str,
    args: &[Value],
) -> Result<Value, Error> {
    match (value.kind(), method) {
        (ValueKind::Seq, "index") => {
            let (x,): (Value,) = from_args(args)?;
            value
                .try_iter()?
                .position(|v| v == x)
                .map(Value::from)
                .ok_or_else(|| {
                    Error::new(ErrorKind::InvalidOperation, format!("{x} is not in list"))
                })
        }
        (ValueKind::String, "split" | "rsplit" | "splitlines") => {
            let parts =
                minijinja_contrib::pycompat::unknown_method_callback(state, value, method, args)?;
            Ok(MutableList::value(parts.try_iter()?.collect()))
        }
        _ => minijinja_contrib::pycompat::unknown_method_callback(state, value, method, args),
    }
}

/// `value` with every plain sequence and map in it, nested ones too, made
/// a [`MutableList`] / [`MutableDict`]: what JSON and YAML data (`fromjson`,
/// `fromyaml`, `var()`, test arguments) are in dbt, Python lists and dicts
/// that macros mutate. Other objects (relations, agate tables) are kept.
pub fn python_value(value: Value) -> Value {
    if value.downcast_object_ref::<Vec<Value>>().is_some() {
        let items = value.try_iter().map(|it| it.map(python_value).collect());
        return MutableList::value(items.unwrap_or_default());
    }
    let is_plain_map = value
        .downcast_object_ref::<std::collections::BTreeMap<Value, Value>>()
        .is_some()
        || value
            .downcast_object_ref::<IndexMap<Value, Value>>()
            .is_some();
    if is_plain_map {
        let mut map = IndexMap::new();
        if let Ok(keys) = value.try_iter() {
            for key in keys {
                let item = value.get_item(&key).unwrap_or_default();
                map.insert(key, python_value(item));
            }
        }
        return MutableDict::value(map);
    }
    value
}

/// `a % b` as Python evaluates it: printf-style formatting when `a` is a
/// string (a list or tuple `b` gives the arguments, anything else is the
/// one argument), floored modulo for numbers.
///
/// Errors: [`ErrorKind::InvalidOperation`] for other operand types, or a
/// format string whose placeholders do not match the arguments.
fn python_mod(state: &State, a: Value, b: Value) -> Result<Value, Error> {
    if a.as_str().is_some() {
        let args: Vec<Value> = if matches!(b.kind(), minijinja::value::ValueKind::Seq) {
            b.try_iter()?.collect()
        } else {
            vec![b]
        };
        return minijinja::filters::format(state, &a, Rest(args));
    }
    match (i64::try_from(a.clone()), i64::try_from(b.clone())) {
        (Ok(x), Ok(y)) if y != 0 => {
            // Python's result takes the divisor's sign; rem_euclid's is never negative.
            let r = x.rem_euclid(y);
            Ok(Value::from(if y < 0 && r != 0 { r + y } else { r }))
        }
        (Ok(_), Ok(_)) => Err(Error::new(
            ErrorKind::InvalidOperation,
            "integer modulo by zero",
        )),
        _ => match (f64::try_from(a.clone()), f64::try_from(b.clone())) {
            (Ok(x), Ok(y)) => Ok(Value::from(x - y * (x / y).floor())),
            _ => Err(Error::new(
                ErrorKind::InvalidOperation,
                format!(
                    "unsupported operand types for %: {} and {}",
                    a.kind(),
                    b.kind()
                ),
            )),
        },
    }
}
