//! Unit-test fixtures as dbt reads them: an input named in `given`
//! (`ref(...)`, `source(...)`, `this`), its rows in `dict`, `csv` or `sql`
//! format (inline or a `fixture:` file), and the `select ... union all`
//! that stands for the input, cast to its column types.

use std::collections::HashMap;
use std::path::Path;
use std::sync::LazyLock;

use regex::Regex;

use crate::error::{Error, ErrorKind, Result};
use crate::manifest::slash;
use crate::project::config::yaml_to_json;
use crate::project::schema_yaml::Fixture;
use crate::warehouse::relation::{literal, quote};

/// An input of the model, as `given` names it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum Input {
    Ref(Option<String>, String),
    Source(String, String),
    This,
}

impl Input {
    pub(crate) fn parse(text: &str) -> Option<Input> {
        static REF: LazyLock<Regex> = LazyLock::new(|| {
            Regex::new(r#"^\s*ref\(\s*['"]([^'"]+)['"]\s*(?:,\s*['"]([^'"]+)['"]\s*)?(?:,\s*v(?:ersion)?\s*=\s*[^)]*)?\)\s*$"#)
                .expect("valid regex")
        });
        static SOURCE: LazyLock<Regex> = LazyLock::new(|| {
            Regex::new(r#"^\s*source\(\s*['"]([^'"]+)['"]\s*,\s*['"]([^'"]+)['"]\s*\)\s*$"#)
                .expect("valid regex")
        });
        if text.trim() == "this" {
            return Some(Input::This);
        }
        if let Some(c) = REF.captures(text) {
            return Some(match c.get(2) {
                Some(name) => Input::Ref(Some(c[1].to_owned()), name.as_str().to_owned()),
                None => Input::Ref(None, c[1].to_owned()),
            });
        }
        SOURCE
            .captures(text)
            .map(|c| Input::Source(c[1].to_owned(), c[2].to_owned()))
    }

    /// The CTE a fixture becomes: `__dbt__cte__` and this, as dbt names them.
    pub(crate) fn cte_suffix(&self) -> String {
        match self {
            Input::Ref(_, name) => name.clone(),
            Input::Source(s, t) => format!("{s}__{t}"),
            Input::This => "this".to_owned(),
        }
    }
}

/// A cell of a fixture row.
#[derive(Debug, Clone)]
pub(crate) enum Cell {
    Null,
    /// A literal as typed in YAML (number, boolean).
    Raw(String),
    /// Text, quoted when rendered.
    Text(String),
}

/// Fixture rows: columns in first-seen order and one cell per column per row.
#[derive(Debug, Default)]
pub(crate) struct Rows {
    /// Column names, in the order the fixture first names them.
    pub(crate) columns: Vec<String>,
    /// Each row's cells by column name (a column a row leaves out is NULL).
    pub(crate) rows: Vec<HashMap<String, Cell>>,
}

impl Cell {
    pub(crate) fn sql(&self, data_type: Option<&str>) -> String {
        let lit = match self {
            Cell::Null => "null".to_owned(),
            Cell::Raw(s) => s.clone(),
            Cell::Text(s) => literal(s),
        };
        match data_type {
            Some(t) => format!("cast({lit} as {t})"),
            None => lit,
        }
    }

    /// A CSV cell: typed by its look when the column type is unknown.
    pub(crate) fn from_csv(text: &str) -> Cell {
        let t = text.trim();
        if t.is_empty() || t.eq_ignore_ascii_case("null") {
            Cell::Null
        } else if t.parse::<i64>().is_ok() || t.parse::<f64>().is_ok_and(f64::is_finite) {
            Cell::Raw(t.to_owned())
        } else if t.eq_ignore_ascii_case("true") || t.eq_ignore_ascii_case("false") {
            Cell::Raw(t.to_ascii_lowercase())
        } else {
            Cell::Text(text.to_owned())
        }
    }
}

/// A fixture read into rows, or a query (`format: sql`).
pub(crate) enum FixtureData {
    Rows(Rows),
    Sql(String),
}

/// Reads `fixture` (for the unit test in `yml`).
///
/// Errors: [`ErrorKind::Config`] for an unknown format, rows of the wrong
/// shape, or a missing fixture file.
pub(crate) fn read_fixture(
    project_root: &Path,
    yml: &Path,
    what: &str,
    fixture: &Fixture,
) -> Result<FixtureData> {
    let bad = |msg: String| {
        Error::new(
            ErrorKind::Config,
            format!("{what} in `{}`: {msg}", slash(yml)),
        )
    };
    let format = fixture.format.as_deref().unwrap_or("dict");
    let text_rows = |ext: &str| -> Result<String> {
        match (&fixture.rows, &fixture.fixture) {
            (Some(serde_yaml::Value::String(s)), _) => Ok(s.clone()),
            (_, Some(name)) => {
                let path = project_root
                    .join("tests")
                    .join("fixtures")
                    .join(format!("{name}.{ext}"));
                std::fs::read_to_string(&path).map_err(|e| {
                    Error::io("read", &path, e).with_hint(format!(
                        "fixture files live in tests/fixtures/ as `{name}.{ext}`"
                    ))
                })
            }
            _ => Err(bad(format!(
                "`format: {format}` needs `rows:` as text or a `fixture:` file name"
            ))),
        }
    };
    match format {
        "dict" => {
            let rows = match &fixture.rows {
                Some(serde_yaml::Value::Sequence(rows)) => rows.clone(),
                None | Some(serde_yaml::Value::Null) => Vec::new(),
                Some(_) => {
                    return Err(bad(
                        "`rows:` must be a list of mappings (`- {id: 1, name: a}`)".into(),
                    ))
                }
            };
            let mut out = Rows::default();
            for row in rows {
                let serde_yaml::Value::Mapping(map) = row else {
                    return Err(bad("each row must be a mapping of column to value".into()));
                };
                let mut cells = HashMap::new();
                for (k, v) in map {
                    let col = match k {
                        serde_yaml::Value::String(s) => s,
                        other => serde_yaml::to_string(&other)
                            .unwrap_or_default()
                            .trim()
                            .to_owned(),
                    };
                    let cell = match v {
                        serde_yaml::Value::Null => Cell::Null,
                        serde_yaml::Value::Bool(b) => Cell::Raw(b.to_string()),
                        serde_yaml::Value::Number(n) => Cell::Raw(n.to_string()),
                        serde_yaml::Value::String(s) => Cell::Text(s),
                        other => Cell::Text(
                            serde_json::to_string(&yaml_to_json(&other)).unwrap_or_default(),
                        ),
                    };
                    if !out.columns.contains(&col) {
                        out.columns.push(col.clone());
                    }
                    cells.insert(col, cell);
                }
                out.rows.push(cells);
            }
            Ok(FixtureData::Rows(out))
        }
        "csv" => {
            let text = text_rows("csv")?;
            let mut reader = csv::ReaderBuilder::new()
                .trim(csv::Trim::Headers)
                .from_reader(text.trim().as_bytes());
            let columns: Vec<String> = reader
                .headers()
                .map_err(|e| bad(format!("bad CSV header: {e}")))?
                .iter()
                .map(str::to_owned)
                .collect();
            let mut out = Rows {
                columns: columns.clone(),
                rows: Vec::new(),
            };
            for record in reader.records() {
                let record = record.map_err(|e| bad(format!("bad CSV row: {e}")))?;
                out.rows.push(
                    columns
                        .iter()
                        .zip(record.iter())
                        .map(|(c, v)| (c.clone(), Cell::from_csv(v)))
                        .collect(),
                );
            }
            Ok(FixtureData::Rows(out))
        }
        "sql" => Ok(FixtureData::Sql(text_rows("sql")?)),
        other => Err(bad(format!("unknown fixture format `{other}`"))
            .with_hint("use `format: dict`, `format: csv` or `format: sql`")),
    }
}

/// `select ... union all select ...` of `rows`, with `schema` (column ->
/// type) giving the columns and casts; columns a row leaves out are NULL.
pub(crate) fn rows_sql(rows: &Rows, schema: &[(String, String)], what: &str) -> Result<String> {
    let mut columns: Vec<(String, Option<String>)> = schema
        .iter()
        .map(|(c, t)| (c.clone(), Some(t.clone())))
        .collect();
    for c in &rows.columns {
        if !columns.iter().any(|(k, _)| k.eq_ignore_ascii_case(c)) {
            columns.push((c.clone(), None));
        }
    }
    if columns.is_empty() {
        return Err(Error::new(
            ErrorKind::Config,
            format!("{what} has no rows and its columns are unknown"),
        )
        .with_hint("give at least one row, or build the input first so its columns can be read from the warehouse"));
    }
    let select = |row: Option<&HashMap<String, Cell>>| {
        let cells: Vec<String> = columns
            .iter()
            .map(|(c, t)| {
                let cell = row
                    .and_then(|r| {
                        r.iter()
                            .find(|(k, _)| k.eq_ignore_ascii_case(c))
                            .map(|(_, v)| v)
                    })
                    .unwrap_or(&Cell::Null);
                // An untyped NULL would be typed INTEGER by DuckDB: leave its type to other rows.
                let t = t.as_deref().or(match cell {
                    Cell::Null if row.is_none() => Some("varchar"),
                    _ => None,
                });
                format!("{} as {}", cell.sql(t), quote(c))
            })
            .collect();
        format!("select {}", cells.join(", "))
    };
    if rows.rows.is_empty() {
        return Ok(format!("{} where false", select(None)));
    }
    Ok(rows
        .rows
        .iter()
        .map(|r| select(Some(r)))
        .collect::<Vec<_>>()
        .join("\nunion all\n"))
}
