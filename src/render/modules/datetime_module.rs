//! `modules.datetime`: the `datetime`, `date` and `timedelta` classes as
//! callable constructors, with their class methods (`now`, `utcnow`,
//! `today`, `fromtimestamp`, `strptime`, `fromisoformat`).

use std::sync::Arc;

use chrono::{Duration, NaiveDate, NaiveDateTime, Utc};
use minijinja::value::Object;
use minijinja::{Error, ErrorKind, State, Value};

use crate::render::modules::args::{int_args, invalid, zone_arg};
use crate::render::modules::datetime::{DateTime, TimeDelta};
use crate::render::timezone::Zone;

/// `modules.datetime`.
#[derive(Debug)]
pub(super) struct DatetimeModule;

impl Object for DatetimeModule {
    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        let class = match key.as_str()? {
            "datetime" => Class::DateTime,
            "date" => Class::Date,
            "timedelta" => Class::TimeDelta,
            _ => return None,
        };
        Some(Value::from_object(class))
    }
}

/// `datetime.datetime`, `datetime.date` and `datetime.timedelta`: callable
/// constructors with class methods.
#[derive(Debug, Clone, Copy)]
enum Class {
    DateTime,
    Date,
    TimeDelta,
}

impl Object for Class {
    fn call(self: &Arc<Self>, _state: &State<'_, '_>, args: &[Value]) -> Result<Value, Error> {
        match **self {
            Class::TimeDelta => {
                let v = int_args(
                    args,
                    &[
                        "days",
                        "seconds",
                        "microseconds",
                        "milliseconds",
                        "minutes",
                        "hours",
                        "weeks",
                    ],
                )?;
                let n = |i: usize| v[i].unwrap_or(0);
                let d = Duration::days(n(0) + 7 * n(6))
                    + Duration::seconds(n(1) + 60 * n(4) + 3600 * n(5))
                    + Duration::microseconds(n(2) + 1000 * n(3));
                Ok(Value::from_object(TimeDelta(d)))
            }
            class => {
                let v = int_args(
                    args,
                    &[
                        "year",
                        "month",
                        "day",
                        "hour",
                        "minute",
                        "second",
                        "microsecond",
                    ],
                )?;
                let n = |i: usize| u32::try_from(v[i].unwrap_or(0)).unwrap_or(u32::MAX);
                let (Some(y), Some(_), Some(_)) = (v[0], v[1], v[2]) else {
                    return Err(invalid("date and datetime need year, month and day"));
                };
                let at = NaiveDate::from_ymd_opt(y as i32, n(1), n(2))
                    .and_then(|d| d.and_hms_micro_opt(n(3), n(4), n(5), n(6)))
                    .ok_or_else(|| invalid("date or time value out of range"))?;
                let date_only = matches!(class, Class::Date);
                let tz = if date_only {
                    None
                } else {
                    zone_arg(crate::render::call::kwarg(args, "tzinfo", 7))?
                };
                Ok(Value::from_object(DateTime { at, tz, date_only }))
            }
        }
    }

    fn call_method(
        self: &Arc<Self>,
        _state: &State<'_, '_>,
        method: &str,
        args: &[Value],
    ) -> Result<Value, Error> {
        let text = |i: usize| args.get(i).and_then(Value::as_str).map(str::to_owned);
        match (**self, method) {
            // Python's `now(tz=None)`: naive local time, or the time in `tz`.
            (Class::DateTime, "now") => {
                match zone_arg(crate::render::call::kwarg(args, "tz", 0))? {
                    None => Ok(DateTime::naive(chrono::Local::now().naive_local())),
                    Some(zone) => Ok(Value::from_object(DateTime::in_zone(
                        Utc::now().naive_utc(),
                        &zone,
                    ))),
                }
            }
            (Class::DateTime, "today") => Ok(DateTime::naive(chrono::Local::now().naive_local())),
            (Class::DateTime, "utcnow") => Ok(DateTime::naive(Utc::now().naive_utc())),
            (Class::DateTime, "fromtimestamp" | "utcfromtimestamp") => {
                let ts = args
                    .first()
                    .and_then(|v| f64::try_from(v.clone()).ok())
                    .ok_or_else(|| invalid(format!("{method} needs a number of seconds")))?;
                let utc = chrono::DateTime::from_timestamp_micros((ts * 1e6).round() as i64)
                    .ok_or_else(|| invalid("timestamp out of range"))?
                    .naive_utc();
                let zone = if method == "fromtimestamp" {
                    zone_arg(crate::render::call::kwarg(args, "tz", 1))?
                } else {
                    None
                };
                Ok(match zone {
                    Some(zone) => Value::from_object(DateTime::in_zone(utc, &zone)),
                    // Naive: sluice takes the local zone to be UTC.
                    None => DateTime::naive(utc),
                })
            }
            (Class::Date, "today") => Ok(Value::from_object(DateTime {
                at: chrono::Local::now().date_naive().into(),
                tz: None,
                date_only: true,
            })),
            (Class::DateTime, "strptime") => {
                let (Some(s), Some(fmt)) = (text(0), text(1)) else {
                    return Err(invalid("strptime needs a text and a format"));
                };
                let fmt = fmt.replace("%f", "%6f");
                NaiveDateTime::parse_from_str(&s, &fmt)
                    .or_else(|_| NaiveDate::parse_from_str(&s, &fmt).map(NaiveDateTime::from))
                    .map(DateTime::naive)
                    .map_err(|e| invalid(format!("strptime: `{s}` does not match `{fmt}`: {e}")))
            }
            (Class::DateTime | Class::Date, "fromisoformat") => {
                let s = text(0).ok_or_else(|| invalid("fromisoformat needs a text"))?;
                let date_only = matches!(**self, Class::Date);
                // Python 3.11: a datetime may end in a UTC offset or `Z`,
                // and is then aware.
                let (s, tz) = if date_only {
                    (s.as_str(), None)
                } else {
                    split_iso_offset(&s)?
                };
                let parsed = if date_only {
                    NaiveDate::parse_from_str(s, "%Y-%m-%d").map(NaiveDateTime::from)
                } else {
                    NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f")
                        .or_else(|_| NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S%.f"))
                        .or_else(|_| NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M"))
                        .or_else(|_| NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M"))
                        .or_else(|_| {
                            NaiveDate::parse_from_str(s, "%Y-%m-%d").map(NaiveDateTime::from)
                        })
                };
                parsed
                    .map(|at| {
                        Value::from_object(DateTime {
                            at,
                            tz: tz.clone(),
                            date_only,
                        })
                    })
                    .map_err(|e| invalid(format!("fromisoformat: `{s}`: {e}")))
            }
            _ => Err(Error::new(
                ErrorKind::UnknownMethod,
                format!("datetime module has no method `{method}`"),
            )),
        }
    }
}

/// Splits the UTC offset off an ISO datetime text, as Python 3.11's
/// `datetime.fromisoformat`: `Z`, `±HH`, `±HHMM`, `±HH:MM` or `±HH:MM:SS`
/// after the time. The zone is named as Python's `datetime.timezone`
/// prints: `UTC` for a zero offset, else `UTC±HH:MM`.
///
/// Errors: an offset of a day or more.
fn split_iso_offset(s: &str) -> Result<(&str, Option<Zone>), Error> {
    // The offset can only follow the time, which starts after the date.
    let time_start = s.find(['T', ' ']).map_or(s.len(), |i| i + 1);
    if let Some(rest) = s.strip_suffix('Z') {
        return Ok((rest, Some(Zone::utc())));
    }
    let Some(at) = s[time_start..].rfind(['+', '-']).map(|i| time_start + i) else {
        return Ok((s, None));
    };
    let (sign, digits) = (&s[at..at + 1], &s[at + 1..]);
    let parts: Vec<&str> = if digits.contains(':') {
        digits.split(':').collect()
    } else if digits.len() == 4 {
        vec![&digits[..2], &digits[2..]]
    } else {
        vec![digits]
    };
    let fields: Option<Vec<i32>> = parts
        .iter()
        .map(|p| {
            (p.len() == 2 && p.bytes().all(|b| b.is_ascii_digit()))
                .then(|| p.parse().ok())
                .flatten()
        })
        .collect();
    let Some(fields) = fields.filter(|f| (1..=3).contains(&f.len())) else {
        return Err(invalid(format!(
            "fromisoformat: `{s}`: invalid UTC offset `{}`",
            &s[at..]
        )));
    };
    let seconds = fields[0] * 3600 + fields.get(1).unwrap_or(&0) * 60 + fields.get(2).unwrap_or(&0);
    if seconds >= 86_400 {
        return Err(invalid(format!(
            "fromisoformat: `{s}`: UTC offset must be less than a day"
        )));
    }
    let offset = if sign == "-" { -seconds } else { seconds };
    Ok((&s[..at], Some(Zone::iso_offset(offset))))
}
