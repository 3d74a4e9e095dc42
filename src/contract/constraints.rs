//! Constraints in a contracted table's DDL, as dbt's adapter methods
//! `render_raw_columns_constraints` and `render_raw_model_constraints` write
//! them, and the warnings dbt gives for constraints a materialization or the
//! warehouse does not enforce.
//!
//! DuckDB enforces every kind on tables (dbt-duckdb marks check, not_null,
//! unique, primary_key and foreign_key `ENFORCED`). Views carry no
//! constraints; a constraint with nothing to render (a `check` without an
//! `expression`, a model-level `not_null`) is not supported. Both warn
//! unless the constraint sets `warn_unsupported: false`.

use crate::project::config::Materialization;
use crate::project::schema_yaml::{ColumnDef, Constraint, ConstraintKind};
use crate::warehouse::relation::quote;

/// A column's name as the DDL writes it: quoted when the YAML sets
/// `quote: true`, as dbt's `get_column_names`.
pub fn column_name(column: &ColumnDef) -> String {
    if column.quote == Some(true) {
        quote(&column.name)
    } else {
        column.name.clone()
    }
}

/// A foreign key's parent as DDL: `to (to_columns)`, else `expression`.
fn references(c: &Constraint) -> Option<String> {
    match (&c.to, c.to_columns.is_empty(), &c.expression) {
        (Some(to), false, _) => Some(format!("{to} ({})", c.to_columns.join(", "))),
        (_, _, Some(e)) if !e.trim().is_empty() => Some(e.trim().to_owned()),
        _ => None,
    }
}

/// The text after a keyword: ` <expression>` when there is one.
fn suffix(c: &Constraint) -> String {
    match c.expression.as_deref().map(str::trim) {
        Some(e) if !e.is_empty() => format!(" {e}"),
        _ => String::new(),
    }
}

/// One column-level constraint as DDL (`not null`, `check (x > 0)`,
/// `references parent (id)`), or `None` when it has nothing to render, as
/// dbt's `render_column_constraint`.
pub fn render_column_constraint(c: &Constraint) -> Option<String> {
    let text = match c.kind {
        ConstraintKind::Check => format!("check ({})", c.expression.as_deref()?.trim()),
        ConstraintKind::NotNull => format!("not null{}", suffix(c)),
        ConstraintKind::Unique => format!("unique{}", suffix(c)),
        ConstraintKind::PrimaryKey => format!("primary key{}", suffix(c)),
        ConstraintKind::ForeignKey => format!("references {}", references(c)?),
        ConstraintKind::Custom => c.expression.as_deref()?.trim().to_owned(),
    };
    (!text.trim().is_empty()).then(|| text.trim().to_owned())
}

/// One model-level constraint as DDL (`constraint pk primary key (a, b)`),
/// or `None` when it has nothing to render (`not_null` has no model-level
/// form), as dbt's `render_model_constraint`.
pub fn render_model_constraint(c: &Constraint) -> Option<String> {
    let prefix = c
        .name
        .as_deref()
        .map(|n| format!("constraint {n} "))
        .unwrap_or_default();
    let columns = c.columns.join(", ");
    let text = match c.kind {
        ConstraintKind::Check => format!("check ({})", c.expression.as_deref()?.trim()),
        ConstraintKind::Unique => format!("unique{} ({columns})", suffix(c)),
        ConstraintKind::PrimaryKey => format!("primary key{} ({columns})", suffix(c)),
        ConstraintKind::ForeignKey => {
            format!("foreign key ({columns}) references {}", references(c)?)
        }
        ConstraintKind::Custom => c.expression.as_deref()?.trim().to_owned(),
        ConstraintKind::NotNull => return None,
    };
    Some(format!("{prefix}{text}"))
}

/// The DDL of a contracted table: `columns` are `name type constraints`
/// (one per YAML column, in YAML order), `constraints` the model-level
/// ones, `names` the column names for the `insert`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TableDdl {
    /// `name data_type [constraint ...]` per column.
    pub columns: Vec<String>,
    /// Model-level constraints.
    pub constraints: Vec<String>,
    /// Column names, quoted where the YAML asks.
    pub names: Vec<String>,
}

/// The DDL pieces for a table with YAML `columns` and model-level
/// `model_constraints` (dbt's `table_columns_and_constraints`). Columns
/// without a `data_type` never reach here: the manifest rejects them.
pub fn table_ddl(columns: &[ColumnDef], model_constraints: &[Constraint]) -> TableDdl {
    let mut ddl = TableDdl::default();
    for col in columns {
        let name = column_name(col);
        let mut parts = vec![format!(
            "{name} {}",
            col.data_type.as_deref().unwrap_or_default()
        )];
        parts.extend(col.constraints.iter().filter_map(render_column_constraint));
        ddl.columns.push(parts.join(" "));
        ddl.names.push(name);
    }
    ddl.constraints = model_constraints
        .iter()
        .filter_map(render_model_constraint)
        .collect();
    ddl
}

/// A constraint that will not be enforced, and why: what the warning names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unenforced {
    /// The column it is declared on, for a column-level constraint.
    pub column: Option<String>,
    /// Its kind.
    pub kind: ConstraintKind,
    /// Why it is not enforced, for people.
    pub why: String,
}

/// The constraints of a contracted model materialized as `materialized`
/// that will not be enforced, each unless it sets `warn_unsupported: false`
/// (dbt's `ConstraintNotSupported`; DuckDB enforces every kind it accepts,
/// so dbt's `ConstraintNotEnforced` never applies to it).
pub fn unenforced(
    materialized: &Materialization,
    columns: &[ColumnDef],
    model_constraints: &[Constraint],
) -> Vec<Unenforced> {
    let on_view = *materialized == Materialization::View;
    let mut out = Vec::new();
    let mut check = |column: Option<&str>, c: &Constraint, rendered: Option<String>| {
        if !c.warn_unsupported {
            return;
        }
        let why = if on_view {
            "a view carries no constraints (dbt applies them to tables and incremental models only)"
                .to_owned()
        } else if rendered.is_none() {
            match (c.kind, column) {
                (ConstraintKind::NotNull, None) => {
                    "`not_null` is a column-level constraint: a model-level one is ignored"
                        .to_owned()
                }
                (ConstraintKind::ForeignKey, _) => {
                    "a foreign key needs `to` and `to_columns`, or an `expression`".to_owned()
                }
                _ => "it has no `expression` to write into the DDL".to_owned(),
            }
        } else {
            return;
        };
        out.push(Unenforced {
            column: column.map(str::to_owned),
            kind: c.kind,
            why,
        });
    };
    for col in columns {
        for c in &col.constraints {
            check(Some(&col.name), c, render_column_constraint(c));
        }
    }
    for c in model_constraints {
        check(None, c, render_model_constraint(c));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn constraint(yaml: &str) -> Constraint {
        serde_yaml::from_str(yaml).unwrap()
    }

    #[test]
    fn column_constraints_render_as_dbt_writes_them() {
        let r = |y: &str| render_column_constraint(&constraint(y));
        assert_eq!(r("type: not_null").as_deref(), Some("not null"));
        assert_eq!(r("type: unique").as_deref(), Some("unique"));
        assert_eq!(r("type: primary_key").as_deref(), Some("primary key"));
        assert_eq!(
            r("{type: check, expression: 'id > 0'}").as_deref(),
            Some("check (id > 0)")
        );
        assert_eq!(r("type: check"), None);
        assert_eq!(
            r("{type: foreign_key, to: main.parent, to_columns: [id]}").as_deref(),
            Some("references main.parent (id)")
        );
        assert_eq!(
            r("{type: foreign_key, expression: 'main.parent (id)'}").as_deref(),
            Some("references main.parent (id)")
        );
    }

    #[test]
    fn model_constraints_name_their_columns() {
        let r = |y: &str| render_model_constraint(&constraint(y));
        assert_eq!(
            r("{type: primary_key, columns: [a, b], name: pk}").as_deref(),
            Some("constraint pk primary key (a, b)")
        );
        assert_eq!(
            r("{type: check, expression: 'a < b'}").as_deref(),
            Some("check (a < b)")
        );
        assert_eq!(r("{type: not_null, columns: [a]}"), None);
    }

    #[test]
    fn views_and_unrenderable_constraints_warn_unless_told_not_to() {
        let col: ColumnDef =
            serde_yaml::from_str("{name: id, data_type: int, constraints: [{type: not_null}, {type: unique, warn_unsupported: false}]}")
                .unwrap();
        let on_view = unenforced(&Materialization::View, std::slice::from_ref(&col), &[]);
        assert_eq!(on_view.len(), 1);
        assert_eq!(on_view[0].kind, ConstraintKind::NotNull);
        assert!(unenforced(&Materialization::Table, std::slice::from_ref(&col), &[]).is_empty());
        let model = [constraint("{type: not_null, columns: [id]}")];
        assert_eq!(unenforced(&Materialization::Table, &[], &model).len(), 1);
    }
}
