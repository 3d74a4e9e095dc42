//! sluice's compile-time contract check, an extension of dbt (which checks
//! contracts only when a model runs): each model with an enforced contract
//! is compared with the output columns its SQL provably produces
//! ([`crate::contract::infer`]), level by level, so a model's inferred
//! output can expand a child's `select *`. Only what is certain is
//! compared: an unknown column list or type is never an error.

use std::path::Path;

use sqlparser::ast::Statement;

use crate::contract::infer::{output_columns, KnownRelations};
use crate::contract::types::normalize;
use crate::contract::{compare, failure_message, ColumnType, Contract, Mismatch, Reason};
use crate::error::{Error, ErrorKind, Location};
use crate::manifest::{slash, Manifest, Node, ResourceType};

/// The relations whose columns are certain, and the check against them.
pub(super) struct ContractCheck<'a> {
    known: KnownRelations,
    project_root: &'a Path,
}

/// A model's contract as columns with DuckDB-spelled types, when enforced.
fn declared(node: &Node) -> Option<Vec<ColumnType>> {
    if node.resource_type != ResourceType::Model || !Contract::of(&node.config).enforced {
        return None;
    }
    Some(
        node.columns
            .iter()
            .map(|c| ColumnType::new(c.name.clone(), c.data_type.as_deref().and_then(normalize)))
            .collect(),
    )
}

/// A seed's columns: its CSV header (DuckDB reads it with `header = true`)
/// and the types `column_types` pins; `None` when the file cannot be read.
fn seed_columns(root: &Path, node: &Node) -> Option<Vec<ColumnType>> {
    let delimiter = node
        .config
        .get_str("delimiter")
        .unwrap_or_else(|| ",".into());
    let [delimiter] = delimiter.as_bytes() else {
        return None;
    };
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(*delimiter)
        .from_path(root.join(&node.original_file_path))
        .ok()?;
    let header = reader.headers().ok()?.clone();
    let types = node.config.get("column_types").and_then(|t| t.as_object());
    Some(
        header
            .iter()
            .map(|name| {
                let ty = types
                    .and_then(|t| t.get(name))
                    .and_then(|t| t.as_str())
                    .and_then(normalize);
                ColumnType::new(name, ty)
            })
            .collect(),
    )
}

impl<'a> ContractCheck<'a> {
    /// Registers every node for which `computed(position)` is false and
    /// whose columns are certain: seeds (header and `column_types`) and
    /// models with an enforced contract (their YAML, which the build enforces).
    pub(super) fn new(
        manifest: &Manifest,
        project_root: &'a Path,
        computed: impl Fn(usize) -> bool,
    ) -> ContractCheck<'a> {
        let mut check = ContractCheck {
            known: KnownRelations::default(),
            project_root,
        };
        for (i, node) in manifest.nodes.iter().enumerate() {
            if computed(i) {
                continue;
            }
            let columns = match node.resource_type {
                ResourceType::Seed => seed_columns(project_root, node),
                _ => declared(node),
            };
            check.register(node, columns);
        }
        check
    }

    fn register(&mut self, node: &Node, columns: Option<Vec<ColumnType>>) {
        let (Some(rel), Some(columns)) = (&node.relation, columns) else {
            return;
        };
        if rel.is_cte() {
            self.known.insert(&[&rel.identifier], columns);
        } else {
            self.known
                .insert(&[&rel.database, &rel.schema, &rel.identifier], columns);
        }
    }

    /// The output columns `statements` (node's own SQL) provably produce.
    pub(super) fn infer(&self, statements: &[Statement]) -> Option<Vec<ColumnType>> {
        output_columns(statements, &self.known)
    }

    /// Registers a node compiled in this level: its contract when enforced
    /// (what the build guarantees), else what its SQL was proven to produce.
    pub(super) fn record(&mut self, node: &Node, inferred: Option<Vec<ColumnType>>) {
        let columns = declared(node).or(inferred);
        self.register(node, columns);
    }

    /// Checks `node`'s enforced contract against `inferred`, its proven
    /// output columns. `compiled` is the compiled file, named in a note.
    ///
    /// Errors: [`ErrorKind::Contract`] with dbt's message and mismatch
    /// table, at the first mismatch (the SQL for a column the contract
    /// lacks, the YAML otherwise), the others in notes.
    pub(super) fn check(
        &self,
        node: &Node,
        inferred: Option<&[ColumnType]>,
        compiled: &Path,
    ) -> Result<(), Error> {
        let (Some(contract), Some(inferred)) = (declared(node), inferred) else {
            return Ok(());
        };
        if contract.is_empty() {
            // The run reports dbt's "columns specification is missing".
            return Ok(());
        }
        let Some(mismatches) = compare(&contract, inferred) else {
            return Ok(());
        };
        let mut located = mismatches
            .iter()
            .map(|m| (m, locate_mismatch(self.project_root, node, m)))
            .collect::<Vec<_>>()
            .into_iter();
        let mut error = Error::new(ErrorKind::Contract, failure_message(&mismatches));
        if let Some((_, Some(loc))) = located.next() {
            error = error.with_location(loc);
        }
        for (m, loc) in located {
            if let Some(loc) = loc {
                error = error.with_note(format!(
                    "`{}` ({}) at {loc}",
                    m.column_name,
                    m.reason.as_str()
                ));
            }
        }
        Err(error
            .with_note("found at compile time, without a database: sluice's check (dbt finds this when the model runs)")
            .with_note(format!("compiled code at {}", slash(compiled)))
            .with_hint(format!(
                "make the SQL of `{}` produce exactly the columns its YAML declares (cast to the declared type), or change the YAML",
                node.name
            )))
    }
}

/// Where a contract mismatch is, for people: the model's own SQL for a
/// column the contract lacks, the column's YAML entry for one the model
/// lacks, its `data_type:` line for a type mismatch; files read under the
/// project `root`. `None` when the spot cannot be found.
pub fn locate_mismatch(root: &Path, node: &Node, m: &Mismatch) -> Option<Location> {
    match m.reason {
        Reason::MissingInContract => sql_location(node, &m.column_name),
        Reason::MissingInDefinition => node.yaml_location(root, Some(&m.column_name), None),
        Reason::DataTypeMismatch => node
            .yaml_location(root, Some(&m.column_name), Some("data_type"))
            .or_else(|| sql_location(node, &m.column_name)),
    }
}

/// Where `column` is named in the model's own file: after `as` when it is
/// an alias, else its first mention as a word.
fn sql_location(node: &Node, column: &str) -> Option<Location> {
    let name = regex::escape(column);
    let found = regex::Regex::new(&format!(r#"(?i)\bas\s+"?({name})"?(?:\W|$)"#))
        .ok()?
        .captures(&node.raw_code)
        .and_then(|c| c.get(1))
        .or_else(|| {
            regex::Regex::new(&format!(r"(?i)\b{name}\b"))
                .ok()?
                .find(&node.raw_code)
        })?;
    Some(Location::from_offset(
        &node.original_file_path,
        &node.raw_code,
        found.start(),
    ))
}
