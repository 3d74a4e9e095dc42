//! Data tests: generic tests declared in schema YAML (`not_null`, `unique`,
//! `accepted_values`, `relationships`, and any `{% test %}` macro) and
//! singular tests (SQL files in test-paths that return failing rows).
//!
//! Generic tests become nodes the way dbt builds them: the node name comes
//! from dbt's `synthesize_generic_test_names`, the arguments are stored as
//! `test_metadata.kwargs`, and the SQL is `{{ test_<name>(**_dbt_generic_test_kwargs) }}`,
//! rendered with each argument that looks like a call (`ref('x')`) evaluated
//! natively, as dbt's `add_rendered_test_kwargs`.
//!
//! A YAML entry is parsed in `spec`, named in `naming`, made a node in
//! `test_node` and rendered in `render`; this module walks the schema
//! files and parse-renders every test.

mod naming;
mod render;
mod signature;
mod spec;
mod test_node;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::error::{did_you_mean, Error, ErrorKind, Location, Result};
use crate::manifest::generic_tests::render::render_config;
use crate::manifest::generic_tests::spec::parse_entry;
use crate::manifest::generic_tests::test_node::{make_test_node, Owner, Target};
use crate::manifest::node::{slash, Node, ResourceType};
use crate::project::config::{Config, ConfigTree};
use crate::project::schema_yaml::{ColumnDef, SchemaFile};
use crate::project::Project;
use crate::render::{NodeScope, Phase, Renderer, Resolver};

pub use crate::manifest::generic_tests::naming::test_hash;
pub use crate::manifest::generic_tests::render::render_kwargs;
pub use crate::manifest::generic_tests::test_node::default_config;

/// Builds the generic test nodes declared in the project's schema YAML,
/// rendered once (parse phase) to find their dependencies.
///
/// Errors: [`ErrorKind::Config`] for a malformed test entry or an unknown
/// test (with a "did you mean"), located in the YAML file; Jinja errors from
/// the test macro.
pub fn generic_tests(
    project: &Project,
    renderer: &Renderer,
    resolver: &Arc<Resolver>,
    tests_tree: &ConfigTree,
    nodes: &[Node],
    sources: &[Node],
) -> Result<Vec<Node>> {
    // The tests of a package's YAML belong to that package, as dbt's: its
    // name in their unique_id and fqn, its own `data_tests:` config under
    // the root project's, and they test its nodes.
    let root_owner = Owner {
        name: project.name(),
        model_paths: project.config.model_paths.clone(),
        own_tree: ConfigTree::default(),
    };
    let owners: Vec<(&Path, Owner)> = project
        .packages
        .iter()
        .map(|p| {
            let owner = Owner {
                name: &p.name,
                model_paths: p
                    .config
                    .model_paths
                    .iter()
                    .map(|d| slash(&p.dir.join(d)))
                    .collect(),
                own_tree: ConfigTree::new(p.config.data_tests.clone()),
            };
            (p.dir.as_path(), owner)
        })
        .collect();
    let owner_of = |yml: &Path| {
        owners
            .iter()
            .find(|(dir, _)| yml.starts_with(dir))
            .map_or(&root_owner, |(_, owner)| owner)
    };
    let by_name: HashMap<(&str, &str, ResourceType), &Node> = nodes
        .iter()
        .map(|n| {
            (
                (n.package_name.as_str(), n.name.as_str(), n.resource_type),
                n,
            )
        })
        .collect();
    let known_tests: Vec<&str> = renderer
        .macros()
        .iter()
        .filter_map(|m| m.name.strip_prefix("test_"))
        .collect();
    // The parameters of dbt's own generic tests (unique, not_null,
    // accepted_values, relationships), when the project does not override
    // them. Only theirs are checked: a package's test macro may leave a
    // parameter out on purpose (Jinja passes it as undefined, as in
    // dbt-expectations' own tests), while a built-in without its argument
    // compiles to broken SQL.
    let builtin_params: HashMap<&str, Vec<(String, bool)>> = renderer
        .macros()
        .iter()
        .filter(|m| m.name.starts_with("test_") && m.package() == "dbt")
        .filter(|m| {
            !renderer
                .macros()
                .iter()
                .any(|o| o.name == m.name && o.package() == project.name())
        })
        .filter_map(|m| Some((m.name.as_str(), signature::params(&m.source, &m.name)?)))
        .collect();
    // One YAML file's tests; files in parallel (test nodes' configs and
    // ids cost ~0.1 s for 10,000 models one by one), results in file order.
    let file_tests = |(yml, file): &(PathBuf, SchemaFile)| -> Result<Vec<Node>> {
        let owner = owner_of(yml);
        let mut out = Vec::new();
        let mut targets: Vec<(Target, &[ColumnDef], &[serde_yaml::Value])> = Vec::new();
        for (patches, rtype) in [
            (&file.models, ResourceType::Model),
            (&file.seeds, ResourceType::Seed),
        ] {
            for patch in patches {
                let Some(node) = by_name.get(&(owner.name, patch.name.as_str(), rtype)) else {
                    continue;
                };
                targets.push((
                    Target {
                        node,
                        call: format!("ref('{}')", patch.name),
                        name: patch.name.clone(),
                        is_source: false,
                    },
                    &patch.columns,
                    &patch.data_tests,
                ));
            }
        }
        for src in &file.sources {
            for table in &src.tables {
                let Some(node) = sources.iter().find(|s| {
                    s.name == table.name
                        && s.source.as_ref().is_some_and(|i| i.source_name == src.name)
                }) else {
                    continue;
                };
                targets.push((
                    Target {
                        node,
                        call: format!("source('{}', '{}')", src.name, table.name),
                        name: format!("{}_{}", src.name, table.name),
                        is_source: true,
                    },
                    &table.columns,
                    &table.data_tests,
                ));
            }
        }
        let mut names: HashMap<String, usize> = HashMap::new();
        // How many entries of each test name the file has had so far, to
        // locate an error at its own entry, not the first of its name.
        let mut occurrences: HashMap<String, usize> = HashMap::new();
        for (target, columns, model_tests) in targets {
            let mut entries: Vec<(Option<&str>, &serde_yaml::Value)> =
                model_tests.iter().map(|t| (None, t)).collect();
            for col in columns {
                entries.extend(col.data_tests.iter().map(|t| (Some(col.name.as_str()), t)));
            }
            for (column, entry) in entries {
                let spec = parse_entry(entry, column)
                    .map_err(|msg| yaml_entry_error(project, yml, entry, &msg, None))?;
                let macro_call = renderer
                    .macro_call_path(&format!("test_{}", spec.name), spec.namespace.as_deref());
                let Some(macro_call) = macro_call else {
                    let hint = match did_you_mean(&spec.name, known_tests.iter().copied()) {
                        Some(s) => format!("did you mean `{s}`?"),
                        None => format!("define it with `{{% test {}(model, column_name) %}}` in macro-paths or tests/generic/", spec.name),
                    };
                    return Err(yaml_entry_error(
                        project,
                        yml,
                        entry,
                        &format!("unknown data test `{}`", spec.name),
                        Some(hint),
                    ));
                };
                let needle = entry_needle(entry).unwrap_or_default();
                let nth = {
                    let n = occurrences.entry(needle).or_insert(0usize);
                    *n += 1;
                    *n - 1
                };
                let macro_name = format!("test_{}", spec.name);
                let params = (spec.namespace.as_deref().is_none_or(|ns| ns == "dbt")
                    && !macro_call.contains('.')
                    || macro_call.starts_with("dbt."))
                .then(|| builtin_params.get(macro_name.as_str()))
                .flatten();
                if let Some(params) = params {
                    if let Some((missing, _)) = params
                        .iter()
                        .find(|(p, required)| *required && !spec.args.contains_key(p))
                    {
                        let on =
                            column.map_or(target.name.clone(), |c| format!("{}.{c}", target.name));
                        let unknown = spec
                            .args
                            .keys()
                            .map(String::as_str)
                            .filter(|k| !params.iter().any(|(p, _)| p == k));
                        let hint = match did_you_mean(missing, unknown) {
                            Some(given) => format!(
                                "`{given}` is not an argument of `{}`: did you mean `{missing}`?",
                                spec.name
                            ),
                            None => format!(
                                "give `{missing}:` under the test's `arguments:` (or beside its name), as dbt's `{}` requires",
                                spec.name
                            ),
                        };
                        return Err(yaml_entry_error_at(
                            project,
                            yml,
                            entry,
                            nth,
                            ErrorKind::Config,
                            &format!(
                                "data test `{}` on `{on}` is missing its required argument `{missing}`",
                                spec.name
                            ),
                            Some(hint),
                        ));
                    }
                }
                let node = make_test_node(owner, yml, tests_tree, &target, spec, &macro_call);
                // As dbt: two tests with one name (the same test and
                // arguments twice) are a duplicate node.
                let seen = names.entry(node.unique_id.clone()).or_insert(0usize);
                *seen += 1;
                if *seen > 1 {
                    return Err(yaml_entry_error_at(
                        project,
                        yml,
                        entry,
                        nth,
                        ErrorKind::DuplicateNode,
                        &format!("two data tests are named `{}`", node.name),
                        Some("the same test with the same arguments is listed twice: remove one, or give one a `name:`".to_owned()),
                    ));
                }
                out.push(node);
            }
        }
        Ok(out)
    };
    use rayon::prelude::*;
    let per_file: Vec<Result<Vec<Node>>> =
        project.schema_files.par_iter().map(file_tests).collect();
    let mut out = Vec::new();
    for tests in per_file {
        out.extend(tests?);
    }
    // Parse-render each test to learn its refs and in-macro config.
    out.par_iter_mut().try_for_each(|node| -> Result<()> {
        let new_scope = |config: &Config| {
            Arc::new(NodeScope::new(
                Phase::Parse,
                &node.unique_id,
                config.clone(),
                resolver.clone(),
            ))
        };
        let mut scope = new_scope(&node.config);
        let mut vars = node.vars();
        if render_config(renderer, &node.unique_id, &mut node.config, &scope, &vars)? {
            scope = new_scope(&node.config);
        }
        vars.test_kwargs = Some(render_kwargs(renderer, node, &scope, &vars)?);
        renderer
            .render(&node.unique_id, &node.raw_code, &scope, &vars)
            .map_err(|e| {
                e.or_location(|| {
                    node.patch_path
                        .as_ref()
                        .map(|p| Location::new(p, 1, 1, None))
                })
            })?;
        let captured = scope.captured();
        node.config.merge(&captured.config);
        node.refs = captured.refs;
        node.sources = captured.sources;
        Ok(())
    })?;
    Ok(out)
}

fn yaml_entry_error(
    project: &Project,
    yml: &Path,
    entry: &serde_yaml::Value,
    msg: &str,
    hint: Option<String>,
) -> Error {
    yaml_entry_error_at(project, yml, entry, 0, ErrorKind::Config, msg, hint)
}

/// [`yaml_entry_error`] located at the `nth` (0-based) occurrence of the
/// test's name in the file, of `kind`.
fn yaml_entry_error_at(
    project: &Project,
    yml: &Path,
    entry: &serde_yaml::Value,
    nth: usize,
    kind: ErrorKind,
    msg: &str,
    hint: Option<String>,
) -> Error {
    let text = std::fs::read_to_string(project.root.join(yml)).unwrap_or_default();
    let needle = entry_needle(entry);
    let mut err = Error::new(kind, format!("{msg} in `{}`", slash(yml)));
    if let Some(offset) = needle.and_then(|n| text.match_indices(&n).nth(nth).map(|(at, _)| at)) {
        err = err.with_location(Location::from_offset(yml, &text, offset));
    }
    match hint {
        Some(h) => err.with_hint(h),
        None => err,
    }
}

/// The text a test entry starts with in its YAML file: the test's name
/// (`not_null`, `dbt_utils.expression_is_true`).
fn entry_needle(entry: &serde_yaml::Value) -> Option<String> {
    match entry {
        serde_yaml::Value::String(s) => Some(s.clone()),
        serde_yaml::Value::Mapping(m) => {
            m.keys().next().and_then(|k| k.as_str()).map(str::to_owned)
        }
        _ => None,
    }
}
