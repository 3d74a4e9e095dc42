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
use crate::contract::{compare, failure_message, ColumnType, Mismatch, Reason};
use crate::error::{Error, ErrorKind, Location};
use crate::lineage::WarehouseColumns;
use crate::manifest::{slash, Manifest, Node, ResourceType};
use crate::project::config::Contract;

/// The relations whose columns are certain, and the check against them.
pub(super) struct ContractCheck<'a> {
    /// Whether any model has an enforced contract; without one the check
    /// costs nothing (no CSV headers read, no inference).
    active: bool,
    known: KnownRelations,
    project_root: &'a Path,
    warehouse: Option<&'a WarehouseColumns>,
}

/// Columns with these names and no known types.
fn untyped(names: &[String]) -> Vec<ColumnType> {
    names.iter().map(|n| ColumnType::new(n, None)).collect()
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

/// Whether `cols` are `names`, in order, ignoring case.
fn same_names(cols: &[ColumnType], names: &[String]) -> bool {
    cols.len() == names.len()
        && cols
            .iter()
            .zip(names)
            .all(|(c, n)| c.name.eq_ignore_ascii_case(n))
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
    /// models with an enforced contract (their YAML, which the build
    /// enforces). With `warehouse` (the database's columns, when it exists),
    /// a relation that exists is read by the names the warehouse has, without
    /// types (a seed reload keeps the table's, a model not rebuilt keeps its
    /// old ones), and a seed whose table has other columns than its file (a
    /// reload keeps the table's, `--full-refresh` takes the file's) is not known.
    pub(super) fn new(
        manifest: &Manifest,
        project_root: &'a Path,
        warehouse: Option<&'a WarehouseColumns>,
        computed: impl Fn(usize) -> bool,
    ) -> ContractCheck<'a> {
        let active = manifest.nodes.iter().any(|n| declared(n).is_some());
        let mut check = ContractCheck {
            active,
            known: KnownRelations::default(),
            project_root,
            warehouse,
        };
        for (i, node) in manifest.nodes.iter().enumerate() {
            if !active || computed(i) {
                continue;
            }
            // An existing relation's types may predate its YAML or
            // `column_types` (a reload keeps them): only names are certain.
            let existing = check.existing(node);
            let columns = match (node.resource_type, existing) {
                (ResourceType::Seed, None) => seed_columns(project_root, node),
                (ResourceType::Seed, Some(names)) => seed_columns(project_root, node)
                    .filter(|cols| same_names(cols, names))
                    .map(|_| untyped(names)),
                (_, None) => declared(node),
                (_, Some(names)) => Some(untyped(names)),
            };
            check.register(node, columns);
        }
        check
    }

    /// The column names of `node`'s relation in the warehouse, if it exists.
    fn existing(&self, node: &Node) -> Option<&'a Vec<String>> {
        let r = node.relation.as_ref()?;
        self.warehouse?.get(&(
            r.database.to_lowercase(),
            r.schema.to_lowercase(),
            r.identifier.to_lowercase(),
        ))
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
        if !self.active {
            return None;
        }
        output_columns(statements, &self.known)
    }

    /// Registers a node compiled in this level: its contract when enforced
    /// (what the build guarantees), else, for a model, what its SQL was
    /// proven to produce (a snapshot's table has more columns than its SQL).
    /// An incremental model's existing table keeps columns its SQL may no
    /// longer produce (`on_schema_change`): then only matching names count.
    pub(super) fn record(&mut self, node: &Node, inferred: Option<Vec<ColumnType>>) {
        if !self.active {
            return;
        }
        // A snapshot's table adds its meta columns to what its SQL selects.
        let inferred = inferred.filter(|_| node.resource_type == ResourceType::Model);
        let mut columns = declared(node).or(inferred);
        if node.config.materialization() == crate::project::config::Materialization::Incremental {
            if let Some(names) = self.existing(node) {
                columns = columns
                    .filter(|c| same_names(c, names))
                    .map(|_| untyped(names));
            }
        }
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
