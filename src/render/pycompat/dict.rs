//! [`MutableDict`]: a Python dict in templates, which `update`, `pop`,
//! `setdefault` and `clear` change in place, keeping insertion order; and
//! reading the `(key, value)` pairs a dict is built or updated from.

use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};

use indexmap::IndexMap;
use minijinja::value::{from_args, Enumerator, Kwargs, Object, ObjectRepr};
use minijinja::{Error, ErrorKind, State, Value};

use crate::render::pycompat::list::MutableList;
use crate::render::pycompat::repr::python_repr;

/// A Python dict: a map value that `update`, `pop`, `setdefault` and
/// `clear` change in place; keys keep their insertion order, as Python's.
#[derive(Debug, Default)]
pub struct MutableDict(Mutex<IndexMap<Value, Value>>);

impl MutableDict {
    /// A template value holding `map`.
    pub fn value(map: IndexMap<Value, Value>) -> Value {
        Value::from_object(MutableDict(Mutex::new(map)))
    }

    fn map(&self) -> MutexGuard<'_, IndexMap<Value, Value>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Object for MutableDict {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Map
    }

    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        self.map().get(key).cloned()
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        Enumerator::Values(self.map().keys().cloned().collect())
    }

    fn enumerator_len(self: &Arc<Self>) -> Option<usize> {
        Some(self.map().len())
    }

    fn call_method(
        self: &Arc<Self>,
        _state: &State<'_, '_>,
        method: &str,
        args: &[Value],
    ) -> Result<Value, Error> {
        let none = Value::from(());
        match method {
            "update" => {
                let (other, kwargs): (Option<Value>, Kwargs) = from_args(args)?;
                let mut new = match other.filter(|o| !o.is_none()) {
                    Some(other) => map_items(&other)?,
                    None => Vec::new(),
                };
                for key in kwargs.args() {
                    new.push((Value::from(key), kwargs.get::<Value>(key)?));
                }
                self.map().extend(new);
                Ok(none)
            }
            "pop" => {
                let (key, default): (Value, Option<Value>) = from_args(args)?;
                match (self.map().shift_remove(&key), default) {
                    (Some(v), _) => Ok(v),
                    (None, Some(d)) => Ok(d),
                    (None, None) => Err(Error::new(
                        ErrorKind::InvalidOperation,
                        format!("dict.pop: key {key} not found"),
                    )),
                }
            }
            "setdefault" => {
                let (key, default): (Value, Option<Value>) = from_args(args)?;
                Ok(self
                    .map()
                    .entry(key)
                    .or_insert_with(|| default.unwrap_or(none))
                    .clone())
            }
            "get" => {
                let (key, default): (Value, Option<Value>) = from_args(args)?;
                Ok(self
                    .map()
                    .get(&key)
                    .cloned()
                    .unwrap_or_else(|| default.unwrap_or(none)))
            }
            "keys" => Ok(MutableList::value(self.map().keys().cloned().collect())),
            "values" => Ok(MutableList::value(self.map().values().cloned().collect())),
            "items" => Ok(MutableList::value(
                self.map()
                    .iter()
                    .map(|(k, v)| Value::from(vec![k.clone(), v.clone()]))
                    .collect(),
            )),
            "copy" => Ok(MutableDict::value(self.map().clone())),
            "clear" => {
                self.map().clear();
                Ok(none)
            }
            _ => Err(Error::from(ErrorKind::UnknownMethod)),
        }
    }

    fn render(self: &Arc<Self>, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // As Python's str(dict): `{'a': 1}`.
        f.write_str("{")?;
        for (i, (k, v)) in self.map().iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            python_repr(k, f)?;
            f.write_str(": ")?;
            python_repr(v, f)?;
        }
        f.write_str("}")
    }
}

/// The `(key, value)` pairs of a map value (or of any value whose
/// iteration gives keys it can be indexed with), in its order.
///
/// Errors: the value cannot be iterated or indexed.
pub(super) fn map_items(map: &Value) -> Result<Vec<(Value, Value)>, Error> {
    map.try_iter()?
        .map(|key| map.get_item(&key).map(|value| (key, value)))
        .collect()
}

/// The `(key, value)` pairs of a sequence of pairs, in its order.
///
/// Errors: the value is no sequence, or an item is not a pair.
pub(super) fn pairs(seq: &Value) -> Result<Vec<(Value, Value)>, Error> {
    seq.try_iter()?
        .map(|pair| {
            let mut parts = pair.try_iter()?;
            match (parts.next(), parts.next(), parts.next()) {
                (Some(key), Some(value), None) => Ok((key, value)),
                _ => Err(Error::new(
                    ErrorKind::InvalidOperation,
                    format!("dict item {pair} is not a key and a value"),
                )),
            }
        })
        .collect()
}
