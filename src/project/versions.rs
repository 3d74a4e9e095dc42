//! Model versions (dbt 1.5): a `models:` entry with `versions:` stands for
//! one model per version. Each is expanded here into an entry of its own,
//! named `<model>_v<v>` (the name of its relation, as dbt's default alias
//! for a version), with the model's properties and the version's changes:
//! its `config:` merged over the model's, its columns the model's filtered
//! by `include`/`exclude` plus its own, its data tests and constraints if
//! it has them. The entry remembers which model and version it is
//! ([`ModelVersion`]): unique_ids, `ref()`, selectors and manifest.json
//! speak of the model's name and the version, as dbt's.

use std::path::Path;

use crate::error::{Error, ErrorKind, Result};
use crate::project::schema_yaml::{
    locate_entries, ColumnDef, ModelVersion, NodePatch, SchemaFile, VersionDef,
};

/// A YAML scalar as text (`2` and `'2'` alike).
fn scalar(value: &serde_yaml::Value) -> Option<String> {
    match value {
        serde_yaml::Value::String(s) => Some(s.clone()),
        serde_yaml::Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Orders version identifiers as dbt does: numerically when both are
/// numbers, else as text.
pub fn version_order(a: &str, b: &str) -> std::cmp::Ordering {
    match (a.parse::<f64>(), b.parse::<f64>()) {
        (Ok(x), Ok(y)) => x.partial_cmp(&y).unwrap_or(std::cmp::Ordering::Equal),
        _ => a.cmp(b),
    }
}

/// Replaces each versioned model entry of `file` (read from `path`,
/// whose text is `text`) by one entry per version.
///
/// Errors: [`ErrorKind::Yaml`], located at the model's entry, for a
/// version without `v`, two versions with the same `v`, a
/// `latest_version` that is not among them, or a column entry that is
/// neither a column nor an `include`/`exclude`.
pub fn expand_versions(path: &Path, text: &str, file: &mut SchemaFile) -> Result<()> {
    if file.models.iter().all(|m| m.versions.is_empty()) {
        return Ok(());
    }
    let mut out = Vec::with_capacity(file.models.len());
    for model in std::mem::take(&mut file.models) {
        if model.versions.is_empty() {
            out.push(model);
            continue;
        }
        let located = |message: String, hint: &str| {
            let mut err = Error::new(ErrorKind::Yaml, message).with_hint(hint);
            if let Some(loc) = locate_entries(path, text, &model.name).into_iter().next() {
                err = err.with_location(loc);
            }
            err
        };
        let mut vs = Vec::new();
        for version in &model.versions {
            let v = scalar(&version.v).ok_or_else(|| {
                located(
                    format!("a version of model `{}` has no `v`", model.name),
                    "give each entry of `versions:` a `v: <number or name>`",
                )
            })?;
            if vs.contains(&v) {
                return Err(located(
                    format!("model `{}` lists version {v} twice", model.name),
                    "each `v` of a model's `versions:` must be different",
                ));
            }
            vs.push(v);
        }
        let latest = match model.latest_version.as_ref().and_then(scalar) {
            Some(l) if vs.contains(&l) => l,
            Some(l) => return Err(located(
                format!(
                    "model `{}` has latest_version {l}, which is not among its versions ({})",
                    model.name,
                    vs.join(", ")
                ),
                "set `latest_version` to one of the `v` values, or remove it to use the greatest",
            )),
            None => vs
                .iter()
                .max_by(|a, b| version_order(a, b))
                .cloned()
                .unwrap_or_default(),
        };
        for (version, v) in model.versions.iter().zip(&vs) {
            out.push(expand_one(&model, version, v, &latest).map_err(|why| {
                located(
                    format!("version {v} of model `{}`: {why}", model.name),
                    "a version's columns are `- include: all` (or a list), `exclude: [..]`, or columns with a `name`",
                )
            })?);
        }
    }
    file.models = out;
    Ok(())
}

/// The entry of `version` (identifier `v`) of `model`.
fn expand_one(
    model: &NodePatch,
    version: &VersionDef,
    v: &str,
    latest: &str,
) -> std::result::Result<NodePatch, String> {
    let mut config = model.config.clone();
    if let (Some(base), serde_yaml::Value::Mapping(over)) =
        (config.as_mapping_mut(), &version.config)
    {
        for (k, value) in over {
            base.insert(k.clone(), value.clone());
        }
    } else if version.config.is_mapping() {
        config = version.config.clone();
    }
    let deprecation_date = version
        .deprecation_date
        .as_ref()
        .or(model.deprecation_date.as_ref())
        .and_then(scalar);
    Ok(NodePatch {
        name: format!("{}_v{v}", model.name),
        description: version
            .description
            .clone()
            .unwrap_or_else(|| model.description.clone()),
        config,
        columns: version_columns(&model.columns, &version.columns)?,
        data_tests: version
            .data_tests
            .clone()
            .unwrap_or_else(|| model.data_tests.clone()),
        constraints: version
            .constraints
            .clone()
            .unwrap_or_else(|| model.constraints.clone()),
        versions: Vec::new(),
        latest_version: None,
        deprecation_date: version
            .deprecation_date
            .clone()
            .or(model.deprecation_date.clone()),
        version: Some(ModelVersion {
            base: model.name.clone(),
            v: v.to_owned(),
            latest: latest.to_owned(),
            defined_in: version
                .defined_in
                .clone()
                .unwrap_or_else(|| format!("{}_v{v}", model.name)),
            deprecation_date,
        }),
        ..model.clone()
    })
}

/// A version's columns, as dbt resolves them: the model's columns named
/// by `include` (`all` or `*`: every one; the default) minus those in
/// `exclude`, then the version's own columns (replacing a model column of
/// the same name), in the model's order.
fn version_columns(
    model: &[ColumnDef],
    entries: &[serde_yaml::Value],
) -> std::result::Result<Vec<ColumnDef>, String> {
    let mut include: Option<Vec<String>> = None;
    let mut exclude: Vec<String> = Vec::new();
    let mut own: Vec<ColumnDef> = Vec::new();
    let names = |value: &serde_yaml::Value| -> std::result::Result<Option<Vec<String>>, String> {
        match value {
            serde_yaml::Value::String(s) if s == "all" || s == "*" => Ok(None),
            serde_yaml::Value::Sequence(items) => items
                .iter()
                .map(|i| scalar(i).ok_or_else(|| format!("{i:?} is not a column name")))
                .collect::<std::result::Result<Vec<_>, _>>()
                .map(Some),
            other => Err(format!("`include`/`exclude` is {other:?}")),
        }
    };
    for entry in entries {
        let is_spec = entry.get("include").is_some() || entry.get("exclude").is_some();
        if is_spec {
            if let Some(i) = entry.get("include") {
                include = names(i)?;
            }
            if let Some(e) = entry.get("exclude") {
                exclude =
                    names(e)?.unwrap_or_else(|| model.iter().map(|c| c.name.clone()).collect());
            }
        } else {
            own.push(
                serde_yaml::from_value::<ColumnDef>(entry.clone())
                    .map_err(|e| format!("a column entry: {e}"))?,
            );
        }
    }
    let lower = |s: &str| s.to_ascii_lowercase();
    let mut columns: Vec<ColumnDef> = model
        .iter()
        .filter(|c| {
            include
                .as_ref()
                .is_none_or(|i| i.iter().any(|n| lower(n) == lower(&c.name)))
                && !exclude.iter().any(|n| lower(n) == lower(&c.name))
        })
        .cloned()
        .collect();
    for column in own {
        match columns
            .iter_mut()
            .find(|c| lower(&c.name) == lower(&column.name))
        {
            Some(slot) => *slot = column,
            None => columns.push(column),
        }
    }
    Ok(columns)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(yaml: &str) -> SchemaFile {
        let mut f: SchemaFile = serde_yaml::from_str(yaml).unwrap();
        expand_versions(Path::new("models/m.yml"), yaml, &mut f).unwrap();
        f
    }

    /// As dbt's model versions: one entry per version named `<model>_v<v>`,
    /// latest the greatest `v` unless set, columns included and excluded,
    /// a version's own column and config over the model's.
    #[test]
    fn versions_expand_as_dbt_resolves_them() {
        let f = file(
            "models:\n  - name: dim\n    config: {materialized: table, tags: [a]}\n    columns:\n      - name: id\n        data_tests: [not_null]\n      - name: country\n      - name: email\n    versions:\n      - v: 1\n        defined_in: dim\n        columns:\n          - include: all\n            exclude: [email]\n      - v: 2\n        config: {materialized: view}\n        columns:\n          - include: [id]\n          - name: country_code\n        deprecation_date: 2020-01-01\n",
        );
        let names: Vec<&str> = f.models.iter().map(|m| m.name.as_str()).collect();
        assert_eq!(names, ["dim_v1", "dim_v2"]);
        let v1 = f.models[0].version.as_ref().unwrap();
        assert_eq!(
            (v1.base.as_str(), v1.v.as_str(), v1.latest.as_str()),
            ("dim", "1", "2")
        );
        assert_eq!(v1.defined_in, "dim");
        assert_eq!(f.models[1].version.as_ref().unwrap().defined_in, "dim_v2");
        let cols = |i: usize| {
            f.models[i]
                .columns
                .iter()
                .map(|c| c.name.clone())
                .collect::<Vec<_>>()
        };
        assert_eq!(cols(0), ["id", "country"]);
        assert_eq!(cols(1), ["id", "country_code"]);
        assert_eq!(f.models[0].columns[0].data_tests.len(), 1);
        assert_eq!(f.models[1].config["materialized"], "view");
        assert_eq!(f.models[1].config["tags"][0], "a");
        assert_eq!(
            f.models[1]
                .version
                .as_ref()
                .unwrap()
                .deprecation_date
                .as_deref(),
            Some("2020-01-01")
        );
    }

    #[test]
    fn a_latest_version_not_listed_is_a_located_error() {
        let yaml = "models:\n  - name: dim\n    latest_version: 3\n    versions:\n      - v: 1\n      - v: 2\n";
        let mut f: SchemaFile = serde_yaml::from_str(yaml).unwrap();
        let err = expand_versions(Path::new("models/m.yml"), yaml, &mut f).unwrap_err();
        assert!(
            err.message().contains("latest_version 3"),
            "{}",
            err.message()
        );
        assert!(err.render().contains("models/m.yml:2:"), "{}", err.render());
    }
}
