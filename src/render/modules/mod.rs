//! dbt's `modules` context variable and `run_started_at`: the parts of
//! Python's `datetime` and `re` modules dbt projects call from Jinja.
//!
//! Covered: `modules.datetime.datetime(...)`, `.now()`, `.utcnow()`,
//! `.strptime(text, format)`, `.fromisoformat(text)`;
//! `modules.datetime.date(...)`, `.today()`; `modules.datetime.timedelta(...)`;
//! datetime objects with `year` ... `microsecond`, `strftime`, `isoformat`,
//! `date()`, `timestamp()`, `replace(...)`, `add(timedelta)`/`subtract(timedelta)`
//! and Python's `str()` form when rendered; `modules.re`: see [`crate::render::re`].
//! `modules.pytz`: `utc`, `UTC`, `timezone(name)` for every zone of the IANA
//! time zone database (and its aliases such as `US/Eastern`),
//! `FixedOffset(minutes)`, and on a zone `localize(dt, is_dst=False)`,
//! `normalize(dt)`, `utcoffset`/`tzname`/`dst`. Datetimes carry a zone
//! (`tzinfo=`, `.astimezone(tz)`, `.replace(tzinfo=tz)`, `now(tz)`,
//! `fromtimestamp(ts, tz)`) in one of its states, with pytz's offsets,
//! abbreviations (`%Z`, `tzname()`) and quirks: see [`crate::render::timezone`].
//! `modules.itertools`: the functions dbt exports (`chain`, `product`,
//! `combinations`, `permutations`, `islice`, `zip_longest`, ...), eager.
//!
//! Comparisons (`<`, `==`, ...) of datetimes, dates and timedeltas work as in
//! Python. Jinja has no operator overloading for objects, so arithmetic is
//! the functions `__sluice_add(a, b)` and `__sluice_sub(a, b)`, which do what
//! Python's `a + b` and `a - b` do for datetimes, dates and timedeltas and
//! what Jinja's do for anything else: the renderer rewrites `a - b` and
//! `a + b` in templates into them. Written by hand, `dt.subtract(delta)` and
//! `dt.add(delta)` also work.
//!
//! One file a module or value type: `datetime` holds the datetime, date
//! and timedelta values, `datetime_module` `modules.datetime` and its
//! classes, `pytz` `modules.pytz` and the zone methods, `arithmetic` the
//! `+`/`-` helpers, `args` the argument helpers they share.

mod args;
mod arithmetic;
mod datetime;
mod datetime_module;
mod pytz;
#[cfg(test)]
mod tests;

use chrono::Utc;
use minijinja::Value;

use crate::render::modules::datetime::DateTime;
use crate::render::modules::datetime_module::DatetimeModule;
use crate::render::modules::pytz::PytzModule;
use crate::render::timezone::Zone;

pub use crate::render::modules::arithmetic::register_operators;

/// The `modules` object.
pub fn modules() -> Value {
    Value::from_iter([
        ("datetime", Value::from_object(DatetimeModule)),
        ("re", Value::from_object(crate::render::re::ReModule)),
        ("pytz", Value::from_object(PytzModule)),
        (
            "itertools",
            Value::from_object(crate::render::itertools::Itertools),
        ),
    ])
}

/// `run_started_at`: the invocation's start, time-zone aware (UTC), as dbt.
pub fn run_started_at() -> Value {
    Value::from_object(DateTime {
        at: Utc::now().naive_utc(),
        tz: Some(Zone::utc()),
        date_only: false,
    })
}
