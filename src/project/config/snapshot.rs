//! A snapshot's config, typed and checked when the project is parsed, as
//! dbt's `SnapshotConfig` validation: strategy, unique_key, updated_at,
//! check_cols and hard_deletes.

use serde_json::Value as Json;

use super::node_config::Config;

/// A snapshot's `strategy`, as dbt's (plus `type1`, sluice's SCD Type 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SnapshotStrategy {
    /// A row changed when its `updated_at` did.
    Timestamp,
    /// A row changed when any of its `check_cols` did.
    Check,
    /// SCD Type 1: one row per key, overwritten in place.
    Type1,
}

/// A snapshot's `check_cols`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CheckCols {
    /// `'all'`: every column of the snapshot's select.
    All,
    /// The listed columns.
    Columns(Vec<String>),
}

/// A snapshot's config, checked when the project is parsed (as dbt's
/// `SnapshotConfig` validation), so a mistake stops the command with exit 2
/// before any database is opened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotConfig {
    /// `strategy`.
    pub strategy: SnapshotStrategy,
    /// `unique_key` as a SQL expression: the column or expression, or
    /// `row(a, b)` for a list.
    pub unique_key: String,
    /// `hard_deletes` (or the older `invalidate_hard_deletes: true`):
    /// `ignore`, `invalidate` or `new_record` (`ignore` or `delete` for type1).
    pub hard_deletes: String,
    /// `updated_at` (required by the timestamp strategy).
    pub updated_at: Option<String>,
    /// `check_cols` (required by the check strategy).
    pub check_cols: Option<CheckCols>,
}

impl SnapshotConfig {
    /// Reads and checks the snapshot config in `config`.
    ///
    /// Errors: `(message, hint)` for a missing or unknown `strategy`, a
    /// missing `unique_key`, a bad `hard_deletes`, the timestamp strategy
    /// without `updated_at`, or the check strategy without `check_cols`.
    pub fn of(config: &Config) -> std::result::Result<SnapshotConfig, (String, String)> {
        let strategy = config.get_str("strategy").unwrap_or_default();
        let strategy = match strategy.as_str() {
            "timestamp" => SnapshotStrategy::Timestamp,
            "check" => SnapshotStrategy::Check,
            "type1" => SnapshotStrategy::Type1,
            other => return Err((
                if other.is_empty() {
                    "no `strategy` is set".to_owned()
                } else {
                    format!("unknown strategy `{other}`")
                },
                "set strategy='timestamp' (with updated_at), 'check' (with check_cols) or 'type1'"
                    .to_owned(),
            )),
        };
        let type1 = strategy == SnapshotStrategy::Type1;
        let unique_key = match config.get("unique_key") {
            Some(Json::String(k)) if !k.trim().is_empty() => k.clone(),
            Some(Json::Array(ks)) if !ks.is_empty() => format!(
                "row({})",
                ks.iter()
                    .map(|k| k
                        .as_str()
                        .map(str::to_owned)
                        .unwrap_or_else(|| k.to_string()))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            _ => {
                return Err((
                    "no `unique_key` is set".to_owned(),
                    "set unique_key to a column, an expression, or a list of columns".to_owned(),
                ))
            }
        };
        let hard_deletes = match config.get_str("hard_deletes") {
            Some(h) => h,
            None if config.get_bool("invalidate_hard_deletes") == Some(true) => "invalidate".into(),
            None => "ignore".into(),
        };
        let allowed: &[&str] = if type1 {
            &["ignore", "delete"]
        } else {
            &["ignore", "invalidate", "new_record"]
        };
        if !allowed.contains(&hard_deletes.as_str()) {
            return Err((
                format!(
                    "hard_deletes `{hard_deletes}` is not one of {}",
                    allowed.join(", ")
                ),
                if type1 {
                    "a type1 snapshot keeps one row per key: `ignore` keeps deleted keys, `delete` removes them"
                } else {
                    "use ignore, invalidate or new_record"
                }
                .to_owned(),
            ));
        }
        let updated_at = config.get_str("updated_at");
        if strategy == SnapshotStrategy::Timestamp && updated_at.is_none() {
            return Err((
                "the timestamp strategy needs `updated_at`".to_owned(),
                "set updated_at to the column that changes when a row changes".to_owned(),
            ));
        }
        let check_cols = match config.get("check_cols") {
            Some(Json::Array(cols)) => Some(CheckCols::Columns(
                cols.iter()
                    .map(|c| c.as_str().unwrap_or_default().to_owned())
                    .collect(),
            )),
            Some(Json::String(s)) if s == "all" => Some(CheckCols::All),
            None if type1 => Some(CheckCols::All),
            _ if strategy == SnapshotStrategy::Check => {
                return Err((
                    "the check strategy needs `check_cols`".to_owned(),
                    "set check_cols to a list of columns, or 'all'".to_owned(),
                ))
            }
            _ => None,
        };
        Ok(SnapshotConfig {
            strategy,
            unique_key,
            hard_deletes,
            updated_at,
            check_cols,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(pairs: &[(&str, Json)]) -> Config {
        Config(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect(),
        )
    }

    /// Pins the checks of dbt's snapshot config validation.
    #[test]
    fn snapshot_configs_are_checked() {
        let err = |pairs: &[(&str, Json)]| SnapshotConfig::of(&config(pairs)).unwrap_err().0;
        assert_eq!(err(&[]), "no `strategy` is set");
        assert_eq!(
            err(&[("strategy", Json::from("nope"))]),
            "unknown strategy `nope`"
        );
        assert_eq!(
            err(&[("strategy", Json::from("check"))]),
            "no `unique_key` is set"
        );
        let key = ("unique_key", Json::from("id"));
        assert_eq!(
            err(&[("strategy", Json::from("timestamp")), key.clone()]),
            "the timestamp strategy needs `updated_at`"
        );
        assert_eq!(
            err(&[("strategy", Json::from("check")), key.clone()]),
            "the check strategy needs `check_cols`"
        );
        assert_eq!(
            err(&[
                ("strategy", Json::from("type1")),
                key.clone(),
                ("hard_deletes", Json::from("invalidate"))
            ]),
            "hard_deletes `invalidate` is not one of ignore, delete"
        );
        let ok = SnapshotConfig::of(&config(&[
            ("strategy", Json::from("check")),
            ("unique_key", serde_json::json!(["a", "b"])),
            ("check_cols", Json::from("all")),
        ]))
        .unwrap();
        assert_eq!(ok.unique_key, "row(a, b)");
        assert_eq!(ok.check_cols, Some(CheckCols::All));
        assert_eq!(ok.hard_deletes, "ignore");
    }
}
