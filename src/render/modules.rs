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

use std::cmp::Ordering;
use std::fmt;
use std::sync::Arc;

use chrono::format::{Item, StrftimeItems};
use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime, Timelike, Utc};
use minijinja::value::ValueKind;
use minijinja::value::{DynObject, Kwargs, Object, ObjectRepr};
use minijinja::{Error, ErrorKind, State, Value};

use crate::render::timezone::{offset_text, Zone};

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

/// A [`crate::error::Error`] (message and hint) as a template error.
fn wrap(err: crate::error::Error) -> Error {
    crate::render::call::wrap(err)
}

/// A zone argument: a [`Zone`] or none.
fn zone_arg(v: Option<Value>) -> Result<Option<Zone>, Error> {
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

/// `modules.pytz`.
#[derive(Debug)]
struct PytzModule;

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

fn invalid(msg: impl Into<String>) -> Error {
    Error::new(ErrorKind::InvalidOperation, msg.into())
}

/// Python `strftime` -> a chrono format, checked: `%f` is microseconds in
/// Python; `%Z` is the zone's `tzname()` and `%z` (and Python 3.12's `%:z`)
/// its offset, both empty for a naive datetime; an unknown directive is an
/// error, not a panic.
fn format_time(at: &NaiveDateTime, tz: Option<&Zone>, fmt: &str) -> Result<String, Error> {
    let literal = |s: &str| s.replace('%', "%%");
    let mut chrono_fmt = String::with_capacity(fmt.len());
    let mut chars = fmt.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '%' {
            chrono_fmt.push(c);
            continue;
        }
        match chars.next() {
            Some('f') => chrono_fmt.push_str("%6f"),
            Some('Z') => {
                chrono_fmt.push_str(&literal(&tz.and_then(Zone::tzname).unwrap_or_default()));
            }
            Some('z') => {
                chrono_fmt.push_str(&tz.map_or(String::new(), |z| offset_text(z.offset(), "")))
            }
            Some(':') if chars.peek() == Some(&'z') => {
                chars.next();
                chrono_fmt.push_str(&tz.map_or(String::new(), |z| offset_text(z.offset(), ":")));
            }
            Some(other) => {
                chrono_fmt.push('%');
                chrono_fmt.push(other);
            }
            None => chrono_fmt.push('%'),
        }
    }
    let items: Vec<Item> = StrftimeItems::new(&chrono_fmt).collect();
    if items.iter().any(|i| matches!(i, Item::Error)) {
        return Err(invalid(format!("strftime: invalid format `{fmt}`")));
    }
    // The zone is already written out, so the wall time formats alone; a
    // chrono directive that needs a zone fails here, as an error.
    let mut out = String::new();
    fmt::Write::write_fmt(
        &mut out,
        format_args!("{}", at.format_with_items(items.into_iter())),
    )
    .map_err(|_| invalid(format!("strftime: cannot format `{fmt}`")))?;
    Ok(out)
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

/// A `datetime.datetime` or `datetime.date` value.
#[derive(Debug, Clone)]
struct DateTime {
    /// The wall time (in `tz` when aware).
    at: NaiveDateTime,
    /// The zone of an aware datetime; `None` for naive ones.
    tz: Option<Zone>,
    /// A `date` (no time part).
    date_only: bool,
}

impl DateTime {
    fn naive(at: NaiveDateTime) -> Value {
        Value::from_object(DateTime {
            at,
            tz: None,
            date_only: false,
        })
    }

    /// The UTC instant of an aware datetime; the wall time of a naive one.
    fn instant(&self) -> NaiveDateTime {
        match &self.tz {
            Some(z) => self.at - Duration::seconds(i64::from(z.offset())),
            None => self.at,
        }
    }

    /// The UTC instant `utc` as an aware datetime in `zone`, in the state
    /// `zone` is in at that instant (pytz's `fromutc`, which
    /// `astimezone`, `normalize`, `now(tz)` and `fromtimestamp(ts, tz)` use).
    fn in_zone(utc: NaiveDateTime, zone: &Zone) -> DateTime {
        let zone = zone.at_utc(utc);
        DateTime {
            at: utc + Duration::seconds(i64::from(zone.offset())),
            tz: Some(zone),
            date_only: false,
        }
    }

    fn with(&self, at: NaiveDateTime) -> Value {
        Value::from_object(DateTime { at, ..self.clone() })
    }

    fn isoformat(&self, sep: &str) -> String {
        if self.date_only {
            return self.at.format("%Y-%m-%d").to_string();
        }
        let frac = if self.at.nanosecond() / 1000 != 0 {
            ".%6f"
        } else {
            ""
        };
        let mut out = self
            .at
            .format(&format!("%Y-%m-%d{sep}%H:%M:%S{frac}"))
            .to_string();
        if let Some(zone) = &self.tz {
            out.push_str(&offset_text(zone.offset(), ":"));
        }
        out
    }
}

impl fmt::Display for DateTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.isoformat(" "))
    }
}

impl Object for DateTime {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Plain
    }

    fn custom_cmp(self: &Arc<Self>, other: &DynObject) -> Option<Ordering> {
        // Python compares aware datetimes by instant, naive ones by wall time.
        let other = other.downcast_ref::<DateTime>()?;
        Some(self.instant().cmp(&other.instant()))
    }

    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        let at = &self.at;
        // A Python `date` has no time fields and no tzinfo: dbt-date tells
        // dates from datetimes with `value.hour is defined`.
        if self.date_only
            && matches!(
                key.as_str()?,
                "tzinfo" | "hour" | "minute" | "second" | "microsecond"
            )
        {
            return None;
        }
        if key.as_str()? == "tzinfo" {
            return Some(self.tz.clone().map_or(Value::from(()), Value::from_object));
        }
        Some(Value::from(match key.as_str()? {
            "year" => at.year() as i64,
            "month" => at.month() as i64,
            "day" => at.day() as i64,
            "hour" => at.hour() as i64,
            "minute" => at.minute() as i64,
            "second" => at.second() as i64,
            "microsecond" => (at.nanosecond() / 1000) as i64,
            _ => return None,
        }))
    }

    fn call_method(
        self: &Arc<Self>,
        _state: &State<'_, '_>,
        method: &str,
        args: &[Value],
    ) -> Result<Value, Error> {
        let text = |i: usize| args.get(i).and_then(Value::as_str).map(str::to_owned);
        match method {
            "strftime" => {
                let fmt = text(0).ok_or_else(|| invalid("strftime needs a format"))?;
                format_time(&self.at, self.tz.as_ref(), &fmt).map(Value::from)
            }
            "isoformat" => Ok(Value::from(
                self.isoformat(&text(0).unwrap_or_else(|| "T".to_owned())),
            )),
            "date" => Ok(Value::from_object(DateTime {
                at: self.at.date().into(),
                tz: None,
                date_only: true,
            })),
            "timestamp" => Ok(Value::from(
                self.instant().and_utc().timestamp_micros() as f64 / 1e6,
            )),
            // Python's `astimezone(tz)`: the same instant in `tz`, with the
            // offset `tz` has then (a naive datetime is taken as UTC: sluice
            // does not know the local zone).
            "astimezone" => {
                let zone = zone_arg(args.first().cloned())?.unwrap_or_else(Zone::utc);
                Ok(Value::from_object(DateTime::in_zone(self.instant(), &zone)))
            }
            "utcoffset" | "dst" => Ok(self.tz.as_ref().map_or(Value::from(()), |z| {
                let seconds = if method == "dst" { z.dst() } else { z.offset() };
                Value::from_object(TimeDelta(Duration::seconds(i64::from(seconds))))
            })),
            "tzname" => Ok(self
                .tz
                .as_ref()
                .and_then(Zone::tzname)
                .map_or(Value::from(()), Value::from)),
            "weekday" => Ok(Value::from(self.at.weekday().num_days_from_monday())),
            "isoweekday" => Ok(Value::from(self.at.weekday().number_from_monday())),
            "add" | "subtract" => {
                let delta = args
                    .first()
                    .and_then(|v| v.downcast_object_ref::<TimeDelta>())
                    .ok_or_else(|| invalid(format!("{method} needs a timedelta")))?;
                let at = if method == "add" {
                    self.at.checked_add_signed(delta.0)
                } else {
                    self.at.checked_sub_signed(delta.0)
                };
                at.map(|at| self.with(at))
                    .ok_or_else(|| invalid("datetime out of range"))
            }
            "replace" => {
                let kwargs = args
                    .last()
                    .and_then(|v| Kwargs::try_from(v.clone()).ok())
                    .ok_or_else(|| invalid("replace takes keyword arguments"))?;
                let get = |k: &str, old: u32| -> Result<u32, Error> {
                    Ok(kwargs.get::<Option<u32>>(k)?.unwrap_or(old))
                };
                let tz = if kwargs.has("tzinfo") {
                    zone_arg(Some(kwargs.get::<Value>("tzinfo")?))?
                } else {
                    self.tz.clone()
                };
                let at = &self.at;
                let year: i32 = kwargs.get::<Option<i32>>("year")?.unwrap_or(at.year());
                let date =
                    NaiveDate::from_ymd_opt(year, get("month", at.month())?, get("day", at.day())?);
                let time = chrono::NaiveTime::from_hms_micro_opt(
                    get("hour", at.hour())?,
                    get("minute", at.minute())?,
                    get("second", at.second())?,
                    get("microsecond", at.nanosecond() / 1000)?,
                );
                kwargs.assert_all_used()?;
                match (date, time) {
                    (Some(d), Some(t)) => Ok(Value::from_object(DateTime {
                        at: d.and_time(t),
                        tz,
                        date_only: self.date_only,
                    })),
                    _ => Err(invalid("replace: value out of range")),
                }
            }
            _ => Err(Error::new(
                ErrorKind::UnknownMethod,
                format!("datetime has no method `{method}`"),
            )),
        }
    }

    fn render(self: &Arc<Self>, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// A `datetime.timedelta`.
#[derive(Debug)]
struct TimeDelta(Duration);

impl fmt::Display for TimeDelta {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let micros = self.0.num_microseconds().unwrap_or(i64::MAX);
        let secs = micros.div_euclid(1_000_000);
        let frac = micros.rem_euclid(1_000_000);
        let (days, rest) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
        let mut hms = format!("{}:{:02}:{:02}", rest / 3600, rest / 60 % 60, rest % 60);
        if frac != 0 {
            hms.push_str(&format!(".{frac:06}"));
        }
        match days {
            0 => f.write_str(&hms),
            1 | -1 => write!(f, "{days} day, {hms}"),
            _ => write!(f, "{days} days, {hms}"),
        }
    }
}

impl Object for TimeDelta {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Plain
    }

    fn custom_cmp(self: &Arc<Self>, other: &DynObject) -> Option<Ordering> {
        Some(self.0.cmp(&other.downcast_ref::<TimeDelta>()?.0))
    }

    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        let micros = self.0.num_microseconds().unwrap_or(i64::MAX);
        match key.as_str()? {
            "days" => Some(Value::from(micros.div_euclid(86_400_000_000))),
            "seconds" => Some(Value::from(micros.rem_euclid(86_400_000_000) / 1_000_000)),
            "microseconds" => Some(Value::from(micros.rem_euclid(1_000_000))),
            _ => None,
        }
    }

    fn call_method(
        self: &Arc<Self>,
        _state: &State<'_, '_>,
        method: &str,
        _args: &[Value],
    ) -> Result<Value, Error> {
        match method {
            "total_seconds" => Ok(Value::from(
                self.0.num_microseconds().unwrap_or(i64::MAX) as f64 / 1e6,
            )),
            _ => Err(Error::new(
                ErrorKind::UnknownMethod,
                format!("timedelta has no method `{method}`"),
            )),
        }
    }

    fn render(self: &Arc<Self>, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// `modules.datetime`.
#[derive(Debug)]
struct DatetimeModule;

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

/// Positional then keyword integer arguments, by Python parameter name.
fn int_args(args: &[Value], names: &[&str]) -> Result<Vec<Option<i64>>, Error> {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn render(src: &str) -> String {
        let mut env = minijinja::Environment::new();
        env.add_global("modules", modules());
        env.render_str(src, ()).unwrap()
    }

    /// How a render failed: minijinja's error kind and detail, and the
    /// kind and hint of the sluice error it carries (errors built with
    /// [`wrap`]), so a test names the one error it means.
    #[derive(Debug, PartialEq)]
    struct Failure {
        kind: minijinja::ErrorKind,
        detail: String,
        sluice: Option<(crate::error::ErrorKind, Option<String>)>,
    }

    /// The failure of rendering `src` (with the `-`/`+` operator helpers).
    fn render_err(src: &str) -> Failure {
        let mut env = minijinja::Environment::new();
        env.add_global("modules", modules());
        register_operators(&mut env);
        let err = env.render_str(src, ()).unwrap_err();
        let sluice = std::error::Error::source(&err)
            .and_then(|s| s.downcast_ref::<crate::error::Error>())
            .map(|e| (e.kind(), e.hint().map(str::to_owned)));
        Failure {
            kind: err.kind(),
            detail: err.detail().unwrap_or_default().to_owned(),
            sluice,
        }
    }

    /// A failure that is only minijinja's: `kind` with `detail`.
    fn plain(kind: minijinja::ErrorKind, detail: &str) -> Failure {
        Failure {
            kind,
            detail: detail.to_owned(),
            sluice: None,
        }
    }

    /// A failure built by [`wrap`] from a sluice error of `kind`: minijinja
    /// sees an invalid operation with the sluice error's message.
    fn wrapped(kind: crate::error::ErrorKind, detail: &str, hint: Option<&str>) -> Failure {
        Failure {
            kind: minijinja::ErrorKind::InvalidOperation,
            detail: detail.to_owned(),
            sluice: Some((kind, hint.map(str::to_owned))),
        }
    }

    #[test]
    fn datetime_module_as_python() {
        assert_eq!(
            render("{{ modules.datetime.datetime(2024, 3, 9, 14, 5).strftime('%Y-%m-%d %H:%M:%S.%f') }}"),
            "2024-03-09 14:05:00.000000"
        );
        assert_eq!(
            render("{{ modules.datetime.datetime(2024, 3, 9) }}|{{ modules.datetime.date(2024, 3, 9) }}"),
            "2024-03-09 00:00:00|2024-03-09"
        );
        assert_eq!(
            render("{{ modules.datetime.datetime.strptime('2024-01-31', '%Y-%m-%d').add(modules.datetime.timedelta(days=1)).isoformat() }}"),
            "2024-02-01T00:00:00"
        );
        assert_eq!(
            render("{{ modules.datetime.timedelta(hours=25) }} {{ modules.datetime.timedelta(weeks=1).total_seconds() }}"),
            "1 day, 1:00:00 604800.0"
        );
        assert_eq!(
            render("{{ modules.datetime.datetime(2024, 3, 9).replace(day=1).date() }} {{ modules.datetime.date(2024,1,1).year }}"),
            "2024-03-01 2024"
        );
    }

    /// As Python: a `date` has no `hour` or `tzinfo` (dbt-date's
    /// `to_compile_datetime` tells dates from datetimes by `value.hour is defined`).
    #[test]
    fn dates_have_no_time_fields() {
        assert_eq!(
            render("{% set d = modules.datetime.date(2024, 1, 1) %}{{ d.hour is defined }} {{ d.tzinfo is defined }} {{ modules.datetime.datetime(2024, 1, 1).hour is defined }}"),
            "False False True"
        );
    }

    fn render_ops(src: &str) -> String {
        let mut env = minijinja::Environment::new();
        env.add_global("modules", modules());
        register_operators(&mut env);
        env.render_str(src, ()).unwrap()
    }

    /// Pins Python's datetime arithmetic through the operator helpers the
    /// renderer rewrites `-`/`+` into: datetime - timedelta, datetime -
    /// datetime (a timedelta), date + timedelta, timedelta + timedelta, and
    /// Jinja's own arithmetic for anything else.
    #[test]
    fn datetime_arithmetic_as_python() {
        let dt = "{% set dt = modules.datetime.datetime(2024, 3, 1, 12, 0) %}{% set td = modules.datetime.timedelta %}";
        assert_eq!(
            render_ops(&format!("{dt}{{{{ __sluice_sub(dt, td(days=1)) }}}}|{{{{ __sluice_add(td(hours=1), dt) }}}}|{{{{ __sluice_sub(dt, modules.datetime.datetime(2024, 2, 28)) }}}}")),
            "2024-02-29 12:00:00|2024-03-01 13:00:00|2 days, 12:00:00"
        );
        assert_eq!(
            render_ops("{{ __sluice_add(modules.datetime.date(2024, 12, 31), modules.datetime.timedelta(days=1, hours=5)) }}|{{ __sluice_sub(modules.datetime.date(2024, 3, 1), modules.datetime.date(2024, 2, 1)).days }}|{{ __sluice_add(modules.datetime.timedelta(hours=1), modules.datetime.timedelta(minutes=30)) }}"),
            "2025-01-01|29|1:30:00"
        );
        assert_eq!(
            render_ops("{{ __sluice_sub(5, 2) }} {{ __sluice_add('a', 'b') }} {{ __sluice_add([1], [2]) }} {{ __sluice_sub(1.5, 1) }} {{ __sluice_sub(2.0, 1) }} {{ __sluice_add(true, 1) }}"),
            "3 ab [1, 2] 0.5 1.0 2"
        );
        // A datetime plus a number is Python's TypeError, not Jinja's addition.
        assert_eq!(
            render_err("{{ __sluice_add(modules.datetime.datetime(2024, 1, 1), 1) }}"),
            plain(
                minijinja::ErrorKind::InvalidOperation,
                "unsupported operand types for +: `plain object` and `number`"
            )
        );
    }

    /// Pins Python's comparisons of datetimes and timedeltas (`<`, `==`, `max`).
    #[test]
    fn datetimes_compare_as_python() {
        assert_eq!(
            render("{% set d = modules.datetime %}{{ d.datetime(2024, 1, 1) < d.datetime(2024, 1, 2) }} {{ d.date(2024, 1, 1) == d.date(2024, 1, 1) }} {{ d.timedelta(hours=25) > d.timedelta(days=1) }} {{ [d.date(2024, 5, 1), d.date(2023, 1, 1)] | min }}"),
            "True True True 2023-01-01"
        );
    }

    /// Pins pytz's UTC and fixed zones, `now(tz)`, `astimezone`, `localize`
    /// and `tzinfo=` (dbt_date's `datetime` macro passes it), as pytz 2026.6
    /// prints them (`pytz.FixedOffset` has no `tzname()`, so `%Z` is empty).
    #[test]
    fn pytz_zones_as_python() {
        assert_eq!(
            render("{% set d = modules.datetime %}{% set utc = modules.pytz.utc %}{{ d.datetime(2024, 1, 1, 12, tzinfo=utc) }}|{{ d.datetime(2024, 1, 1, 12, tzinfo=utc).astimezone(modules.pytz.timezone('Etc/GMT+5')) }}|{{ utc.localize(d.datetime(2024, 1, 1)).isoformat() }}|{{ d.datetime.now(utc).tzinfo }}|{{ d.datetime(2024, 1, 1).replace(tzinfo=utc).strftime('%Y %Z %z') }}"),
            "2024-01-01 12:00:00+00:00|2024-01-01 07:00:00-05:00|2024-01-01T00:00:00+00:00|UTC|2024 UTC +0000"
        );
        assert_eq!(
            render("{% set d = modules.datetime %}{{ d.datetime(2024, 1, 1, tzinfo=modules.pytz.timezone('Etc/GMT+5')).strftime('%Z %z') }}|{{ d.datetime(2024, 1, 1, tzinfo=modules.pytz.FixedOffset(-300)).strftime('[%Z] %z') }}|{{ modules.pytz.FixedOffset(-300) }}|{{ modules.pytz.FixedOffset(0) }}|{{ d.datetime(2024, 1, 1).strftime('[%Z][%z]') }}|{{ d.datetime(2024, 1, 1, tzinfo=modules.pytz.utc).strftime('%%Z %Z') }}"),
            "-05 -0500|[] -0500|pytz.FixedOffset(-300)|UTC|[][]|%Z UTC"
        );
    }

    /// `localize` in New York's winter and summer, as pytz 2026.6 prints:
    /// `str()`, `isoformat()` and `strftime('%Z %z')`.
    #[test]
    fn localize_named_zone_as_pytz() {
        assert_eq!(
            render("{% set d = modules.datetime %}{% set ny = modules.pytz.timezone('America/New_York') %}{{ ny.localize(d.datetime(2024, 1, 15, 12)) }}|{{ ny.localize(d.datetime(2024, 1, 15, 12)).isoformat() }}|{{ ny.localize(d.datetime(2024, 7, 15, 12)) }}|{{ ny.localize(d.datetime(2024, 7, 15, 12)).strftime('%Y-%m-%d %H:%M %Z %z') }}|{{ ny.localize(d.datetime(2024, 1, 15, 12)).astimezone(modules.pytz.utc) }}"),
            "2024-01-15 12:00:00-05:00|2024-01-15T12:00:00-05:00|2024-07-15 12:00:00-04:00|2024-07-15 12:00 EDT -0400|2024-01-15 17:00:00+00:00"
        );
    }

    /// `astimezone` from UTC to Tokyo, as pytz 2026.6 prints: the instant,
    /// `%Z %z`, `tzname()`, `utcoffset()` and `str(dt.tzinfo)`.
    #[test]
    fn astimezone_to_named_zone_as_pytz() {
        assert_eq!(
            render("{% set t = modules.datetime.datetime(2024, 1, 1, 12, tzinfo=modules.pytz.utc).astimezone(modules.pytz.timezone('Asia/Tokyo')) %}{{ t }}|{{ t.strftime('%Z %z') }}|{{ t.tzname() }}|{{ t.utcoffset() }}|{{ t.tzinfo }}|{{ t.tzinfo.zone }}"),
            "2024-01-01 21:00:00+09:00|JST +0900|JST|9:00:00|Asia/Tokyo|Asia/Tokyo"
        );
        assert_eq!(
            render("{% set d = modules.datetime.datetime %}{% set ny = modules.pytz.timezone('America/New_York') %}{{ d.fromtimestamp(1700000000, ny) }}|{{ d.fromtimestamp(0, modules.pytz.timezone('Asia/Tokyo')) }}|{{ ny.localize(d(2024, 7, 1)).timestamp() }}|{{ d.now(modules.pytz.timezone('Asia/Tokyo')).tzname() }}"),
            "2023-11-14 17:13:20-05:00|1970-01-01 09:00:00+09:00|1719806400.0|JST"
        );
    }

    /// The pytz gotcha: `datetime(..., tzinfo=pytz.timezone(name))` takes
    /// the zone's first state, local mean time, not today's offset; pytz
    /// 2026.6 prints `-04:56` LMT for New York and `+09:19` for Tokyo, and
    /// `replace(tzinfo=ny)` of an EST datetime is LMT again.
    #[test]
    fn tzinfo_of_a_fresh_zone_is_its_lmt_as_pytz() {
        assert_eq!(
            render("{% set d = modules.datetime.datetime %}{% set ny = modules.pytz.timezone('America/New_York') %}{{ d(2024, 1, 1, tzinfo=ny) }}|{{ d(2024, 1, 1, tzinfo=ny).strftime('%Z %z') }}|{{ d(2024, 1, 1, tzinfo=modules.pytz.timezone('Asia/Tokyo')) }}|{{ ny.localize(d(2024, 3, 9, 12)).replace(tzinfo=ny) }}"),
            "2024-01-01 00:00:00-04:56|LMT -0456|2024-01-01 00:00:00+09:19|2024-03-09 12:00:00-04:56"
        );
    }

    /// `str(tz)` and `tz.zone` are the name, spelled as the database does
    /// (pytz matches names case-insensitively); `utc` in any case is `UTC`;
    /// the zone's own `utcoffset`/`tzname`/`dst` of a naive datetime, as
    /// pytz 2026.6 prints.
    #[test]
    fn zone_names_and_methods_as_pytz() {
        assert_eq!(
            render("{% set ny = modules.pytz.timezone('America/New_York') %}{% set jul = modules.datetime.datetime(2024, 7, 1) %}{{ ny }}|{{ ny.zone }}|{{ modules.pytz.timezone('america/new_york') }}|{{ modules.pytz.timezone('US/Eastern').zone }}|{{ modules.pytz.timezone('utc') }}|{{ ny.utcoffset(jul) }}|{{ ny.tzname(jul) }}|{{ ny.dst(jul) }}|{{ ny.utcoffset(none) is none }}"),
            "America/New_York|America/New_York|America/New_York|US/Eastern|UTC|-1 day, 20:00:00|EDT|1:00:00|True"
        );
    }

    /// A wall time in the DST gap (`02:30` on 2024-03-10 in New York) or
    /// the repeated hour (`01:30` on 2024-11-03), as pytz 2026.6's
    /// `localize`: standard time by default (`is_dst=False`), daylight time
    /// with `is_dst=True`, an error with `is_dst=None`.
    #[test]
    fn localize_in_dst_gap_and_overlap_as_pytz() {
        assert_eq!(
            render("{% set d = modules.datetime.datetime %}{% set ny = modules.pytz.timezone('America/New_York') %}{{ ny.localize(d(2024, 3, 10, 2, 30)) }}|{{ ny.localize(d(2024, 3, 10, 2, 30)).tzname() }}|{{ ny.localize(d(2024, 3, 10, 2, 30), is_dst=True) }}|{{ ny.localize(d(2024, 11, 3, 1, 30)) }}|{{ ny.localize(d(2024, 11, 3, 1, 30), is_dst=True) }}"),
            "2024-03-10 02:30:00-05:00|EST|2024-03-10 02:30:00-04:00|2024-11-03 01:30:00-05:00|2024-11-03 01:30:00-04:00"
        );
        assert_eq!(
            render_err("{{ modules.pytz.timezone('America/New_York').localize(modules.datetime.datetime(2024, 3, 10, 2, 30), is_dst=none) }}"),
            wrapped(
                crate::error::ErrorKind::Jinja,
                "localize: `2024-03-10 02:30:00` in `America/New_York` does not exist (the clocks skip it when daylight saving time starts) (pytz: NonExistentTimeError)",
                Some("pass is_dst=False (standard time) or is_dst=True (daylight saving time) to choose"),
            )
        );
        assert_eq!(
            render_err("{{ modules.pytz.utc.localize(modules.datetime.datetime(2024, 1, 1, tzinfo=modules.pytz.utc)) }}"),
            wrapped(
                crate::error::ErrorKind::Jinja,
                "localize: `2024-01-01 00:00:00+00:00` is not a naive datetime (tzinfo is already set, pytz: ValueError)",
                Some("to convert an aware datetime, use `dt.astimezone(tz)`"),
            )
        );
    }

    /// An unknown zone is pytz's `UnknownTimeZoneError('Foo/Bar')`, with a
    /// hint: a close name, or what names look like.
    #[test]
    fn unknown_time_zone_is_an_error_as_pytz() {
        let hint = format!(
            "use a name of the IANA time zone database ({}) such as `America/New_York`, `Europe/Berlin` or `UTC`",
            chrono_tz::IANA_TZDB_VERSION
        );
        assert_eq!(
            render_err("{{ modules.pytz.timezone('Foo/Bar') }}"),
            wrapped(
                crate::error::ErrorKind::Jinja,
                "unknown time zone `Foo/Bar` (pytz: UnknownTimeZoneError('Foo/Bar'))",
                Some(&hint),
            )
        );
        assert_eq!(
            render_err("{{ modules.pytz.timezone('Europe/Berln') }}"),
            wrapped(
                crate::error::ErrorKind::Jinja,
                "unknown time zone `Europe/Berln` (pytz: UnknownTimeZoneError('Europe/Berln'))",
                Some("did you mean `Europe/Berlin`?"),
            )
        );
    }

    /// Arithmetic and comparisons across zones, as pytz 2026.6: a day added
    /// across the DST change keeps EST until `normalize`; differences and
    /// comparisons go by instant.
    #[test]
    fn arithmetic_across_zones_as_pytz() {
        assert_eq!(
            render_ops("{% set d = modules.datetime %}{% set ny = modules.pytz.timezone('America/New_York') %}{% set x = ny.localize(d.datetime(2024, 3, 9, 12)) %}{% set y = ny.localize(d.datetime(2024, 3, 11, 12)) %}{% set next = __sluice_add(x, d.timedelta(days=1)) %}{{ next }}|{{ next.tzname() }}|{{ ny.normalize(next) }}|{{ __sluice_sub(y, x) }}|{{ x < y }}|{{ modules.pytz.timezone('Asia/Tokyo').localize(d.datetime(2024, 1, 1, 9)) == d.datetime(2024, 1, 1, tzinfo=modules.pytz.utc) }}|{{ __sluice_sub(y.astimezone(modules.pytz.timezone('Asia/Tokyo')), x) }}"),
            "2024-03-10 12:00:00-05:00|EST|2024-03-10 13:00:00-04:00|1 day, 23:00:00|True|True|1 day, 23:00:00"
        );
    }

    /// Pins Python 3.11's `fromisoformat`: a UTC offset or `Z` gives an
    /// aware datetime (named as `datetime.timezone` prints), none a naive one.
    #[test]
    fn fromisoformat_reads_utc_offsets_as_python() {
        assert_eq!(
            render("{% set d = modules.datetime.datetime %}{{ d.fromisoformat('2026-08-15T12:00:00+00:00') }}|{{ d.fromisoformat('2026-08-15T12:00:00Z').tzinfo }}|{{ d.fromisoformat('2026-08-15 12:00:00.5-05:30').isoformat() }}|{{ d.fromisoformat('2026-08-15T12:00:00+0200').strftime('%Z %z') }}|{{ d.fromisoformat('2026-08-15T12:00:00+00:00') == d.fromisoformat('2026-08-15T14:00:00+02:00') }}|{{ d.fromisoformat('2026-08-15T12:00:00').tzinfo }}|{{ d.fromisoformat('2024-01-01T00:00:00+05:30:15').isoformat() }}"),
            "2026-08-15 12:00:00+00:00|UTC|2026-08-15T12:00:00.500000-05:30|UTC+02:00 +0200|True|None|2024-01-01T00:00:00+05:30:15"
        );
        assert_eq!(
            render_err(
                "{{ modules.datetime.datetime.fromisoformat('2026-08-15T12:00:00+25:00') }}"
            ),
            plain(
                minijinja::ErrorKind::InvalidOperation,
                "fromisoformat: `2026-08-15T12:00:00+25:00`: UTC offset must be less than a day"
            )
        );
    }

    #[test]
    fn bad_strftime_is_an_error_not_a_panic() {
        assert_eq!(
            render_err("{{ modules.datetime.datetime(2024,1,1).strftime('%Q') }}"),
            plain(
                minijinja::ErrorKind::InvalidOperation,
                "strftime: invalid format `%Q`"
            )
        );
    }

    #[test]
    fn run_started_at_renders_as_python_str_of_an_aware_datetime() {
        let mut env = minijinja::Environment::new();
        env.add_global("run_started_at", run_started_at());
        let out = env.render_str("{{ run_started_at }}", ()).unwrap();
        assert!(out.ends_with("+00:00"), "{out}");
        let year = env
            .render_str("{{ run_started_at.strftime('%Y') }}", ())
            .unwrap();
        assert_eq!(year.len(), 4);
    }

    #[test]
    fn re_module_as_python() {
        assert_eq!(
            render("{{ modules.re.sub('(a)(b)', '\\\\2\\\\1', 'xaby') }}"),
            "xbay"
        );
        assert_eq!(
            render("{{ modules.re.search('v(\\\\d+)', 'model_v12').group(1) }}"),
            "12"
        );
        assert_eq!(render("{{ modules.re.match('v', 'av') is none }}"), "True");
        assert_eq!(
            render("{{ modules.re.findall('[0-9]+', 'a1b22') | join(',') }}"),
            "1,22"
        );
    }
}
