//! The `adapter` object's catalog methods, as dbt-adapters' `@available`
//! methods with dbt-duckdb's SQL: looking relations, columns and schemas
//! up (`get_relation`, `get_columns_in_relation`, `list_schemas`, ...) and
//! changing them (`drop_relation`, `rename_relation`, `create_schema`, ...).
//!
//! As in dbt, nothing runs while parsing (`execute` false): lookups answer
//! none, an empty list or false, changes do nothing. When compiling ahead
//! of a run, the render is marked introspective and compiled again, live,
//! right before the node runs (see [`crate::render::Introspection`]).

use minijinja::{Error, ErrorKind, State, Value};

use crate::render::call::{kwarg, relation_parts, run_statement, scope, warehouse, wrap};
use crate::render::column::Column;
use crate::render::pycompat::MutableList;
use crate::warehouse::connection::{Connection, Table};
use crate::warehouse::relation::{literal, quote, Relation, RelationKind};

/// Calls adapter method `method`, or returns `None` when it is not one of
/// this module's.
///
/// Errors: a missing or mistyped argument; a statement the warehouse rejects.
pub fn call_method(state: &State, method: &str, args: &[Value]) -> Option<Result<Value, Error>> {
    Some(match method {
        "get_relation" => get_relation_call(state, args),
        "get_columns_in_relation" => {
            relation_arg(args, "relation", 0).and_then(|r| columns_value(state, &r))
        }
        "get_missing_columns" => get_missing_columns(state, args),
        "list_relations_without_caching" => relation_arg(args, "schema_relation", 0)
            .and_then(|r| list_relations(state, &r.database, &r.schema)),
        "list_schemas" => list_schemas(state, args),
        "check_schema_exists" => check_schema_exists(state, args),
        "already_exists" => already_exists(state, args),
        "drop_relation" => relation_arg(args, "relation", 0).and_then(|r| drop_relation(state, &r)),
        "truncate_relation" => relation_arg(args, "relation", 0)
            .and_then(|r| change(state, &format!("truncate table {}", r.rendered()), |_| ())),
        "rename_relation" => rename_relation(state, args),
        "create_schema" => relation_arg(args, "relation", 0).and_then(|r| {
            let sql = format!(
                "create schema if not exists {}",
                r.without_identifier().rendered()
            );
            change(state, &sql, |_| ())
        }),
        "drop_schema" => relation_arg(args, "relation", 0).and_then(|r| {
            let sql = format!(
                "drop schema if exists {} cascade",
                r.without_identifier().rendered()
            );
            change(state, &sql, |_| ())
        }),
        // dbt-duckdb's `expand_column_types` does nothing: DuckDB strings
        // have no length to widen. The arguments are still checked, as dbt.
        "expand_target_column_types" => relation_arg(args, "from_relation", 0)
            .and_then(|_| relation_arg(args, "to_relation", 1))
            .map(|_| Value::from(())),
        "quote_as_configured" => quote_as_configured(args),
        // dbt-duckdb's: the profile's `external_root` (anchored at the project).
        "external_root" => Ok(state
            .lookup("target")
            .and_then(|t| t.get_attr("external_root").ok())
            .unwrap_or_else(|| Value::from("."))),
        "quote_seed_column" => quote_seed_column(args),
        // dbt's relation cache is not modelled: there is nothing to update.
        "cache_added" | "cache_dropped" | "cache_renamed" | "commit" => Ok(Value::from("")),
        _ => return None,
    })
}

/// The relation in argument `pos` (or keyword `name`): a relation object,
/// or anything with `database`, `schema` and `identifier` attributes.
///
/// Errors: the argument is missing or is not a relation, as dbt's `MacroArgTypeError`.
fn relation_arg(args: &[Value], name: &str, pos: usize) -> Result<Relation, Error> {
    let value = kwarg(args, name, pos).ok_or_else(|| {
        Error::new(
            ErrorKind::MissingArgument,
            format!("`{name}` is required: pass a relation (from ref(), source(), this or api.Relation.create)"),
        )
    })?;
    if let Some(rel) = value.downcast_object_ref::<Relation>() {
        return Ok(rel.clone());
    }
    if value.is_none() || value.is_undefined() {
        return Err(Error::new(
            ErrorKind::InvalidOperation,
            format!("`{name}` is none: expected a relation (from ref(), source(), this or api.Relation.create)"),
        ));
    }
    let [database, schema, identifier] = relation_parts(&value)?;
    Ok(Relation::new(&database, &schema, &identifier))
}

/// A text argument, none counting as missing.
fn text(args: &[Value], name: &str, pos: usize) -> Option<String> {
    kwarg(args, name, pos)
        .filter(|v| !v.is_none() && !v.is_undefined())
        .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned))
}

/// The rows of `sql` on the render's warehouse connection, or `None` when
/// nothing runs in this render.
fn rows(state: &State, sql: &str) -> Result<Option<Table>, Error> {
    match warehouse(state) {
        None => Ok(None),
        Some(conn) => run_statement(&conn, sql, true).map(|(_, t)| Some(t)),
    }
}

/// Runs `sql` to change the warehouse, then `record` on the connection (to
/// keep a run's catalog cache current); does nothing while parsing.
fn change(state: &State, sql: &str, record: impl FnOnce(&dyn Connection)) -> Result<Value, Error> {
    if let Some(conn) = warehouse(state) {
        run_statement(&conn, sql, false)?;
        if let Ok(conn) = conn.lock() {
            record(conn.as_ref());
        }
    }
    Ok(Value::from(()))
}

fn cell(row: &[serde_json::Value], i: usize) -> String {
    row.get(i)
        .and_then(serde_json::Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

/// A relation of the catalog query's `table_type` (`BASE TABLE`, `VIEW`, `LOCAL TEMPORARY`).
fn typed(database: &str, schema: &str, identifier: &str, table_type: &str) -> Relation {
    let kind = if table_type.eq_ignore_ascii_case("VIEW") {
        RelationKind::View
    } else {
        RelationKind::Table
    };
    Relation::new(database, schema, identifier).with_kind(Some(kind))
}

fn get_relation_call(state: &State, args: &[Value]) -> Result<Value, Error> {
    let part = |name: &str, pos: usize| text(args, name, pos).unwrap_or_default();
    get_relation(
        state,
        &[
            part("database", 0),
            part("schema", 1),
            part("identifier", 2),
        ],
    )
}

/// As dbt's `adapter.get_relation(database, schema, identifier)`: the
/// relation, typed `table` or `view`, if it exists in the warehouse, else
/// none (none too while parsing or compiling ahead). Names match ignoring
/// case, as DuckDB resolves them.
///
/// Errors: the catalog query fails.
pub fn get_relation(state: &State, parts: &[String; 3]) -> Result<Value, Error> {
    let found = on_warehouse(state, |conn| {
        conn.find_relation(&parts[0], &parts[1], &parts[2])
    })?;
    Ok(match found.flatten() {
        Some([db, schema, name, kind]) => Value::from_object(typed(&db, &schema, &name, &kind)),
        None => Value::from(()),
    })
}

/// `f` on the connection statements run on in this render (see
/// [`warehouse`]), or `None` while parsing. Its errors say they came from
/// a catalog lookup made while compiling.
fn on_warehouse<T>(
    state: &State,
    f: impl FnOnce(&dyn Connection) -> crate::error::Result<T>,
) -> Result<Option<T>, Error> {
    let Some(conn) = warehouse(state) else {
        return Ok(None);
    };
    let conn = conn
        .lock()
        .map_err(|_| Error::new(ErrorKind::InvalidOperation, "connection lock poisoned"))?;
    f(conn.as_ref()).map(Some).map_err(|e| {
        wrap(e.with_note("in a catalog lookup made while compiling (an adapter method)"))
    })
}

/// The columns of `relation` in the warehouse, in order, as dbt-duckdb
/// builds them (name and type as DuckDB reports them, no sizes); empty
/// when it does not exist (dbt-duckdb's behaviour for callers that probe
/// existence) and while parsing.
///
/// Errors: the catalog query fails.
pub fn columns(state: &State, relation: &Relation) -> Result<Vec<Column>, Error> {
    // `pragma_table_info` looks the one relation up (~0.3 ms); filtering
    // `duckdb_columns()` scans every catalog's columns (~3.5 ms per call
    // even on an empty database), which dominated packages' `star` calls.
    // A missing relation is a catalog error, answered as dbt-duckdb does:
    // no columns. The introspection connection runs in autocommit, so the
    // failed lookup aborts nothing.
    let name = format!(
        "{}.{}.{}",
        quote(&relation.database),
        quote(&relation.schema),
        quote(&relation.identifier)
    );
    if adapter_type(state) != "duckdb" {
        // Other engines answer through the connection (information_schema on
        // PostgreSQL, as dbt-postgres's get_columns_in_relation; `describe
        // table` on Spark): a missing relation has no columns.
        let cols = on_warehouse(state, |conn| conn.columns(relation))?;
        return Ok(cols
            .unwrap_or_default()
            .iter()
            .map(|(n, t)| Column::new(n, t))
            .collect());
    }
    let sql = format!(
        "select name, type from pragma_table_info({})",
        literal(&name)
    );
    match rows(state, &sql) {
        Ok(table) => Ok(table
            .map(|t| {
                t.rows
                    .iter()
                    .map(|r| Column::new(&cell(r, 0), &cell(r, 1)))
                    .collect()
            })
            .unwrap_or_default()),
        Err(e) if e.to_string().contains("Catalog Error") => Ok(Vec::new()),
        Err(e) => Err(e),
    }
}

/// The target's adapter type (`duckdb`, `postgres`), from the `target`
/// global; `duckdb` when rendering without one.
pub fn adapter_type(state: &State) -> String {
    state
        .lookup("target")
        .and_then(|t| t.get_attr("type").ok())
        .and_then(|t| t.as_str().map(str::to_owned))
        .unwrap_or_else(|| "duckdb".to_owned())
}

/// As dbt's `get_columns_in_relation`: a Python list (macros append to and
/// pop from it) of Column objects.
fn columns_value(state: &State, relation: &Relation) -> Result<Value, Error> {
    Ok(MutableList::value(
        columns(state, relation)?
            .into_iter()
            .map(Column::into_value)
            .collect(),
    ))
}

/// As dbt's `get_missing_columns(from_relation, to_relation)`: the columns
/// of the first relation whose names the second lacks, in a Python list.
fn get_missing_columns(state: &State, args: &[Value]) -> Result<Value, Error> {
    let from = relation_arg(args, "from_relation", 0)?;
    let to = relation_arg(args, "to_relation", 1)?;
    let present: std::collections::HashSet<String> =
        columns(state, &to)?.into_iter().map(|c| c.column).collect();
    Ok(MutableList::value(
        columns(state, &from)?
            .into_iter()
            .filter(|c| !present.contains(&c.column))
            .map(Column::into_value)
            .collect(),
    ))
}

/// The relations of one schema, typed, as dbt-duckdb's
/// `list_relations_without_caching` (sorted by name), in a Python list.
fn list_relations(state: &State, database: &str, schema: &str) -> Result<Value, Error> {
    let found = on_warehouse(state, |conn| conn.schema_relations(database, schema))?;
    Ok(MutableList::value(
        found
            .unwrap_or_default()
            .iter()
            .map(|[s, name, kind]| Value::from_object(typed(database, s, name, kind)))
            .collect(),
    ))
}

/// The schema names of a database (the target's when none is given), as
/// dbt-duckdb's `list_schemas`.
fn list_schemas(state: &State, args: &[Value]) -> Result<Value, Error> {
    let database = match text(args, "database", 0) {
        Some(d) => d,
        None => scope(state, "adapter.list_schemas")?
            .resolver
            .database
            .clone(),
    };
    let names = on_warehouse(state, |conn| conn.schema_names(&database))?;
    Ok(Value::from(names.unwrap_or_default()))
}

/// As dbt's `check_schema_exists(database, schema)`; false while parsing.
fn check_schema_exists(state: &State, args: &[Value]) -> Result<Value, Error> {
    let (Some(database), Some(schema)) = (text(args, "database", 0), text(args, "schema", 1))
    else {
        return Err(Error::new(
            ErrorKind::MissingArgument,
            "`adapter.check_schema_exists` needs a database and a schema",
        ));
    };
    let names = on_warehouse(state, |conn| conn.schema_names(&database))?;
    Ok(Value::from(names.is_some_and(|names| {
        names.iter().any(|n| n.eq_ignore_ascii_case(&schema))
    })))
}

/// dbt's deprecated `already_exists(schema, name)`: whether the relation
/// exists in the target database.
fn already_exists(state: &State, args: &[Value]) -> Result<Value, Error> {
    let database = scope(state, "adapter.already_exists")?
        .resolver
        .database
        .clone();
    let parts = [
        database,
        text(args, "schema", 0).unwrap_or_default(),
        text(args, "name", 1).unwrap_or_default(),
    ];
    Ok(Value::from(!get_relation(state, &parts)?.is_none()))
}

/// The relation's type, looked up when the relation does not carry one;
/// `None` when it does not exist.
fn kind_of(state: &State, relation: &Relation) -> Result<Option<RelationKind>, Error> {
    if relation.kind.is_some() {
        return Ok(relation.kind);
    }
    let found = get_relation(
        state,
        &[
            relation.database.clone(),
            relation.schema.clone(),
            relation.identifier.clone(),
        ],
    )?;
    Ok(found.downcast_object_ref::<Relation>().and_then(|r| r.kind))
}

/// dbt-duckdb's `drop_relation`: `drop <type> if exists <relation> cascade`.
/// A relation without a type is looked up first (dbt would fail on
/// `drop None`); one that does not exist is left alone.
fn drop_relation(state: &State, relation: &Relation) -> Result<Value, Error> {
    if warehouse(state).is_none() {
        return Ok(Value::from(()));
    }
    let Some(kind) = kind_of(state, relation)? else {
        return Ok(Value::from(()));
    };
    let sql = format!(
        "drop {} if exists {} cascade",
        kind.as_str(),
        relation.rendered()
    );
    change(state, &sql, |conn| conn.record_relation(relation, None))
}

/// dbt-duckdb's `rename_relation(from_relation, to_relation)`:
/// `alter <type> <from> rename to "<to identifier>"`.
fn rename_relation(state: &State, args: &[Value]) -> Result<Value, Error> {
    let from = relation_arg(args, "from_relation", 0)?;
    let to = relation_arg(args, "to_relation", 1)?;
    if warehouse(state).is_none() {
        return Ok(Value::from(()));
    }
    let Some(kind) = kind_of(state, &from)?.or(to.kind) else {
        return Err(Error::new(
            ErrorKind::InvalidOperation,
            format!("cannot rename `{from}`: it does not exist"),
        ));
    };
    let sql = format!(
        "alter {} {} rename to {}",
        kind.as_str(),
        from.rendered(),
        quote(&to.identifier)
    );
    let recorded = Relation {
        database: from.database.clone(),
        schema: from.schema.clone(),
        ..to.clone()
    };
    change(state, &sql, |conn| {
        conn.record_relation(&from, None);
        let table_type = match kind {
            RelationKind::View => crate::warehouse::connection::RelationType::View,
            _ => crate::warehouse::connection::RelationType::Table,
        };
        conn.record_relation(&recorded, Some(table_type));
    })
}

/// dbt's `quote_as_configured(identifier, quote_key)`: quoted for the
/// keys `database`, `schema` and `identifier` (quoted by default, and
/// sluice has no `quoting:` config), as it is for any other key.
fn quote_as_configured(args: &[Value]) -> Result<Value, Error> {
    let identifier = text(args, "identifier", 0).ok_or_else(|| {
        Error::new(
            ErrorKind::MissingArgument,
            "`adapter.quote_as_configured` needs an identifier",
        )
    })?;
    let key = text(args, "quote_key", 1).unwrap_or_default();
    Ok(Value::from(
        if matches!(key.as_str(), "database" | "schema" | "identifier") {
            quote(&identifier)
        } else {
            identifier
        },
    ))
}

/// dbt's `quote_seed_column(column, quote_config)`: quoted unless `quote_config` is false.
///
/// Errors: a `quote_config` that is neither a bool nor none, as dbt.
fn quote_seed_column(args: &[Value]) -> Result<Value, Error> {
    let column = text(args, "column", 0).unwrap_or_default();
    let config = kwarg(args, "quote_config", 1).filter(|v| !v.is_none() && !v.is_undefined());
    let quoted = match config {
        None => true,
        Some(v) => bool::try_from(v.clone()).map_err(|_| {
            Error::new(
                ErrorKind::InvalidOperation,
                format!("the seed config `quote_columns` must be true or false, got `{v}`"),
            )
        })?,
    };
    Ok(Value::from(if quoted { quote(&column) } else { column }))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::path::Path;
    use std::sync::{Arc, Mutex};

    use crate::project::Target;
    use crate::render::{Introspection, NodeScope, NodeVars, Phase, Renderer, Resolver};

    fn renderer() -> Renderer {
        let target = Target::embedded(Path::new("."), "shop");
        Renderer::from_parts("shop", &[], &BTreeMap::new(), &target, &[]).unwrap()
    }

    fn vars() -> NodeVars {
        NodeVars {
            this: None,
            model: minijinja::Value::from(()),
            test_kwargs: None,
        }
    }

    fn scope(introspection: Introspection, phase: Phase) -> Arc<NodeScope> {
        let resolver = Resolver {
            database: "memory".into(),
            schema: "main".into(),
            ..Resolver::default()
        };
        Arc::new(
            NodeScope::new(
                phase,
                "model.shop.m",
                Default::default(),
                Arc::new(resolver),
            )
            .with_introspection(introspection),
        )
    }

    /// A live scope on an in-memory DuckDB with a table `t` and a view `v`.
    fn live() -> Arc<NodeScope> {
        let target = Target {
            path: ":memory:".into(),
            ..Target::embedded(Path::new("."), "shop")
        };
        let db = crate::adapter::duckdb::Database::open(&target).unwrap();
        let conn: Box<dyn crate::warehouse::connection::Connection> =
            Box::new(db.connect().unwrap());
        conn.execute(
            "create table t as select 1::integer as id, 'x'::varchar as name, 1.5::decimal(10,2) as amount, 2.5::double as score; \
             create view v as select id from t; create schema other",
        )
        .unwrap();
        scope(
            Introspection::Live(Arc::new(Mutex::new(conn))),
            Phase::Compile,
        )
    }

    fn render(scope: &Arc<NodeScope>, sql: &str) -> String {
        renderer()
            .render("models/m.sql", sql, scope, &vars())
            .unwrap()
            .trim()
            .to_owned()
    }

    /// Pins dbt-duckdb's `get_columns_in_relation`: Column objects with
    /// DuckDB's type names as `dtype` and dbt's `data_type`.
    #[test]
    fn columns_are_column_objects() {
        let s = live();
        let out = render(
            &s,
            "{% for c in adapter.get_columns_in_relation(api.Relation.create('memory', 'main', 't')) %}{{ c.name }}:{{ c.dtype }}:{{ c.data_type }}:{{ c.is_string() }}{{ c.is_number() }};{% endfor %}",
        );
        assert_eq!(
            out,
            "id:INTEGER:INTEGER:FalseTrue;name:VARCHAR:character varying(256):TrueFalse;amount:DECIMAL(10,2):DECIMAL(10,2):FalseFalse;score:DOUBLE:DOUBLE:FalseTrue;"
        );
        // A relation that does not exist has no columns (dbt-duckdb returns []).
        assert_eq!(
            render(&s, "{{ adapter.get_columns_in_relation(api.Relation.create('memory', 'main', 'nope')) | length }}"),
            "0"
        );
        // The list is a Python list: macros pop from it and append to it.
        assert_eq!(
            render(&s, "{% set cols = adapter.get_columns_in_relation(api.Relation.create('memory', 'main', 't')) %}{% set last = cols.pop() %}{% do cols.append(last) %}{% do cols.insert(0, 'x') %}{{ cols | length }} {{ cols[0] }} {{ cols[-1].name }}"),
            "5 x score"
        );
    }

    /// Pins dbt's `get_relation` (typed), `list_relations_without_caching`,
    /// `check_schema_exists`, `get_missing_columns` and `quote_as_configured`.
    #[test]
    fn catalog_lookups_as_dbt() {
        let s = live();
        let out = render(
            &s,
            "{% set t = adapter.get_relation('memory', 'main', 't') %}{% set v = adapter.get_relation(database='memory', schema='main', identifier='v') %}\
{{ t.type }} {{ t.is_table }} {{ v.type }} {{ v.is_view }}|\
{% for r in adapter.list_relations_without_caching(api.Relation.create(database='memory', schema='main')) %}{{ r.identifier }}={{ r.type }},{% endfor %}|\
{{ adapter.check_schema_exists('memory', 'other') }} {{ adapter.check_schema_exists('memory', 'nope') }} {{ 'other' in adapter.list_schemas('memory') }}|\
{{ adapter.get_missing_columns(t, v) | map(attribute='name') | join(',') }}|\
{{ adapter.quote_as_configured('Foo', 'identifier') }} {{ adapter.quote_as_configured('Foo', 'column') }}",
        );
        assert_eq!(
            out,
            r#"table True view True|t=table,v=view,|True False True|name,amount,score|"Foo" Foo"#
        );
    }

    /// Pins dbt-duckdb's `create_schema`, `rename_relation` and `drop_relation` SQL.
    #[test]
    fn changes_run_on_the_warehouse() {
        let s = live();
        let out = render(
            &s,
            "{% do adapter.create_schema(api.Relation.create(database='memory', schema='made')) %}{{ adapter.check_schema_exists('memory', 'made') }} \
{% set t = adapter.get_relation('memory', 'main', 't') %}{% do adapter.rename_relation(t, t.incorporate(path={'identifier': 't2'})) %}\
{{ adapter.get_relation('memory', 'main', 't') is none }} {{ adapter.get_relation('memory', 'main', 't2').type }} \
{% do adapter.drop_relation(api.Relation.create('memory', 'main', 'v')) %}{{ adapter.get_relation('memory', 'main', 'v') is none }}",
        );
        assert_eq!(out, "True True table True");
    }

    /// As dbt with `execute` false: lookups answer none, [] or False and change nothing.
    #[test]
    fn nothing_runs_while_parsing() {
        let s = scope(Introspection::Off, Phase::Parse);
        let out = render(
            &s,
            "{{ adapter.get_relation('memory', 'main', 't') is none }} {{ adapter.get_columns_in_relation(api.Relation.create('memory', 'main', 't')) | length }} {{ adapter.check_schema_exists('memory', 'main') }} {{ adapter.drop_relation(api.Relation.create('memory', 'main', 't')) is none }}",
        );
        assert_eq!(out, "True 0 False True");
    }
}
