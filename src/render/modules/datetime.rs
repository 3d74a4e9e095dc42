//! The values of Python's `datetime` module in templates: a `datetime` or
//! `date` ([`DateTime`], naive or carrying a pytz zone state) and a
//! `timedelta` ([`TimeDelta`]), with their attributes, methods, comparisons
//! and Python's `str()` form, and `strftime` formats checked.

use std::cmp::Ordering;
use std::fmt;
use std::sync::Arc;

use chrono::format::{Item, StrftimeItems};
use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime, Timelike};
use minijinja::value::{DynObject, Kwargs, Object, ObjectRepr};
use minijinja::{Error, ErrorKind, State, Value};

use crate::render::modules::args::{invalid, zone_arg};
use crate::render::timezone::{offset_text, Zone};

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

/// A `datetime.datetime` or `datetime.date` value.
#[derive(Debug, Clone)]
pub(super) struct DateTime {
    /// The wall time (in `tz` when aware).
    pub(super) at: NaiveDateTime,
    /// The zone of an aware datetime; `None` for naive ones.
    pub(super) tz: Option<Zone>,
    /// A `date` (no time part).
    pub(super) date_only: bool,
}

impl DateTime {
    pub(super) fn naive(at: NaiveDateTime) -> Value {
        Value::from_object(DateTime {
            at,
            tz: None,
            date_only: false,
        })
    }

    /// The UTC instant of an aware datetime; the wall time of a naive one.
    pub(super) fn instant(&self) -> NaiveDateTime {
        match &self.tz {
            Some(z) => self.at - Duration::seconds(i64::from(z.offset())),
            None => self.at,
        }
    }

    /// The UTC instant `utc` as an aware datetime in `zone`, in the state
    /// `zone` is in at that instant (pytz's `fromutc`, which
    /// `astimezone`, `normalize`, `now(tz)` and `fromtimestamp(ts, tz)` use).
    pub(super) fn in_zone(utc: NaiveDateTime, zone: &Zone) -> DateTime {
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
pub(super) struct TimeDelta(pub(super) Duration);

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
