//! Tests of `modules`: datetime, pytz and re as Python has them, and the
//! arithmetic helpers.

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
        render(
            "{{ modules.datetime.datetime(2024, 3, 9, 14, 5).strftime('%Y-%m-%d %H:%M:%S.%f') }}"
        ),
        "2024-03-09 14:05:00.000000"
    );
    assert_eq!(
        render(
            "{{ modules.datetime.datetime(2024, 3, 9) }}|{{ modules.datetime.date(2024, 3, 9) }}"
        ),
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
        render_err("{{ modules.datetime.datetime.fromisoformat('2026-08-15T12:00:00+25:00') }}"),
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
