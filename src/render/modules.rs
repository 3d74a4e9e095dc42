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
//! Jinja has no operator overloading for objects, so `run_started_at -
//! timedelta(days=1)` is written `run_started_at.subtract(timedelta(days=1))`.

use std::fmt;
use std::sync::Arc;

use chrono::format::{Item, StrftimeItems};
use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime, Timelike, Utc};
use minijinja::value::{Kwargs, Object, ObjectRepr};
use minijinja::{Error, ErrorKind, State, Value};

/// The `modules` object.
pub fn modules() -> Value {
    Value::from_iter([
        ("datetime", Value::from_object(DatetimeModule)),
        ("re", Value::from_object(ReModule)),
    ])
}

/// `run_started_at`: the invocation's start, time-zone aware (UTC), as dbt.
pub fn run_started_at() -> Value {
    Value::from_object(DateTime {
        at: Utc::now().naive_utc(),
        utc: true,
        date_only: false,
    })
}

fn invalid(msg: impl Into<String>) -> Error {
    Error::new(ErrorKind::InvalidOperation, msg.into())
}

/// Python `strftime` -> a chrono format, checked: `%f` is microseconds in
/// Python; an unknown directive is an error, not a panic.
fn format_time(at: &NaiveDateTime, utc: bool, fmt: &str) -> Result<String, Error> {
    let fmt = fmt.replace("%f", "%6f");
    let items: Vec<Item> = StrftimeItems::new(&fmt).collect();
    if items.iter().any(|i| matches!(i, Item::Error)) {
        return Err(invalid(format!("strftime: invalid format `{fmt}`")));
    }
    if utc {
        Ok(at
            .and_utc()
            .format_with_items(items.into_iter())
            .to_string())
    } else {
        Ok(at.format_with_items(items.into_iter()).to_string())
    }
}

/// A `datetime.datetime` or `datetime.date` value.
#[derive(Debug, Clone)]
struct DateTime {
    at: NaiveDateTime,
    /// Time-zone aware (UTC) rather than naive.
    utc: bool,
    /// A `date` (no time part).
    date_only: bool,
}

impl DateTime {
    fn naive(at: NaiveDateTime) -> Value {
        Value::from_object(DateTime {
            at,
            utc: false,
            date_only: false,
        })
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
        if self.utc {
            out.push_str("+00:00");
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

    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        let at = &self.at;
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
                format_time(&self.at, self.utc, &fmt).map(Value::from)
            }
            "isoformat" => Ok(Value::from(
                self.isoformat(&text(0).unwrap_or_else(|| "T".to_owned())),
            )),
            "date" => Ok(Value::from_object(DateTime {
                at: self.at.date().into(),
                utc: false,
                date_only: true,
            })),
            "timestamp" => Ok(Value::from(
                self.at.and_utc().timestamp_micros() as f64 / 1e6,
            )),
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
                    (Some(d), Some(t)) => Ok(self.with(d.and_time(t))),
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
        let secs = self.0.num_seconds();
        let (days, rest) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
        let hms = format!("{}:{:02}:{:02}", rest / 3600, rest / 60 % 60, rest % 60);
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

    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        match key.as_str()? {
            "days" => Some(Value::from(self.0.num_seconds().div_euclid(86_400))),
            "seconds" => Some(Value::from(self.0.num_seconds().rem_euclid(86_400))),
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
                Ok(Value::from_object(DateTime {
                    at,
                    utc: false,
                    date_only: matches!(class, Class::Date),
                }))
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
            (Class::DateTime, "now") => Ok(DateTime::naive(chrono::Local::now().naive_local())),
            (Class::DateTime, "utcnow") => Ok(DateTime::naive(Utc::now().naive_utc())),
            (Class::Date, "today") => Ok(Value::from_object(DateTime {
                at: chrono::Local::now().date_naive().into(),
                utc: false,
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
                let parsed = if date_only {
                    NaiveDate::parse_from_str(&s, "%Y-%m-%d").map(NaiveDateTime::from)
                } else {
                    NaiveDateTime::parse_from_str(&s, "%Y-%m-%dT%H:%M:%S%.f")
                        .or_else(|_| NaiveDateTime::parse_from_str(&s, "%Y-%m-%d %H:%M:%S%.f"))
                        .or_else(|_| {
                            NaiveDate::parse_from_str(&s, "%Y-%m-%d").map(NaiveDateTime::from)
                        })
                };
                parsed
                    .map(|at| {
                        Value::from_object(DateTime {
                            at,
                            utc: false,
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
