//! The parsed project: every node (model, seed, source, test, analysis)
//! with its config, relation and dependencies, as dbt's manifest.
//!
//! [`Manifest::build`] runs dbt's parse phase: each model, test and analysis
//! is rendered once with `execute` false, in parallel, to learn its refs,
//! sources and in-file config; relations are named with the
//! `generate_schema_name` / `generate_alias_name` macros; generic tests are
//! generated from schema YAML; and every ref and source is resolved to a
//! unique_id (an unknown one is an error at the call's file:line).

pub mod access;
mod checks;
pub mod config_defaults;
mod config_values;
pub mod exposures;
pub mod generic_tests;
mod naming;
pub mod node;
mod patches;
mod resolve;
mod snapshots;
mod sources;
pub mod unit_tests;
mod versions;

use checks::{
    check_contract, check_duplicates, check_relations, check_snapshot_config, resolve_foreign_keys,
};
use naming::{name_relation, node_fqn, source_fqn};
use patches::{apply_patch_config, collect_patches, render_descriptions};
use resolve::resolve_dependencies;
pub use resolve::MacroNames;
use snapshots::snapshot_nodes;
use sources::external_source_location;

use node::sha256_bytes;
pub use node::{md5_hex, sha256, slash, Node, ResourceType, SourceInfo, TestMetadata};

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use minijinja::Value;
use rayon::prelude::*;
use serde_json::Value as Json;

use crate::error::Result;
use crate::project::config::{config_from_yaml_map, Config, ConfigTree};
use crate::project::{Project, SourceFile};
use crate::render::{NodeScope, NodeVars, Phase, Renderer, Resolver};
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
    /// The target's adapter (`duckdb`, `postgres`), as manifest.json's
    /// `metadata.adapter_type`.
    pub adapter_type: String,
    /// Every enabled node, sorted by unique_id.
    pub nodes: Vec<Node>,
    /// Nodes disabled by config, sorted by unique_id.
    pub disabled: Vec<Node>,
    index: HashMap<String, usize>,
    /// Relation resolution for the compile render.
    pub resolver: Arc<Resolver>,
    /// Warnings found while parsing (config keys that look like typos), as
    /// diagnostics to print with [`crate::error::Severity::Warning`].
    pub warnings: Vec<crate::error::Error>,
    /// `groups:` declared in YAML (dbt 1.5), in file order.
    pub groups: Vec<access::Group>,
    /// `exposures:` declared in YAML, sorted by unique_id.
    pub exposures: Vec<exposures::Exposure>,
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
        let mut source_ids: HashMap<String, PathBuf> = HashMap::new();
        for (yml, file) in &project.schema_files {
            // A package's sources are the package's, named and placed from its folder, as dbt's.
            let src_pkg = patches::package_of(project, yml);
            let src_dirs: Vec<String> = match project.packages.iter().find(|p| p.name == src_pkg) {
                Some(package) => package
                    .config
                    .model_paths
                    .iter()
                    .map(|d| slash(&package.dir.join(d)))
                    .collect(),
                None => project.config.model_paths.clone(),
            };
            for src in &file.sources {
                let mut src_config = freshness_properties(
                    &src.freshness,
                    &src.loaded_at_field,
                    &src.loaded_at_query,
                );
                src_config.merge(&config_from_yaml_map(&src.config));
                for table in &src.tables {
                    let mut config = src_config.clone();
                    config.merge(&freshness_properties(
                        &table.freshness,
                        &table.loaded_at_field,
                        &table.loaded_at_query,
                    ));
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
                    if let Some(field) = config.get_str("event_time") {
                        resolver.event_times.insert(relation.clone(), field);
                    }
                    let unique_id = format!("source.{src_pkg}.{}.{}", src.name, table.name);
                    if let Some(first) = source_ids.insert(unique_id.clone(), yml.clone()) {
                        return Err(checks::duplicate_source(
                            project,
                            &unique_id,
                            &first,
                            yml,
                            &table.name,
                        ));
                    }
                    sources.push(Node {
                        path: yml.clone(),
                        original_file_path: yml.clone(),
                        fqn: source_fqn(src_pkg, yml, &src_dirs, &src.name, &table.name),
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
                            format!("source.{src_pkg}.{}.{}", src.name, table.name),
                            table.name.clone(),
                            ResourceType::Source,
                            src_pkg,
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
                let (path, mut fqn) = node_fqn(pkg, &file.path, &dirs);
                let mut name = fqn.last().cloned().unwrap_or_default();
                // A model version's file: named after its version's entry.
                let versioned = match rtype {
                    ResourceType::Model => patches.versions.get(&(pkg.to_string(), name.clone())),
                    _ => None,
                };
                if let Some(entry) = versioned {
                    name = entry.clone();
                }
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
                let version = patch.and_then(|p| p.1.version.clone());
                let unique_id = match &version {
                    // As dbt: `model.<package>.<model>.v<v>`, fqn ending in the model and `v<v>`.
                    Some(v) => {
                        if let Some(last) = fqn.last_mut() {
                            last.clone_from(&v.base);
                        }
                        fqn.push(format!("v{}", v.v));
                        format!("model.{pkg}.{}.v{}", v.base, v.v)
                    }
                    None => format!("{}.{pkg}.{name}", rtype.as_str()),
                };
                file_nodes.push(Node {
                    version,
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

        versions::check_version_files(&project.root, &patches, &file_nodes)?;

        // Parse render, in parallel.
        // `ref('m')` of a versioned model means its latest version.
        resolver.versions = patches
            .models
            .values()
            .filter_map(|(_, p)| p.version.as_ref())
            .filter(|v| v.v == v.latest)
            .map(|v| (v.base.clone(), format!("{}_v{}", v.base, v.v)))
            .collect();
        let parse_resolver = Arc::new(Resolver {
            database: resolver.database.clone(),
            schema: resolver.schema.clone(),
            sources: resolver.sources.clone(),
            versions: resolver.versions.clone(),
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
                node.depends_on_macros =
                    macro_names.called_in(&node.raw_code, &node.package_name, &pkg);
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
                    node.manifest_relation = Some(name_relation(renderer, node, builtin_target)?);
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
        check_relations(&enabled)?;
        let (sources, disabled_sources): (Vec<Node>, Vec<Node>) =
            sources.into_iter().partition(|n| n.config.enabled());
        for node in &enabled {
            if let Some(rel) = &node.relation {
                resolver.refs.insert(node.name.clone(), rel.clone());
                resolver
                    .package_refs
                    .insert((node.package_name.clone(), node.name.clone()), rel.clone());
                if let Some(field) = node.config.get_str("event_time") {
                    resolver.event_times.insert(rel.clone(), field);
                }
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
        // A generic test depends on its test macro, found as its call is
        // (`dbt_utils.equality` is `macro.dbt_utils.test_equality`), and on
        // `get_where_subquery`, which its `model` argument calls, as dbt's.
        for test in &mut tests {
            if let Some(meta) = &test.test_metadata {
                let name = format!("test_{}", meta.name);
                let mut ids: Vec<String> = macro_names
                    .resolve(&name, meta.namespace.as_deref(), &test.package_name, &pkg)
                    .into_iter()
                    .collect();
                ids.push("macro.dbt.get_where_subquery".to_owned());
                test.depends_on_macros = ids;
            }
        }
        tests
            .par_iter_mut()
            .chain(
                enabled
                    .par_iter_mut()
                    .filter(|n| n.resource_type == ResourceType::Test),
            )
            .try_for_each(|test| -> Result<()> {
                test.manifest_relation = Some(name_relation(renderer, test, builtin_target)?);
                Ok(())
            })?;
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
        let package_dirs: HashMap<&str, &std::path::Path> = project
            .packages
            .iter()
            .map(|p| (p.name.as_str(), p.dir.as_path()))
            .collect();
        for node in nodes.iter_mut().chain(disabled.iter_mut()) {
            if let Some(dir) = package_dirs.get(node.package_name.as_str()) {
                node.package_dir = dir.to_path_buf();
            }
        }
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
        config_values::check_config_values(&project.root, &nodes)?;
        let groups: Vec<access::Group> = project
            .schema_files
            .iter()
            .flat_map(|(yml, file)| {
                let package = patches::package_of(project, yml);
                file.groups
                    .iter()
                    .map(move |g| access::Group::new(g, package, yml))
            })
            .collect();
        access::check_access(&groups, &nodes, &index)?;
        let mut exposures = Vec::new();
        for (yml, file) in &project.schema_files {
            if file.exposures.is_empty() {
                continue;
            }
            let package = patches::package_of(project, yml);
            let text = std::fs::read_to_string(project.root.join(yml)).unwrap_or_default();
            for def in &file.exposures {
                exposures.push(exposures::Exposure::resolve(
                    def, package, yml, &text, &nodes,
                )?);
            }
        }
        exposures.sort_by(|a, b| a.unique_id.cmp(&b.unique_id));
        let mut warnings = checks::config_key_typos(&project.root, &nodes);
        warnings.extend(versions::deprecation_warnings(
            &project.root,
            &nodes,
            chrono::Utc::now().date_naive(),
        ));
        Ok(Manifest {
            groups,
            exposures,
            project_name: pkg,
            adapter_type: project.target.adapter_type.clone(),
            nodes,
            disabled,
            index,
            resolver,
            warnings,
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

/// A source's or source table's `freshness`, `loaded_at_field` and
/// `loaded_at_query` written as properties beside `config:` (dbt before
/// 1.9 and 1.10), as config: the source's apply to its tables, a table's
/// override them (`freshness: null` turns the check off), and `config:`
/// at the same level overrides both, as dbt merges them.
fn freshness_properties(
    freshness: &Option<serde_yaml::Value>,
    loaded_at_field: &Option<String>,
    loaded_at_query: &Option<String>,
) -> Config {
    let mut config = Config::default();
    if let Some(f) = freshness {
        config.set("freshness", crate::project::config::yaml_to_json(f));
    }
    if let Some(field) = loaded_at_field {
        config.set("loaded_at_field", Json::from(field.clone()));
    }
    if let Some(query) = loaded_at_query {
        config.set("loaded_at_query", Json::from(query.clone()));
    }
    config
}

#[cfg(test)]
mod tests {
    use std::path::Path;

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
        let called = |raw: &str| macros.called_in(raw, "shop", "shop");
        assert_eq!(called("{{ cents (a) }} max(b)"), ["macro.p.cents"]);
        assert_eq!(
            called("{{ p.x(1) }} {{ cents_x(2) }} {{ xcents(3) }}"),
            ["macro.p.x"]
        );
        assert!(called("select cents(1)").is_empty(), "no Jinja, no calls");
    }

    #[test]
    fn macro_calls_resolve_as_dbt_finds_them() {
        let macros = MacroNames::new([
            ("cast", "macro.dbt.cast"),
            ("type_int", "macro.dbt.type_int"),
            ("type_int", "macro.shop.type_int"),
            ("star", "macro.dbt_utils.star"),
            ("star", "macro.helpers.star"),
        ]);
        let called = |raw: &str, pkg: &str| macros.called_in(raw, pkg, "shop");
        // SQL outside the tags is not a call; comments are not either.
        assert!(called("{{ x }} select cast(1 as int) {# cast(2) #}", "shop").is_empty());
        // Unqualified: the node's package, then the root project, then dbt.
        assert_eq!(called("{{ type_int() }}", "shop"), ["macro.shop.type_int"]);
        assert_eq!(
            called("{{ type_int() }}", "helpers"),
            ["macro.shop.type_int"]
        );
        assert_eq!(called("{{ star() }}", "helpers"), ["macro.helpers.star"]);
        // Qualified: that namespace only; a method of a non-namespace is no macro.
        assert_eq!(
            called("{{ dbt.type_int() }}", "shop"),
            ["macro.dbt.type_int"]
        );
        assert_eq!(
            called("{{ dbt_utils.star(x) }}", "helpers"),
            ["macro.dbt_utils.star"]
        );
        assert!(called("{% do cols.cast(1) %}", "shop").is_empty());
    }
}
