//! Model contracts, as dbt 1.5+: a model with `contract: {enforced: true}`
//! must produce exactly the columns its YAML `columns:` declare (names,
//! number, and each `data_type`), checked before anything is written, and
//! its `constraints:` become part of the table's DDL.
//!
//! This module holds what every stage shares: the typed `contract` config
//! ([`Contract`]), the comparison of declared and produced columns
//! ([`compare`], dbt's `assert_columns_equivalent` and `ContractError`), the
//! constraint DDL ([`constraints`]), type spellings ([`types`]), the
//! compile-time inference of a model's output columns ([`infer`], sluice's
//! own extension) and where in the YAML a column is declared
//! ([`locate_in_yaml`]). The manifest checks the config when parsing, the
//! materializations check the warehouse's answer at run time, and compile
//! checks what it can prove without a warehouse.

pub mod constraints;
pub mod infer;
pub mod types;

/// dbt's message when a contract's columns do not match the model.
pub const FAILED: &str = "This model has an enforced contract that failed.\nPlease ensure the name, data_type, and number of columns in your contract match the columns in your model's definition.";

/// dbt's message when a model with an enforced contract declares no columns.
pub const COLUMNS_MISSING: &str =
    "This model has an enforced contract, and its 'columns' specification is missing";

/// One column as the contract check sees it: its name, and its type as
/// DuckDB spells it (`None` at compile time when it cannot be known).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnType {
    /// The column name, as written.
    pub name: String,
    /// DuckDB's spelling of the type, when known.
    pub data_type: Option<String>,
}

impl ColumnType {
    /// A column named `name` of type `data_type`.
    pub fn new(name: impl Into<String>, data_type: Option<String>) -> ColumnType {
        ColumnType {
            name: name.into(),
            data_type,
        }
    }
}

/// Why a column fails the contract, in dbt's words.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Reason {
    /// The model and the contract give the column different types.
    DataTypeMismatch,
    /// The contract declares a column the model does not produce.
    MissingInDefinition,
    /// The model produces a column the contract does not declare.
    MissingInContract,
}

impl Reason {
    /// dbt's `mismatch_reason` text.
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::DataTypeMismatch => "data type mismatch",
            Reason::MissingInDefinition => "missing in definition",
            Reason::MissingInContract => "missing in contract",
        }
    }
}

/// One row of dbt's mismatch table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mismatch {
    /// The column's name (the model's spelling, else the contract's).
    pub column_name: String,
    /// The type the model produces (empty when it does not produce it).
    pub definition_type: String,
    /// The type the contract declares (empty when it does not declare it).
    pub contract_type: String,
    /// Why it fails.
    pub reason: Reason,
}

/// The rows of a failed contract, attached as an [`crate::Error`]'s source
/// so whoever reports it can point at the first mismatched column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mismatches(pub Vec<Mismatch>);

impl std::fmt::Display for Mismatches {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&failure_message(&self.0))
    }
}

impl std::error::Error for Mismatches {}

/// Compares the columns a model produces (`definition`) with those its
/// contract declares (`contract`), as dbt's `assert_columns_equivalent`:
/// the contract fails when the counts differ, when a produced column is not
/// declared (names compared case-insensitively, as dbt-duckdb lowercases
/// them), or when a column's types differ. A type that is `None` on either
/// side (unknown at compile time) is not compared.
///
/// Returns `None` when the contract holds, else dbt's mismatch rows
/// (`ContractError.get_mismatches`), sorted as dbt sorts them.
pub fn compare(contract: &[ColumnType], definition: &[ColumnType]) -> Option<Vec<Mismatch>> {
    let find = |name: &str| contract.iter().find(|c| c.name.eq_ignore_ascii_case(name));
    let types_differ = |a: &Option<String>, b: &Option<String>| match (a, b) {
        (Some(a), Some(b)) => !a.eq_ignore_ascii_case(b),
        _ => false,
    };
    let holds = contract.len() == definition.len()
        && definition
            .iter()
            .all(|d| find(&d.name).is_some_and(|c| !types_differ(&d.data_type, &c.data_type)));
    if holds {
        return None;
    }
    let shown = |t: &Option<String>| t.clone().unwrap_or_else(|| "unknown".to_owned());
    let mut rows = Vec::new();
    for d in definition {
        match find(&d.name) {
            Some(c) if types_differ(&d.data_type, &c.data_type) => rows.push(Mismatch {
                column_name: d.name.clone(),
                definition_type: shown(&d.data_type),
                contract_type: shown(&c.data_type),
                reason: Reason::DataTypeMismatch,
            }),
            Some(_) => {}
            None => rows.push(Mismatch {
                column_name: d.name.clone(),
                definition_type: shown(&d.data_type),
                contract_type: String::new(),
                reason: Reason::MissingInContract,
            }),
        }
    }
    for c in contract {
        if !definition
            .iter()
            .any(|d| d.name.eq_ignore_ascii_case(&c.name))
        {
            rows.push(Mismatch {
                column_name: c.name.clone(),
                definition_type: String::new(),
                contract_type: shown(&c.data_type),
                reason: Reason::MissingInDefinition,
            });
        }
    }
    rows.sort_by(|a, b| {
        (
            &a.column_name,
            &a.definition_type,
            &a.contract_type,
            a.reason,
        )
            .cmp(&(
                &b.column_name,
                &b.definition_type,
                &b.contract_type,
                b.reason,
            ))
    });
    Some(rows)
}

/// dbt's contract failure text: [`FAILED`], a blank line, and the
/// mismatches as a table with the columns `column_name | definition_type |
/// contract_type | mismatch_reason` (agate's `print_table` layout).
pub fn failure_message(mismatches: &[Mismatch]) -> String {
    let header = [
        "column_name",
        "definition_type",
        "contract_type",
        "mismatch_reason",
    ];
    let rows: Vec<[&str; 4]> = mismatches
        .iter()
        .map(|m| {
            [
                m.column_name.as_str(),
                m.definition_type.as_str(),
                m.contract_type.as_str(),
                m.reason.as_str(),
            ]
        })
        .collect();
    let mut widths = header.map(str::len);
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: [&str; 4]| {
        let padded: Vec<String> = cells
            .iter()
            .zip(widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        format!("| {} |", padded.join(" | "))
    };
    let mut out = format!("{FAILED}\n\n{}\n", line(header));
    let dashes: Vec<String> = widths.iter().map(|&w| "-".repeat(w)).collect();
    out.push_str(&format!("| {} |", dashes.join(" | ")));
    for row in rows {
        out.push('\n');
        out.push_str(&line(row));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cols(spec: &[(&str, &str)]) -> Vec<ColumnType> {
        spec.iter()
            .map(|(n, t)| ColumnType::new(*n, Some(t.to_string())))
            .collect()
    }

    #[test]
    fn equal_columns_in_any_order_and_case_hold() {
        // dbt matches columns by name, not position; dbt-duckdb lowercases them.
        let contract = cols(&[("id", "INTEGER"), ("Name", "VARCHAR")]);
        let model = cols(&[("name", "VARCHAR"), ("ID", "INTEGER")]);
        assert_eq!(compare(&contract, &model), None);
    }

    #[test]
    fn mismatches_are_dbts_rows_sorted() {
        let contract = cols(&[("id", "INTEGER"), ("gone", "DATE"), ("amount", "DOUBLE")]);
        let model = cols(&[
            ("id", "VARCHAR"),
            ("extra", "INTEGER"),
            ("amount", "DOUBLE"),
        ]);
        let rows = compare(&contract, &model).unwrap();
        let reasons: Vec<(&str, Reason)> = rows
            .iter()
            .map(|r| (r.column_name.as_str(), r.reason))
            .collect();
        assert_eq!(
            reasons,
            [
                ("extra", Reason::MissingInContract),
                ("gone", Reason::MissingInDefinition),
                ("id", Reason::DataTypeMismatch),
            ]
        );
        let text = failure_message(&rows);
        assert!(text.starts_with(FAILED), "{text}");
        assert!(
            text.contains(
                "| id          | VARCHAR         | INTEGER       | data type mismatch    |"
            ),
            "{text}"
        );
    }

    #[test]
    fn unknown_types_are_not_compared() {
        let contract = cols(&[("id", "INTEGER")]);
        let model = vec![ColumnType::new("id", None)];
        assert_eq!(compare(&contract, &model), None);
    }
}
