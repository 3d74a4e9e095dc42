//! The parsed project: every node (model, seed, source, test, analysis)
//! with its config, relation and dependencies, as dbt's manifest.
//!
//! [`Manifest::build`] runs dbt's parse phase: each model, test and analysis
//! is rendered once with `execute` false, in parallel, to learn its refs,
//! sources and in-file config; relations are named with the
//! `generate_schema_name` / `generate_alias_name` macros; generic tests are
//! generated from schema YAML; and every ref and source is resolved to a
//! unique_id (an unknown one is an error at the call's file:line).

pub mod generic_tests;
pub mod node;
pub mod unit_tests;

use node::sha256_bytes;
pub use node::{md5_hex, sha256, slash, Node, ResourceType, SourceInfo, TestMetadata};

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use minijinja::Value;
use rayon::prelude::*;
use serde_json::Value as Json;

use crate::error::{did_you_mean, Error, ErrorKind, Location, Result};
use crate::project::config::{config_from_yaml_map, yaml_to_json, Config, ConfigTree};
use crate::project::schema_yaml::NodePatch;
use crate::project::{Project, SourceFile};
use crate::render::{NodeScope, NodeVars, Phase, RefCall, Renderer, Resolver};
use crate::warehouse::relation::Relation;

/// Files of one kind of one package, with the folders their fqn is relative
/// to and the root project's config tree for them.
type FileJob<'a> = (
    &'a Unit<'a>,
    &'a [SourceFile],
    ResourceType,
    Vec<String>,
    &'a ConfigTree,
);

/// One package's files to turn into nodes: the root project or a local package.
struct Unit<'a> {
    pkg: String,
    models: &'a [SourceFile],
    seeds: &'a [PathBuf],
    model_dirs: Vec<String>,
    seed_dirs: Vec<String>,
    /// The package's own `models:` / `seeds:` config (empty for the root project).
    own_models: ConfigTree,
    own_seeds: ConfigTree,
}

/// The parsed project.
#[derive(Debug)]
pub struct Manifest {
    /// Project (root package) name.
    pub project_name: String,
    /// Every enabled node, sorted by unique_id.
    pub nodes: Vec<Node>,
    /// Nodes disabled by config, sorted by unique_id.
    pub disabled: Vec<Node>,
    index: HashMap<String, usize>,
    /// Relation resolution for the compile render.
    pub resolver: Arc<Resolver>,
}

impl Manifest {
    /// Parses `project` (see the module docs).
    ///
    /// Errors: located [`ErrorKind::Jinja`] for templates that fail to
    /// render, [`ErrorKind::UnknownRef`] / [`ErrorKind::UnknownSource`] with
    /// a "did you mean" hint, [`ErrorKind::DuplicateNode`] for clashing names
    /// or YAML entries, [`ErrorKind::MissingFile`] for a referenced seed whose CSV is missing.
    pub fn build(project: &Project, renderer: &Renderer) -> Result<Manifest> {
        let pkg = project.name().to_owned();
        let target = &project.target;
        let patches = collect_patches(project)?;
        let models_tree = ConfigTree::new(project.config.models.clone());
        let seeds_tree = ConfigTree::new(project.config.seeds.clone());
        let tests_tree = ConfigTree::new(project.config.data_tests.clone());
        let empty_tree = ConfigTree::default();
        let snapshots_tree = ConfigTree::new(project.config.snapshots.clone());

        // Sources first: they are known before any template renders.
        let mut sources = Vec::new();
        let mut resolver = Resolver {
            database: target.database.clone(),
            schema: target.schema.clone(),
            ..Resolver::default()
        };
        for (yml, file) in &project.schema_files {
            for src in &file.sources {
                let src_config = config_from_yaml_map(&src.config);
                for table in &src.tables {
                    let mut config = src_config.clone();
                    config.merge(&config_from_yaml_map(&table.config));
                    let mut tags: Vec<String> = src.tags.clone();
                    tags.extend(table.tags.iter().cloned());
                    if !tags.is_empty() {
                        config.set("tags", Json::from(tags));
                    }
                    // dbt renders these properties, so `schema: "{{ target.schema }}_raw"` works.
                    let render = |text: &str| -> Result<String> {
                        if !text.contains("{{") && !text.contains("{%") {
                            return Ok(text.to_owned());
                        }
                        let scope = Arc::new(NodeScope::new(
                            Phase::Parse,
                            &src.name,
                            Config::default(),
                            Arc::new(Resolver::default()),
                        ));
                        let vars = NodeVars {
                            this: None,
                            model: Value::from(()),
                            test_kwargs: None,
                        };
                        renderer
                            .render(&slash(yml), text, &scope, &vars)
                            .map(|s| s.trim().to_owned())
                    };
                    let mut relation = Relation::new(
                        &render(src.database.as_deref().unwrap_or(&target.database))?,
                        &render(src.schema.as_deref().unwrap_or(&src.name))?,
                        &render(table.identifier.as_deref().unwrap_or(&table.name))?,
                    );
                    relation.external = external_source_location(
                        yml,
                        &project.root,
                        src,
                        table,
                        &config,
                        &relation,
                    )?;
                    resolver
                        .sources
                        .insert((src.name.clone(), table.name.clone()), relation.clone());
                    sources.push(Node {
                        path: yml.clone(),
                        original_file_path: yml.clone(),
                        fqn: source_fqn(
                            &pkg,
                            yml,
                            &project.config.model_paths,
                            &src.name,
                            &table.name,
                        ),
                        config,
                        description: table.description.clone(),
                        columns: table.columns.clone(),
                        patch_path: Some(yml.clone()),
                        relation: Some(relation),
                        source: Some(SourceInfo {
                            source_name: src.name.clone(),
                            source_description: src.description.clone(),
                            loader: src.loader.clone(),
                        }),
                        ..Node::blank(
                            format!("source.{pkg}.{}.{}", src.name, table.name),
                            table.name.clone(),
                            ResourceType::Source,
                            &pkg,
                        )
                    });
                }
            }
        }

        // Models, analyses and singular tests: files with Jinja to parse;
        // the root project's, then each local package's models.
        let mut file_nodes: Vec<Node> = Vec::new();
        let mut units = vec![Unit {
            pkg: pkg.clone(),
            models: &project.models,
            seeds: &project.seeds,
            model_dirs: project.config.model_paths.clone(),
            seed_dirs: project.config.seed_paths.clone(),
            own_models: ConfigTree::default(),
            own_seeds: ConfigTree::default(),
        }];
        for package in &project.packages {
            let under = |dirs: &[String]| -> Vec<String> {
                dirs.iter().map(|d| slash(&package.dir.join(d))).collect()
            };
            units.push(Unit {
                pkg: package.name.clone(),
                models: &package.models,
                seeds: &package.seeds,
                model_dirs: under(&package.config.model_paths),
                seed_dirs: under(&package.config.seed_paths),
                own_models: ConfigTree::new(package.config.models.clone()),
                own_seeds: ConfigTree::new(package.config.seeds.clone()),
            });
        }
        let mut jobs: Vec<FileJob> = Vec::new();
        for (k, unit) in units.iter().enumerate() {
            jobs.push((
                unit,
                unit.models,
                ResourceType::Model,
                unit.model_dirs.clone(),
                &models_tree,
            ));
            if k == 0 {
                jobs.push((
                    unit,
                    &project.analyses,
                    ResourceType::Analysis,
                    project.config.analysis_paths.clone(),
                    &empty_tree,
                ));
                jobs.push((
                    unit,
                    &project.singular_tests,
                    ResourceType::Test,
                    project.config.test_paths.clone(),
                    &tests_tree,
                ));
            }
        }
        for (unit, files, rtype, dirs, tree) in jobs {
            let pkg = &unit.pkg;
            for file in files {
                let (path, fqn) = node_fqn(pkg, &file.path, &dirs);
                let name = fqn.last().cloned().unwrap_or_default();
                let mut config = match rtype {
                    ResourceType::Test => {
                        let mut c = generic_tests::default_config();
                        c.merge(&tree.resolve(&fqn));
                        c
                    }
                    // A package's own dbt_project.yml, then the root project's, as dbt.
                    ResourceType::Model => {
                        let mut c = unit.own_models.resolve(&fqn);
                        c.merge(&tree.resolve(&fqn));
                        c
                    }
                    _ => tree.resolve(&fqn),
                };
                let patch = match rtype {
                    ResourceType::Model => patches.models.get(&(pkg.to_string(), name.clone())),
                    ResourceType::Analysis => {
                        patches.analyses.get(&(pkg.to_string(), name.clone()))
                    }
                    _ => None,
                };
                apply_patch_config(&mut config, patch);
                let unique_id = format!("{}.{pkg}.{name}", rtype.as_str());
                file_nodes.push(Node {
                    path,
                    original_file_path: file.path.clone(),
                    fqn,
                    raw_code: file.text.clone(),
                    config,
                    description: patch.map(|p| p.1.description.clone()).unwrap_or_default(),
                    columns: patch.map(|p| p.1.columns.clone()).unwrap_or_default(),
                    constraints: patch.map(|p| p.1.constraints.clone()).unwrap_or_default(),
                    patch_path: patch.map(|p| p.0.clone()),
                    checksum: sha256(&file.text),
                    ..Node::blank(unique_id, name, rtype, pkg)
                });
            }
        }
        // Seeds.
        for unit in &units {
            let pkg = &unit.pkg;
            for rel in unit.seeds {
                let (path, fqn) = node_fqn(pkg, rel, &unit.seed_dirs);
                let name = fqn.last().cloned().unwrap_or_default();
                let mut config = unit.own_seeds.resolve(&fqn);
                config.merge(&seeds_tree.resolve(&fqn));
                let patch = patches.seeds.get(&(pkg.to_string(), name.clone()));
                apply_patch_config(&mut config, patch);
                file_nodes.push(Node {
                    path,
                    original_file_path: rel.clone(),
                    fqn,
                    config,
                    description: patch.map(|p| p.1.description.clone()).unwrap_or_default(),
                    columns: patch.map(|p| p.1.columns.clone()).unwrap_or_default(),
                    patch_path: patch.map(|p| p.0.clone()),
                    checksum: std::fs::read(project.root.join(rel))
                        .map(|b| sha256_bytes(&b))
                        .unwrap_or_default(),
                    ..Node::blank(format!("seed.{pkg}.{name}"), name, ResourceType::Seed, pkg)
                });
            }
        }
        file_nodes.extend(snapshot_nodes(project, &patches, &snapshots_tree, &pkg)?);

        // Parse render, in parallel.
        let parse_resolver = Arc::new(Resolver {
            database: resolver.database.clone(),
            schema: resolver.schema.clone(),
            sources: resolver.sources.clone(),
            ..Resolver::default()
        });
        let macro_names = MacroNames::new(
            renderer
                .macros()
                .iter()
                .map(|m| (m.name.as_str(), m.unique_id.as_str())),
        );
        file_nodes
            .par_iter_mut()
            .try_for_each(|node| -> Result<()> {
                if node.resource_type == ResourceType::Seed {
                    return Ok(());
                }
                // Disabled by dbt_project.yml or YAML, and no `config()` in
                // the file could enable it again: nothing to learn by rendering.
                if !node.config.enabled() && !node.raw_code.contains("enabled") {
                    return Ok(());
                }
                let scope = Arc::new(NodeScope::new(
                    Phase::Parse,
                    &node.unique_id,
                    node.config.clone(),
                    parse_resolver.clone(),
                ));
                let mut vars = node.vars();
                vars.this = Some(Relation::new(
                    &parse_resolver.database,
                    &parse_resolver.schema,
                    &node.name,
                ));
                renderer.render(
                    &slash(&node.original_file_path),
                    &node.raw_code,
                    &scope,
                    &vars,
                )?;
                let captured = scope.captured();
                node.config.merge(&captured.config);
                node.refs = captured.refs;
                node.sources = captured.sources;
                node.depends_on_macros = macro_names.called_in(&node.raw_code);
                Ok(())
            })?;

        // Name relations (models, seeds) with the naming macros.
        let naming_overridden = renderer.project_overrides(&[
            "generate_database_name",
            "generate_schema_name",
            "generate_alias_name",
        ]);
        let builtin_target = (!naming_overridden).then_some((
            parse_resolver.database.as_str(),
            parse_resolver.schema.as_str(),
        ));
        file_nodes
            .par_iter_mut()
            .try_for_each(|node| -> Result<()> {
                if node.resource_type == ResourceType::Model && node.config.is_ephemeral() {
                    node.relation = Some(Relation::cte(&node.name));
                } else if matches!(
                    node.resource_type,
                    ResourceType::Model | ResourceType::Seed | ResourceType::Snapshot
                ) && node.config.enabled()
                {
                    node.relation = Some(name_relation(renderer, node, builtin_target)?);
                }
                Ok(())
            })?;

        let (enabled, disabled): (Vec<Node>, Vec<Node>) =
            file_nodes.into_iter().partition(|n| n.config.enabled());
        // As dbt, names must be unique among enabled nodes only: a package's
        // disabled copy of a root model is no clash.
        check_duplicates(&enabled)?;
        let (sources, disabled_sources): (Vec<Node>, Vec<Node>) =
            sources.into_iter().partition(|n| n.config.enabled());
        for node in &enabled {
            if let Some(rel) = &node.relation {
                resolver.refs.insert(node.name.clone(), rel.clone());
                resolver
                    .package_refs
                    .insert((node.package_name.clone(), node.name.clone()), rel.clone());
            }
        }
        let resolver = Arc::new(resolver);
        // Contracts are checked once configs are final, as dbt's parser does.
        let mut enabled = enabled;
        for node in &mut enabled {
            match node.resource_type {
                ResourceType::Model => {
                    resolve_foreign_keys(&project.root, &resolver, node)?;
                    check_contract(&project.root, node)?;
                }
                ResourceType::Snapshot => check_snapshot_config(&project.root, node)?,
                _ => {}
            }
        }

        // Generic tests from YAML, parsed with the final relations.
        let mut tests = generic_tests::generic_tests(
            project,
            renderer,
            &resolver,
            &tests_tree,
            &enabled,
            &sources,
        )?;
        tests.retain(|t| t.config.enabled());
        let mut unit_tests = unit_tests::unit_test_nodes(project, &enabled)?;
        unit_tests.retain(|t| t.config.enabled());
        tests.extend(unit_tests);

        let mut nodes = enabled;
        nodes.extend(sources);
        nodes.extend(tests);
        let mut disabled = disabled;
        disabled.extend(disabled_sources);
        // unique_ids are unique, so an unstable sort gives the stable order.
        nodes.par_sort_unstable_by(|a, b| a.unique_id.cmp(&b.unique_id));
        disabled.sort_by(|a, b| a.unique_id.cmp(&b.unique_id));
        resolve_dependencies(project, &patches, &mut nodes, &disabled)?;
        nodes
            .par_iter_mut()
            .try_for_each(|n| render_descriptions(renderer, &resolver, &project.root, n))?;
        nodes
            .par_iter_mut()
            .for_each(|n| n.template = Some(n.template_value()));
        let index = nodes
            .iter()
            .enumerate()
            .map(|(i, n)| (n.unique_id.clone(), i))
            .collect();
        Ok(Manifest {
            project_name: pkg,
            nodes,
            disabled,
            index,
            resolver,
        })
    }

    /// The node with this unique_id.
    pub fn get(&self, unique_id: &str) -> Option<&Node> {
        self.index.get(unique_id).map(|&i| &self.nodes[i])
    }

    /// Position of the node in [`Manifest::nodes`].
    pub fn position(&self, unique_id: &str) -> Option<usize> {
        self.index.get(unique_id).copied()
    }
}

/// Renders descriptions that use Jinja (`{{ doc('x') }}`), as dbt does.
fn render_descriptions(
    renderer: &Renderer,
    resolver: &Arc<Resolver>,
    root: &Path,
    node: &mut Node,
) -> Result<()> {
    let needs = |d: &str| d.contains("{{") || d.contains("{%");
    if !needs(&node.description) && !node.columns.iter().any(|c| needs(&c.description)) {
        return Ok(());
    }
    let file = slash(node.patch_path.as_ref().unwrap_or(&node.original_file_path));
    let scope = Arc::new(NodeScope::new(
        Phase::Parse,
        &node.unique_id,
        node.config.clone(),
        resolver.clone(),
    ));
    let vars = NodeVars {
        this: node.relation.clone(),
        model: Value::from(()),
        test_kwargs: None,
    };
    let render = |text: &str| -> Result<String> {
        if needs(text) {
            renderer
                .render(&format!("<description in {file}>"), text, &scope, &vars)
                .map_err(|e| {
                    // Point at the description in the YAML file (read again only on error).
                    let yml = std::fs::read_to_string(root.join(&file)).unwrap_or_default();
                    let at = yml
                        .find(text.trim())
                        .map(|o| Location::from_offset(Path::new(&file), &yml, o));
                    e.or_location(|| at)
                        .with_note(format!("in a description in `{file}`"))
                })
        } else {
            Ok(text.to_owned())
        }
    };
    node.description = render(&node.description)?;
    for col in &mut node.columns {
        col.description = render(&col.description)?;
    }
    Ok(())
}

/// YAML patches by `(package, node name)`: `(yml path, patch)`. A package's
/// YAML describes the package's nodes only, so a root model and a package
/// model of the same name (one of them disabled) never clash, as in dbt.
#[derive(Default)]
struct Patches {
    models: HashMap<(String, String), (PathBuf, NodePatch)>,
    seeds: HashMap<(String, String), (PathBuf, NodePatch)>,
    analyses: HashMap<(String, String), (PathBuf, NodePatch)>,
    snapshots: HashMap<(String, String), (PathBuf, NodePatch)>,
}

/// The package whose folder holds `yml` (a path relative to the root project).
fn package_of<'a>(project: &'a Project, yml: &Path) -> &'a str {
    project
        .packages
        .iter()
        .find(|p| yml.starts_with(&p.dir))
        .map_or(project.name(), |p| p.name.as_str())
}

fn collect_patches(project: &Project) -> Result<Patches> {
    let mut patches = Patches::default();
    for (yml, file) in &project.schema_files {
        let pkg = package_of(project, yml);
        for (list, map, kind) in [
            (&file.models, &mut patches.models, "model"),
            (&file.seeds, &mut patches.seeds, "seed"),
            (&file.analyses, &mut patches.analyses, "analysis"),
            (&file.snapshots, &mut patches.snapshots, "snapshot"),
        ] {
            for patch in list {
                let key = (pkg.to_owned(), patch.name.clone());
                if let Some((prev, _)) = map.get(&key) {
                    return Err(Error::new(
                        ErrorKind::DuplicateNode,
                        format!(
                            "{kind} `{}` is described twice: in `{}` and `{}`",
                            patch.name,
                            slash(prev),
                            slash(yml)
                        ),
                    )
                    .with_hint("keep one YAML entry per node"));
                }
                map.insert(key, (yml.clone(), patch.clone()));
            }
        }
    }
    Ok(patches)
}

fn apply_patch_config(config: &mut Config, patch: Option<&(PathBuf, NodePatch)>) {
    let Some((_, patch)) = patch else { return };
    let mut layer = config_from_yaml_map(&patch.config);
    if patch.meta.is_mapping() {
        layer.set("meta", yaml_to_json(&patch.meta));
    }
    if patch.docs.is_mapping() {
        layer.set("docs", yaml_to_json(&patch.docs));
    }
    config.merge(&layer);
}

/// A foreign key's parent named by `to: ref(...)` / `to: source(...)`.
enum KeyParent {
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
fn resolve_foreign_keys(root: &Path, resolver: &Resolver, node: &mut Node) -> Result<()> {
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
fn check_snapshot_config(root: &Path, node: &Node) -> Result<()> {
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
fn check_contract(root: &Path, node: &Node) -> Result<()> {
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

/// Adds `ref(package, name)` to a node's refs unless it is there.
fn push_ref(node: &mut Node, package: Option<String>, name: String) {
    if !node
        .refs
        .iter()
        .any(|r| r.name == name && r.package == package)
    {
        node.refs.push(RefCall { package, name });
    }
}

/// `(path relative to its resource dir, fqn)` of a node file, as dbt.
fn node_fqn(pkg: &str, rel: &Path, dirs: &[String]) -> (PathBuf, Vec<String>) {
    let inner = dirs
        .iter()
        .find_map(|d| rel.strip_prefix(d.trim_end_matches('/')).ok())
        .unwrap_or(rel)
        .to_path_buf();
    let mut fqn = vec![pkg.to_owned()];
    if let Some(parent) = inner.parent() {
        fqn.extend(
            parent
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned()),
        );
    }
    fqn.push(
        inner
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default(),
    );
    (inner, fqn)
}

/// What a source table renders as when it lives in files: its
/// `external_location` (table config, then source config, then table meta,
/// then source meta), filled in with its fields and quoted, as dbt-duckdb's
/// `DuckDBRelation.create_from` (formatter `newstyle`, `oldstyle` or `template`).
/// Relative file paths are anchored at the project directory.
///
/// Errors: [`ErrorKind::Config`], located at the source's YAML, for an
/// unknown formatter or a placeholder naming no field.
fn external_source_location(
    yml: &Path,
    root: &Path,
    src: &crate::project::schema_yaml::SourceDef,
    table: &crate::project::schema_yaml::SourceTable,
    config: &Config,
    relation: &Relation,
) -> Result<Option<String>> {
    let mut fields: BTreeMap<String, String> = BTreeMap::new();
    let absorb = |v: &serde_yaml::Value, fields: &mut BTreeMap<String, String>| {
        if let Some(map) = v.as_mapping() {
            for (k, v) in map {
                let text = match v {
                    serde_yaml::Value::String(s) => s.clone(),
                    serde_yaml::Value::Bool(b) => {
                        if *b {
                            "True".into()
                        } else {
                            "False".into()
                        }
                    }
                    serde_yaml::Value::Number(n) => n.to_string(),
                    _ => continue,
                };
                if let Some(k) = k.as_str() {
                    fields.insert(k.to_owned(), text);
                }
            }
        }
    };
    absorb(&src.meta, &mut fields);
    absorb(&table.meta, &mut fields);
    for (k, v) in &config.0 {
        if let Json::String(text) = v {
            fields.insert(k.clone(), text.clone());
        }
    }
    let Some(template) = fields.get("external_location").cloned() else {
        return Ok(None);
    };
    fields.insert("name".into(), table.name.clone());
    fields.insert("identifier".into(), relation.identifier.clone());
    fields.insert("schema".into(), relation.schema.clone());
    fields.insert("database".into(), relation.database.clone());
    let located = |msg: String| {
        Error::new(
            ErrorKind::Config,
            format!("source `{}.{}`: {msg}", src.name, table.name),
        )
        .or_location(|| {
            let text = std::fs::read_to_string(root.join(yml)).ok()?;
            let off = text.find("external_location")?;
            Some(Location::from_offset(yml, &text, off))
        })
        .with_hint("external_location is a Python format string: `{name}` is the table name; set `formatter: oldstyle` for locations with braces")
    };
    let formatter = fields
        .get("formatter")
        .map(|f| crate::warehouse::external::Formatter::parse(f))
        .transpose()
        .map_err(located)?
        .unwrap_or(crate::warehouse::external::Formatter::NewStyle);
    let location = crate::warehouse::external::source_location(&template, formatter, &fields)
        .map_err(located)?;
    Ok(Some(anchor_quoted_path(root, &location)))
}

/// A quoted relative file path (`'data/x.parquet'`) anchored at `root`, so
/// the source reads the same file whichever directory sluice runs from;
/// function calls, URLs and absolute paths are kept as written.
fn anchor_quoted_path(root: &Path, location: &str) -> String {
    let Some(inner) = location
        .strip_prefix('\'')
        .and_then(|l| l.strip_suffix('\''))
    else {
        return location.to_owned();
    };
    if inner.contains('\'') {
        return location.to_owned();
    }
    format!("'{}'", crate::warehouse::external::anchor(root, inner))
}

fn source_fqn(pkg: &str, yml: &Path, dirs: &[String], source: &str, table: &str) -> Vec<String> {
    let (_, mut fqn) = node_fqn(pkg, yml, dirs);
    fqn.pop();
    fqn.push(source.to_owned());
    fqn.push(table.to_owned());
    fqn
}

fn check_duplicates(nodes: &[Node]) -> Result<()> {
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
            ));
        }
    }
    Ok(())
}

/// Names the node's relation with generate_database_name / generate_schema_name / generate_alias_name.
///
/// `builtin_target`: the target's `(database, schema)` when no project or
/// package overrides a naming macro (or the `default__`/`duckdb__` versions
/// they dispatch to); then the names are computed here, exactly as the
/// built-in macros in templates/macros/naming.sql would (dbt's defaults),
/// without rendering three templates per node.
fn name_relation(
    renderer: &Renderer,
    node: &Node,
    builtin_target: Option<(&str, &str)>,
) -> Result<Relation> {
    if let Some((target_database, target_schema)) = builtin_target {
        // As the macro path: a snapshot's target_* as written, the rest
        // trimmed as the macros' rendered output is.
        let database = match (node.resource_type, node.config.get_str("target_database")) {
            (ResourceType::Snapshot, Some(d)) => d,
            _ => match node.config.get_str("database") {
                Some(d) => d.trim().to_owned(),
                None => target_database.trim().to_owned(),
            },
        };
        let schema = match (node.resource_type, node.config.get_str("target_schema")) {
            (ResourceType::Snapshot, Some(s)) => s,
            _ => match node.config.get_str("schema") {
                Some(custom) => format!("{target_schema}_{}", custom.trim())
                    .trim()
                    .to_owned(),
                None => target_schema.trim().to_owned(),
            },
        };
        let alias = match node.config.get_str("alias") {
            Some(a) if !a.is_empty() => a.trim().to_owned(),
            _ => node.name.trim().to_owned(),
        };
        return Ok(Relation::new(&database, &schema, &alias));
    }
    let node_value = node.template_value();
    let custom = |key: &str| {
        node.config
            .get_str(key)
            .map(Value::from)
            .unwrap_or(Value::from(()))
    };
    let call = |name: &str, key: &str| -> Result<String> {
        renderer
            .call_macro(name, &[custom(key), node_value.clone()])
            .map(|v| v.to_string().trim().to_owned())
            .map_err(|e| e.with_note(format!("while naming the relation of `{}`", node.unique_id)))
    };
    // Snapshots' legacy `target_schema` / `target_database` are used as
    // they are, without the naming macros, as dbt.
    let database = match node.config.get_str("target_database") {
        Some(d) if node.resource_type == ResourceType::Snapshot => d,
        _ => call("generate_database_name", "database")?,
    };
    let schema = match node.config.get_str("target_schema") {
        Some(s) if node.resource_type == ResourceType::Snapshot => s,
        _ => call("generate_schema_name", "schema")?,
    };
    Ok(Relation::new(
        &database,
        &schema,
        &call("generate_alias_name", "alias")?,
    ))
}

/// Snapshot nodes: `{% snapshot name %}...{% endsnapshot %}` blocks of the
/// snapshot files (the block's body is the node's template, padded so line
/// numbers match the file), and dbt 1.9 YAML `snapshots:` entries with a
/// `relation:` (`select * from {{ relation }}`). Config: the `snapshots:`
/// tree of dbt_project.yml, then the YAML entry's `config:`, then the
/// block's own `config(...)` (applied when it is parsed).
///
/// Errors: [`ErrorKind::Jinja`] (located) for an unclosed block.
fn snapshot_nodes(
    project: &Project,
    patches: &Patches,
    tree: &ConfigTree,
    pkg: &str,
) -> Result<Vec<Node>> {
    static BLOCK: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(r"(?s)\{%-?\s*snapshot\s+([A-Za-z_][A-Za-z0-9_]*)\s*-?%\}(.*?)\{%-?\s*endsnapshot\s*-?%\}")
            .expect("valid regex")
    });
    let mut out = Vec::new();
    let mut make = |name: String, file: &Path, fqn: Vec<String>, path: PathBuf, raw: String| {
        let mut config = Config::default();
        config.set("materialized", Json::from("snapshot"));
        config.merge(&tree.resolve(&fqn));
        let patch = patches
            .snapshots
            .get(&(project.name().to_owned(), name.clone()));
        apply_patch_config(&mut config, patch);
        out.push(Node {
            path,
            original_file_path: file.to_path_buf(),
            fqn,
            checksum: sha256(&raw),
            raw_code: raw,
            config,
            description: patch.map(|p| p.1.description.clone()).unwrap_or_default(),
            columns: patch.map(|p| p.1.columns.clone()).unwrap_or_default(),
            patch_path: patch.map(|p| p.0.clone()),
            ..Node::blank(
                format!("snapshot.{pkg}.{name}"),
                name,
                ResourceType::Snapshot,
                pkg,
            )
        });
    };
    for file in &project.snapshots {
        let text = &file.text;
        let mut found = 0;
        for cap in BLOCK.captures_iter(text) {
            found += 1;
            let body = cap.get(2).expect("group");
            let before = &text[..body.start()];
            let line_start = before.rfind('\n').map_or(0, |i| i + 1);
            let mut raw = "\n".repeat(before.matches('\n').count());
            raw.push_str(&" ".repeat(text[line_start..body.start()].chars().count()));
            raw.push_str(body.as_str());
            let (path, mut fqn) = node_fqn(pkg, &file.path, &project.config.snapshot_paths);
            fqn.push(cap[1].to_owned());
            make(cap[1].to_owned(), &file.path, fqn, path, raw);
        }
        static OPEN: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
            regex::Regex::new(r"\{%-?\s*snapshot\s").expect("valid regex")
        });
        let opens: Vec<usize> = OPEN.find_iter(text).map(|m| m.start()).collect();
        if opens.len() > found {
            let at = opens[found];
            return Err(Error::new(
                ErrorKind::Jinja,
                format!(
                    "`{}` has a `{{% snapshot %}}` block that is never closed",
                    slash(&file.path)
                ),
            )
            .with_location(Location::from_offset(&file.path, text, at))
            .with_hint("end it with `{% endsnapshot %}`"));
        }
    }
    for ((_, name), (yml, patch)) in &patches.snapshots {
        let Some(relation) = &patch.relation else {
            continue;
        };
        let (path, mut fqn) = node_fqn(pkg, yml, &project.config.snapshot_paths);
        fqn.pop();
        fqn.push(name.clone());
        make(
            name.clone(),
            yml,
            fqn,
            path,
            format!("select * from {{{{ {relation} }}}}"),
        );
    }
    Ok(out)
}

/// Macro names to their unique_ids (several when packages define the same
/// name), for finding which macros a file calls.
#[derive(Debug, Default)]
pub struct MacroNames(HashMap<String, Vec<String>>);

impl MacroNames {
    /// Indexes `(name, unique_id)` pairs.
    pub fn new<'a>(macros: impl IntoIterator<Item = (&'a str, &'a str)>) -> MacroNames {
        let mut by_name: HashMap<String, Vec<String>> = HashMap::new();
        for (name, id) in macros {
            by_name
                .entry(name.to_owned())
                .or_default()
                .push(id.to_owned());
        }
        MacroNames(by_name)
    }

    /// unique_ids of the macros that `raw` calls (`name(` after a
    /// non-identifier character; every macro of that name), sorted. Empty
    /// when `raw` has no Jinja.
    ///
    /// One pass over `raw`: each identifier followed by `(` is looked up.
    pub fn called_in(&self, raw: &str) -> Vec<String> {
        if !raw.contains("{{") && !raw.contains("{%") {
            return Vec::new();
        }
        let bytes = raw.as_bytes();
        let is_ident = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
        let mut out: Vec<String> = Vec::new();
        let mut i = 0;
        while i < bytes.len() {
            if !is_ident(bytes[i]) {
                i += 1;
                continue;
            }
            let start = i;
            while i < bytes.len() && is_ident(bytes[i]) {
                i += 1;
            }
            if let Some(ids) = self.0.get(&raw[start..i]) {
                if raw[i..].trim_start().starts_with('(') {
                    out.extend(ids.iter().cloned());
                }
            }
        }
        out.sort();
        out.dedup();
        out
    }
}

/// Resolves every node's refs and sources to unique_ids.
fn resolve_dependencies(
    project: &Project,
    patches: &Patches,
    nodes: &mut [Node],
    disabled: &[Node],
) -> Result<()> {
    let mut by_name: HashMap<String, String> = HashMap::new();
    let mut sources: BTreeMap<(String, String), String> = BTreeMap::new();
    // sluice extension: a source that names a seed's table depends on that
    // seed, so `build` loads the seed before models read the source.
    let seed_relations: HashMap<Relation, String> = nodes
        .iter()
        .filter(|n| n.resource_type == ResourceType::Seed)
        .filter_map(|n| n.relation.clone().map(|r| (r, n.unique_id.clone())))
        .collect();
    for node in nodes.iter() {
        match node.resource_type {
            ResourceType::Model | ResourceType::Seed | ResourceType::Snapshot => {
                by_name.insert(node.name.clone(), node.unique_id.clone());
            }
            ResourceType::Source => {
                if let Some(info) = &node.source {
                    sources.insert(
                        (info.source_name.clone(), node.name.clone()),
                        node.unique_id.clone(),
                    );
                }
            }
            _ => {}
        }
    }
    for node in nodes.iter_mut() {
        // A unit test depends on its model, set when it was built.
        let mut deps = if node.resource_type == ResourceType::UnitTest {
            node.depends_on.clone()
        } else {
            Vec::new()
        };
        for call in &node.refs {
            match by_name.get(&call.name) {
                Some(id) => deps.push(id.clone()),
                None => {
                    return Err(unknown_ref(
                        project, patches, node, call, &by_name, disabled,
                    ))
                }
            }
        }
        for key in &node.sources {
            match sources.get(key) {
                Some(id) => deps.push(id.clone()),
                None => {
                    let known: Vec<String> =
                        sources.keys().map(|(s, t)| format!("{s}.{t}")).collect();
                    let wanted = format!("{}.{}", key.0, key.1);
                    let mut err = Error::new(
                        ErrorKind::UnknownSource,
                        format!(
                            "{} `{}` refers to source `{wanted}`, which does not exist",
                            node.resource_type.as_str(),
                            node.name
                        ),
                    )
                    .or_location(|| locate_call(node, "source", &key.0));
                    err = match did_you_mean(&wanted, known.iter().map(String::as_str)) {
                        Some(s) => err.with_hint(format!("did you mean `{s}`?")),
                        None => err.with_hint("declare it under `sources:` in a schema YAML file"),
                    };
                    return Err(err);
                }
            }
        }
        if node.resource_type == ResourceType::Source {
            if let Some(seed) = node.relation.as_ref().and_then(|r| seed_relations.get(r)) {
                deps.push(seed.clone());
            }
        }
        if let Some(meta) = &node.test_metadata {
            if let Some(attached) = &meta.attached_node {
                deps.push(attached.clone());
            }
        }
        deps.sort();
        deps.dedup();
        deps.retain(|d| d != &node.unique_id);
        node.depends_on = deps;
    }
    Ok(())
}

fn unknown_ref(
    project: &Project,
    patches: &Patches,
    node: &Node,
    call: &RefCall,
    by_name: &HashMap<String, String>,
    disabled: &[Node],
) -> Error {
    let what = node.resource_type.as_str();
    let location = || locate_call(node, "ref", &call.name);
    if let Some(d) = disabled.iter().find(|d| d.name == call.name) {
        return Error::new(
            ErrorKind::UnknownRef,
            format!(
                "{what} `{}` refers to `{}`, which is disabled",
                node.name, call.name
            ),
        )
        .or_location(location)
        .with_hint(format!(
            "enable `{}` (`enabled: true`) or remove the ref",
            slash(&d.original_file_path)
        ));
    }
    if let Some((yml, _)) = patches
        .seeds
        .iter()
        .find(|((_, name), _)| *name == call.name)
        .map(|(_, v)| v)
    {
        let expected = project
            .config
            .seed_paths
            .first()
            .map(|d| format!("{d}/{}.csv", call.name))
            .unwrap_or_default();
        return Error::new(
            ErrorKind::MissingFile,
            format!(
                "{what} `{}` refers to seed `{}`, which `{}` describes, but its CSV file `{expected}` does not exist",
                node.name,
                call.name,
                slash(yml)
            ),
        )
        .or_location(location)
        .with_hint(format!("add `{expected}` (a CSV file with a header row) or remove the ref"));
    }
    let err = Error::new(
        ErrorKind::UnknownRef,
        format!(
            "{what} `{}` refers to `{}`, which does not exist",
            node.name, call.name
        ),
    )
    .or_location(location);
    match did_you_mean(&call.name, by_name.keys().map(String::as_str)) {
        Some(s) => err.with_hint(format!("did you mean `{s}`?")),
        None => err.with_hint("create a model or seed with that name, or fix the spelling"),
    }
}

/// The location of `func('arg'` in the node's file, if it is written there.
fn locate_call(node: &Node, func: &str, arg: &str) -> Option<Location> {
    let raw = &node.raw_code;
    for quote in ['\'', '"'] {
        let needle = format!("{quote}{arg}{quote}");
        let mut from = 0;
        while let Some(i) = raw[from..].find(&needle) {
            let at = from + i;
            let before = raw[..at].trim_end();
            let before = before
                .strip_suffix(',')
                .map(str::trim_end)
                .unwrap_or(before);
            let before = before.strip_suffix('(').map(str::trim_end);
            if let Some(b) = before {
                if b.ends_with(func) || (func == "ref" && b.contains("ref(")) {
                    let start = b.len() - func.len().min(b.len());
                    let call_start = raw[..at].rfind(func).unwrap_or(start);
                    return Some(Location::from_offset(
                        &node.original_file_path,
                        raw,
                        call_start,
                    ));
                }
            }
            from = at + needle.len();
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fqn_follows_folders() {
        let (path, fqn) = node_fqn(
            "shop",
            Path::new("models/staging/stg_orders.sql"),
            &["models".into()],
        );
        assert_eq!(path, Path::new("staging/stg_orders.sql"));
        assert_eq!(fqn, ["shop", "staging", "stg_orders"]);
    }

    #[test]
    fn macro_calls_need_word_boundary_and_paren() {
        let macros = MacroNames::new([("cents", "macro.p.cents"), ("x", "macro.p.x")]);
        assert_eq!(
            macros.called_in("{{ cents (a) }} max(b)"),
            ["macro.p.cents"]
        );
        assert_eq!(
            macros.called_in("{{ p.x(1) }} {{ cents_x(2) }} {{ xcents(3) }}"),
            ["macro.p.x"]
        );
        assert!(
            macros.called_in("select cents(1)").is_empty(),
            "no Jinja, no calls"
        );
    }
}
