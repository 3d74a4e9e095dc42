//! Argument helpers shared by the `modules` objects: the error for a bad
//! argument, a sluice error as a template error, and reading time zones
//! and integer arguments the way Python's `datetime` and pytz take them.

use minijinja::{Error, ErrorKind, Value};

use crate::render::timezone::Zone;

pub(super) fn invalid(msg: impl Into<String>) -> Error {
    Error::new(ErrorKind::InvalidOperation, msg.into())
}

/// A [`crate::error::Error`] (message and hint) as a template error.
pub(super) fn wrap(err: crate::error::Error) -> Error {
    crate::render::call::wrap(err)
}

/// A zone argument: a [`Zone`] or none.
pub(super) fn zone_arg(v: Option<Value>) -> Result<Option<Zone>, Error> {
    match v {
        None => Ok(None),
        Some(v) if v.is_none() || v.is_undefined() => Ok(None),
        Some(v) => v
            .downcast_object_ref::<Zone>()
            .cloned()
            .map(Some)
            .ok_or_else(|| {
                invalid(format!(
                    "`{v}` is not a time zone (use modules.pytz.timezone(...) or modules.pytz.utc)"
                ))
            }),
    }
}

/// Positional then keyword integer arguments, by Python parameter name.
pub(super) fn int_args(args: &[Value], names: &[&str]) -> Result<Vec<Option<i64>>, Error> {
    names
        .iter()
        .enumerate()
        .map(|(i, name)| {
            crate::render::call::kwarg(args, name, i)
                .map(|v| {
                    i64::try_from(v.clone())
                        .or_else(|_| f64::try_from(v).map(|f| f as i64))
                        .map_err(|_| invalid(format!("`{name}` must be a number")))
                })
                .transpose()
        })
        .collect()
}
