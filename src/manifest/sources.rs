//! Sources read from files (dbt-duckdb's `external_location`): the
//! location formatted from the source's fields, anchored at the project.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value as Json;

use crate::error::{Error, ErrorKind, Location, Result};
use crate::project::config::Config;
use crate::warehouse::relation::Relation;

/// What a source table renders as when it lives in files: its
/// `external_location` (table config, then source config, then table meta,
/// then source meta), filled in with its fields and quoted, as dbt-duckdb's
/// `DuckDBRelation.create_from` (formatter `newstyle`, `oldstyle` or `template`).
/// Relative file paths are anchored at the project directory.
///
/// Errors: [`ErrorKind::Config`], located at the source's YAML, for an
/// unknown formatter or a placeholder naming no field.
pub(crate) fn external_source_location(
    yml: &Path,
    root: &Path,
    src: &crate::project::schema_yaml::SourceDef,
    table: &crate::project::schema_yaml::SourceTable,
    config: &Config,
    relation: &Relation,
) -> Result<Option<String>> {
    let mut fields: BTreeMap<String, String> = BTreeMap::new();
    let absorb = |v: &serde_yaml::Value, fields: &mut BTreeMap<String, String>| {
        if let Some(map) = v.as_mapping() {
            for (k, v) in map {
                let text = match v {
                    serde_yaml::Value::String(s) => s.clone(),
                    serde_yaml::Value::Bool(b) => {
                        if *b {
                            "True".into()
                        } else {
                            "False".into()
                        }
                    }
                    serde_yaml::Value::Number(n) => n.to_string(),
                    _ => continue,
                };
                if let Some(k) = k.as_str() {
                    fields.insert(k.to_owned(), text);
                }
            }
        }
    };
    absorb(&src.meta, &mut fields);
    absorb(&table.meta, &mut fields);
    for (k, v) in &config.0 {
        if let Json::String(text) = v {
            fields.insert(k.clone(), text.clone());
        }
    }
    let Some(template) = fields.get("external_location").cloned() else {
        return Ok(None);
    };
    fields.insert("name".into(), table.name.clone());
    fields.insert("identifier".into(), relation.identifier.clone());
    fields.insert("schema".into(), relation.schema.clone());
    fields.insert("database".into(), relation.database.clone());
    let located = |msg: String| {
        Error::new(
            ErrorKind::Config,
            format!("source `{}.{}`: {msg}", src.name, table.name),
        )
        .or_location(|| {
            let text = std::fs::read_to_string(root.join(yml)).ok()?;
            let off = text.find("external_location")?;
            Some(Location::from_offset(yml, &text, off))
        })
        .with_hint("external_location is a Python format string: `{name}` is the table name; set `formatter: oldstyle` for locations with braces")
    };
    let formatter = fields
        .get("formatter")
        .map(|f| crate::warehouse::external::Formatter::parse(f))
        .transpose()
        .map_err(located)?
        .unwrap_or(crate::warehouse::external::Formatter::NewStyle);
    let location = crate::warehouse::external::source_location(&template, formatter, &fields)
        .map_err(located)?;
    Ok(Some(anchor_quoted_path(root, &location)))
}

/// A quoted relative file path (`'data/x.parquet'`) anchored at `root`, so
/// the source reads the same file whichever directory sluice runs from;
/// function calls, URLs and absolute paths are kept as written.
pub(crate) fn anchor_quoted_path(root: &Path, location: &str) -> String {
    let Some(inner) = location
        .strip_prefix('\'')
        .and_then(|l| l.strip_suffix('\''))
    else {
        return location.to_owned();
    };
    if inner.contains('\'') {
        return location.to_owned();
    }
    format!("'{}'", crate::warehouse::external::anchor(root, inner))
}
