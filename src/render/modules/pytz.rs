//! `modules.pytz` and pytz's tzinfo methods on a [`Zone`]: `timezone(name)`,
//! `utc`, `FixedOffset(minutes)`, and on a zone `localize`, `normalize`,
//! `utcoffset`, `tzname` and `dst`.

use std::fmt;
use std::sync::Arc;

use chrono::Duration;
use minijinja::value::{Kwargs, Object, ObjectRepr};
use minijinja::{Error, ErrorKind, State, Value};

use crate::render::modules::args::{invalid, wrap};
use crate::render::modules::datetime::{DateTime, TimeDelta};
use crate::render::timezone::Zone;

/// A pytz tzinfo in templates: `str(tz)` and `tz.zone` are the zone's name;
/// `localize`, `normalize`, `utcoffset`, `tzname` and `dst` as pytz's.
impl Object for Zone {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Plain
    }

    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        match key.as_str()? {
            "zone" => Some(Value::from(self.name())),
            _ => None,
        }
    }

    fn call_method(
        self: &Arc<Self>,
        _state: &State<'_, '_>,
        method: &str,
        args: &[Value],
    ) -> Result<Value, Error> {
        let dt = || {
            args.first()
                .and_then(|v| v.downcast_object_ref::<DateTime>())
                .filter(|dt| !dt.date_only)
                .cloned()
                .ok_or_else(|| invalid(format!("{method} needs a datetime")))
        };
        // pytz's `utcoffset(dt)`, `tzname(dt)` and `dst(dt)`: the state a
        // naive `dt` is in (as `localize`), an aware one's own; without a
        // datetime, a fixed zone's and none for an IANA zone.
        let state = || -> Result<Option<Zone>, Error> {
            match args
                .first()
                .and_then(|v| v.downcast_object_ref::<DateTime>())
            {
                Some(dt) => match &dt.tz {
                    Some(zone) => Ok(Some(zone.clone())),
                    None => self.localize(dt.at, Some(false)).map(Some).map_err(wrap),
                },
                None => Ok(matches!(**self, Zone::Fixed { .. }).then(|| (**self).clone())),
            }
        };
        let seconds = |s: i32| Value::from_object(TimeDelta(Duration::seconds(i64::from(s))));
        match method {
            // pytz's `localize(dt, is_dst=False)`: the naive wall time, in
            // the state of this zone it is in.
            "localize" => {
                let dt = dt()?;
                if dt.tz.is_some() {
                    return Err(wrap(
                        crate::error::Error::new(
                            crate::error::ErrorKind::Jinja,
                            format!("localize: `{dt}` is not a naive datetime (tzinfo is already set, pytz: ValueError)"),
                        )
                        .with_hint("to convert an aware datetime, use `dt.astimezone(tz)`"),
                    ));
                }
                let zone = self.localize(dt.at, is_dst_arg(args)?).map_err(wrap)?;
                Ok(Value::from_object(DateTime {
                    tz: Some(zone),
                    ..dt
                }))
            }
            // pytz's `normalize(dt)`: the same instant, in the state of this
            // zone at that instant (after arithmetic crossed a DST change).
            "normalize" => {
                let dt = dt()?;
                if dt.tz.is_none() {
                    return Err(wrap(
                        crate::error::Error::new(
                            crate::error::ErrorKind::Jinja,
                            format!("normalize: `{dt}` is a naive datetime (no tzinfo set, pytz: ValueError)"),
                        )
                        .with_hint("to give a naive datetime a zone, use `tz.localize(dt)`"),
                    ));
                }
                Ok(Value::from_object(DateTime::in_zone(dt.instant(), self)))
            }
            "utcoffset" => Ok(state()?.map_or(Value::from(()), |z| seconds(z.offset()))),
            "dst" => Ok(state()?.map_or(Value::from(()), |z| seconds(z.dst()))),
            "tzname" => Ok(state()?
                .and_then(|z| z.tzname())
                .map_or(Value::from(()), Value::from)),
            _ => Err(Error::new(
                ErrorKind::UnknownMethod,
                format!("time zone has no method `{method}`"),
            )),
        }
    }

    fn render(self: &Arc<Self>, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// `localize`'s `is_dst` (keyword or second positional argument): `False`
/// when absent, as pytz; `None` asks for an error on ambiguous times.
fn is_dst_arg(args: &[Value]) -> Result<Option<bool>, Error> {
    let kwargs = args.last().and_then(|v| Kwargs::try_from(v.clone()).ok());
    let value = match &kwargs {
        Some(k) if k.has("is_dst") => Some(k.get::<Value>("is_dst")?),
        Some(_) => args.get(1).filter(|_| args.len() > 2).cloned(),
        None => args.get(1).cloned(),
    };
    match value {
        None => Ok(Some(false)),
        Some(v) if v.is_none() => Ok(None),
        Some(v) => Ok(Some(v.is_true())),
    }
}

/// `modules.pytz`.
#[derive(Debug)]
pub(super) struct PytzModule;

impl Object for PytzModule {
    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        match key.as_str()? {
            "utc" | "UTC" => Some(Value::from_object(Zone::utc())),
            _ => None,
        }
    }

    fn call_method(
        self: &Arc<Self>,
        _state: &State<'_, '_>,
        method: &str,
        args: &[Value],
    ) -> Result<Value, Error> {
        match method {
            "timezone" => {
                let name = args
                    .first()
                    .and_then(Value::as_str)
                    .ok_or_else(|| invalid("pytz.timezone needs a zone name"))?;
                Zone::timezone(name).map(Value::from_object).map_err(wrap)
            }
            "FixedOffset" => {
                let minutes = args
                    .first()
                    .and_then(|v| i32::try_from(v.clone()).ok())
                    .filter(|m| m.abs() < 24 * 60)
                    .ok_or_else(|| {
                        invalid("pytz.FixedOffset needs minutes east of UTC, under a day")
                    })?;
                Ok(Value::from_object(Zone::fixed_offset(minutes)))
            }
            _ => Err(Error::new(
                ErrorKind::UnknownMethod,
                format!("pytz has no function `{method}`"),
            )),
        }
    }
}
