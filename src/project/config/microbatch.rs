//! The `microbatch` incremental strategy's config and batch arithmetic, as
//! dbt 1.9's `MicrobatchBuilder`: `event_time`, `batch_size`
//! (hour/day/month/year), `begin`, `lookback` and `concurrent_batches`,
//! and the `[start, end)` batches a run processes.
//!
//! All times are UTC, without a zone (as dbt's, which it pins to UTC).

use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime, NaiveTime, Timelike};
use serde_json::Value as Json;

use super::Config;

/// How much event time one batch covers (dbt's `BatchSize`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BatchSize {
    /// One hour.
    Hour,
    /// One day.
    Day,
    /// One calendar month.
    Month,
    /// One calendar year.
    Year,
}

impl BatchSize {
    /// The names dbt accepts, in order.
    pub const NAMES: &'static [&'static str] = &["hour", "day", "month", "year"];

    /// `hour`, `day`, `month` or `year` (any case).
    pub fn parse(text: &str) -> Option<BatchSize> {
        match text.trim().to_ascii_lowercase().as_str() {
            "hour" => Some(BatchSize::Hour),
            "day" => Some(BatchSize::Day),
            "month" => Some(BatchSize::Month),
            "year" => Some(BatchSize::Year),
            _ => None,
        }
    }

    /// The start of the batch `t` falls in, as dbt's `truncate_timestamp`
    /// (2024-09-17 16:06 by day is 2024-09-17 00:00).
    pub fn truncate(self, t: NaiveDateTime) -> NaiveDateTime {
        let date = t.date();
        match self {
            BatchSize::Hour => date.and_time(
                NaiveTime::from_hms_opt(t.hour(), 0, 0).expect("an hour of a valid time"),
            ),
            BatchSize::Day => date.and_time(NaiveTime::MIN),
            BatchSize::Month => date
                .with_day(1)
                .expect("every month has a day 1")
                .and_time(NaiveTime::MIN),
            BatchSize::Year => NaiveDate::from_ymd_opt(date.year(), 1, 1)
                .expect("every year has January 1")
                .and_time(NaiveTime::MIN),
        }
    }

    /// `t` truncated, then moved by `offset` batches, as dbt's
    /// `offset_timestamp` (2024-09-17 16:06 by day, +1, is 2024-09-18 00:00).
    pub fn offset(self, t: NaiveDateTime, offset: i64) -> NaiveDateTime {
        let t = self.truncate(t);
        match self {
            BatchSize::Hour => t + Duration::hours(offset),
            BatchSize::Day => t + Duration::days(offset),
            BatchSize::Month => {
                let months = t.year() as i64 * 12 + t.month0() as i64 + offset;
                NaiveDate::from_ymd_opt(
                    months.div_euclid(12) as i32,
                    months.rem_euclid(12) as u32 + 1,
                    1,
                )
                .map(|d| d.and_time(NaiveTime::MIN))
                .unwrap_or(t)
            }
            BatchSize::Year => NaiveDate::from_ymd_opt(t.year() + offset as i32, 1, 1)
                .map(|d| d.and_time(NaiveTime::MIN))
                .unwrap_or(t),
        }
    }

    /// `t` if it starts a batch, else the start of the next batch, as dbt's
    /// `ceiling_timestamp`.
    pub fn ceiling(self, t: NaiveDateTime) -> NaiveDateTime {
        let truncated = self.truncate(t);
        if truncated == t {
            t
        } else {
            self.offset(truncated, 1)
        }
    }

    /// dbt's batch id: the start as `YYYYMMDD`, or `YYYYMMDDTHH` for hours.
    pub fn batch_id(self, start: NaiveDateTime) -> String {
        match self {
            BatchSize::Hour => start.format("%Y%m%dT%H").to_string(),
            _ => start.format("%Y%m%d").to_string(),
        }
    }
}

/// One batch: event times in `[start, end)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Batch {
    /// Inclusive start.
    pub start: NaiveDateTime,
    /// Exclusive end.
    pub end: NaiveDateTime,
}

impl Batch {
    /// The bound as run_results.json's `batch_results` writes it (ISO, UTC).
    pub fn iso(t: NaiveDateTime) -> String {
        t.format("%Y-%m-%dT%H:%M:%S+00:00").to_string()
    }
}

/// A microbatch model's config, as dbt 1.9 reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Microbatch {
    /// The model's own event-time column: each batch replaces the table's
    /// rows whose `event_time` falls in it.
    pub event_time: String,
    /// The size of a batch.
    pub batch_size: BatchSize,
    /// Where the first build (or a full refresh) starts.
    pub begin: NaiveDateTime,
    /// How many batches before the current one an incremental run
    /// reprocesses, for late rows (dbt's default: 1).
    pub lookback: u32,
    /// `concurrent_batches`: none lets sluice decide (as dbt: batches run
    /// concurrently unless the model reads `this` or `is_incremental()`).
    pub concurrent_batches: Option<bool>,
}

/// A config value a microbatch model cannot run with: the key, the message
/// and the hint.
pub type Problem = (&'static str, String, String);

impl Microbatch {
    /// The microbatch config of a model with `config`, if it is one
    /// (`materialized: incremental`, `incremental_strategy: microbatch`).
    ///
    /// Errors: the first [`Problem`], as dbt's parse-time checks of
    /// microbatch models: a missing or non-text `event_time`, a
    /// `batch_size` that is not hour/day/month/year, a missing or
    /// unreadable `begin`, a `lookback` that is not a whole number of
    /// batches, a `concurrent_batches` that is not true/false.
    pub fn of(config: &Config) -> Result<Option<Microbatch>, Problem> {
        if config.get_str("materialized").as_deref() != Some("incremental")
            || config.get_str("incremental_strategy").as_deref() != Some("microbatch")
        {
            return Ok(None);
        }
        let event_time = match config.get("event_time") {
            Some(Json::String(s)) if !s.trim().is_empty() => s.trim().to_owned(),
            _ => {
                return Err((
                    "event_time",
                    "a microbatch model needs an `event_time` config: the column its batches are cut on".to_owned(),
                    "set `event_time='<timestamp column>'` in the model's config".to_owned(),
                ))
            }
        };
        let batch_size = match config.get("batch_size") {
            Some(Json::String(s)) => BatchSize::parse(s),
            _ => None,
        }
        .ok_or_else(|| {
            (
                "batch_size",
                format!(
                    "a microbatch model needs `batch_size`, one of {}{}",
                    BatchSize::NAMES.join(", "),
                    config
                        .get("batch_size")
                        .map(|v| format!("; it is {v}"))
                        .unwrap_or_default()
                ),
                "set `batch_size='day'` (or hour, month, year)".to_owned(),
            )
        })?;
        let begin = match config.get("begin") {
            Some(Json::String(s)) => parse_datetime(s),
            _ => None,
        }
        .ok_or_else(|| {
            (
                "begin",
                format!(
                    "a microbatch model needs `begin`, the event time its first build starts from{}",
                    config
                        .get("begin")
                        .map(|v| format!("; {v} is not a date or timestamp"))
                        .unwrap_or_default()
                ),
                "set `begin='2024-01-01'` (a date or `YYYY-MM-DD HH:MM:SS`, UTC)".to_owned(),
            )
        })?;
        let lookback = match config.get("lookback") {
            None | Some(Json::Null) => 1,
            Some(v) => v
                .as_u64()
                .or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()))
                .and_then(|n| u32::try_from(n).ok())
                .ok_or_else(|| {
                    (
                        "lookback",
                        format!("`lookback` is {v}, not a whole number of batches"),
                        "set `lookback=1` (how many batches before the current one to reprocess)"
                            .to_owned(),
                    )
                })?,
        };
        let concurrent_batches = match config.get("concurrent_batches") {
            None | Some(Json::Null) => None,
            Some(Json::Bool(b)) => Some(*b),
            Some(v) => {
                return Err((
                    "concurrent_batches",
                    format!("`concurrent_batches` is {v}, which is not true or false"),
                    "write `concurrent_batches=true` or `false`, without quotes".to_owned(),
                ))
            }
        };
        Ok(Some(Microbatch {
            event_time,
            batch_size,
            begin,
            lookback,
            concurrent_batches,
        }))
    }

    /// The batches a run processes, as dbt's `MicrobatchBuilder`:
    /// - the end is `event_time_end` (`--event-time-end`) or `now`, moved
    ///   up to a batch boundary;
    /// - the start is `event_time_start` (`--event-time-start`) truncated;
    ///   else, on a first build or full refresh (`incremental` false), `begin`
    ///   truncated; else `lookback` batches before the batch of the end
    ///   (plus one, since the end is a boundary);
    /// - batches of `batch_size` from start to end, the last ending at the end.
    ///
    /// Always at least one batch.
    pub fn batches(
        &self,
        incremental: bool,
        now: NaiveDateTime,
        event_time_start: Option<NaiveDateTime>,
        event_time_end: Option<NaiveDateTime>,
    ) -> Vec<Batch> {
        let size = self.batch_size;
        let end = size.ceiling(event_time_end.unwrap_or(now));
        let start = match event_time_start {
            Some(t) => size.truncate(t),
            None if !incremental => size.truncate(self.begin),
            None => {
                let mut lookback = i64::from(self.lookback);
                if end == size.truncate(end) {
                    lookback += 1;
                }
                size.offset(end, -lookback)
            }
        };
        let mut batches = vec![Batch {
            start,
            end: size.offset(start, 1),
        }];
        while batches.last().expect("one batch").end < end {
            let next = batches.last().expect("one batch").end;
            batches.push(Batch {
                start: next,
                end: size.offset(next, 1),
            });
        }
        batches.last_mut().expect("one batch").end = end;
        batches
    }
}

/// dbt 1.10's `--sample` window: `"<n> <unit>"` (hours, days, months or
/// years before `now`, up to `now`) or a mapping `{start: .., end: ..}`
/// (either may be left out), as `[start, end)` bounds.
///
/// Errors: a message saying what is wrong, for the caller to report.
pub fn parse_sample(
    text: &str,
    now: NaiveDateTime,
) -> Result<(Option<NaiveDateTime>, Option<NaiveDateTime>), String> {
    let t = text.trim();
    if t.starts_with('{') {
        let value: serde_yaml::Value =
            serde_yaml::from_str(t).map_err(|e| format!("`{t}` is not a mapping: {e}"))?;
        let bound = |key: &str| -> Result<Option<NaiveDateTime>, String> {
            match value.get(key) {
                None | Some(serde_yaml::Value::Null) => Ok(None),
                Some(v) => {
                    let s = match v {
                        serde_yaml::Value::String(s) => s.clone(),
                        other => format!("{other:?}"),
                    };
                    parse_datetime(&s)
                        .map(Some)
                        .ok_or_else(|| format!("`{key}` `{s}` is not a date or timestamp"))
                }
            }
        };
        let (start, end) = (bound("start")?, bound("end")?);
        if start.is_none() && end.is_none() {
            return Err("the mapping has neither `start` nor `end`".to_owned());
        }
        if let (Some(s), Some(e)) = (start, end) {
            if s >= e {
                return Err(format!("its start ({s}) is not before its end ({e})"));
            }
        }
        return Ok((start, end));
    }
    let mut parts = t.split_whitespace();
    let (Some(n), Some(unit), None) = (parts.next(), parts.next(), parts.next()) else {
        return Err(format!("`{t}` is not `<number> <unit>`"));
    };
    let n: i64 = n
        .parse()
        .map_err(|_| format!("`{n}` is not a whole number"))?;
    let unit = unit.to_ascii_lowercase();
    let start = match unit.trim_end_matches('s') {
        "hour" => now - Duration::hours(n),
        "day" => now - Duration::days(n),
        "month" => {
            let months = now.year() as i64 * 12 + now.month0() as i64 - n;
            let date = NaiveDate::from_ymd_opt(
                months.div_euclid(12) as i32,
                months.rem_euclid(12) as u32 + 1,
                now.day().min(28),
            )
            .ok_or_else(|| format!("{n} months before {now} is out of range"))?;
            date.and_time(now.time())
        }
        "year" => now - Duration::days(365 * n),
        _ => return Err(format!("`{unit}` is not hours, days, months or years")),
    };
    Ok((Some(start), Some(now)))
}

/// A date or timestamp as configs, flags and `SLUICE_INVOCATION_TIME`
/// write it: `YYYY-MM-DD`, `YYYY-MM-DD HH:MM[:SS[.f]]`, with `T` for the
/// space, optionally ending in `Z` or `+00:00` (UTC). Other offsets are
/// refused: sluice's event times are UTC.
pub fn parse_datetime(text: &str) -> Option<NaiveDateTime> {
    let t = text.trim();
    let t = t
        .strip_suffix('Z')
        .or_else(|| t.strip_suffix("+00:00"))
        .or_else(|| t.strip_suffix("+0000"))
        .unwrap_or(t);
    for format in [
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M",
        "%Y-%m-%dT%H:%M",
    ] {
        if let Ok(dt) = NaiveDateTime::parse_from_str(t, format) {
            return Some(dt);
        }
    }
    NaiveDate::parse_from_str(t, "%Y-%m-%d")
        .ok()
        .map(|d| d.and_time(NaiveTime::MIN))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> NaiveDateTime {
        parse_datetime(s).unwrap()
    }

    /// dbt's `MicrobatchBuilder` docstrings, each example.
    #[test]
    fn truncate_offset_and_ceiling_as_dbt() {
        let x = t("2024-09-17 16:06:00");
        assert_eq!(BatchSize::Hour.offset(x, -1), t("2024-09-17 15:00:00"));
        assert_eq!(BatchSize::Hour.offset(x, 1), t("2024-09-17 17:00:00"));
        assert_eq!(BatchSize::Day.offset(x, -1), t("2024-09-16"));
        assert_eq!(BatchSize::Day.offset(x, 1), t("2024-09-18"));
        assert_eq!(BatchSize::Month.offset(x, -1), t("2024-08-01"));
        assert_eq!(BatchSize::Month.offset(x, 1), t("2024-10-01"));
        assert_eq!(
            BatchSize::Month.offset(t("2024-01-31"), -1),
            t("2023-12-01")
        );
        assert_eq!(BatchSize::Month.offset(t("2024-12-31"), 1), t("2025-01-01"));
        assert_eq!(BatchSize::Year.offset(x, -1), t("2023-01-01"));
        assert_eq!(BatchSize::Year.offset(x, 1), t("2025-01-01"));
        assert_eq!(BatchSize::Hour.ceiling(x), t("2024-09-17 17:00:00"));
        assert_eq!(
            BatchSize::Hour.ceiling(t("2024-09-17 16:00")),
            t("2024-09-17 16:00")
        );
        assert_eq!(BatchSize::Day.ceiling(x), t("2024-09-18"));
        assert_eq!(BatchSize::Day.ceiling(t("2024-09-17")), t("2024-09-17"));
        assert_eq!(BatchSize::Month.ceiling(x), t("2024-10-01"));
        assert_eq!(BatchSize::Year.ceiling(x), t("2025-01-01"));
        assert_eq!(BatchSize::Day.batch_id(t("2024-09-17")), "20240917");
        assert_eq!(
            BatchSize::Hour.batch_id(t("2024-09-17 16:00")),
            "20240917T16"
        );
    }

    fn config(lookback: u32, size: BatchSize, begin: &str) -> Microbatch {
        Microbatch {
            event_time: "ts".into(),
            batch_size: size,
            begin: t(begin),
            lookback,
            concurrent_batches: None,
        }
    }

    /// As dbt: an incremental run reprocesses the current batch and
    /// `lookback` before it; a first build starts at `begin`; the last
    /// batch ends at the end, moved up to a boundary.
    #[test]
    fn batches_as_dbt() {
        let m = config(1, BatchSize::Day, "2024-09-10");
        let now = t("2024-09-17 16:06:00");
        let b = m.batches(true, now, None, None);
        assert_eq!(
            b,
            vec![
                Batch {
                    start: t("2024-09-16"),
                    end: t("2024-09-17")
                },
                Batch {
                    start: t("2024-09-17"),
                    end: t("2024-09-18")
                },
            ]
        );
        assert_eq!(m.batches(false, now, None, None).len(), 8);
        assert_eq!(m.batches(false, now, None, None)[0].start, t("2024-09-10"));
        // The flags win over begin and lookback; the end is moved up.
        let b = m.batches(
            true,
            now,
            Some(t("2024-09-01 05:00")),
            Some(t("2024-09-03 01:00")),
        );
        assert_eq!(b.first().unwrap().start, t("2024-09-01"));
        assert_eq!(b.last().unwrap().end, t("2024-09-04"));
        assert_eq!(b.len(), 3);
        // lookback 0 at midnight: just the day before.
        let m0 = config(0, BatchSize::Day, "2024-01-01");
        assert_eq!(
            m0.batches(true, t("2024-09-17"), None, None),
            vec![Batch {
                start: t("2024-09-16"),
                end: t("2024-09-17")
            }]
        );
        let months = config(1, BatchSize::Month, "2024-01-15");
        let b = months.batches(false, t("2024-03-02"), None, None);
        assert_eq!(
            b.iter().map(|b| b.start).collect::<Vec<_>>(),
            vec![t("2024-01-01"), t("2024-02-01"), t("2024-03-01")]
        );
        assert_eq!(b[2].end, t("2024-04-01"));
    }

    /// dbt 1.10's `--sample` forms: relative to now, or a start/end mapping.
    #[test]
    fn sample_windows() {
        let now = t("2024-07-10 12:00:00");
        assert_eq!(
            parse_sample("3 days", now),
            Ok((Some(t("2024-07-07 12:00:00")), Some(now)))
        );
        assert_eq!(
            parse_sample("6 hours", now).unwrap().0,
            Some(t("2024-07-10 06:00"))
        );
        assert_eq!(
            parse_sample("1 month", now).unwrap().0,
            Some(t("2024-06-10 12:00"))
        );
        assert_eq!(
            parse_sample("{start: 2024-07-01, end: '2024-07-08 18:00:00'}", now),
            Ok((Some(t("2024-07-01")), Some(t("2024-07-08 18:00"))))
        );
        assert!(parse_sample("3 weeks", now).is_err());
        assert!(parse_sample("{start: 2024-07-09, end: 2024-07-01}", now).is_err());
    }

    #[test]
    fn reads_the_config_and_says_what_is_wrong() {
        let mut c = Config::default();
        c.set("materialized", Json::from("incremental"));
        c.set("incremental_strategy", Json::from("microbatch"));
        assert_eq!(Microbatch::of(&c).unwrap_err().0, "event_time");
        c.set("event_time", Json::from("ts"));
        assert_eq!(Microbatch::of(&c).unwrap_err().0, "batch_size");
        c.set("batch_size", Json::from("week"));
        assert!(Microbatch::of(&c).unwrap_err().1.contains("\"week\""));
        c.set("batch_size", Json::from("Day"));
        assert_eq!(Microbatch::of(&c).unwrap_err().0, "begin");
        c.set("begin", Json::from("2024-01-01T00:00:00Z"));
        let m = Microbatch::of(&c).unwrap().unwrap();
        assert_eq!(
            (m.batch_size, m.begin, m.lookback),
            (BatchSize::Day, t("2024-01-01"), 1)
        );
        c.set("lookback", Json::from(-1));
        assert_eq!(Microbatch::of(&c).unwrap_err().0, "lookback");
        c.set("lookback", Json::from(3));
        c.set("concurrent_batches", Json::from("yes"));
        assert_eq!(Microbatch::of(&c).unwrap_err().0, "concurrent_batches");
        c.set("incremental_strategy", Json::from("merge"));
        assert_eq!(Microbatch::of(&c), Ok(None));
    }
}
