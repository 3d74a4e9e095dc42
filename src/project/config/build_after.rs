//! A model's `freshness: {build_after: ...}` config (dbt 1.10+ model
//! freshness, as dbt's state-aware orchestration reads it): build the model
//! no more often than every `count` `period`s, and only when its inputs
//! have new data (`updates_on: any`, the default, or `all`).

use chrono::Duration;
use serde_json::Value as Json;

use super::microbatch::Problem;
use super::Config;

/// Whether one input with new data is enough (`any`) or every input must
/// have some (`all`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpdatesOn {
    /// Build when any input has new data (dbt's default).
    Any,
    /// Build only when every input has new data.
    All,
}

/// A model's `build_after`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BuildAfter {
    /// The least time between two builds of the model.
    pub interval: Duration,
    /// Which inputs must have new data.
    pub updates_on: UpdatesOn,
}

impl BuildAfter {
    /// The `freshness.build_after` of a model with `config`, if set.
    ///
    /// Errors: the [`Problem`] (key `freshness`), as dbt's checks: a
    /// `count` that is not a positive whole number, a `period` other than
    /// minute/hour/day, an `updates_on` other than any/all.
    pub fn of(config: &Config) -> Result<Option<BuildAfter>, Problem> {
        let Some(build_after) = config.get("freshness").and_then(|f| f.get("build_after")) else {
            return Ok(None);
        };
        if build_after.is_null() {
            return Ok(None);
        }
        let problem = |message: String, hint: &str| ("freshness", message, hint.to_owned());
        let count = build_after
            .get("count")
            .and_then(Json::as_i64)
            .filter(|n| *n > 0)
            .ok_or_else(|| {
                problem(
                    format!(
                        "freshness.build_after.count is {}, not a positive whole number",
                        build_after.get("count").unwrap_or(&Json::Null)
                    ),
                    "write e.g. `build_after: {count: 4, period: hour}`",
                )
            })?;
        let period = build_after.get("period").and_then(Json::as_str);
        let interval = match period {
            Some("minute") => Duration::minutes(count),
            Some("hour") => Duration::hours(count),
            Some("day") => Duration::days(count),
            _ => {
                return Err(problem(
                    format!(
                        "freshness.build_after.period is {}, not minute, hour or day",
                        build_after.get("period").unwrap_or(&Json::Null)
                    ),
                    "set `period` to minute, hour or day",
                ))
            }
        };
        let updates_on = match build_after.get("updates_on").and_then(Json::as_str) {
            None | Some("any") => UpdatesOn::Any,
            Some("all") => UpdatesOn::All,
            Some(other) => {
                return Err(problem(
                    format!("freshness.build_after.updates_on is `{other}`, not any or all"),
                    "set `updates_on` to any (the default) or all",
                ))
            }
        };
        Ok(Some(BuildAfter {
            interval,
            updates_on,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(value: Json) -> Config {
        let mut c = Config::default();
        c.set("freshness", value);
        c
    }

    #[test]
    fn reads_build_after_as_dbt_writes_it() {
        assert_eq!(BuildAfter::of(&Config::default()), Ok(None));
        let b = BuildAfter::of(&config(
            serde_json::json!({"build_after": {"count": 4, "period": "hour"}}),
        ))
        .unwrap()
        .unwrap();
        assert_eq!(
            (b.interval, b.updates_on),
            (Duration::hours(4), UpdatesOn::Any)
        );
        let b = BuildAfter::of(&config(
            serde_json::json!({"build_after": {"count": 1, "period": "day", "updates_on": "all"}}),
        ))
        .unwrap()
        .unwrap();
        assert_eq!(b.updates_on, UpdatesOn::All);
        for bad in [
            serde_json::json!({"build_after": {"count": 0, "period": "hour"}}),
            serde_json::json!({"build_after": {"count": 2, "period": "week"}}),
            serde_json::json!({"build_after": {"count": 2, "period": "day", "updates_on": "some"}}),
        ] {
            assert_eq!(BuildAfter::of(&config(bad)).unwrap_err().0, "freshness");
        }
    }
}
