//! The time zones of `modules.pytz`: UTC, fixed offsets, and every IANA zone
//! through chrono-tz's copy of the time zone database, with pytz's meaning
//! wherever a dbt macro can see it.
//!
//! A pytz zone is not one tzinfo but a family of fixed-offset ones, one per
//! state of the zone (`LMT`, `EST`, `EDT`), and an aware datetime carries one
//! of them. The offset is chosen when the datetime is made (`tz.localize`,
//! `astimezone`, `datetime.now(tz)`, `fromtimestamp(ts, tz)`) and kept
//! afterwards: `dt + timedelta(days=1)` across a DST change keeps the old
//! offset until `tz.normalize(dt)`, and `datetime(..., tzinfo=tz)` takes the
//! state `pytz.timezone(name)` returns, the zone's first one (local mean time
//! for most zones). [`Zone`] is such a tzinfo, a zone in one state, so the
//! datetimes of `modules` get all of this by keeping their [`Zone`].

use chrono::{Duration, LocalResult, NaiveDate, NaiveDateTime, Offset, TimeZone};
use chrono_tz::{OffsetComponents, OffsetName, Tz, TzOffset};

use crate::error::{did_you_mean, Error, ErrorKind};

/// A tzinfo as pytz hands them out: a zone of one fixed offset, or an IANA
/// zone in one of its states.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Zone {
    /// A zone of one offset for all time: `pytz.utc`,
    /// `pytz.FixedOffset(minutes)`, or the `datetime.timezone` that
    /// `fromisoformat` makes of a UTC offset.
    Fixed {
        /// Seconds east of UTC.
        offset: i32,
        /// What `str(tz)` prints (`UTC`, `pytz.FixedOffset(-300)`, `UTC+02:00`).
        name: String,
        /// What `tzname()` and `%Z` give; `None` for `pytz.FixedOffset`, as pytz.
        tzname: Option<String>,
    },
    /// An IANA zone (`America/New_York`, `US/Eastern`, `Etc/GMT+5`) in the
    /// state `state`: pytz's `DstTzInfo` or `StaticTzInfo`.
    Named {
        /// The zone.
        tz: Tz,
        /// The offset, DST part and abbreviation this tzinfo stands for.
        state: TzOffset,
    },
}

/// How far pytz winds the clock from a wall time in a DST gap to find an
/// offset for it (`localize`'s `timedelta(hours=6)`).
const GAP_STEP_HOURS: i64 = 6;

/// Steps of [`GAP_STEP_HOURS`] tried before a gap is declared unresolvable;
/// the widest gap on record (Samoa skipping 2011-12-30) needs four.
const GAP_MAX_STEPS: i64 = 8;

impl Zone {
    /// `pytz.utc` (also `pytz.UTC`, and `pytz.timezone('utc')` in any case).
    pub fn utc() -> Zone {
        Zone::Fixed {
            offset: 0,
            name: "UTC".to_owned(),
            tzname: Some("UTC".to_owned()),
        }
    }

    /// `pytz.FixedOffset(minutes)`: `pytz.utc` for 0, as pytz; otherwise a
    /// zone that prints as `pytz.FixedOffset(-300)` and has no `tzname()`.
    pub fn fixed_offset(minutes: i32) -> Zone {
        if minutes == 0 {
            return Zone::utc();
        }
        Zone::Fixed {
            offset: minutes * 60,
            name: format!("pytz.FixedOffset({minutes})"),
            tzname: None,
        }
    }

    /// Python's `datetime.timezone(timedelta(seconds=offset))`, as
    /// `fromisoformat` makes for a UTC offset: named `UTC` when zero, else
    /// `UTC±HH:MM` (with `:SS` when the offset has seconds).
    pub fn iso_offset(offset: i32) -> Zone {
        if offset == 0 {
            return Zone::utc();
        }
        let name = format!("UTC{}", offset_text(offset, ":"));
        Zone::Fixed {
            offset,
            name: name.clone(),
            tzname: Some(name),
        }
    }

    /// `pytz.timezone(name)`: the zone in its first state (what
    /// `datetime(..., tzinfo=tz)` takes: see [`Zone`]). As pytz, `UTC` in any
    /// case is `pytz.utc`, other names match case-insensitively (and are
    /// then spelled as the database spells them), and `_plus_`/`_minus_`
    /// stand for `+`/`-`.
    ///
    /// Errors: a name not in the time zone database, as pytz's
    /// `UnknownTimeZoneError`, with a "did you mean" hint.
    pub fn timezone(name: &str) -> Result<Zone, Error> {
        if name.eq_ignore_ascii_case("UTC") {
            return Ok(Zone::utc());
        }
        let name = name.replace("_plus_", "+").replace("_minus_", "-");
        let Some(tz) = chrono_tz::TZ_VARIANTS
            .iter()
            .find(|tz| tz.name().eq_ignore_ascii_case(&name))
        else {
            let err = Error::new(
                ErrorKind::Jinja,
                format!("unknown time zone `{name}` (pytz: UnknownTimeZoneError('{name}'))"),
            );
            let names = chrono_tz::TZ_VARIANTS.iter().map(|tz| tz.name());
            return Err(match did_you_mean(&name, names) {
                Some(s) => err.with_hint(format!("did you mean `{s}`?")),
                None => err.with_hint(format!(
                    "use a name of the IANA time zone database ({}) such as `America/New_York`, `Europe/Berlin` or `UTC`",
                    chrono_tz::IANA_TZDB_VERSION
                )),
            });
        };
        Ok(Zone::Named {
            tz: *tz,
            state: first_state(*tz),
        })
    }

    /// What `str(tz)` and `tz.zone` give: the zone's name.
    pub fn name(&self) -> &str {
        match self {
            Zone::Fixed { name, .. } => name,
            Zone::Named { tz, .. } => tz.name(),
        }
    }

    /// Seconds east of UTC of this tzinfo (pytz's `_utcoffset`), which
    /// `utcoffset()`, `%z` and `str(dt)` show. pytz rounds the database's
    /// offsets to whole minutes (`-4:56:02` LMT is `-4:56`), and so does this.
    pub fn offset(&self) -> i32 {
        match self {
            Zone::Fixed { offset, .. } => *offset,
            Zone::Named { state, .. } => pytz_round(state.fix().local_minus_utc()),
        }
    }

    /// The daylight saving part of [`Zone::offset`] in seconds (`dt.dst()`);
    /// zero for fixed zones.
    pub fn dst(&self) -> i32 {
        match self {
            Zone::Fixed { .. } => 0,
            Zone::Named { state, .. } => {
                pytz_round(i32::try_from(state.dst_offset().num_seconds()).unwrap_or(0))
            }
        }
    }

    /// What `tzname()` and `%Z` give: the state's abbreviation (`EST`,
    /// `JST`, or the database's numeric form such as `-05`); `None` for
    /// `pytz.FixedOffset`.
    pub fn tzname(&self) -> Option<String> {
        match self {
            Zone::Fixed { tzname, .. } => tzname.clone(),
            Zone::Named { state, .. } => Some(match state.abbreviation() {
                Some(abbr) => abbr.to_owned(),
                None => numeric_abbreviation(state.fix().local_minus_utc()),
            }),
        }
    }

    /// This zone in the state it is in at the UTC instant `utc`: pytz's
    /// `fromutc`, behind `astimezone`, `normalize`, `datetime.now(tz)` and
    /// `fromtimestamp(ts, tz)`. A fixed zone is itself.
    pub fn at_utc(&self, utc: NaiveDateTime) -> Zone {
        match self {
            Zone::Fixed { .. } => self.clone(),
            Zone::Named { tz, .. } => Zone::Named {
                tz: *tz,
                state: tz.offset_from_utc_datetime(&utc),
            },
        }
    }

    /// pytz's `tz.localize(wall, is_dst)`: this zone in the state that the
    /// naive wall time `wall` is in. Where the wall time happens twice (the
    /// hour DST ends), `is_dst` picks the DST or standard state; where it
    /// never happens (the hour DST starts), pytz winds the clock six hours
    /// back (`is_dst=False`) or forward (`True`) and keeps that offset, so
    /// `localize(2024-03-10 02:30)` in New York is `02:30-05:00`, EST. A
    /// fixed zone is itself.
    ///
    /// Errors: `is_dst=None` and an ambiguous or non-existent wall time, as
    /// pytz's `AmbiguousTimeError` and `NonExistentTimeError`.
    pub fn localize(&self, wall: NaiveDateTime, is_dst: Option<bool>) -> Result<Zone, Error> {
        let Zone::Named { tz, .. } = self else {
            return Ok(self.clone());
        };
        let named = |state: TzOffset| Zone::Named { tz: *tz, state };
        let mut probe = wall;
        for _ in 0..=GAP_MAX_STEPS {
            match tz.offset_from_local_datetime(&probe) {
                LocalResult::Single(state) => return Ok(named(state)),
                LocalResult::Ambiguous(a, b) => {
                    let Some(want_dst) = is_dst else {
                        return Err(wall_time_error(
                            "AmbiguousTimeError",
                            wall,
                            tz,
                            "happens twice (when daylight saving time ends)",
                        ));
                    };
                    // pytz keeps the states whose DST flag matches (all if
                    // none does), then takes the latest UTC instant (the
                    // smaller offset) for is_dst=False, the earliest for True.
                    let both = [a, b];
                    let matching: Vec<TzOffset> = both
                        .into_iter()
                        .filter(|s| (s.dst_offset().num_seconds() != 0) == want_dst)
                        .collect();
                    let pool = if matching.is_empty() {
                        both.to_vec()
                    } else {
                        matching
                    };
                    let by_offset = |s: &TzOffset| s.fix().local_minus_utc();
                    let pick = if want_dst {
                        pool.into_iter().max_by_key(by_offset)
                    } else {
                        pool.into_iter().min_by_key(by_offset)
                    };
                    return Ok(named(pick.unwrap_or(a)));
                }
                LocalResult::None => {
                    let Some(want_dst) = is_dst else {
                        return Err(wall_time_error(
                            "NonExistentTimeError",
                            wall,
                            tz,
                            "does not exist (the clocks skip it when daylight saving time starts)",
                        ));
                    };
                    let step = Duration::hours(if want_dst {
                        GAP_STEP_HOURS
                    } else {
                        -GAP_STEP_HOURS
                    });
                    probe = probe.checked_add_signed(step).ok_or_else(|| {
                        Error::new(ErrorKind::Jinja, "localize: datetime out of range")
                    })?;
                }
            }
        }
        Err(wall_time_error(
            "NonExistentTimeError",
            wall,
            tz,
            "falls in a gap sluice cannot resolve",
        ))
    }
}

/// The state of `tz` before its first transition: what pytz gives
/// `pytz.timezone(name)` (its `_transition_info[0]`), local mean time for
/// most zones.
fn first_state(tz: Tz) -> TzOffset {
    let earliest = NaiveDate::MIN.and_time(chrono::NaiveTime::MIN);
    tz.offset_from_utc_datetime(&earliest)
}

/// pytz's rounding of an offset to whole minutes (`tzfile.build_tzinfo`:
/// `(offset + 30) // 60 * 60`), from the days when Python's datetime
/// allowed no seconds in offsets.
fn pytz_round(seconds: i32) -> i32 {
    (seconds + 30).div_euclid(60) * 60
}

/// `±HH{sep}MM`, with `{sep}SS` when the offset has seconds: the offset
/// part of Python's `isoformat` (`sep` `:`) and `%z` (`sep` empty).
pub fn offset_text(offset: i32, sep: &str) -> String {
    let sign = if offset < 0 { '-' } else { '+' };
    let off = offset.unsigned_abs();
    let mut out = format!("{sign}{:02}{sep}{:02}", off / 3600, off / 60 % 60);
    if off % 60 != 0 {
        out.push_str(&format!("{sep}{:02}", off % 60));
    }
    out
}

/// The time zone database's numeric abbreviation for an offset without a
/// name (`%z` in a zone's FORMAT): `-05`, `+0530`.
fn numeric_abbreviation(offset: i32) -> String {
    let sign = if offset < 0 { '-' } else { '+' };
    let minutes = offset.unsigned_abs() / 60;
    match minutes % 60 {
        0 => format!("{sign}{:02}", minutes / 60),
        m => format!("{sign}{:02}{m:02}", minutes / 60),
    }
}

/// pytz's `AmbiguousTimeError`/`NonExistentTimeError` for `wall` in `tz`.
fn wall_time_error(class: &str, wall: NaiveDateTime, tz: &Tz, what: &str) -> Error {
    Error::new(
        ErrorKind::Jinja,
        format!(
            "localize: `{wall}` in `{}` {what} (pytz: {class})",
            tz.name()
        ),
    )
    .with_hint("pass is_dst=False (standard time) or is_dst=True (daylight saving time) to choose")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wall(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(y, mo, d)
            .and_then(|d| d.and_hms_opt(h, mi, 0))
            .unwrap()
    }

    /// The states pytz 2026.6 gives: `localize` in winter and summer, the
    /// first (LMT) state of `timezone()`, rounded to minutes.
    #[test]
    fn states_as_pytz() {
        let ny = Zone::timezone("America/New_York").unwrap();
        let winter = ny.localize(wall(2024, 1, 15, 12, 0), Some(false)).unwrap();
        assert_eq!(
            (winter.offset(), winter.tzname().as_deref(), winter.dst()),
            (-5 * 3600, Some("EST"), 0)
        );
        let summer = ny.localize(wall(2024, 7, 15, 12, 0), Some(false)).unwrap();
        assert_eq!(
            (summer.offset(), summer.tzname().as_deref(), summer.dst()),
            (-4 * 3600, Some("EDT"), 3600)
        );
        // pytz 2026.6: -04:56 LMT, +09:19, -00:01, +05:53.
        assert_eq!(
            (ny.offset(), ny.tzname().as_deref()),
            (-(4 * 3600 + 56 * 60), Some("LMT"))
        );
        for (name, minutes) in [
            ("Asia/Tokyo", 9 * 60 + 19),
            ("Europe/London", -1),
            ("Asia/Kolkata", 5 * 60 + 53),
        ] {
            assert_eq!(
                Zone::timezone(name).unwrap().offset(),
                minutes * 60,
                "{name}"
            );
        }
    }

    /// pytz 2026.6 spells names as the database does, takes `utc` for
    /// `pytz.utc`, and names numeric abbreviations as `-05`.
    #[test]
    fn names_as_pytz() {
        assert_eq!(
            Zone::timezone("america/new_york").unwrap().name(),
            "America/New_York"
        );
        assert_eq!(Zone::timezone("utc").unwrap(), Zone::utc());
        assert_eq!(Zone::timezone("US/Eastern").unwrap().name(), "US/Eastern");
        assert_eq!(
            Zone::timezone("Etc/GMT+5").unwrap().tzname().as_deref(),
            Some("-05")
        );
        assert_eq!(
            Zone::timezone("Etc/UTC").unwrap().tzname().as_deref(),
            Some("UTC")
        );
        assert_eq!(Zone::fixed_offset(0), Zone::utc());
        assert_eq!(Zone::fixed_offset(-300).tzname(), None);
    }

    /// An unknown name is pytz's `UnknownTimeZoneError`, with a hint.
    #[test]
    fn unknown_zone_is_an_error_with_a_hint() {
        let err = Zone::timezone("America/New_Yrok").unwrap_err();
        assert_eq!(
            err.message(),
            "unknown time zone `America/New_Yrok` (pytz: UnknownTimeZoneError('America/New_Yrok'))"
        );
        assert_eq!(err.hint(), Some("did you mean `America/New_York`?"));
        let err = Zone::timezone("Foo/Bar").unwrap_err();
        assert!(
            err.hint().unwrap_or("").contains("IANA"),
            "{:?}",
            err.hint()
        );
    }

    /// pytz 2026.6's `localize` at both DST changes: the gap (`02:30` on
    /// 2024-03-10 is EST with is_dst=False, EDT with True) and the repeated
    /// hour (`01:30` on 2024-11-03 is EST with False, EDT with True), and
    /// its errors with is_dst=None.
    #[test]
    fn localize_at_dst_changes_as_pytz() {
        let ny = Zone::timezone("America/New_York").unwrap();
        let abbr = |w, dst| ny.localize(w, dst).unwrap().tzname().unwrap();
        assert_eq!(abbr(wall(2024, 3, 10, 2, 30), Some(false)), "EST");
        assert_eq!(abbr(wall(2024, 3, 10, 2, 30), Some(true)), "EDT");
        assert_eq!(abbr(wall(2024, 11, 3, 1, 30), Some(false)), "EST");
        assert_eq!(abbr(wall(2024, 11, 3, 1, 30), Some(true)), "EDT");
        let gap = ny.localize(wall(2024, 3, 10, 2, 30), None).unwrap_err();
        assert!(
            gap.message().contains("NonExistentTimeError"),
            "{}",
            gap.message()
        );
        let twice = ny.localize(wall(2024, 11, 3, 1, 30), None).unwrap_err();
        assert!(
            twice.message().contains("AmbiguousTimeError"),
            "{}",
            twice.message()
        );
    }

    /// pytz's `fromutc`: the state at a UTC instant.
    #[test]
    fn at_utc_picks_the_state_of_the_instant() {
        let ny = Zone::timezone("America/New_York").unwrap();
        assert_eq!(
            ny.at_utc(wall(2024, 3, 10, 6, 59)).tzname().as_deref(),
            Some("EST")
        );
        assert_eq!(
            ny.at_utc(wall(2024, 3, 10, 7, 0)).tzname().as_deref(),
            Some("EDT")
        );
    }

    #[test]
    fn offsets_print_as_python() {
        assert_eq!(offset_text(-5 * 3600, ":"), "-05:00");
        assert_eq!(offset_text(5 * 3600 + 30 * 60 + 15, ":"), "+05:30:15");
        assert_eq!(offset_text(9 * 3600, ""), "+0900");
        assert_eq!(numeric_abbreviation(-5 * 3600), "-05");
        assert_eq!(numeric_abbreviation(5 * 3600 + 30 * 60), "+0530");
        assert_eq!(pytz_round(-17762), -17760);
    }
}
