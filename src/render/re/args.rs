//! The arguments of a `re` call, positional or keyword, by Python's
//! parameter names, and the error for a bad one.

use minijinja::value::Kwargs;
use minijinja::{Error, ErrorKind, Value};

pub(super) fn invalid(msg: impl Into<String>) -> Error {
    Error::new(ErrorKind::InvalidOperation, msg.into())
}

/// The positional and keyword arguments of one call.
pub(super) struct Args {
    method: String,
    positional: Vec<Value>,
    kwargs: Option<Kwargs>,
    /// Positions taken off the front (the pattern, for a module-level call
    /// forwarded to the pattern's method).
    offset: usize,
}

impl Args {
    pub(super) fn new(method: &str, args: &[Value]) -> Result<Args, Error> {
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
    pub(super) fn shifted(&self) -> Args {
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

    pub(super) fn text(&self, pos: usize, name: &str) -> Result<String, Error> {
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

    pub(super) fn int(&self, pos: usize, name: &str) -> Result<Option<i64>, Error> {
        self.get(pos, name)
            .filter(|v| !v.is_none() && !v.is_undefined())
            .map(|v| {
                i64::try_from(v.clone())
                    .map_err(|_| invalid(format!("re.{}: `{name}` must be a number", self.method)))
            })
            .transpose()
    }
}
