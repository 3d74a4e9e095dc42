//! [`MutableList`]: a Python list in templates, which `append`, `extend`,
//! `pop` and the other list methods change in place.

use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};

use minijinja::value::{from_args, Enumerator, Kwargs, Object, ObjectRepr};
use minijinja::{Error, ErrorKind, State, Value};

use crate::render::pycompat::repr::python_repr;

/// A Python list: a sequence value that `append`, `extend`, `insert`,
/// `pop`, `remove`, `clear`, `reverse` and `sort` change in place, so every
/// name bound to it sees the change, as in dbt's Jinja.
#[derive(Debug, Default)]
pub struct MutableList(Mutex<Vec<Value>>);

impl MutableList {
    /// A template value holding `items`.
    pub fn value(items: Vec<Value>) -> Value {
        Value::from_object(MutableList(Mutex::new(items)))
    }

    fn items(&self) -> MutexGuard<'_, Vec<Value>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Object for MutableList {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Seq
    }

    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        let items = self.items();
        let index = i64::try_from(key.clone()).ok()?;
        let index = if index < 0 {
            items.len() as i64 + index
        } else {
            index
        };
        usize::try_from(index)
            .ok()
            .and_then(|i| items.get(i).cloned())
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        Enumerator::Values(self.items().clone())
    }

    fn enumerator_len(self: &Arc<Self>) -> Option<usize> {
        Some(self.items().len())
    }

    fn call_method(
        self: &Arc<Self>,
        _state: &State<'_, '_>,
        method: &str,
        args: &[Value],
    ) -> Result<Value, Error> {
        let none = Value::from(());
        match method {
            "append" => {
                let (x,): (Value,) = from_args(args)?;
                self.items().push(x);
                Ok(none)
            }
            "extend" => {
                let (other,): (Value,) = from_args(args)?;
                let new: Vec<Value> = other.try_iter()?.collect();
                self.items().extend(new);
                Ok(none)
            }
            "insert" => {
                let (at, x): (i64, Value) = from_args(args)?;
                let mut items = self.items();
                let len = items.len() as i64;
                let at = if at < 0 {
                    (len + at).max(0)
                } else {
                    at.min(len)
                };
                items.insert(at as usize, x);
                Ok(none)
            }
            "pop" => {
                let (at,): (Option<i64>,) = from_args(args)?;
                let mut items = self.items();
                let len = items.len() as i64;
                let at = at.unwrap_or(-1);
                let at = if at < 0 { len + at } else { at };
                if at < 0 || at >= len {
                    return Err(Error::new(
                        ErrorKind::InvalidOperation,
                        "pop index out of range",
                    ));
                }
                Ok(items.remove(at as usize))
            }
            "remove" => {
                let (x,): (Value,) = from_args(args)?;
                let mut items = self.items();
                match items.iter().position(|v| *v == x) {
                    Some(i) => {
                        items.remove(i);
                        Ok(none)
                    }
                    None => Err(Error::new(
                        ErrorKind::InvalidOperation,
                        format!("list.remove(x): {x} not in list"),
                    )),
                }
            }
            "index" => {
                let (x,): (Value,) = from_args(args)?;
                self.items()
                    .iter()
                    .position(|v| *v == x)
                    .map(Value::from)
                    .ok_or_else(|| {
                        Error::new(ErrorKind::InvalidOperation, format!("{x} is not in list"))
                    })
            }
            "count" => {
                let (x,): (Value,) = from_args(args)?;
                Ok(Value::from(
                    self.items().iter().filter(|v| **v == x).count(),
                ))
            }
            "clear" => {
                self.items().clear();
                Ok(none)
            }
            "reverse" => {
                self.items().reverse();
                Ok(none)
            }
            "sort" => {
                let (kwargs,): (Kwargs,) = from_args(args)?;
                let reverse: Option<bool> = kwargs.get("reverse")?;
                kwargs.assert_all_used()?;
                let mut items = self.items();
                items.sort();
                if reverse.unwrap_or(false) {
                    items.reverse();
                }
                Ok(none)
            }
            "copy" => Ok(MutableList::value(self.items().clone())),
            _ => Err(Error::from(ErrorKind::UnknownMethod)),
        }
    }

    fn render(self: &Arc<Self>, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // As Python's str(list): `['a', 1]`.
        f.write_str("[")?;
        for (i, v) in self.items().iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            python_repr(v, f)?;
        }
        f.write_str("]")
    }
}
