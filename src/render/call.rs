//! What the template functions share: a call's arguments as Python passes
//! them, the node scope and warehouse connection of the render in progress,
//! and sluice errors carried through minijinja. The bottom of the render
//! stage: it imports no other file of it but the scope.

use std::sync::{Arc, Mutex};

use minijinja::value::Kwargs;
use minijinja::{Error, ErrorKind, State, Value};

use crate::error::Error as SluiceError;
use crate::render::scope::{Introspection, NodeScope};
use crate::warehouse::connection::{Connection, Table};
use crate::warehouse::relation::Relation;

/// Marker detail of errors raised by `exceptions.raise_compiler_error`, so
/// they are reported as the user's own message.
pub const COMPILER_ERROR: &str = "compilation error";

/// The node scope of the template being rendered.
pub fn scope(state: &State, what: &str) -> Result<Arc<NodeScope>, Error> {
    state
        .lookup("__sluice")
        .and_then(|v| v.downcast_object::<NodeScope>())
        .ok_or_else(|| {
            Error::new(
                ErrorKind::InvalidOperation,
                format!("`{what}` can only be used while rendering a node"),
            )
        })
}

/// Wraps a sluice error so it survives the trip through minijinja.
pub fn wrap(err: SluiceError) -> Error {
    Error::new(ErrorKind::InvalidOperation, err.message().to_owned()).with_source(err)
}

/// Keyword argument `name`, or else positional argument `pos` (Python's
/// calling convention), from a call's `args` whose last value may be the
/// keyword arguments.
pub fn kwarg(args: &[Value], name: &str, pos: usize) -> Option<Value> {
    let kwargs = args.last().and_then(|v| Kwargs::try_from(v.clone()).ok());
    if let Some(v) = kwargs
        .as_ref()
        .and_then(|k| k.get::<Option<Value>>(name).ok().flatten())
    {
        return Some(v);
    }
    let positional = if kwargs.is_some() {
        &args[..args.len() - 1]
    } else {
        args
    };
    positional.get(pos).cloned()
}

/// The connection warehouse statements run on in the current render, or
/// `None` when they are off (parse) or deferred; a deferred render is
/// marked introspective so it is compiled again, live, before it runs.
pub fn warehouse(state: &State) -> Option<Arc<Mutex<Box<dyn Connection>>>> {
    let scope = state
        .lookup("__sluice")
        .and_then(|v| v.downcast_object::<NodeScope>())?;
    match &scope.introspection {
        Introspection::Off => None,
        Introspection::Deferred => {
            scope.capture(|c| c.introspective = true);
            None
        }
        Introspection::Live(conn) => Some(conn.clone()),
    }
}

/// Runs `sql` on `conn`: fetching its rows when `fetch`, else executing it.
/// Returns the response code and the rows.
pub fn run_statement(
    conn: &Mutex<Box<dyn Connection>>,
    sql: &str,
    fetch: bool,
) -> Result<(String, Table), Error> {
    let conn = conn
        .lock()
        .map_err(|_| Error::new(ErrorKind::InvalidOperation, "connection lock poisoned"))?;
    let result = if fetch {
        conn.query_table(sql)
    } else {
        conn.execute(sql).map(|()| Table::default())
    };
    result.map(|t| ("OK".to_owned(), t)).map_err(|e| {
        wrap(e.with_note(
            "in a statement run while compiling (run_query, statement or adapter.execute)",
        ))
    })
}

/// `[database, schema, identifier]` of a relation value (a `ref()`, `source()`, `this`).
pub fn relation_parts(value: &Value) -> Result<[String; 3], Error> {
    if let Some(rel) = value.downcast_object_ref::<Relation>() {
        return Ok([
            rel.database.clone(),
            rel.schema.clone(),
            rel.identifier.clone(),
        ]);
    }
    let part = |name: &str| {
        value
            .get_attr(name)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default()
    };
    let parts = [part("database"), part("schema"), part("identifier")];
    if parts[2].is_empty() {
        return Err(Error::new(
            ErrorKind::InvalidOperation,
            format!("expected a relation (from ref(), source() or this), got `{value}`"),
        ));
    }
    Ok(parts)
}
