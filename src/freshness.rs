//! Source freshness, as dbt's `source freshness`: how old the newest row of
//! a source table is, judged against its `freshness` config
//! (`warn_after`, `error_after`, `filter`). The newest row is the maximum of
//! `loaded_at_field` (through the `collect_freshness` macro, which a
//! project may override), or what `loaded_at_query` returns, or, for an
//! external file source without either, the file's modification time.

use std::path::Path;

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use minijinja::Value;
use serde_json::{json, Value as Json};

use crate::error::{Error, ErrorKind, Location, Result};
use crate::manifest::Node;
use crate::render::Renderer;
use crate::warehouse::connection::Connection;

/// The unit of a freshness threshold, as dbt's `period`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Period {
    /// 60 seconds.
    Minute,
    /// 3,600 seconds.
    Hour,
    /// 86,400 seconds.
    Day,
}

impl Period {
    /// dbt's name: `minute`, `hour`, `day`.
    pub fn as_str(self) -> &'static str {
        match self {
            Period::Minute => "minute",
            Period::Hour => "hour",
            Period::Day => "day",
        }
    }

    fn seconds(self) -> f64 {
        match self {
            Period::Minute => 60.0,
            Period::Hour => 3_600.0,
            Period::Day => 86_400.0,
        }
    }
}

/// `warn_after` or `error_after`: `{count: 12, period: hour}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Threshold {
    /// How many periods.
    pub count: u64,
    /// Of what.
    pub period: Period,
}

impl Threshold {
    /// Whether data `age_s` seconds old is older than this (strictly, as dbt's
    /// `exceeded`).
    pub fn exceeded(&self, age_s: f64) -> bool {
        age_s > self.count as f64 * self.period.seconds()
    }

    fn to_json(threshold: Option<&Threshold>) -> Json {
        match threshold {
            Some(t) => json!({"count": t.count, "period": t.period.as_str()}),
            None => json!({"count": null, "period": null}),
        }
    }
}

/// A source table's `freshness` config.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Criteria {
    /// Older than this is a warning.
    pub warn_after: Option<Threshold>,
    /// Older than this is an error (exit 1).
    pub error_after: Option<Threshold>,
    /// SQL condition the rows are filtered with before the maximum is taken.
    pub filter: Option<String>,
}

/// The verdict on one source table, as sources.json's `status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FreshnessStatus {
    /// Within every threshold.
    Pass,
    /// Older than `warn_after`.
    Warn,
    /// Older than `error_after`.
    Error,
    /// The newest row could not be found (a failed query, no rows, no
    /// `loaded_at_field`).
    RuntimeError,
}

impl FreshnessStatus {
    /// sources.json's spelling: `pass`, `warn`, `error`, `runtime error`.
    pub fn as_str(self) -> &'static str {
        match self {
            FreshnessStatus::Pass => "pass",
            FreshnessStatus::Warn => "warn",
            FreshnessStatus::Error => "error",
            FreshnessStatus::RuntimeError => "runtime error",
        }
    }
}

impl Criteria {
    /// The `freshness` config of source `node`, or `None` when it has none
    /// (absent, `null`, or neither threshold given a count: dbt checks only
    /// sources with a threshold). `yml` is the text of the file that
    /// declared the source, for locating mistakes.
    ///
    /// Errors: [`ErrorKind::Config`] for a threshold whose `count` is not a
    /// whole number or whose `period` is not minute, hour or day, at the
    /// line that wrote it.
    pub fn of(node: &Node, yml: &str) -> Result<Option<Criteria>> {
        let Some(freshness) = node.config.get("freshness").filter(|f| !f.is_null()) else {
            return Ok(None);
        };
        let threshold = |key: &str| -> Result<Option<Threshold>> {
            let Some(t) = freshness.get(key).filter(|t| !t.is_null()) else {
                return Ok(None);
            };
            let count = match t.get("count") {
                None | Some(Json::Null) => return Ok(None),
                Some(c) => c.as_u64().ok_or_else(|| {
                    config_error(
                        node,
                        yml,
                        key,
                        format!("`{key}.count` must be a whole number, got `{c}`"),
                    )
                })?,
            };
            let period = match t.get("period").and_then(Json::as_str) {
                Some("minute") => Period::Minute,
                Some("hour") => Period::Hour,
                Some("day") => Period::Day,
                other => {
                    return Err(config_error(
                        node,
                        yml,
                        key,
                        format!(
                            "`{key}.period` must be minute, hour or day, got `{}`",
                            other.unwrap_or("nothing")
                        ),
                    ))
                }
            };
            Ok(Some(Threshold { count, period }))
        };
        let criteria = Criteria {
            warn_after: threshold("warn_after")?,
            error_after: threshold("error_after")?,
            filter: freshness
                .get("filter")
                .and_then(Json::as_str)
                .filter(|f| !f.trim().is_empty())
                .map(str::to_owned),
        };
        Ok((criteria.warn_after.is_some() || criteria.error_after.is_some()).then_some(criteria))
    }

    /// The verdict on data `age_s` seconds old: `error_after` is looked at
    /// first, then `warn_after`, as dbt's `FreshnessThreshold.status`.
    pub fn judge(&self, age_s: f64) -> FreshnessStatus {
        if self.error_after.is_some_and(|t| t.exceeded(age_s)) {
            FreshnessStatus::Error
        } else if self.warn_after.is_some_and(|t| t.exceeded(age_s)) {
            FreshnessStatus::Warn
        } else {
            FreshnessStatus::Pass
        }
    }

    /// sources.json's `criteria`.
    pub fn to_json(&self) -> Json {
        json!({
            "warn_after": Threshold::to_json(self.warn_after.as_ref()),
            "error_after": Threshold::to_json(self.error_after.as_ref()),
            "filter": self.filter,
        })
    }
}

/// A config error about `key` of `node`'s freshness, at the line of `yml`
/// that wrote it (the table's `name:` line when not found).
fn config_error(node: &Node, yml: &str, key: &str, msg: String) -> Error {
    Error::new(
        ErrorKind::Config,
        format!("source `{}`: {msg}", source_name(node)),
    )
    .with_location(locate(node, yml, key))
    .with_hint(
        "write thresholds as `warn_after: {count: 12, period: hour}` (period: minute, hour or day)",
    )
}

/// `source_name.table_name`.
pub fn source_name(node: &Node) -> String {
    match &node.source {
        Some(s) => format!("{}.{}", s.source_name, node.name),
        None => node.name.clone(),
    }
}

/// Where `key` is written for `node` in its YAML file: after the table's
/// `name:` line when the key follows it, else that line, else the file.
fn locate(node: &Node, yml: &str, key: &str) -> Location {
    let table = yml
        .find(&format!("name: {}", node.name))
        .or_else(|| yml.find(&node.name));
    let offset = match table {
        Some(t) => yml[t..].find(key).map(|k| t + k).unwrap_or(t),
        None => yml.find(key).unwrap_or(0),
    };
    Location::from_offset(&node.original_file_path, yml, offset)
}

/// When a source table was last loaded, and when that was asked.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Observation {
    /// The newest `loaded_at_field` (UTC; a timestamp without time zone is
    /// taken as UTC, as dbt's).
    pub max_loaded_at: DateTime<Utc>,
    /// The warehouse's clock when asked (or the pinned clock).
    pub snapshotted_at: DateTime<Utc>,
}

impl Observation {
    /// `snapshotted_at - max_loaded_at` in seconds (negative for rows from
    /// the future), as sources.json's `max_loaded_at_time_ago_in_s`.
    pub fn age_s(&self) -> f64 {
        (self.snapshotted_at - self.max_loaded_at)
            .num_microseconds()
            .unwrap_or(i64::MAX) as f64
            / 1e6
    }
}

/// Reads a timestamp as a warehouse prints one: `2024-01-01 10:00:00`,
/// with fractional seconds, a `T`, a UTC offset (`+00`, `+02:00`), or a
/// date alone (midnight). Without an offset it is UTC.
pub fn parse_timestamp(text: &str) -> Option<DateTime<Utc>> {
    let t = text.trim();
    for format in ["%Y-%m-%d %H:%M:%S%.f%#z", "%Y-%m-%dT%H:%M:%S%.f%#z"] {
        if let Ok(d) = DateTime::parse_from_str(t, format) {
            return Some(d.with_timezone(&Utc));
        }
    }
    let t = t.strip_suffix('Z').unwrap_or(t);
    for format in ["%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S%.f"] {
        if let Ok(d) = NaiveDateTime::parse_from_str(t, format) {
            return Some(d.and_utc());
        }
    }
    NaiveDate::parse_from_str(t, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|d| d.and_utc())
}

/// How one source's newest row is found: a query whose one row has the
/// columns `max_loaded_at` and `snapshotted_at`, or a time already known.
#[derive(Debug, Clone)]
enum Probe {
    /// The query, and the key that configured it (for locating errors).
    Query(String, &'static str),
    /// An external file's modification time.
    Known(DateTime<Utc>),
}

/// The [`Probe`] for source `node`: `loaded_at_query`, or
/// `collect_freshness(source, loaded_at_field, filter)` (cast to text by
/// [`row_sql`]); for an external file source with
/// neither, the file's modification time (`root` is the project's folder).
///
/// Errors: [`ErrorKind::Config`] when there is nothing to read the time
/// from; Jinja errors from an overridden `collect_freshness`.
fn probe(
    renderer: &Renderer,
    adapter: &str,
    node: &Node,
    criteria: &Criteria,
    root: &Path,
    yml: &str,
) -> Result<Probe> {
    let relation = node.relation.as_ref().ok_or_else(|| {
        Error::new(
            ErrorKind::Config,
            format!("source `{}` has no relation", source_name(node)),
        )
    })?;
    let field = node
        .config
        .get_str("loaded_at_field")
        .filter(|f| !f.trim().is_empty());
    let query = node
        .config
        .get_str("loaded_at_query")
        .filter(|q| !q.trim().is_empty());
    if let Some(q) = query {
        let q = crate::sql::strip_trailing_semicolons(&q).to_owned();
        return Ok(Probe::Query(
            format!("select ({q}) as max_loaded_at, null as snapshotted_at"),
            "loaded_at_query",
        ));
    }
    let Some(field) = field else {
        if let Some(modified) = external_modified(relation.external.as_deref(), root) {
            return Ok(Probe::Known(modified));
        }
        return Err(Error::new(
            ErrorKind::Config,
            format!(
                "source `{}` has a freshness threshold but no `loaded_at_field`, and {adapter} does not record when a table was last changed",
                source_name(node)
            ),
        )
        .with_location(locate(node, yml, "freshness"))
        .with_hint("set `loaded_at_field` (a timestamp column) or `loaded_at_query` on the source or the table, or `freshness: null` to check it no more"));
    };
    let collect = renderer
        .call_macro(
            "collect_freshness",
            &[
                Value::from_object(relation.clone()),
                Value::from(field),
                Value::from(criteria.filter.clone()),
            ],
        )?
        .to_string();
    Ok(Probe::Query(
        crate::sql::strip_trailing_semicolons(&collect).to_owned(),
        "loaded_at_field",
    ))
}

/// The observation in `row` (`max_loaded_at`, `snapshotted_at` as text) of
/// source `node`; `now` pins the clock, else the warehouse's, else the
/// system's.
///
/// Errors: [`ErrorKind::Database`] for no rows or a value that is not a
/// timestamp, located at the source's YAML.
fn interpret(
    row: Option<&[Option<String>]>,
    node: &Node,
    yml: &str,
    now: Option<DateTime<Utc>>,
) -> Result<Observation> {
    let name = source_name(node);
    let cell = |i: usize| row.and_then(|r| r.get(i)).and_then(|c| c.as_deref());
    let Some(loaded) = cell(0) else {
        return Err(Error::new(
            ErrorKind::Database,
            format!("source `{name}` has no rows to judge its freshness by (the newest loaded_at is NULL)"),
        )
        .with_location(locate(node, yml, "loaded_at"))
        .with_hint("load the table, or relax the freshness `filter`"));
    };
    let max_loaded_at = parse_timestamp(loaded).ok_or_else(|| {
        Error::new(
            ErrorKind::Database,
            format!("source `{name}`: the newest loaded_at, `{loaded}`, is not a timestamp"),
        )
        .with_location(locate(node, yml, "loaded_at"))
        .with_hint("point `loaded_at_field` at a timestamp or date column, or cast it: `loaded_at_field: \"cast(loaded_at as timestamp)\"`")
    })?;
    let snapshotted_at = now
        .or_else(|| cell(1).and_then(parse_timestamp))
        .unwrap_or_else(Utc::now);
    Ok(Observation {
        max_loaded_at,
        snapshotted_at,
    })
}

/// The query of check `i` whose one row is `(i, max_loaded_at,
/// snapshotted_at)`, the two cast to `text` (the adapter's string type,
/// which every warehouse prints alike for dates and timestamps), around
/// `inner` (a [`Probe::Query`]'s SQL).
fn row_sql(i: usize, inner: &str, text: &str) -> String {
    format!(
        "select {i} as __sluice_check, cast(max_loaded_at as {text}) as max_loaded_at, cast(snapshotted_at as {text}) as snapshotted_at from (\n{inner}\n) as __sluice_q{i}"
    )
}

/// One source to check: the node, its thresholds, and the text of the
/// YAML file that declared it (for locating errors).
pub type Check<'a> = (&'a Node, &'a Criteria, &'a str);

/// How many sources' queries go to the warehouse as one `union all`.
pub const BATCH: usize = 100;

/// Finds when each of `checks` was last loaded (see [`probe`]), asking
/// `conn` once for up to [`BATCH`] of them (one `union all` query: a round
/// trip per source cost 1.3 ms on DuckDB); when that query fails, each
/// source is asked alone, so one broken source fails only itself. `now`
/// pins the clock.
///
/// Returns one result per check, in order; errors are [`ErrorKind::Config`]
/// (nothing to read the time from) or [`ErrorKind::Database`] (the query
/// failed or found no rows), located at the source's YAML.
pub fn observe_all(
    renderer: &Renderer,
    conn: &dyn Connection,
    checks: &[Check<'_>],
    root: &Path,
    now: Option<DateTime<Utc>>,
) -> Vec<Result<Observation>> {
    let text = match renderer.call_macro("type_string", &[]) {
        Ok(t) => t.to_string().trim().to_owned(),
        Err(e) => return checks.iter().map(|_| Err(e.duplicate())).collect(),
    };
    let probes: Vec<Result<Probe>> = checks
        .iter()
        .map(|(node, criteria, yml)| {
            probe(renderer, conn.adapter_type(), node, criteria, root, yml)
        })
        .collect();
    let queries: Vec<(usize, &str)> = probes
        .iter()
        .enumerate()
        .filter_map(|(i, p)| match p {
            Ok(Probe::Query(sql, _)) => Some((i, sql.as_str())),
            _ => None,
        })
        .collect();
    let mut rows: Vec<Option<Vec<Option<String>>>> = vec![None; checks.len()];
    let mut alone: Vec<usize> = Vec::new();
    for chunk in queries.chunks(BATCH) {
        let union = chunk
            .iter()
            .map(|(i, sql)| row_sql(*i, sql, &text))
            .collect::<Vec<_>>()
            .join("\nunion all\n");
        let t = std::time::Instant::now();
        match conn.query(&union) {
            Ok(found) => {
                for row in found {
                    if let Some(i) = row
                        .first()
                        .cloned()
                        .flatten()
                        .and_then(|i| i.parse::<usize>().ok())
                    {
                        if i < rows.len() {
                            rows[i] = Some(row[1..].to_vec());
                        }
                    }
                }
            }
            Err(_) => alone.extend(chunk.iter().map(|(i, _)| *i)),
        }
        crate::timing::stage("freshness batch", t);
    }
    let mut failed: Vec<Option<Error>> = (0..checks.len()).map(|_| None).collect();
    for i in alone {
        let Ok(Probe::Query(sql, key)) = &probes[i] else {
            continue;
        };
        let (node, _, yml) = checks[i];
        match conn.query(&row_sql(i, sql, &text)) {
            Ok(found) => rows[i] = found.into_iter().next().map(|row| row[1..].to_vec()),
            Err(e) => {
                failed[i] = Some(e.with_location(locate(node, yml, key)).with_note(format!(
                    "while checking the freshness of source `{}`",
                    source_name(node)
                )))
            }
        }
    }
    probes
        .into_iter()
        .enumerate()
        .map(|(i, p)| {
            let (node, _, yml) = checks[i];
            match (p?, failed[i].take()) {
                (_, Some(e)) => Err(e),
                (Probe::Known(t), None) => Ok(Observation {
                    max_loaded_at: t,
                    snapshotted_at: now.unwrap_or_else(Utc::now),
                }),
                (Probe::Query(..), None) => interpret(rows[i].as_deref(), node, yml, now),
            }
        })
        .collect()
}

/// The modification time of an external source's file (the first quoted
/// path of its `external_location`, relative to `root`), when it is one
/// file that exists.
fn external_modified(external: Option<&str>, root: &Path) -> Option<DateTime<Utc>> {
    let location = external?;
    let start = location.find('\'')? + 1;
    let end = start + location[start..].find('\'')?;
    let path = root.join(&location[start..end]);
    let modified = std::fs::metadata(path).ok()?.modified().ok()?;
    Some(DateTime::<Utc>::from(modified))
}

/// One source table's check, as a line of `source freshness` and an entry
/// of sources.json.
#[derive(Debug, Clone)]
pub struct FreshnessResult {
    /// The source's unique_id.
    pub unique_id: String,
    /// The verdict.
    pub status: FreshnessStatus,
    /// What was found (none for a runtime error).
    pub observation: Option<Observation>,
    /// The thresholds judged by.
    pub criteria: Criteria,
    /// The runtime error's message.
    pub error: Option<String>,
    /// When the check started and ended (UTC).
    pub started_at: DateTime<Utc>,
    /// See `started_at`.
    pub completed_at: DateTime<Utc>,
}

impl FreshnessResult {
    /// The check's entry of sources.json's `results` (dbt's sources v3
    /// schema): a runtime error has only `unique_id`, `error` and `status`.
    pub fn to_json(&self) -> Json {
        let Some(o) = &self.observation else {
            return json!({
                "unique_id": self.unique_id,
                "error": self.error,
                "status": self.status.as_str(),
            });
        };
        let time = |t: &DateTime<Utc>| t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
        json!({
            "unique_id": self.unique_id,
            "max_loaded_at": python_isoformat(&o.max_loaded_at),
            "snapshotted_at": python_isoformat(&o.snapshotted_at),
            "max_loaded_at_time_ago_in_s": o.age_s(),
            "status": self.status.as_str(),
            "criteria": self.criteria.to_json(),
            "adapter_response": {},
            "timing": [
                {"name": "compile", "started_at": time(&self.started_at), "completed_at": time(&self.started_at)},
                {"name": "execute", "started_at": time(&self.started_at), "completed_at": time(&self.completed_at)},
            ],
            "thread_id": "Thread-1",
            "execution_time": self.execution_time(),
        })
    }

    /// Seconds the check took.
    pub fn execution_time(&self) -> f64 {
        (self.completed_at - self.started_at)
            .num_microseconds()
            .unwrap_or(0) as f64
            / 1e6
    }
}

/// `t` as Python's `datetime.isoformat()` prints an aware UTC time, as dbt
/// writes `max_loaded_at`: `2024-01-01T10:00:00+00:00`, with `.ffffff`
/// only when there are microseconds.
fn python_isoformat(t: &DateTime<Utc>) -> String {
    if t.timestamp_subsec_micros() == 0 {
        t.format("%Y-%m-%dT%H:%M:%S+00:00").to_string()
    } else {
        t.format("%Y-%m-%dT%H:%M:%S%.6f+00:00").to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn criteria(warn: Option<(u64, Period)>, error: Option<(u64, Period)>) -> Criteria {
        let t = |x: Option<(u64, Period)>| x.map(|(count, period)| Threshold { count, period });
        Criteria {
            warn_after: t(warn),
            error_after: t(error),
            filter: None,
        }
    }

    /// As dbt's `FreshnessThreshold.status`: error_after wins, and a
    /// threshold is exceeded only when the age is strictly greater.
    #[test]
    fn thresholds_judge_as_dbts() {
        let c = criteria(Some((1, Period::Hour)), Some((1, Period::Day)));
        assert_eq!(c.judge(3_600.0), FreshnessStatus::Pass);
        assert_eq!(c.judge(3_600.5), FreshnessStatus::Warn);
        assert_eq!(c.judge(86_400.0), FreshnessStatus::Warn);
        assert_eq!(c.judge(86_401.0), FreshnessStatus::Error);
        assert_eq!(c.judge(-10.0), FreshnessStatus::Pass);
        let only_error = criteria(None, Some((30, Period::Minute)));
        assert_eq!(only_error.judge(1_801.0), FreshnessStatus::Error);
        assert_eq!(only_error.judge(1_799.0), FreshnessStatus::Pass);
    }

    #[test]
    fn timestamps_as_warehouses_print_them() {
        let utc = |s: &str| DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc);
        let noon = utc("2024-03-01T12:00:00Z");
        assert_eq!(parse_timestamp("2024-03-01 12:00:00"), Some(noon));
        assert_eq!(parse_timestamp("2024-03-01T12:00:00"), Some(noon));
        assert_eq!(parse_timestamp("2024-03-01 12:00:00+00"), Some(noon));
        assert_eq!(parse_timestamp("2024-03-01 14:00:00+02:00"), Some(noon));
        assert_eq!(parse_timestamp("2024-03-01T12:00:00Z"), Some(noon));
        assert_eq!(
            parse_timestamp("2024-03-01 12:00:00.250"),
            Some(utc("2024-03-01T12:00:00.250Z"))
        );
        assert_eq!(
            parse_timestamp("2024-03-01"),
            Some(utc("2024-03-01T00:00:00Z"))
        );
        assert_eq!(parse_timestamp("yesterday"), None);
    }

    #[test]
    fn criteria_to_json_is_sources_json_shape() {
        let c = criteria(Some((12, Period::Hour)), None);
        assert_eq!(
            c.to_json(),
            json!({"warn_after": {"count": 12, "period": "hour"}, "error_after": {"count": null, "period": null}, "filter": null})
        );
    }
}
