//! Hints for the errors the warehouse gives a running node, chosen by the
//! class of DuckDB's message (Catalog, Binder, Conversion, Constraint):
//! the ref to write, the parent to build, the column meant, the value that
//! did not convert. The node's file is attached when DuckDB's message
//! quoted no line of it, so every failure names the file to open.

use crate::error::{did_you_mean, Error, ErrorKind, Location};
use crate::manifest::node::{Node, ResourceType};
use crate::manifest::Manifest;

/// `err`, a failure of `node` while it ran, with a hint by the class of the
/// warehouse's message (unless it has one) and, when it has no location,
/// the node's own file. Errors other than [`ErrorKind::Database`] keep
/// their hint and gain only the file.
pub fn explain(err: Error, node: &Node, manifest: &Manifest) -> Error {
    let err = if err.kind() == ErrorKind::Database && err.hint().is_none() {
        match hint(err.message(), &|table| missing_table(table, node, manifest)) {
            Some(h) => err.with_hint(h),
            None => err,
        }
    } else {
        err
    };
    // A generic test's file is the YAML that declares it; a seed's, its CSV.
    err.or_location(|| {
        let file = &node.original_file_path;
        (!file.as_os_str().is_empty()).then(|| Location::new(file, 1, 1, None))
    })
}

/// The hint for warehouse message `message`, or `None` when the message
/// itself says what to do; `missing` gives the hint for a table the
/// warehouse does not have.
fn hint(message: &str, missing: &dyn Fn(&str) -> String) -> Option<String> {
    if let Some(name) = between(message, "Table Function with name ", " does not exist") {
        if name == "ref" || name == "source" {
            return Some(format!(
                "`{name}(...)` reached the warehouse as SQL: write it inside `{{{{ }}}}`, e.g. `{{{{ {name}('...') }}}}`"
            ));
        }
    }
    if let Some(table) = between(message, "Table with name ", " does not exist") {
        return Some(missing(table));
    }
    if let Some(column) = between(message, "Referenced column \"", "\" not found") {
        let candidates: Vec<&str> = message
            .split("Candidate bindings:")
            .nth(1)
            .map(|c| {
                c.split(',')
                    .map(|b| b.trim().trim_matches('"'))
                    .map(|b| b.rsplit('.').next().unwrap_or(b).trim_matches('"'))
                    .filter(|b| !b.is_empty())
                    .collect()
            })
            .unwrap_or_default();
        return Some(match did_you_mean(column, candidates.iter().copied()) {
            Some(close) => format!("did you mean `{close}`? `{column}` is not a column of what the query reads"),
            None => format!("`{column}` is not a column of any relation in the FROM clause: check its spelling and the parent's columns (`sluice show -s <parent>`)"),
        });
    }
    if message.contains("Conversion Error") {
        let value = between(message, "Could not convert string '", "'");
        let column = message
            .split("source column ")
            .nth(1)
            .map(|c| c.trim().trim_end_matches('.'));
        return Some(match (value, column) {
            (Some(v), Some(c)) => format!("the value '{v}' of column `{c}` does not convert: use `try_cast` to get NULL instead, or filter such rows out"),
            (Some(v), None) => format!("the value '{v}' does not convert to the type asked: use `try_cast` to get NULL instead, or filter such rows out"),
            _ => "a value does not convert to the type asked: use `try_cast` to get NULL instead, or check the column's values".to_owned(),
        });
    }
    if message.contains("Cannot compare values of type") {
        return Some("cast one side to the other's type; a date from a var must be quoted, e.g. `'{{ var(\"start_date\") }}'::date`".to_owned());
    }
    if message.contains("No function matches the given name and argument types") {
        return Some("cast the arguments to the types the function takes (DuckDB does not convert text to numbers implicitly)".to_owned());
    }
    if message.contains("Max expression depth") {
        return Some("the expression nests deeper than DuckDB allows: split it into steps (CTEs), or raise the limit with a pre-hook `SET max_expression_depth TO 10000`".to_owned());
    }
    if message.contains("INTERRUPT Error") {
        return Some("the run was interrupted: the statement was cancelled and rolled back, so the relation keeps what it held before".to_owned());
    }
    if message.contains("Constraint Error") {
        return Some("a row breaks a constraint of this model's contract: find it with `sluice show -s` on the model's parents, or relax the constraint".to_owned());
    }
    None
}

/// The hint for a table the warehouse does not have: a parent not built,
/// a source not loaded, or a table name written where a ref belongs.
fn missing_table(table: &str, node: &Node, manifest: &Manifest) -> String {
    let table = table.trim_matches('"');
    let parent = node
        .depends_on
        .iter()
        .filter_map(|id| manifest.get(id))
        .find(|p| {
            p.relation
                .as_ref()
                .is_some_and(|r| r.identifier.eq_ignore_ascii_case(table))
        });
    match parent {
        Some(p) if p.resource_type == ResourceType::Source => format!(
            "source `{}.{}` is read from `{}`, which the warehouse does not have: load it, or fix the source's `schema`/`identifier` in {}",
            p.source.as_ref().map_or("", |s| s.source_name.as_str()),
            p.name,
            p.relation.as_ref().map(|r| r.to_string()).unwrap_or_default(),
            p.original_file_path.display()
        ),
        Some(p) => format!(
            "`{}` is not built (or was dropped outside sluice): build it with its parents first, `sluice build -s +{}`",
            p.name, node.name
        ),
        None => {
            let names = manifest.nodes.iter().map(|n| n.name.as_str());
            match did_you_mean(table, names) {
                Some(close) => format!("read other models through `{{{{ ref('{close}') }}}}`, not by table name, so sluice builds them first"),
                None => "read models with `{{ ref('...') }}` and raw tables with `{{ source('...', '...') }}`, not by table name".to_owned(),
            }
        }
    }
}

/// The text of `s` between `start` and the next `end`.
fn between<'a>(s: &'a str, start: &str, end: &str) -> Option<&'a str> {
    let from = s.find(start)? + start.len();
    let len = s[from..].find(end)?;
    Some(&s[from..from + len])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hint_for(message: &str) -> Option<String> {
        hint(message, &|table| format!("read `{table}` through source()"))
    }

    #[test]
    fn each_class_of_warehouse_error_gets_its_hint() {
        let h = hint_for("Binder Error: Referenced column \"amout\" not found in FROM clause!\nCandidate bindings: \"orders.amount\", \"orders.id\"").unwrap();
        assert!(h.starts_with("did you mean `amount`?"), "{h}");
        let h = hint_for("Conversion Error: Could not convert string 'completed' to INT32 when casting from source column status").unwrap();
        assert!(h.contains("'completed'") && h.contains("`status`"), "{h}");
        let h = hint_for("Catalog Error: Table Function with name ref does not exist!").unwrap();
        assert!(h.contains("{{ ref('...') }}"), "{h}");
        let h = hint_for("Catalog Error: Table with name raw_stuff does not exist!").unwrap();
        assert_eq!(h, "read `raw_stuff` through source()");
        assert_eq!(
            hint_for("Binder Error: Ambiguous reference to column name \"id\""),
            None
        );
    }
}
