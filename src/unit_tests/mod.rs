//! dbt 1.8 unit tests: `unit_tests:` in schema YAML, each running one
//! model's SQL on fixture rows (`given`) and comparing its output with
//! `expect`, without building anything upstream.
//!
//! As dbt: every `ref`/`source` of the model is replaced by a CTE of its
//! fixture rows (`format: dict` (default), `csv`, or `sql`; inline `rows`
//! or a `fixture:` file under `tests/fixtures/`); a seed without a fixture
//! is read as it is; fixture values are cast to the input's column types
//! (from the warehouse when the input exists there, else from its YAML
//! `data_type`s, else inferred from the values), and columns a fixture
//! leaves out are NULL; only the columns named in `expect` are compared, as
//! multisets of rows; `overrides` set `is_incremental`, vars and env vars;
//! `input: this` stands for the model's own table when incremental.
//! Beyond dbt: ephemeral parents need no `format: sql` fixture (they are
//! compiled as CTEs on top of the fixtures), and a failure prints the rows
//! missing from and unexpected in the output, as a row diff.

mod fixtures;

use std::collections::HashMap;
use std::sync::Arc;

use crate::compile::{compiled_path, render_with_ephemerals, CompileContext};
use crate::error::{Error, ErrorKind, Result};
use crate::manifest::{slash, Node, ResourceType};
use crate::project::config::yaml_to_json;
use crate::project::schema_yaml::GivenInput;
use crate::render::{Introspection, Resolver};
use crate::warehouse::connection::Connection;
use crate::warehouse::relation::quote;
use crate::warehouse::relation::Relation;
use fixtures::{read_fixture, rows_sql, Cell, FixtureData, Input, Rows};

/// What a unit test run found.
#[derive(Debug)]
pub struct UnitTestOutcome {
    /// `None` when the output equals `expect`; else the row diff, for people.
    pub diff: Option<String>,
    /// Rows missing from the output plus rows not expected in it.
    pub differing_rows: i64,
}

/// Runs unit test `node` on `conn`: compiles its model over the fixtures,
/// writes the SQL to the test's compiled path, and diffs the output against
/// `expect`.
///
/// Errors: [`ErrorKind::Config`] for a bad fixture or an input the model
/// does not read, [`ErrorKind::UnknownRef`] for a model input without a
/// fixture, Jinja errors of the model, [`ErrorKind::Database`] when the SQL fails.
pub fn run(cx: &CompileContext, conn: &dyn Connection, node: &Node) -> Result<UnitTestOutcome> {
    let def = node.unit_test.as_ref().ok_or_else(|| {
        Error::new(
            ErrorKind::Config,
            format!("`{}` is not a unit test", node.unique_id),
        )
    })?;
    let yml = node.original_file_path.clone();
    let model_pos = node
        .depends_on
        .first()
        .and_then(|m| cx.manifest.position(m))
        .ok_or_else(|| {
            Error::new(
                ErrorKind::UnknownRef,
                format!("the model of unit test `{}` is not enabled", node.name),
            )
        })?;
    let model = &cx.manifest.nodes[model_pos];
    let what = |input: &str| format!("unit test `{}`, input `{input}`", node.name);

    // The model and the ephemeral models it inlines read the inputs.
    let readers: Vec<&Node> = std::iter::once(model)
        .chain(
            crate::compile::ephemeral_ancestors(cx.manifest, model_pos)
                .into_iter()
                .map(|a| &cx.manifest.nodes[a]),
        )
        .collect();
    let mut resolver: Resolver = (**cx.resolver).clone();
    let mut ctes: Vec<String> = Vec::new();
    let mut given: HashMap<Input, ()> = HashMap::new();
    let mut this_relation = None;
    // `this` last: its column types may come from the model's own output
    // over the other fixtures.
    let mut ordered: Vec<&GivenInput> = def.given.iter().collect();
    ordered.sort_by_key(|g| Input::parse(&g.input) == Some(Input::This));
    for g in ordered {
        let input = Input::parse(&g.input).ok_or_else(|| {
            Error::new(ErrorKind::Config, format!("{}: `{}` is not a ref(), source() or this", what(&g.input), g.input))
                .with_hint("write `input: ref('model_name')`, `input: source('source_name', 'table_name')` or `input: this`")
        })?;
        let real = match &input {
            Input::Ref(pkg, name) => match pkg {
                Some(p) => resolver
                    .package_refs
                    .get(&(p.clone(), name.clone()))
                    .cloned(),
                None => resolver.refs.get(name).cloned(),
            },
            Input::Source(s, t) => resolver.sources.get(&(s.clone(), t.clone())).cloned(),
            Input::This => model.relation.clone(),
        };
        let reads = match &input {
            Input::Ref(_, name) => readers
                .iter()
                .any(|n| n.refs.iter().any(|r| &r.name == name)),
            Input::Source(s, t) => readers
                .iter()
                .any(|n| n.sources.iter().any(|(a, b)| a == s && b == t)),
            Input::This => true,
        };
        let Some(real) = real.filter(|_| reads) else {
            return Err(Error::new(
                ErrorKind::Config,
                format!(
                    "{}: model `{}` does not read `{}`",
                    what(&g.input),
                    model.name,
                    g.input
                ),
            )
            .with_hint(format!(
                "the model reads (itself or through ephemeral models): {}",
                readers
                    .iter()
                    .flat_map(|n| {
                        n.refs.iter().map(|r| format!("ref('{}')", r.name)).chain(
                            n.sources
                                .iter()
                                .map(|(s, t)| format!("source('{s}', '{t}')")),
                        )
                    })
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        };
        let body = match read_fixture(cx.project_root, &yml, &what(&g.input), &g.fixture)? {
            FixtureData::Sql(sql) => sql,
            FixtureData::Rows(rows) => {
                let mut schema = if real.is_cte() {
                    Vec::new()
                } else {
                    conn.columns(&real)?
                };
                if schema.is_empty() {
                    if let Input::Ref(_, name) | Input::Source(_, name) = &input {
                        schema = declared_schema(cx, &input, name);
                    } else {
                        schema =
                            declared_schema(cx, &Input::Ref(None, model.name.clone()), &model.name);
                    }
                }
                if schema.is_empty() && input == Input::This {
                    // The model's table does not exist yet: type `this` as the
                    // model's output on the other fixtures (a first, full run).
                    let mut first_run = resolver.clone();
                    first_run.incremental.remove(&model.unique_id);
                    let first_run = Arc::new(first_run);
                    let first_cx = CompileContext {
                        resolver: &first_run,
                        ..*cx
                    };
                    let sql =
                        render_with_ephemerals(&first_cx, model_pos, None, &Introspection::Off)?;
                    let sql = crate::sql::strip_trailing_semicolons(&sql);
                    let sql = if ctes.is_empty() {
                        sql.to_owned()
                    } else {
                        crate::compile::prepend_ctes(sql, &ctes.join(",\n"))
                    };
                    schema = describe(conn, &sql)?;
                }
                rows_sql(&rows, &schema, &what(&g.input))?
            }
        };
        let mock = Relation::cte(&input.cte_suffix());
        ctes.push(format!("{} as (\n{body}\n)", mock.identifier));
        match &input {
            Input::Ref(Some(p), name) => {
                resolver
                    .package_refs
                    .insert((p.clone(), name.clone()), mock.clone());
                resolver.refs.insert(name.clone(), mock);
            }
            Input::Ref(None, name) => {
                resolver.refs.insert(name.clone(), mock);
            }
            Input::Source(s, t) => {
                resolver.sources.insert((s.clone(), t.clone()), mock);
            }
            Input::This => this_relation = Some(mock),
        }
        given.insert(input, ());
    }
    // Every input needs a fixture, as dbt; a seed without one is read as it
    // is, and an ephemeral model is compiled on top of its own inputs.
    for reader in &readers {
        for r in &reader.refs {
            let input = Input::Ref(r.package.clone(), r.name.clone());
            let plain = Input::Ref(None, r.name.clone());
            if given.contains_key(&input) || given.contains_key(&plain) {
                continue;
            }
            let parent = cx
                .manifest
                .nodes
                .iter()
                .find(|n| n.name == r.name && n.relation.is_some());
            match parent.map(|p| (p.resource_type, p.config.is_ephemeral())) {
                Some((ResourceType::Seed, _)) => {}
                Some((ResourceType::Model, true)) => {}
                _ => return Err(missing_input(node, reader, &format!("ref('{}')", r.name))),
            }
        }
        for (s, t) in &reader.sources {
            if !given.contains_key(&Input::Source(s.clone(), t.clone())) {
                return Err(missing_input(
                    node,
                    reader,
                    &format!("source('{s}', '{t}')"),
                ));
            }
        }
    }
    if def
        .overrides
        .macros
        .get("is_incremental")
        .is_some_and(|v| v.as_bool() == Some(true))
    {
        resolver.incremental.insert(model.unique_id.clone());
    } else {
        resolver.incremental.remove(&model.unique_id);
    }
    resolver.macro_overrides = def
        .overrides
        .macros
        .iter()
        .filter(|(k, _)| k.as_str() != "is_incremental")
        .map(|(k, v)| (k.clone(), yaml_to_json(v)))
        .collect();
    resolver.var_overrides = def
        .overrides
        .vars
        .iter()
        .map(|(k, v)| (k.clone(), yaml_to_json(v)))
        .collect();
    resolver.env_overrides = def
        .overrides
        .env_vars
        .iter()
        .map(|(k, v)| {
            let v = match v {
                serde_yaml::Value::String(s) => s.clone(),
                other => serde_yaml::to_string(other)
                    .unwrap_or_default()
                    .trim()
                    .to_owned(),
            };
            (k.clone(), v)
        })
        .collect();
    let resolver = Arc::new(resolver);
    let test_cx = CompileContext {
        resolver: &resolver,
        ..*cx
    };
    let model_sql =
        render_with_ephemerals(&test_cx, model_pos, this_relation, &Introspection::Off)?;
    let model_sql = crate::sql::strip_trailing_semicolons(&model_sql).to_owned();
    let with_fixtures = if ctes.is_empty() {
        model_sql
    } else {
        crate::compile::prepend_ctes(&model_sql, &ctes.join(",\n"))
    };
    let path = compiled_path(cx.target_path, node);
    let abs = cx.project_root.join(&path);
    if let Some(dir) = abs.parent() {
        std::fs::create_dir_all(dir).map_err(|e| Error::io("create", dir, e))?;
    }
    std::fs::write(&abs, &with_fixtures).map_err(|e| Error::io("write", &path, e))?;

    // The output's columns and types, to type the expected rows alike.
    let actual_schema = describe(conn, &with_fixtures)
        .map_err(|e| e.with_note(format!("compiled unit test SQL at {}", slash(&path))))?;
    let expect = match read_fixture(
        cx.project_root,
        &yml,
        &format!("unit test `{}`, expect", node.name),
        &def.expect,
    )? {
        FixtureData::Rows(rows) => rows,
        FixtureData::Sql(sql) => {
            let t = conn.query_table(&format!("select * from ({sql}) __sluice_expect"))?;
            Rows {
                rows: t
                    .rows
                    .iter()
                    .map(|r| {
                        t.columns
                            .iter()
                            .zip(r)
                            .map(|(c, v)| {
                                let cell = match v {
                                    serde_json::Value::Null => Cell::Null,
                                    serde_json::Value::String(s) => Cell::Text(s.clone()),
                                    other => Cell::Raw(other.to_string()),
                                };
                                (c.clone(), cell)
                            })
                            .collect()
                    })
                    .collect(),
                columns: t.columns,
            }
        }
    };
    // Only the columns `expect` names are compared, as dbt.
    let mut compared: Vec<(String, String)> = Vec::new();
    for c in &expect.columns {
        match actual_schema
            .iter()
            .find(|(a, _)| a.eq_ignore_ascii_case(c))
        {
            Some(found) => compared.push(found.clone()),
            None => {
                return Err(Error::new(
                    ErrorKind::Config,
                    format!(
                        "unit test `{}` expects column `{c}`, which model `{}` does not return",
                        node.name, model.name
                    ),
                )
                .with_hint(format!(
                    "the model returns: {}",
                    actual_schema
                        .iter()
                        .map(|(a, _)| a.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                )))
            }
        }
    }
    if compared.is_empty() {
        compared = actual_schema.clone();
    }
    let expected_sql = rows_sql(
        &expect,
        &compared,
        &format!("unit test `{}`, expect", node.name),
    )?;
    let cols: Vec<String> = compared.iter().map(|(c, _)| quote(c)).collect();
    let cols = cols.join(", ");
    // Rows in column order, the expected (-) version of a row before the actual (+).
    let order = (2..=compared.len() + 1)
        .map(|i| i.to_string())
        .collect::<Vec<_>>()
        .join(", ");
    let diff_sql = format!(
        "with __sluice_actual as (select {cols} from (\n{with_fixtures}\n) __sluice_unit),\n\
         __sluice_expected as (select {cols} from (\n{expected_sql}\n) __sluice_e)\n\
         select '-' as __sluice_diff, * from (select * from __sluice_expected except all select * from __sluice_actual) m\n\
         union all\n\
         select '+' as __sluice_diff, * from (select * from __sluice_actual except all select * from __sluice_expected) u\n\
         order by {order}, __sluice_diff desc"
    );
    let diff = conn.query(&diff_sql)?;
    if diff.is_empty() {
        return Ok(UnitTestOutcome {
            diff: None,
            differing_rows: 0,
        });
    }
    Ok(UnitTestOutcome {
        differing_rows: diff.len() as i64,
        diff: Some(render_diff(&compared, &diff)),
    })
}

/// Column names and types of a query's result.
fn describe(conn: &dyn Connection, sql: &str) -> Result<Vec<(String, String)>> {
    conn.describe(&format!("select * from (\n{sql}\n) __sluice_unit"))
}

/// Column types the project declares for an input without a table yet:
/// YAML `data_type`s of the model, seed or source table.
fn declared_schema(cx: &CompileContext, input: &Input, name: &str) -> Vec<(String, String)> {
    let node = cx.manifest.nodes.iter().find(|n| match input {
        Input::Source(s, _) => {
            n.resource_type == ResourceType::Source
                && n.name == name
                && n.source.as_ref().is_some_and(|i| &i.source_name == s)
        }
        _ => n.name == name && n.resource_type != ResourceType::Source && n.relation.is_some(),
    });
    node.map(|n| {
        n.columns
            .iter()
            .filter_map(|c| Some((c.name.clone(), c.data_type.clone()?)))
            .collect()
    })
    .unwrap_or_default()
}

fn missing_input(test: &Node, model: &Node, call: &str) -> Error {
    Error::new(
        ErrorKind::UnknownRef,
        format!(
            "unit test `{}`: model `{}` reads `{call}`, which has no `given` input",
            test.name, model.name
        ),
    )
    .with_hint(format!(
        "add `- input: {call}` with `rows:` under `given:` (`rows: []` for an empty input)"
    ))
}

/// The diff as an aligned table: `-` rows expected but missing, `+` rows
/// returned but not expected.
fn render_diff(columns: &[(String, String)], rows: &[Vec<Option<String>>]) -> String {
    let mut table: Vec<Vec<String>> = vec![std::iter::once("@@".to_owned())
        .chain(columns.iter().map(|(c, _)| c.clone()))
        .collect()];
    for r in rows {
        table.push(
            r.iter()
                .map(|v| v.clone().unwrap_or_else(|| "NULL".to_owned()))
                .collect(),
        );
    }
    let widths: Vec<usize> = (0..table[0].len())
        .map(|i| {
            table
                .iter()
                .map(|r| r.get(i).map_or(0, |c| c.chars().count()))
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |r: &Vec<String>| {
        r.iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect::<Vec<_>>()
            .join(" | ")
            .trim_end()
            .to_owned()
    };
    let missing = rows
        .iter()
        .filter(|r| r.first().cloned().flatten().as_deref() == Some("-"))
        .count();
    let extra = rows.len() - missing;
    let mut out = format!(
        "actual differs from expected: {missing} expected row{} missing (-), {extra} unexpected row{} (+)\n\n",
        if missing == 1 { "" } else { "s" },
        if extra == 1 { "" } else { "s" }
    );
    out.push_str(&line(&table[0]));
    out.push('\n');
    out.push_str(
        &widths
            .iter()
            .map(|w| "-".repeat(*w))
            .collect::<Vec<_>>()
            .join("-+-"),
    );
    for r in &table[1..] {
        out.push('\n');
        out.push_str(&line(r));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inputs_parse_as_dbt_writes_them() {
        assert_eq!(Input::parse("ref('a')"), Some(Input::Ref(None, "a".into())));
        assert_eq!(
            Input::parse("ref(\"p\", \"a\")"),
            Some(Input::Ref(Some("p".into()), "a".into()))
        );
        assert_eq!(
            Input::parse("source('raw', 'orders')"),
            Some(Input::Source("raw".into(), "orders".into()))
        );
        assert_eq!(Input::parse(" this "), Some(Input::This));
        assert_eq!(Input::parse("orders"), None);
    }

    #[test]
    fn rows_fill_missing_columns_with_typed_nulls() {
        let rows = Rows {
            columns: vec!["id".into()],
            rows: vec![HashMap::from([("id".to_owned(), Cell::Raw("1".into()))])],
        };
        let schema = vec![
            ("id".to_owned(), "INTEGER".to_owned()),
            ("name".to_owned(), "VARCHAR".to_owned()),
        ];
        assert_eq!(
            rows_sql(&rows, &schema, "t").unwrap(),
            "select cast(1 as INTEGER) as \"id\", cast(null as VARCHAR) as \"name\""
        );
        let empty = Rows::default();
        assert_eq!(
            rows_sql(&empty, &schema, "t").unwrap(),
            "select cast(null as INTEGER) as \"id\", cast(null as VARCHAR) as \"name\" where false"
        );
        assert!(rows_sql(&empty, &[], "t").is_err());
    }

    #[test]
    fn csv_cells_are_typed_by_their_look() {
        assert!(matches!(Cell::from_csv("12"), Cell::Raw(s) if s == "12"));
        assert!(matches!(Cell::from_csv(""), Cell::Null));
        assert!(matches!(Cell::from_csv("TRUE"), Cell::Raw(s) if s == "true"));
        assert!(matches!(Cell::from_csv("a,b"), Cell::Text(_)));
    }
}
