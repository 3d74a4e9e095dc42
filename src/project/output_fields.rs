//! Reading the fields of one profiles.yml output, for the adapters whose
//! profiles have more than a path (`postgres_profile`, `spark_profile`):
//! what a missing or malformed field says, and where.

use crate::error::{Error, ErrorKind, Location, Result};

/// A profile error `msg` at `location` (when the key's line is known).
pub(super) fn located(msg: String, location: Option<Location>) -> Error {
    let err = Error::new(ErrorKind::Profile, msg);
    match location {
        Some(loc) => err.with_location(loc),
        None => err,
    }
}

/// One output of a profile, as its adapter's reader sees it.
pub(super) struct OutputFields<'a> {
    /// A field's rendered value (`env_var` applied), `None` when absent.
    pub get: &'a dyn Fn(&str) -> Result<Option<String>>,
    /// A key's line in profiles.yml (`"host:"`).
    pub locate: &'a dyn Fn(&str) -> Option<Location>,
    /// The output's name (`dev`).
    pub target_name: &'a str,
    /// The profile's name.
    pub profile_name: &'a str,
    /// The adapter's `type`, and the dbt adapter whose rules these are
    /// (`postgres`: dbt-postgres).
    pub adapter: &'static str,
}

impl OutputFields<'_> {
    /// The non-empty value of `key`.
    ///
    /// Errors: [`ErrorKind::Profile`] at the output's `type:` line, naming
    /// the target, the profile and the key, with a hint to add it.
    pub(super) fn required(&self, key: &str) -> Result<String> {
        (self.get)(key)?.filter(|v| !v.is_empty()).ok_or_else(|| {
            located(
                format!(
                    "target `{}` of profile `{}` (type {}) has no `{key}`",
                    self.target_name, self.profile_name, self.adapter
                ),
                (self.locate)("type:"),
            )
            .with_hint(format!(
                "add `{key}:` to the output, as dbt-{} requires",
                self.adapter
            ))
        })
    }

    /// The value of `key` as a whole number, `default` when absent.
    ///
    /// Errors: [`ErrorKind::Profile`] at the key's line when it is not one.
    pub(super) fn number(&self, key: &str, default: u64) -> Result<u64> {
        match (self.get)(key)? {
            None => Ok(default),
            Some(v) => v.trim().parse().map_err(|_| {
                located(
                    format!("`{key}` must be a number, got `{v}`"),
                    (self.locate)(&format!("{key}:")),
                )
            }),
        }
    }
}

/// For the adapters' profile tests: calls `read` with the `get` and
/// `locate` a reader takes, over one output written as YAML (scalars as
/// text, as profiles.yml's rendering gives them; keys located in `yaml` as
/// `profiles.yml`).
#[cfg(test)]
pub(super) fn with_yaml_output<T>(
    yaml: &str,
    read: impl FnOnce(&dyn Fn(&str) -> Result<Option<String>>, &dyn Fn(&str) -> Option<Location>) -> T,
) -> T {
    let doc: serde_yaml::Value = serde_yaml::from_str(yaml).expect("valid YAML");
    let get = |k: &str| -> Result<Option<String>> {
        Ok(doc.get(k).map(|v| match v {
            serde_yaml::Value::String(s) => s.clone(),
            other => serde_yaml::to_string(other)
                .expect("YAML")
                .trim()
                .to_owned(),
        }))
    };
    let locate = |needle: &str| {
        yaml.find(needle)
            .map(|off| Location::from_offset("profiles.yml", yaml, off))
    };
    read(&get, &locate)
}
