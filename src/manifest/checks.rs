//! The checks dbt's parser makes once configs are final: foreign keys
//! resolved, contracts and snapshot configs validated, and no two enabled
//! nodes with one name.

use std::collections::HashMap;
use std::path::Path;

use crate::error::{Error, ErrorKind, Location, Result};
use crate::manifest::node::{slash, Node, ResourceType};
use crate::manifest::resolve::push_ref;
use crate::render::Resolver;
use crate::warehouse::relation::Relation;

/// A foreign key's parent named by `to: ref(...)` / `to: source(...)`.
pub(crate) enum KeyParent {
    /// `ref(name)` or `ref(package, name)`.
    Ref(Option<String>, String),
    /// `source(source, table)`.
    Source(String, String),
}

/// Resolves the `to:` of a model's foreign-key constraints (`ref('m')`,
/// `source('s', 't')`; anything else is a relation name kept as written)
/// to relation names, and makes each parent a dependency of the model, as
/// dbt 1.9 adds it to `depends_on`.
///
/// Errors: [`ErrorKind::UnknownRef`] / [`ErrorKind::UnknownSource`] at the
/// YAML line of a `to:` that names nothing.
pub(crate) fn resolve_foreign_keys(
    root: &Path,
    resolver: &Resolver,
    node: &mut Node,
) -> Result<()> {
    static CALL: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(
            r#"^\s*(ref|source)\(\s*['"]([^'"]+)['"]\s*(?:,\s*['"]([^'"]+)['"]\s*)?\)\s*$"#,
        )
        .expect("valid regex")
    });
    let lookup = |to: &str| -> Option<(KeyParent, Option<&Relation>)> {
        let cap = CALL.captures(to)?;
        let (a, b) = (cap[2].to_owned(), cap.get(3).map(|m| m.as_str().to_owned()));
        Some(match (&cap[1], b) {
            ("ref", None) => (KeyParent::Ref(None, a.clone()), resolver.refs.get(&a)),
            ("ref", Some(b)) => {
                let rel = resolver.package_refs.get(&(a.clone(), b.clone()));
                (KeyParent::Ref(Some(a), b), rel)
            }
            (_, Some(b)) => {
                let rel = resolver.sources.get(&(a.clone(), b.clone()));
                (KeyParent::Source(a, b), rel)
            }
            (_, None) => (KeyParent::Source(a, String::new()), None),
        })
    };
    // (column index or None for the model, constraint index, `to`)
    let mut targets: Vec<(Option<usize>, usize, String)> = Vec::new();
    for (k, col) in node.columns.iter().enumerate() {
        for (j, c) in col.constraints.iter().enumerate() {
            targets.extend(c.to.clone().map(|to| (Some(k), j, to)));
        }
    }
    for (j, c) in node.constraints.iter().enumerate() {
        targets.extend(c.to.clone().map(|to| (None, j, to)));
    }
    for (column, j, to) in targets {
        let Some((parent, relation)) = lookup(&to) else {
            continue;
        };
        let Some(relation) = relation else {
            let kind = match parent {
                KeyParent::Ref(..) => ErrorKind::UnknownRef,
                KeyParent::Source(..) => ErrorKind::UnknownSource,
            };
            let column_name = column.map(|k| node.columns[k].name.as_str());
            return Err(Error::new(
                kind,
                format!(
                    "a foreign key constraint of model `{}` points `to` `{}`, which does not exist",
                    node.name,
                    to.trim()
                ),
            )
            .or_location(|| node.yaml_location(root, column_name, Some("to")))
            .with_hint("name an existing model with `ref('...')`, a source with `source('...', '...')`, or a relation"));
        };
        let resolved = Some(relation.to_string());
        match column {
            Some(k) => node.columns[k].constraints[j].to = resolved,
            None => node.constraints[j].to = resolved,
        }
        match parent {
            KeyParent::Ref(package, name) => push_ref(node, package, name),
            KeyParent::Source(source, table) => {
                if !node.sources.contains(&(source.clone(), table.clone())) {
                    node.sources.push((source, table));
                }
            }
        }
    }
    Ok(())
}

/// Checks a snapshot's config (strategy, unique_key, updated_at,
/// check_cols, hard_deletes) as dbt's parser does, so a mistake stops the
/// command before any database is opened.
///
/// Errors: [`ErrorKind::Config`] at the snapshot's `config(` call (or its
/// YAML entry, or the file's first line) with a hint.
pub(crate) fn check_snapshot_config(root: &Path, node: &Node) -> Result<()> {
    let Err((message, hint)) = crate::project::config::SnapshotConfig::of(&node.config) else {
        return Ok(());
    };
    let location = node
        .raw_code
        .find("config(")
        .map(|offset| Location::from_offset(&node.original_file_path, &node.raw_code, offset))
        .or_else(|| node.yaml_location(root, None, None))
        .unwrap_or_else(|| Location::new(&node.original_file_path, 1, 1, Some(&node.raw_code)));
    Err(Error::new(
        ErrorKind::Config,
        format!("snapshot `{}`: {message}", node.name),
    )
    .with_hint(hint)
    .with_location(location))
}

/// Checks a model's `contract` config as dbt's parser does.
///
/// Errors: [`ErrorKind::Config`] for an enforced contract on an ephemeral
/// model, or on columns without `data_type` (dbt: "Contracted models
/// require data_type to be defined for each column"), at the YAML line.
pub(crate) fn check_contract(root: &Path, node: &Node) -> Result<()> {
    if !crate::project::config::Contract::of(&node.config).enforced {
        return Ok(());
    }
    let at_model = || {
        node.yaml_location(root, None, None).or_else(|| {
            let offset = node.raw_code.find("contract")?;
            Some(Location::from_offset(
                &node.original_file_path,
                &node.raw_code,
                offset,
            ))
        })
    };
    if node.config.is_ephemeral() {
        return Err(Error::new(
            ErrorKind::Config,
            format!(
                "model `{}` has an enforced contract but is materialized `ephemeral`",
                node.name
            ),
        )
        .or_location(at_model)
        .with_hint("contracts apply to `table`, `view` and `incremental` models, as in dbt: change `materialized` or drop the contract"));
    }
    let untyped: Vec<&str> = node
        .columns
        .iter()
        .filter(|c| c.data_type.as_deref().is_none_or(|t| t.trim().is_empty()))
        .map(|c| c.name.as_str())
        .collect();
    if let Some(first) = untyped.first() {
        let names = untyped
            .iter()
            .map(|n| format!("`{n}`"))
            .collect::<Vec<_>>()
            .join(", ");
        return Err(Error::new(
            ErrorKind::Config,
            format!(
                "model `{}` has an enforced contract, but column{} {names} {} no `data_type`",
                node.name,
                if untyped.len() == 1 { "" } else { "s" },
                if untyped.len() == 1 { "has" } else { "have" },
            ),
        )
        .or_location(|| node.yaml_location(root, Some(first), None))
        .with_note("dbt: Contracted models require data_type to be defined for each column")
        .with_hint("give every column of the model a `data_type:` (e.g. `data_type: integer`)"));
    }
    Ok(())
}

/// Checks that no two enabled models, seeds or analyses share a name, as
/// dbt's "found two models with the same name" check: `ref()` finds nodes by
/// name. Errors: [`ErrorKind::DuplicateNode`] located at the second file.
pub(crate) fn check_duplicates(nodes: &[Node]) -> Result<()> {
    let mut seen: HashMap<&str, &Node> = HashMap::new();
    for node in nodes {
        if !matches!(
            node.resource_type,
            ResourceType::Model | ResourceType::Seed | ResourceType::Analysis
        ) {
            continue;
        }
        if let Some(prev) = seen.insert(&node.name, node) {
            return Err(Error::new(
                ErrorKind::DuplicateNode,
                format!(
                    "two resources are named `{}`: {} `{}` and {} `{}`",
                    node.name,
                    prev.resource_type.as_str(),
                    slash(&prev.original_file_path),
                    node.resource_type.as_str(),
                    slash(&node.original_file_path)
                ),
            )
            .with_hint(
                "`ref()` finds nodes by name, so names must be unique; rename one of the files",
            )
            .with_location(Location::new(
                &node.original_file_path,
                1,
                1,
                Some(&node.raw_code),
            )));
        }
    }
    Ok(())
}

/// Config keys dbt (and dbt-duckdb, and sluice) read beyond the ones
/// [`crate::manifest::config_defaults`] fills in.
const MORE_CONFIG_KEYS: &[&str] = &[
    "updated_at",
    "check_cols",
    "hard_deletes",
    "invalidate_hard_deletes",
    "snapshot_meta_column_names",
    "incremental_predicates",
    "merge_update_columns",
    "merge_exclude_columns",
    "sql_header",
    "location",
    "format",
    "options",
    "plugin",
    "glue_register",
    "partition_by",
    "cluster_by",
    "freshness",
    "docs",
    "on_error",
    "loaded_at_field",
    "loaded_at_query",
];

/// Warnings for config keys a model, seed or snapshot sets that no config
/// class has and that are one or two edits from one that does
/// (`materialised`): dbt would take such a key as a custom one and ignore
/// it, so the node silently builds with the default. Keys far from every
/// known one are custom keys and pass, as in dbt.
pub(crate) fn config_key_typos(root: &Path, nodes: &[Node]) -> Vec<Error> {
    let mut known: Vec<String> = [
        ResourceType::Model,
        ResourceType::Seed,
        ResourceType::Snapshot,
        ResourceType::Test,
    ]
    .into_iter()
    .flat_map(|t| {
        crate::manifest::config_defaults::with_dbt_defaults(t, &Default::default()).into_keys()
    })
    .chain(MORE_CONFIG_KEYS.iter().map(|k| (*k).to_owned()))
    .collect();
    known.sort();
    known.dedup();
    let mut out = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for node in nodes.iter().filter(|n| {
        matches!(
            n.resource_type,
            ResourceType::Model | ResourceType::Seed | ResourceType::Snapshot
        )
    }) {
        for key in node.config.0.keys() {
            if key.len() < 6 || known.iter().any(|k| k == key) {
                continue;
            }
            let Some(close) = known
                .iter()
                .filter(|k| strsim::levenshtein(k, key) <= 2)
                .min_by_key(|k| strsim::levenshtein(k, key))
            else {
                continue;
            };
            let mut warning = Error::new(
                ErrorKind::Config,
                format!(
                    "{} `{}` sets config `{key}`, which dbt does not know, so it has no effect",
                    node.resource_type.as_str(),
                    node.name
                ),
            )
            .with_hint(format!("did you mean `{close}`?"));
            let location = crate::manifest::config_values::locate(root, node, key);
            // A key set once in dbt_project.yml for a folder is one warning
            // there, not one per node.
            if location.is_some()
                && location.as_ref().map(|l| &l.path) != Some(&node.original_file_path)
                && !seen.insert((key.clone(), location.clone().map(|l| (l.path, l.line))))
            {
                continue;
            }
            if let Some(location) = location {
                warning = warning.with_location(location);
            }
            out.push(warning);
        }
    }
    out
}

/// Whether a node's own code sets its relation's name (`alias`, `schema`).
fn names_itself(node: &Node) -> bool {
    node.raw_code.contains("alias") || node.raw_code.contains("schema")
}

/// Where a node's relation is named: its file, at the first `alias` or
/// `schema` it mentions (a `config()` call), else at its start.
fn naming_location(node: &Node) -> Location {
    let offset = ["alias", "schema"]
        .iter()
        .filter_map(|k| node.raw_code.find(k))
        .min();
    match offset {
        Some(offset) => Location::from_offset(&node.original_file_path, &node.raw_code, offset),
        None => Location::new(&node.original_file_path, 1, 1, None),
    }
}

/// The scratch relations sluice builds beside a node's own while it runs
/// (the atomic swap's new table, an incremental's new rows, an external
/// model's staging table): names no other node may have.
const SCRATCH_SUFFIXES: [&str; 3] = ["__sluice_tmp", "__sluice_incr", "__sluice_tmp_ext"];

/// Checks that no two enabled models, seeds or snapshots build the same
/// relation (compared case-insensitively, as DuckDB's identifiers are), as
/// dbt's "found two resources with the database representation" check, and
/// that no node's relation is the scratch relation of another (a model
/// `orders__sluice_tmp` beside a table `orders` would be dropped by its
/// swap).
///
/// Errors: [`ErrorKind::DuplicateNode`] naming both nodes and their files,
/// with a hint to change an `alias` or `schema`.
pub(crate) fn check_relations(nodes: &[Node]) -> Result<()> {
    let key = |r: &crate::warehouse::relation::Relation, identifier: &str| {
        (
            r.database.to_lowercase(),
            r.schema.to_lowercase(),
            identifier.to_lowercase(),
        )
    };
    let built = |n: &&Node| {
        matches!(
            n.resource_type,
            ResourceType::Model | ResourceType::Seed | ResourceType::Snapshot
        ) && n.relation.as_ref().is_some_and(|r| !r.is_cte())
    };
    let mut seen: HashMap<(String, String, String), &Node> = HashMap::new();
    for node in nodes.iter().filter(built) {
        let rel = node.relation.as_ref().expect("filtered on a relation");
        if let Some(prev) = seen.insert(key(rel, &rel.identifier), node) {
            return Err(Error::new(
                ErrorKind::DuplicateNode,
                format!(
                    "found two resources with the database representation {rel}: {} `{}` ({}) and {} `{}` ({}); one would overwrite the other",
                    prev.resource_type.as_str(),
                    prev.name,
                    slash(&prev.original_file_path),
                    node.resource_type.as_str(),
                    node.name,
                    slash(&node.original_file_path)
                ),
            )
            .with_hint("give one of them another `alias` or `schema` in its config")
            .with_location(naming_location(
                if names_itself(node) || !names_itself(prev) {
                    node
                } else {
                    prev
                },
            )));
        }
    }
    for node in nodes.iter().filter(built) {
        let rel = node.relation.as_ref().expect("filtered on a relation");
        for suffix in SCRATCH_SUFFIXES {
            let scratch = format!("{}{suffix}", rel.identifier);
            if let Some(other) = seen.get(&key(rel, &scratch)) {
                return Err(Error::new(
                    ErrorKind::DuplicateNode,
                    format!(
                        "{} `{}` ({}) builds `{scratch}`, the scratch relation sluice uses while it builds {} `{}`; one build would drop the other's table",
                        other.resource_type.as_str(),
                        other.name,
                        slash(&other.original_file_path),
                        node.resource_type.as_str(),
                        node.name,
                    ),
                )
                .with_hint(format!(
                    "rename `{}` or give it an `alias`: names ending in `__sluice_tmp`, `__sluice_incr` or `__sluice_tmp_ext` are reserved beside a node of the same stem",
                    other.name
                ))
                .with_location(naming_location(other)));
            }
        }
    }
    Ok(())
}

/// dbt's duplicate-source error: source table `unique_id` is listed in
/// `first` and again in `second` (maybe the same file), located at the
/// second `- name: <table>` entry.
pub(crate) fn duplicate_source(
    project: &crate::project::Project,
    unique_id: &str,
    first: &Path,
    second: &Path,
    table: &str,
) -> Error {
    let text = std::fs::read_to_string(project.root.join(second)).unwrap_or_default();
    let entries = crate::project::schema_yaml::locate_entries(second, &text, table);
    let nth = usize::from(first == second);
    Error::new(
        ErrorKind::DuplicateNode,
        format!(
            "source table `{unique_id}` is listed twice: in `{}` and `{}`",
            slash(first),
            slash(second)
        ),
    )
    .with_hint("list each table of a source once; to describe it further, add to the first entry")
    .or_location(|| entries.into_iter().nth(nth))
}
