//! What nodes declare about their rows ([`Declared`], from data tests,
//! constraints and `meta.grain`), and the registry the grain walk reads
//! while the project compiles ([`Grains`], filled parents first as
//! lineage's `Schemas`).

use std::collections::{BTreeSet, HashMap};

use serde_json::Value as Json;
use sqlparser::ast::Statement;

use crate::grain::infer::infer;
use crate::grain::shape::{minimal, Shape, ShapeKey};
use crate::grain::types::{Inference, Key, NotNull};
use crate::lineage::Tables;
use crate::manifest::{Manifest, Node, ResourceType};
use crate::project::config::Contract;
use crate::project::schema_yaml::ConstraintKind;

/// A grain a node promises: the columns it says are unique, and where it
/// says so.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeclaredGrain {
    /// The columns, lowercased.
    pub columns: Vec<String>,
    /// Where it is declared, in words: "the `unique` test on `order_id`",
    /// "its contract's primary key", "`meta.grain`".
    pub source: String,
}

/// What a node declares about its rows.
#[derive(Debug, Clone, Default)]
pub struct Declared {
    /// Keys relied on downstream: `unique` and `unique_combination_of_columns`
    /// tests that fail the build (severity error, no `where`, the default
    /// `error_if`), and `primary_key` / `unique` constraints of an
    /// enforced contract.
    pub keys: Vec<Key>,
    /// Not-null columns relied on downstream: such `not_null` tests, and
    /// `primary_key` / `not_null` constraints of an enforced contract.
    pub not_null: Vec<NotNull>,
    /// Every grain the node promises, relied on or not (a warning-severity
    /// test, an unenforced primary key, `meta.grain`): a fan-out join
    /// that would break one is warned about.
    pub grain: Vec<DeclaredGrain>,
    /// Every column a `not_null` test or constraint promises, relied on or
    /// not, with where it is declared.
    pub promised_not_null: Vec<(String, String)>,
}

impl Declared {
    /// Where `column` (lowercased) is promised never NULL, if it is.
    pub fn not_null_promised(&self, column: &str) -> Option<&str> {
        self.promised_not_null
            .iter()
            .find(|(c, _)| c == column)
            .map(|(_, source)| source.as_str())
    }
}

/// The node a test checks: its `attached_node`, or (for a source's test)
/// the one node it depends on.
pub fn tested_node(test: &Node) -> Option<&str> {
    let meta = test.test_metadata.as_ref()?;
    if let Some(a) = &meta.attached_node {
        return Some(a);
    }
    match test.depends_on.as_slice() {
        [one] => Some(one),
        _ => None,
    }
}

/// Whether a failing `test` fails the build on every row: severity error,
/// no `where`, no `limit`, the default `error_if`, enabled.
fn relied_on(test: &Node) -> bool {
    let c = &test.config;
    !c.get_str("severity")
        .is_some_and(|s| s.eq_ignore_ascii_case("warn"))
        && c.get("where").is_none_or(Json::is_null)
        && c.get("limit").is_none_or(Json::is_null)
        && c.get_str("error_if")
            .is_none_or(|e| e.replace(' ', "") == "!=0")
        && c.enabled()
}

/// The columns a test kwarg lists (`combination_of_columns: [a, b]`).
fn column_list(value: Option<&Json>) -> Option<Vec<String>> {
    match value? {
        Json::Array(items) => items
            .iter()
            .map(|v| v.as_str().map(|s| s.trim_matches('"').to_lowercase()))
            .collect(),
        Json::String(s) => Some(vec![s.trim_matches('"').to_lowercase()]),
        _ => None,
    }
}

/// Every node's [`Declared`] grain, by unique_id: from its data tests
/// (`unique`, `not_null`, `unique_combination_of_columns`), its constraints
/// and its `meta.grain` (a column or a list of columns).
pub fn declared_grain(manifest: &Manifest) -> HashMap<String, Declared> {
    let mut out: HashMap<String, Declared> = HashMap::new();
    for test in &manifest.nodes {
        let (Some(meta), Some(target)) = (&test.test_metadata, tested_node(test)) else {
            continue;
        };
        if test.resource_type != ResourceType::Test {
            continue;
        }
        let relied = relied_on(test);
        let declared = out.entry(target.to_owned()).or_default();
        let column = meta
            .column_name
            .as_deref()
            .or_else(|| meta.kwargs.get("column_name").and_then(Json::as_str))
            .map(|c| c.trim_matches('"').to_lowercase());
        let source = |what: &str| format!("the `{what}` test `{}`", test.name);
        match (meta.name.as_str(), column) {
            ("unique", Some(column)) => {
                if relied {
                    declared.keys.push(Key {
                        columns: vec![column.clone()],
                        with_nulls: false,
                        reason: format!("{} on {}", source("unique"), short(target)),
                    });
                }
                declared.grain.push(DeclaredGrain {
                    columns: vec![column],
                    source: source("unique"),
                });
            }
            ("not_null", Some(column)) => {
                if relied {
                    declared.not_null.push(NotNull {
                        column: column.clone(),
                        reason: format!("{} on {}", source("not_null"), short(target)),
                    });
                }
                declared
                    .promised_not_null
                    .push((column, source("not_null")));
            }
            ("unique_combination_of_columns", _) => {
                let Some(columns) = column_list(meta.kwargs.get("combination_of_columns")) else {
                    continue;
                };
                let what = "unique_combination_of_columns";
                if relied {
                    declared.keys.push(Key {
                        columns: sorted(&columns),
                        with_nulls: true,
                        reason: format!("{} on {}", source(what), short(target)),
                    });
                }
                declared.grain.push(DeclaredGrain {
                    columns: sorted(&columns),
                    source: source(what),
                });
            }
            _ => {}
        }
    }
    for node in &manifest.nodes {
        if !matches!(
            node.resource_type,
            ResourceType::Model | ResourceType::Seed | ResourceType::Snapshot
        ) {
            continue;
        }
        let enforced = Contract::of(&node.config).enforced;
        let mut keys: Vec<(Vec<String>, bool, String)> = Vec::new();
        let mut not_null: Vec<(String, String)> = Vec::new();
        for c in &node.constraints {
            let columns: Vec<String> = c.columns.iter().map(|x| x.to_lowercase()).collect();
            match c.kind {
                ConstraintKind::PrimaryKey if !columns.is_empty() => {
                    keys.push((
                        columns.clone(),
                        true,
                        "its contract's primary key".to_owned(),
                    ));
                    for col in columns {
                        not_null.push((col, "its contract's primary key".to_owned()));
                    }
                }
                ConstraintKind::Unique if !columns.is_empty() => keys.push((
                    columns,
                    false,
                    "its contract's unique constraint".to_owned(),
                )),
                _ => {}
            }
        }
        for col in &node.columns {
            let name = col.name.to_lowercase();
            for c in &col.constraints {
                match c.kind {
                    ConstraintKind::PrimaryKey => {
                        let why = format!("its contract's primary key `{name}`");
                        keys.push((vec![name.clone()], true, why.clone()));
                        not_null.push((name.clone(), why));
                    }
                    ConstraintKind::Unique => keys.push((
                        vec![name.clone()],
                        false,
                        format!("its contract's unique constraint on `{name}`"),
                    )),
                    ConstraintKind::NotNull => not_null
                        .push((name.clone(), format!("its contract's not_null on `{name}`"))),
                    _ => {}
                }
            }
        }
        let meta_grain = node
            .config
            .get("meta")
            .and_then(|m| column_list(m.get("grain")));
        if keys.is_empty() && not_null.is_empty() && meta_grain.is_none() {
            continue;
        }
        let declared = out.entry(node.unique_id.clone()).or_default();
        for (columns, with_nulls, source) in keys {
            declared.grain.push(DeclaredGrain {
                columns: sorted(&columns),
                source: source.clone(),
            });
            if enforced {
                declared.keys.push(Key {
                    columns: sorted(&columns),
                    with_nulls,
                    reason: format!("{source} ({})", short(&node.unique_id)),
                });
            }
        }
        for (column, source) in &not_null {
            declared
                .promised_not_null
                .push((column.clone(), source.clone()));
        }
        if enforced {
            for (column, source) in not_null {
                declared.not_null.push(NotNull {
                    column,
                    reason: format!("{source} ({})", short(&node.unique_id)),
                });
            }
        }
        if let Some(columns) = meta_grain {
            declared.grain.push(DeclaredGrain {
                columns: sorted(&columns),
                source: "its `meta.grain`".to_owned(),
            });
        }
    }
    out
}

fn sorted(columns: &[String]) -> Vec<String> {
    let set: BTreeSet<String> = columns.iter().cloned().collect();
    set.into_iter().collect()
}

/// `model.shop.orders` -> `orders`; `source.shop.raw.orders` -> `raw.orders`.
pub(crate) fn short(unique_id: &str) -> String {
    let parts: Vec<&str> = unique_id.split('.').collect();
    match parts.as_slice() {
        ["source", _, source, table] => format!("{source}.{table}"),
        [_, _, rest @ ..] if !rest.is_empty() => rest.join("."),
        _ => unique_id.to_owned(),
    }
}

/// The grain of every relation the walk can read, filled parents first:
/// nodes whose grain is inferred register it with [`Grains::record`]; every
/// other node registers, up front, what it declares. The default knows
/// no relation: fill it with [`Grains::declare`].
#[derive(Default)]
pub struct Grains<'a> {
    tables: Tables<Shape>,
    manifest: Option<&'a Manifest>,
    declared: HashMap<String, Declared>,
}

impl<'a> Grains<'a> {
    /// Registers every node of `manifest` for which `computed(position)` is
    /// false with its declared grain, and `columns(node)` when known.
    pub fn new(
        manifest: &'a Manifest,
        columns: impl Fn(&Node) -> Option<Vec<String>>,
        computed: impl Fn(usize) -> bool,
    ) -> Grains<'a> {
        let mut grains = Grains {
            tables: Tables::default(),
            manifest: Some(manifest),
            declared: declared_grain(manifest),
        };
        // A source can name a seed's table: what each declares of the
        // relation holds of it, the first node's name and columns stay.
        let mut shapes: Vec<(&Node, Shape)> = Vec::new();
        let mut by_relation: HashMap<String, usize> = HashMap::new();
        for (i, node) in manifest.nodes.iter().enumerate() {
            let Some(rel) = node.relation.as_ref().filter(|_| !computed(i)) else {
                continue;
            };
            let shape = grains.with_declared(
                &node.unique_id,
                Shape {
                    columns: columns(node).filter(|c| !c.is_empty()),
                    upstream: Some(short(&node.unique_id)),
                    ..Shape::default()
                },
            );
            let key = rel.to_string().to_lowercase();
            match by_relation.get(&key) {
                Some(&at) => {
                    let first = &mut shapes[at].1;
                    first.keys.extend(shape.keys);
                    first.keys = minimal(std::mem::take(&mut first.keys));
                    for (c, why) in shape.not_null {
                        first.not_null.entry(c).or_insert(why);
                    }
                }
                None => {
                    by_relation.insert(key, shapes.len());
                    shapes.push((node, shape));
                }
            }
        }
        for (node, shape) in shapes {
            grains.register(node, shape);
        }
        grains
    }

    /// What `unique_id` declares (empty when nothing).
    pub fn declared(&self, unique_id: &str) -> Option<&Declared> {
        self.declared.get(unique_id)
    }

    /// Registers a relation by name (`parts`: `[db, schema, name]` or a
    /// suffix) with `columns` (empty when unknown) and the keys and
    /// not-null columns of `declared`, for tests and tools that know
    /// relations without a manifest.
    pub fn declare(&mut self, parts: &[&str], columns: Vec<String>, declared: &Declared) {
        let shape = Shape {
            columns: (!columns.is_empty())
                .then(|| columns.iter().map(|c| c.to_lowercase()).collect()),
            keys: declared.keys.iter().map(shape_key).collect(),
            not_null: declared
                .not_null
                .iter()
                .map(|n| (n.column.clone(), n.reason.clone()))
                .collect(),
            upstream: parts.last().map(|p| (*p).to_owned()),
            ..Shape::default()
        };
        self.tables.insert(parts, shape);
    }

    /// Infers the grain of `statements` (a model's parsed SQL) from what is
    /// registered; `incremental`: the model is incremental.
    pub fn infer(&self, statements: &[Statement], incremental: bool) -> Inference {
        let (mut inference, shape) = infer(statements, &self.tables, incremental);
        inference.shape = Some(shape);
        inference
    }

    /// Registers the node at `position` with its `inferred` grain (or what
    /// it declares, when its grain was not inferred), joined with what it
    /// declares: what its children read.
    pub fn record(&mut self, position: usize, inferred: Option<&Inference>) {
        let Some(manifest) = self.manifest else {
            return;
        };
        let node = &manifest.nodes[position];
        let mut shape = inferred.and_then(|i| i.shape.clone()).unwrap_or_default();
        shape.upstream = Some(short(&node.unique_id));
        let shape = self.with_declared(&node.unique_id, shape);
        self.register(node, shape);
    }

    fn with_declared(&self, unique_id: &str, mut shape: Shape) -> Shape {
        if let Some(d) = self.declared.get(unique_id) {
            shape.keys.extend(d.keys.iter().map(shape_key));
            for n in &d.not_null {
                shape
                    .not_null
                    .entry(n.column.clone())
                    .or_insert_with(|| n.reason.clone());
            }
            shape.keys = minimal(std::mem::take(&mut shape.keys));
        }
        shape
    }

    fn register(&mut self, node: &Node, shape: Shape) {
        if let Some(rel) = &node.relation {
            if rel.is_cte() {
                self.tables.insert(&[&rel.identifier], shape);
            } else {
                self.tables
                    .insert(&[&rel.database, &rel.schema, &rel.identifier], shape);
            }
        }
    }
}

fn shape_key(k: &Key) -> ShapeKey {
    ShapeKey {
        columns: k.columns.iter().cloned().collect(),
        with_nulls: k.with_nulls,
        reason: k.reason.clone(),
    }
}
