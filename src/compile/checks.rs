//! The compile-time checks of a node's SQL: a syntax check with sqlparser
//! (falling back to the engine's parser), warnings for tables read without
//! `ref()`/`source()`, and contract columns and constraints that would
//! lose data or go unenforced.

use std::path::Path;

use crate::compile::output::CompileContext;
use crate::error::{Error, ErrorKind, Location, Result};
use crate::manifest::{slash, Node, ResourceType};

/// Checks the syntax of `own`, node's rendered SQL (before ephemeral CTEs
/// are injected), for models, snapshots and singular tests written in `.sql`
/// files, and reports an error at the line of the template that produced it.
///
/// Returns sqlparser's statements when the node was checked and parsed.
///
/// Errors: [`ErrorKind::Sql`] located in the node's file, with the compiled
/// line (`compiled`: the compiled file's path) in a note.
pub(crate) fn check_sql(
    node: &Node,
    own: &str,
    compiled: &Path,
    macros: &[crate::render::MacroDef],
    sql_dialect: crate::sql::SqlDialect,
) -> Result<Option<Vec<sqlparser::ast::Statement>>> {
    if node.resource_type == ResourceType::Test && node.test_metadata.is_some() {
        return check_generic_test(node, own, compiled, macros, sql_dialect).map(|()| None);
    }
    let checked = matches!(
        node.resource_type,
        ResourceType::Model | ResourceType::Snapshot | ResourceType::Test
    );
    let from_sql_file = node
        .original_file_path
        .extension()
        .is_some_and(|e| e == "sql");
    if !checked || !from_sql_file {
        return Ok(None);
    }
    let err = match crate::sql::parse(own, sql_dialect) {
        crate::sql::Parsed::Statements(s)
            if s.is_empty()
                && matches!(
                    node.resource_type,
                    ResourceType::Model | ResourceType::Snapshot
                ) =>
        {
            // dbt lets the warehouse fail on `create view ... as ()`, whose
            // syntax error names a parenthesis the user never wrote.
            let kind = node.resource_type.as_str();
            return Err(Error::new(
                ErrorKind::Sql,
                format!("{kind} `{}` has no SQL to run", node.name),
            )
            .with_location(Location::new(
                &node.original_file_path,
                1,
                1,
                Some(&node.raw_code),
            ))
            .with_hint(format!(
                "write the {kind}'s select, or turn it off with {{{{ config(enabled=false) }}}}"
            )));
        }
        crate::sql::Parsed::Statements(s)
            if s.len() > 1
                && matches!(
                    node.resource_type,
                    ResourceType::Model | ResourceType::Snapshot
                ) =>
        {
            // dbt wraps a model in `create ... as (<sql>)`, where a second
            // statement is a warehouse syntax error at run time.
            use sqlparser::ast::Spanned;
            // At the `;` that ends the first statement.
            let start = s[0].span().end;
            let (line, col) = if start.line > 0 {
                crate::sql::map_to_template(
                    &node.raw_code,
                    own,
                    start.line as usize,
                    start.column as usize,
                )
            } else {
                (1, 1)
            };
            let kind = node.resource_type.as_str();
            return Err(Error::new(
                ErrorKind::Sql,
                format!(
                    "{kind} `{}` has {} SQL statements: a {kind} is one select",
                    node.name,
                    s.len()
                ),
            )
            .with_location(Location::new(
                &node.original_file_path,
                line,
                col,
                Some(&node.raw_code),
            ))
            .with_note(format!("compiled code at {}", slash(compiled)))
            .with_hint(
                "remove the `;` and the statement after it: work before or after the select belongs in a `pre_hook` or `post_hook`",
            ));
        }
        crate::sql::Parsed::Statements(s) => return Ok(Some(s)),
        crate::sql::Parsed::DuckDbOnly => return Ok(None),
        crate::sql::Parsed::Invalid(err) => err,
    };
    let (line, col) = crate::sql::map_to_template(&node.raw_code, own, err.line, err.col);
    let error = Error::new(
        ErrorKind::Sql,
        format!(
            "SQL syntax error in {} `{}`: {}",
            node.resource_type.as_str(),
            node.name,
            err.message
        ),
    )
    .with_location(Location::new(
        &node.original_file_path,
        line,
        col,
        Some(&node.raw_code),
    ));
    Err(compiled_notes(error, own, &err, compiled, None)
        .with_hint("found before running anything: the SQL does not parse as DuckDB SQL"))
}

/// Adds the notes every compile-time SQL error carries: the compiled line
/// sqlparser stopped at, the declaring file when it is not the located one
/// (`declared_in`), and where the compiled code is.
pub(crate) fn compiled_notes(
    error: Error,
    own: &str,
    err: &crate::sql::SyntaxError,
    compiled: &Path,
    declared_in: Option<&Path>,
) -> Error {
    let compiled_line = own
        .lines()
        .nth(err.line.saturating_sub(1))
        .unwrap_or("")
        .trim();
    let mut error = error.with_note(format!(
        "in the compiled SQL (line {}, column {}): {compiled_line}",
        err.line, err.col
    ));
    if let Some(file) = declared_in {
        error = error.with_note(format!("the test is declared in {}", slash(file)));
    }
    error.with_note(format!("compiled code at {}", slash(compiled)))
}

/// Checks a generic test's SQL, which its test macro (`test_<name>`, built
/// in or the project's) wrote: an error is reported in the macro's file, at
/// the line the rendered position maps to, with the test and the YAML that
/// declares it in notes.
///
/// Errors: [`ErrorKind::Sql`].
pub(crate) fn check_generic_test(
    node: &Node,
    own: &str,
    compiled: &Path,
    macros: &[crate::render::MacroDef],
    sql_dialect: crate::sql::SqlDialect,
) -> Result<()> {
    let err = match crate::sql::parse(own, sql_dialect) {
        crate::sql::Parsed::Statements(_) | crate::sql::Parsed::DuckDbOnly => return Ok(()),
        crate::sql::Parsed::Invalid(err) => err,
    };
    let test = node.test_metadata.as_ref().map_or("", |m| m.name.as_str());
    let name = format!("test_{test}");
    // The project's definition wins over a built-in one of the same name.
    let def = macros
        .iter()
        .filter(|m| m.name == name)
        .min_by_key(|m| m.path.starts_with("templates/"));
    let mut error = Error::new(
        ErrorKind::Sql,
        format!(
            "SQL syntax error in generic test `{}` (`{test}` on {}): {}",
            node.name,
            node.test_metadata
                .as_ref()
                .and_then(|m| m.attached_node.as_deref())
                .unwrap_or("its model"),
            err.message
        ),
    );
    if let Some(def) = def {
        let (line, col) = crate::sql::map_to_template(&def.source, own, err.line, err.col);
        error = error.with_location(Location::new(&def.path, line, col, Some(&def.source)));
    }
    Err(
        compiled_notes(error, own, &err, compiled, Some(&node.original_file_path)).with_hint(
            "check the test macro, and the arguments and `where` config the YAML gives it",
        ),
    )
}

/// Warnings about a contracted model's YAML, each at its line: constraints
/// that will not be enforced (on a view, or with nothing to write into the
/// DDL), as dbt's `ConstraintNotSupported`, and `numeric`/`decimal` types
/// without precision and scale, as dbt's `get_empty_schema_sql` warns.
/// Constraints of a model without an enforced contract are ignored without
/// a word, as in dbt.
pub(crate) fn contract_warnings(root: &Path, node: &Node) -> Vec<Error> {
    if node.resource_type != ResourceType::Model
        || !crate::project::config::Contract::of(&node.config).enforced
    {
        return Vec::new();
    }
    let naked = node.columns.iter().filter(|c| {
        c.data_type.as_deref().is_some_and(|t| {
            matches!(
                t.trim().to_ascii_lowercase().as_str(),
                "numeric" | "decimal" | "number"
            )
        })
    });
    let mut out: Vec<Error> = naked
        .map(|c| {
            let mut err = Error::new(
                ErrorKind::Contract,
                format!(
                    "column `{}` of model `{}` is `{}` without precision and scale, which DuckDB makes DECIMAL(18,3): values can be rounded",
                    c.name,
                    node.name,
                    c.data_type.as_deref().unwrap_or_default().trim()
                ),
            )
            .with_note("dbt: Detected columns with numeric type and unspecified precision/scale, this can lead to unintended rounding")
            .with_hint("give the precision and scale, e.g. `data_type: decimal(18,2)`");
            if let Some(loc) = node.yaml_location(root, Some(&c.name), Some("data_type")) {
                err = err.with_location(loc);
            }
            err
        })
        .collect();
    let unenforced = crate::contract::constraints::unenforced(
        &node.config.materialization(),
        &node.columns,
        &node.constraints,
    )
    .into_iter()
    .map(|u| {
        let on = match &u.column {
            Some(c) => format!("column `{c}` of model `{}`", node.name),
            None => format!("model `{}`", node.name),
        };
        let mut err = Error::new(
            ErrorKind::Contract,
            format!(
                "the `{}` constraint on {on} is not enforced: {}",
                u.kind.as_str(),
                u.why
            ),
        )
        .with_hint("materialize the model as a table, fix the constraint, or set `warn_unsupported: false` on it");
        if let Some(loc) = node.yaml_location(root, u.column.as_deref(), None) {
            err = err.with_location(loc);
        }
        err
    });
    out.extend(unenforced);
    out
}

/// Tables a model or snapshot reads that are neither its refs nor its
/// sources (a hard-coded `main.orders`): sluice cannot order the build by
/// them or trace their lineage. Each warning names the node that builds the
/// table, when one does.
pub(crate) fn undeclared_reads(
    cx: &CompileContext,
    node: &Node,
    statements: &[sqlparser::ast::Statement],
) -> Vec<Error> {
    if !matches!(
        node.resource_type,
        ResourceType::Model | ResourceType::Snapshot
    ) {
        return Vec::new();
    }
    let tables = crate::sql::read_relations_of(statements);
    let resolver = cx.resolver;
    let declared: Vec<&crate::warehouse::relation::Relation> = node
        .refs
        .iter()
        .filter_map(|r| match &r.package {
            Some(p) => resolver.package_refs.get(&(p.clone(), r.name.clone())),
            None => resolver.refs.get(&r.name),
        })
        .chain(node.sources.iter().filter_map(|k| resolver.sources.get(k)))
        .collect();
    let same = |rel: &crate::warehouse::relation::Relation, parts: &[String]| {
        let want = [&rel.database, &rel.schema, &rel.identifier];
        match parts {
            [t] => {
                t.eq_ignore_ascii_case(&rel.identifier)
                    && rel.schema.eq_ignore_ascii_case(&resolver.schema)
            }
            _ if parts.len() <= 3 => parts
                .iter()
                .rev()
                .zip(want.iter().rev())
                .all(|(a, b)| a.eq_ignore_ascii_case(b)),
            _ => false,
        }
    };
    let mut out = Vec::new();
    for parts in tables {
        if parts.len() == 1 && parts[0].starts_with("__dbt__cte__") {
            continue;
        }
        if declared.iter().any(|r| same(r, &parts)) {
            continue;
        }
        let name = parts.join(".");
        let owner = cx.manifest.nodes.iter().find(|n| {
            n.relation
                .as_ref()
                .is_some_and(|r| !r.is_cte() && same(r, &parts))
                && n.unique_id != node.unique_id
        });
        let (msg, hint) = match owner {
            Some(o) => (
                format!(
                    "{} `{}` reads `{name}` directly: that is the table of {} `{}`",
                    node.resource_type.as_str(),
                    node.name,
                    o.resource_type.as_str(),
                    o.name
                ),
                format!("write {{{{ ref('{}') }}}} so the build runs `{}` first and lineage sees the dependency", o.name, o.name),
            ),
            None => (
                format!(
                    "{} `{}` reads `{name}`, which is neither a ref() nor a source()",
                    node.resource_type.as_str(),
                    node.name
                ),
                "declare the table as a source in a schema YAML file and read it with {{ source('...', '...') }}".to_owned(),
            ),
        };
        let last = parts.last().map(String::as_str).unwrap_or_default();
        let at = node.raw_code.to_lowercase().find(&last.to_lowercase());
        let mut err = Error::new(ErrorKind::Sql, msg).with_hint(hint);
        if let Some(offset) = at {
            err = err.with_location(Location::from_offset(
                &node.original_file_path,
                &node.raw_code,
                offset,
            ));
        }
        out.push(err);
    }
    out
}
