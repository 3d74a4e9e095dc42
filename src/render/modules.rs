//! dbt's `modules` context variable and `run_started_at`: the parts of
//! Python's `datetime` and `re` modules dbt projects call from Jinja.
//!
//! Covered: `modules.datetime.datetime(...)`, `.now()`, `.utcnow()`,
//! `.strptime(text, format)`, `.fromisoformat(text)`;
//! `modules.datetime.date(...)`, `.today()`; `modules.datetime.timedelta(...)`;
//! datetime objects with `year` ... `microsecond`, `strftime`, `isoformat`,
//! `date()`, `timestamp()`, `replace(...)`, `add(timedelta)`/`subtract(timedelta)`
//! and Python's `str()` form when rendered; `modules.re.search`, `match`,
//! `fullmatch`, `sub`, `findall`, `split` with `group()`/`groups()` on matches.
//! `modules.pytz`: `utc`, `UTC`, `timezone(name)` for UTC and fixed offsets
//! (`Etc/GMT+5`), `FixedOffset(minutes)`; datetimes carry such a zone
//! (`tzinfo=`, `.astimezone(tz)`, `.replace(tzinfo=tz)`, `pytz.utc.localize(dt)`).
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
use chrono::{Datelike, Duration, FixedOffset, NaiveDate, NaiveDateTime, Timelike, Utc};
use minijinja::value::{DynObject, Kwargs, Object, ObjectRepr};
use minijinja::{Error, ErrorKind, State, Value};

/// The `modules` object.
pub fn modules() -> Value {
    Value::from_iter([
        ("datetime", Value::from_object(DatetimeModule)),
        ("re", Value::from_object(ReModule)),
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

/// A time zone of fixed offset: UTC, `Etc/GMT+5`, `pytz.FixedOffset(m)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Zone {
    /// Seconds east of UTC.
    offset: i32,
    /// The zone's name (`UTC`, `Etc/GMT+5`), as `str(tz)` shows it.
    name: String,
}

impl Zone {
    fn utc() -> Zone {
        Zone {
            offset: 0,
            name: "UTC".to_owned(),
        }
    }

    fn fixed(&self) -> FixedOffset {
        FixedOffset::east_opt(self.offset)
            .unwrap_or_else(|| FixedOffset::east_opt(0).expect("zero offset"))
    }

    /// `pytz.timezone(name)`: UTC under its aliases, or `Etc/GMT±N`
    /// (POSIX signs: `Etc/GMT+5` is five hours *behind* UTC).
    ///
    /// Errors: any other zone: sluice has no time zone database.
    fn named(name: &str) -> Result<Zone, Error> {
        if matches!(
            name,
            "UTC"
                | "utc"
                | "Etc/UTC"
                | "Etc/UCT"
                | "UCT"
                | "GMT"
                | "Etc/GMT"
                | "Universal"
                | "Etc/Universal"
                | "Zulu"
                | "Etc/Zulu"
                | "Greenwich"
                | "Etc/Greenwich"
                | "GMT0"
                | "Etc/GMT0"
                | "Etc/GMT+0"
                | "Etc/GMT-0"
        ) {
            return Ok(Zone {
                offset: 0,
                name: name.to_owned(),
            });
        }
        if let Some(hours) = name
            .strip_prefix("Etc/GMT")
            .and_then(|h| h.parse::<i32>().ok())
            .filter(|h| (-14..=12).contains(h))
        {
            return Ok(Zone {
                offset: -hours * 3600,
                name: name.to_owned(),
            });
        }
        Err(invalid(format!(
            "time zone `{name}` is not supported: sluice has no time zone database, only UTC and fixed offsets (`Etc/GMT+5`, `pytz.FixedOffset(-300)`)"
        )))
    }
}

impl fmt::Display for Zone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)
    }
}

impl Object for Zone {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Plain
    }

    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        match key.as_str()? {
            "zone" => Some(Value::from(self.name.clone())),
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
                .cloned()
                .ok_or_else(|| invalid(format!("{method} needs a datetime")))
        };
        match method {
            // pytz's `localize(dt)`: the naive wall time, in this zone.
            "localize" => Ok(Value::from_object(DateTime {
                tz: Some((**self).clone()),
                ..dt()?
            })),
            "normalize" => dt().map(Value::from_object),
            "utcoffset" => Ok(Value::from_object(TimeDelta(Duration::seconds(i64::from(
                self.offset,
            ))))),
            "tzname" => Ok(Value::from(self.name.clone())),
            _ => Err(Error::new(
                ErrorKind::UnknownMethod,
                format!("time zone has no method `{method}`"),
            )),
        }
    }

    fn render(self: &Arc<Self>, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
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
                Zone::named(name).map(Value::from_object)
            }
            "FixedOffset" => {
                let minutes = args
                    .first()
                    .and_then(|v| i64::try_from(v.clone()).ok())
                    .filter(|m| m.abs() < 24 * 60)
                    .ok_or_else(|| {
                        invalid("pytz.FixedOffset needs minutes east of UTC, under a day")
                    })?;
                Ok(Value::from_object(Zone {
                    offset: (minutes * 60) as i32,
                    name: format!("pytz.FixedOffset({minutes})"),
                }))
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
/// Python; an unknown directive is an error, not a panic.
fn format_time(at: &NaiveDateTime, tz: Option<&Zone>, fmt: &str) -> Result<String, Error> {
    let mut fmt = fmt.replace("%f", "%6f");
    if let Some(zone) = tz {
        // Python's %Z is the zone's name; chrono's would be the offset.
        fmt = fmt.replace("%Z", &zone.name.replace('%', "%%"));
    } else {
        // Naive: Python prints nothing for %z and %Z.
        fmt = fmt.replace("%z", "").replace("%Z", "");
    }
    let items: Vec<Item> = StrftimeItems::new(&fmt).collect();
    if items.iter().any(|i| matches!(i, Item::Error)) {
        return Err(invalid(format!("strftime: invalid format `{fmt}`")));
    }
    match tz {
        Some(zone) => match at.and_local_timezone(zone.fixed()).single() {
            Some(aware) => Ok(aware.format_with_items(items.into_iter()).to_string()),
            None => Err(invalid("strftime: time out of range")),
        },
        None => Ok(at.format_with_items(items.into_iter()).to_string()),
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
    let name = if offset == 0 {
        "UTC".to_owned()
    } else {
        let (h, m) = (seconds / 3600, seconds % 3600 / 60);
        format!("UTC{sign}{h:02}:{m:02}")
    };
    Ok((&s[..at], Some(Zone { offset, name })))
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
            Some(z) => self.at - Duration::seconds(i64::from(z.offset)),
            None => self.at,
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
            let off = zone.offset;
            let sign = if off < 0 { '-' } else { '+' };
            let off = off.abs();
            out.push_str(&format!("{sign}{:02}:{:02}", off / 3600, off / 60 % 60));
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
            // Python's `astimezone(tz)`: the same instant in `tz` (a naive
            // datetime is taken as UTC: sluice does not know the local zone).
            "astimezone" => {
                let zone = zone_arg(args.first().cloned())?.unwrap_or_else(Zone::utc);
                Ok(Value::from_object(DateTime {
                    at: self.instant() + Duration::seconds(i64::from(zone.offset)),
                    tz: Some(zone),
                    date_only: false,
                }))
            }
            "utcoffset" => Ok(self.tz.as_ref().map_or(Value::from(()), |z| {
                Value::from_object(TimeDelta(Duration::seconds(i64::from(z.offset))))
            })),
            "tzname" => Ok(self
                .tz
                .as_ref()
                .map_or(Value::from(()), |z| Value::from(z.name.clone()))),
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
            crate::render::builtins::kwarg(args, name, i)
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
                    zone_arg(crate::render::builtins::kwarg(args, "tzinfo", 7))?
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
                match zone_arg(crate::render::builtins::kwarg(args, "tz", 0))? {
                    None => Ok(DateTime::naive(chrono::Local::now().naive_local())),
                    Some(zone) => Ok(Value::from_object(DateTime {
                        at: Utc::now().naive_utc() + Duration::seconds(i64::from(zone.offset)),
                        tz: Some(zone),
                        date_only: false,
                    })),
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
                    zone_arg(crate::render::builtins::kwarg(args, "tz", 1))?
                } else {
                    None
                };
                Ok(match zone {
                    Some(zone) => Value::from_object(DateTime {
                        at: utc + Duration::seconds(i64::from(zone.offset)),
                        tz: Some(zone),
                        date_only: false,
                    }),
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

/// `modules.re`, on the `regex` crate (Python's syntax for the common cases).
#[derive(Debug)]
struct ReModule;

fn compile_regex(pattern: &str) -> Result<regex::Regex, Error> {
    regex::Regex::new(pattern).map_err(|e| invalid(format!("re: bad pattern `{pattern}`: {e}")))
}

impl Object for ReModule {
    fn call_method(
        self: &Arc<Self>,
        _state: &State<'_, '_>,
        method: &str,
        args: &[Value],
    ) -> Result<Value, Error> {
        let text = |i: usize| {
            args.get(i)
                .and_then(Value::as_str)
                .map(str::to_owned)
                .ok_or_else(|| invalid(format!("re.{method} needs text arguments")))
        };
        let re = compile_regex(&text(0)?)?;
        match method {
            "search" | "match" | "fullmatch" => {
                let s = text(1)?;
                let found = re.captures(&s).filter(|c| {
                    let m = c.get(0).expect("whole match");
                    match method {
                        "match" => m.start() == 0,
                        "fullmatch" => m.start() == 0 && m.end() == s.len(),
                        _ => true,
                    }
                });
                Ok(match found {
                    Some(c) => Value::from_object(Match(
                        c.iter().map(|g| g.map(|g| g.as_str().to_owned())).collect(),
                    )),
                    None => Value::from(()),
                })
            }
            "sub" => {
                // Python's `\1` back-references are `${1}` for the regex crate.
                static BACKREF: std::sync::LazyLock<regex::Regex> =
                    std::sync::LazyLock::new(|| {
                        regex::Regex::new(r"\\(\d+)").expect("valid regex")
                    });
                let repl = BACKREF.replace_all(&text(1)?, "$${$1}").into_owned();
                Ok(Value::from(
                    re.replace_all(&text(2)?, repl.as_str()).into_owned(),
                ))
            }
            "findall" => {
                let s = text(1)?;
                let all: Vec<Value> = re
                    .captures_iter(&s)
                    .map(|c| match c.len() {
                        1 => Value::from(c[0].to_owned()),
                        2 => Value::from(c.get(1).map_or("", |m| m.as_str()).to_owned()),
                        _ => Value::from(
                            c.iter()
                                .skip(1)
                                .map(|g| Value::from(g.map_or("", |m| m.as_str()).to_owned()))
                                .collect::<Vec<_>>(),
                        ),
                    })
                    .collect();
                Ok(Value::from(all))
            }
            "split" => Ok(Value::from(
                re.split(&text(1)?).map(str::to_owned).collect::<Vec<_>>(),
            )),
            _ => Err(Error::new(
                ErrorKind::UnknownMethod,
                format!("re has no function `{method}`"),
            )),
        }
    }
}

/// A regex match: `group(n)` (0 = whole match) and `groups()`.
#[derive(Debug)]
struct Match(Vec<Option<String>>);

impl Object for Match {
    fn call_method(
        self: &Arc<Self>,
        _state: &State<'_, '_>,
        method: &str,
        args: &[Value],
    ) -> Result<Value, Error> {
        let group = |g: &Option<String>| g.clone().map_or(Value::from(()), Value::from);
        match method {
            "group" => {
                let n = args
                    .first()
                    .map(|v| usize::try_from(v.clone()))
                    .transpose()?
                    .unwrap_or(0);
                self.0
                    .get(n)
                    .map(group)
                    .ok_or_else(|| invalid(format!("no such group {n}")))
            }
            "groups" => Ok(Value::from(
                self.0.iter().skip(1).map(group).collect::<Vec<_>>(),
            )),
            _ => Err(Error::new(
                ErrorKind::UnknownMethod,
                format!("re match has no method `{method}`"),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(src: &str) -> String {
        let mut env = minijinja::Environment::new();
        env.add_global("modules", modules());
        env.render_str(src, ()).unwrap()
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
        let mut env = minijinja::Environment::new();
        env.add_global("modules", modules());
        register_operators(&mut env);
        assert!(env
            .render_str(
                "{{ __sluice_add(modules.datetime.datetime(2024, 1, 1), 1) }}",
                ()
            )
            .is_err());
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
    /// and `tzinfo=` (dbt_date's `datetime` macro passes it).
    #[test]
    fn pytz_zones_as_python() {
        assert_eq!(
            render("{% set d = modules.datetime %}{% set utc = modules.pytz.utc %}{{ d.datetime(2024, 1, 1, 12, tzinfo=utc) }}|{{ d.datetime(2024, 1, 1, 12, tzinfo=utc).astimezone(modules.pytz.timezone('Etc/GMT+5')) }}|{{ utc.localize(d.datetime(2024, 1, 1)).isoformat() }}|{{ d.datetime.now(utc).tzinfo }}|{{ d.datetime(2024, 1, 1).replace(tzinfo=utc).strftime('%Y %Z %z') }}"),
            "2024-01-01 12:00:00+00:00|2024-01-01 07:00:00-05:00|2024-01-01T00:00:00+00:00|UTC|2024 UTC +0000"
        );
        let mut env = minijinja::Environment::new();
        env.add_global("modules", modules());
        let err = env
            .render_str("{{ modules.pytz.timezone('America/New_York') }}", ())
            .unwrap_err();
        assert!(err.to_string().contains("not supported"), "{err}");
    }

    /// Pins Python 3.11's `fromisoformat`: a UTC offset or `Z` gives an
    /// aware datetime (named as `datetime.timezone` prints), none a naive one.
    #[test]
    fn fromisoformat_reads_utc_offsets_as_python() {
        assert_eq!(
            render("{% set d = modules.datetime.datetime %}{{ d.fromisoformat('2026-08-15T12:00:00+00:00') }}|{{ d.fromisoformat('2026-08-15T12:00:00Z').tzinfo }}|{{ d.fromisoformat('2026-08-15 12:00:00.5-05:30').isoformat() }}|{{ d.fromisoformat('2026-08-15T12:00:00+0200').strftime('%Z %z') }}|{{ d.fromisoformat('2026-08-15T12:00:00+00:00') == d.fromisoformat('2026-08-15T14:00:00+02:00') }}|{{ d.fromisoformat('2026-08-15T12:00:00').tzinfo }}"),
            "2026-08-15 12:00:00+00:00|UTC|2026-08-15T12:00:00.500000-05:30|UTC+02:00 +0200|True|None"
        );
        let mut env = minijinja::Environment::new();
        env.add_global("modules", modules());
        let err = env
            .render_str(
                "{{ modules.datetime.datetime.fromisoformat('2026-08-15T12:00:00+25:00') }}",
                (),
            )
            .unwrap_err();
        assert!(err.to_string().contains("less than a day"), "{err}");
    }

    #[test]
    fn bad_strftime_is_an_error_not_a_panic() {
        let mut env = minijinja::Environment::new();
        env.add_global("modules", modules());
        assert!(env
            .render_str(
                "{{ modules.datetime.datetime(2024,1,1).strftime('%Q') }}",
                ()
            )
            .is_err());
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
