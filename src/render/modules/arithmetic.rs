//! Template arithmetic with Python's meaning: `__sluice_add(a, b)` and
//! `__sluice_sub(a, b)`, which the renderer rewrites `a + b` and `a - b`
//! into, for datetimes, dates and timedeltas, and Jinja's own for the rest.

use chrono::Duration;
use minijinja::value::ValueKind;
use minijinja::{Error, Value};

use crate::render::modules::args::invalid;
use crate::render::modules::datetime::{DateTime, TimeDelta};

/// Python's `a + b` (`add`) or `a - b` (not `add`) for datetimes, dates and
/// timedeltas; `None` when neither side is one of them.
fn datetime_arithmetic(a: &Value, b: &Value, add: bool) -> Option<Result<Value, Error>> {
    let (dt_a, dt_b) = (
        a.downcast_object_ref::<DateTime>(),
        b.downcast_object_ref::<DateTime>(),
    );
    let (td_a, td_b) = (
        a.downcast_object_ref::<TimeDelta>(),
        b.downcast_object_ref::<TimeDelta>(),
    );
    if dt_a.is_none() && dt_b.is_none() && td_a.is_none() && td_b.is_none() {
        return None;
    }
    let op = if add { "+" } else { "-" };
    let unsupported = || {
        Err(invalid(format!(
            "unsupported operand types for {op}: `{}` and `{}`",
            a.kind(),
            b.kind()
        )))
    };
    // An aware datetime keeps its zone state, so `+ timedelta(days=1)`
    // across a DST change keeps the old offset, as pytz's until `normalize`.
    let shifted = |dt: &DateTime, delta: Duration| {
        // A date moves by whole days only, as Python's `date + timedelta`.
        let delta = if dt.date_only {
            Duration::days(delta.num_days())
        } else {
            delta
        };
        dt.at
            .checked_add_signed(delta)
            .map(|at| Value::from_object(DateTime { at, ..dt.clone() }))
            .ok_or_else(|| invalid("date value out of range"))
    };
    Some(match (dt_a, dt_b, td_a, td_b) {
        (Some(dt), None, None, Some(td)) => shifted(dt, if add { td.0 } else { -td.0 }),
        (None, Some(dt), Some(td), None) if add => shifted(dt, td.0),
        (Some(x), Some(y), None, None) if !add => {
            if x.tz.is_some() != y.tz.is_some() || x.date_only != y.date_only {
                return Some(Err(invalid(
                    "can't subtract a naive datetime from an aware one, or a date from a datetime",
                )));
            }
            Ok(Value::from_object(TimeDelta(x.instant() - y.instant())))
        }
        (None, None, Some(x), Some(y)) => Ok(Value::from_object(TimeDelta(if add {
            x.0 + y.0
        } else {
            x.0 - y.0
        }))),
        _ => unsupported(),
    })
}

/// Jinja's own `a + b` or `a - b`, for the operands the datetime types do not cover.
fn jinja_arithmetic(a: Value, b: Value, add: bool) -> Result<Value, Error> {
    // The common cases without evaluating an expression: integers (when
    // they do not overflow) and string concatenation.
    let ints = a.is_integer() && b.is_integer();
    if let (true, Some(x), Some(y)) = (ints, a.as_i64(), b.as_i64()) {
        if let Some(v) = if add {
            x.checked_add(y)
        } else {
            x.checked_sub(y)
        } {
            return Ok(Value::from(v));
        }
    }
    if let (Some(x), Some(y)) = (a.as_str(), b.as_str()) {
        if add {
            return Ok(Value::from(format!("{x}{y}")));
        }
    }
    // Python's `list + list` is a new list, as mutable as any (minijinja's
    // is a lazy sequence without `append`).
    let listy = |v: &Value| matches!(v.kind(), ValueKind::Seq | ValueKind::Iterable);
    if add && listy(&a) && listy(&b) {
        let items: Vec<Value> = a.try_iter()?.chain(b.try_iter()?).collect();
        return Ok(crate::render::pycompat::MutableList::value(items));
    }
    static ENV: std::sync::LazyLock<minijinja::Environment<'static>> =
        std::sync::LazyLock::new(minijinja::Environment::new);
    let expr = ENV.compile_expression(if add { "a + b" } else { "a - b" })?;
    let value = expr.eval(minijinja::context! { a => a, b => b })?;
    Ok(value)
}

/// Registers `__sluice_add(a, b)` and `__sluice_sub(a, b)`: `a + b` and
/// `a - b` with Python's meaning for datetimes, dates and timedeltas
/// (`dt - timedelta(days=1)`, `dt2 - dt1`, `date + delta`) and Jinja's for
/// anything else. The renderer rewrites template arithmetic into them.
pub fn register_operators(env: &mut minijinja::Environment<'static>) {
    env.add_function("__sluice_add", |a: Value, b: Value| {
        datetime_arithmetic(&a, &b, true).unwrap_or_else(|| jinja_arithmetic(a, b, true))
    });
    env.add_function("__sluice_sub", |a: Value, b: Value| {
        datetime_arithmetic(&a, &b, false).unwrap_or_else(|| jinja_arithmetic(a, b, false))
    });
}
