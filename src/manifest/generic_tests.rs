//! Data tests: generic tests declared in schema YAML (`not_null`, `unique`,
//! `accepted_values`, `relationships`, and any `{% test %}` macro) and
//! singular tests (SQL files in test-paths that return failing rows).
//!
//! Generic tests become nodes the way dbt builds them: the node name comes
//! from dbt's `synthesize_generic_test_names`, the arguments are stored as
//! `test_metadata.kwargs`, and the SQL is `{{ test_<name>(**_dbt_generic_test_kwargs) }}`,
//! rendered with each argument that looks like a call (`ref('x')`) evaluated
//! natively, as dbt's `add_rendered_test_kwargs`.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, LazyLock};

use minijinja::Value;
use regex::Regex;
use serde_json::{Map, Value as Json};

use crate::error::{did_you_mean, Error, ErrorKind, Location, Result};
use crate::manifest::node::{md5_hex, slash, Node, ResourceType, TestMetadata};
use crate::project::config::{yaml_to_json, Config, ConfigTree};
use crate::project::schema_yaml::{ColumnDef, SchemaFile};
use crate::project::Project;
use crate::render::pycompat::python_str_repr;
use crate::render::{NodeScope, NodeVars, Phase, Renderer, Resolver};

/// Config keys that may sit directly in a test entry, as dbt's `TestBuilder.CONFIG_ARGS`.
const CONFIG_ARGS: &[&str] = &[
    "severity",
    "tags",
    "enabled",
    "where",
    "limit",
    "warn_if",
    "error_if",
    "fail_calc",
    "store_failures",
    "store_failures_as",
    "meta",
    "database",
    "schema",
    "alias",
];

/// The config every test starts from, as dbt's test config defaults.
pub fn default_config() -> Config {
    let mut c = Config::default();
    c.set("severity", Json::from("ERROR"));
    c.set("warn_if", Json::from("!= 0"));
    c.set("error_if", Json::from("!= 0"));
    c.set("fail_calc", Json::from("count(*)"));
    c.set("store_failures", Json::Null);
    c.set("schema", Json::from("dbt_test__audit"));
    c
}

/// One test entry of a YAML `data_tests:` list, normalised.
#[derive(Debug, Clone, PartialEq)]
struct TestSpec {
    namespace: Option<String>,
    name: String,
    custom_name: Option<String>,
    column_name: Option<String>,
    args: BTreeMap<String, Json>,
    config: Config,
}

fn parse_entry(
    entry: &serde_yaml::Value,
    column: Option<&str>,
) -> std::result::Result<TestSpec, String> {
    let (full_name, body) = match entry {
        serde_yaml::Value::String(s) => (s.clone(), serde_yaml::Value::Null),
        serde_yaml::Value::Mapping(map) if map.contains_key("test_name") => {
            let name = map.get("test_name").and_then(|v| v.as_str()).ok_or("`test_name` must be a string")?;
            (name.to_owned(), entry.clone())
        }
        serde_yaml::Value::Mapping(map) if map.len() == 1 => {
            let (k, v) = map.iter().next().expect("one entry");
            (k.as_str().ok_or("a test name must be a string")?.to_owned(), v.clone())
        }
        _ => return Err("a test must be a name (`- not_null`) or a one-key mapping (`- accepted_values: {...}`)".into()),
    };
    let (namespace, name) = match full_name.split_once('.') {
        Some((ns, n)) => (Some(ns.to_owned()), n.to_owned()),
        None => (None, full_name.clone()),
    };
    let mut spec = TestSpec {
        namespace,
        name,
        custom_name: None,
        column_name: column.map(str::to_owned),
        args: BTreeMap::new(),
        config: Config::default(),
    };
    if let Some(map) = body.as_mapping() {
        for (k, v) in map {
            let Some(k) = k.as_str() else { continue };
            match k {
                "test_name" => {}
                "name" => spec.custom_name = v.as_str().map(str::to_owned),
                "description" => {}
                "column_name" => spec.column_name = v.as_str().map(str::to_owned),
                "config" => {
                    if let Some(cfg) = v.as_mapping() {
                        for (ck, cv) in cfg {
                            if let Some(ck) = ck.as_str() {
                                spec.config.set(ck, yaml_to_json(cv));
                            }
                        }
                    }
                }
                "arguments" => {
                    if let Some(args) = v.as_mapping() {
                        for (ak, av) in args {
                            if let Some(ak) = ak.as_str() {
                                spec.args.insert(ak.to_owned(), yaml_to_json(av));
                            }
                        }
                    }
                }
                _ if CONFIG_ARGS.contains(&k) => spec.config.set(k, yaml_to_json(v)),
                _ => {
                    spec.args.insert(k.to_owned(), yaml_to_json(v));
                }
            }
        }
    }
    Ok(spec)
}

/// dbt's `synthesize_generic_test_names`: `(alias, name)`. The name joins
/// the test type, target and the flattened arguments; the alias is cut to
/// 30 characters plus an md5 when the name reaches 64 characters.
fn synthesize_names(
    test_type: &str,
    target_name: &str,
    args: &BTreeMap<String, Json>,
) -> (String, String) {
    static UNSAFE: LazyLock<Regex> =
        LazyLock::new(|| Regex::new("[^0-9a-zA-Z_]+").expect("valid regex"));
    let mut flat = Vec::new();
    for (key, value) in args {
        if key == "model" {
            continue;
        }
        let parts: Vec<Json> = match value {
            Json::Object(m) => m.values().cloned().collect(),
            Json::Array(a) => a.clone(),
            other => vec![other.clone()],
        };
        for part in parts {
            let text = match part {
                Json::String(s) => s,
                Json::Bool(true) => "True".to_owned(),
                Json::Bool(false) => "False".to_owned(),
                Json::Null => "None".to_owned(),
                other => other.to_string(),
            };
            flat.push(UNSAFE.replace_all(&text, "_").into_owned());
        }
    }
    let unique = flat.join("__");
    let identifier = format!("{test_type}_{target_name}");
    let full = if unique.is_empty() {
        identifier.clone()
    } else {
        format!("{identifier}_{unique}")
    };
    let alias = if full.len() >= 64 {
        format!(
            "{}_{}",
            &identifier[..identifier.len().min(30)],
            md5_hex(&full)
        )
    } else {
        full.clone()
    };
    (alias, full)
}

/// What a test is declared on.
struct Target<'a> {
    /// Model/seed node, or source node.
    node: &'a Node,
    /// `ref('x')` or `source('s', 't')`.
    call: String,
    /// Name used in the test name (`orders`, `raw_orders` for source raw.orders -> `source_..._raw_orders`).
    name: String,
    is_source: bool,
}

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
                out.push(make_test_node(
                    owner,
                    yml,
                    tests_tree,
                    &target,
                    spec,
                    &macro_call,
                ));
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

/// The 10-character suffix of a generic test's unique_id, as dbt's
/// `create_test_node`: the last 10 hex digits of the md5 of the test's name
/// followed by Python's `repr` of its test_metadata (`namespace`, `name`,
/// `kwargs`), keys sorted and every leaf value as Python's `str()`. Equal
/// suffixes mean `dbt` and `sluice` name the same test the same way, so
/// `--select`, `--state` and run_results.json agree across the two tools.
pub fn test_hash(
    name: &str,
    test_name: &str,
    namespace: Option<&str>,
    kwargs: &Map<String, Json>,
) -> String {
    let metadata = serde_json::json!({
        "kwargs": kwargs,
        "name": test_name,
        "namespace": namespace,
    });
    let digest = md5_hex(&format!("{name}{}", python_repr(&metadata)));
    digest[digest.len() - 10..].to_owned()
}

/// Python's `repr` of dbt's `get_hashable_md(value)`: dicts with sorted
/// keys, lists, and every other value as the `repr` of its `str()`.
fn python_repr(value: &Json) -> String {
    match value {
        Json::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            let items: Vec<String> = keys
                .into_iter()
                .map(|k| format!("{}: {}", python_str_repr(k), python_repr(&map[k])))
                .collect();
            format!("{{{}}}", items.join(", "))
        }
        Json::Array(items) => {
            let items: Vec<String> = items.iter().map(python_repr).collect();
            format!("[{}]", items.join(", "))
        }
        Json::String(s) => python_str_repr(s),
        Json::Null => python_str_repr("None"),
        Json::Bool(b) => python_str_repr(if *b { "True" } else { "False" }),
        Json::Number(n) => python_str_repr(&python_number(n)),
    }
}

/// Python's `str()` of a YAML number: integers as written, floats in
/// Python's shortest form (`0.5`, `2.0`, `1e-05`).
fn python_number(n: &serde_json::Number) -> String {
    if n.is_i64() || n.is_u64() {
        return n.to_string();
    }
    let f = n.as_f64().unwrap_or_default();
    if f.fract() == 0.0 && f.abs() < 1e16 {
        return format!("{f:.1}");
    }
    let abs = f.abs();
    if abs != 0.0 && !(1e-4..1e16).contains(&abs) {
        // Python switches to exponent form here, with at least two exponent digits.
        let text = format!("{f:e}");
        if let Some((mantissa, exp)) = text.split_once('e') {
            let (sign, digits) = match exp.strip_prefix('-') {
                Some(d) => ("-", d),
                None => ("+", exp),
            };
            return format!("{mantissa}e{sign}{digits:0>2}");
        }
    }
    f.to_string()
}

/// The project or package whose schema YAML declares a test.
struct Owner<'a> {
    /// Its name (the root project's, or the package's).
    name: &'a str,
    /// Its model paths, relative to the root project.
    model_paths: Vec<String>,
    /// A package's own `data_tests:` config tree (empty for the root).
    own_tree: ConfigTree,
}

fn make_test_node(
    owner: &Owner<'_>,
    yml: &Path,
    tree: &ConfigTree,
    target: &Target,
    spec: TestSpec,
    macro_call: &str,
) -> Node {
    let pkg = owner.name;
    let model_paths = &owner.model_paths;
    let test_type = match &spec.namespace {
        Some(ns) => format!("{ns}_{}", spec.name),
        None => spec.name.clone(),
    };
    let test_type = if target.is_source {
        format!("source_{test_type}")
    } else {
        test_type
    };
    let mut name_args = spec.args.clone();
    if let Some(col) = &spec.column_name {
        name_args.insert("column_name".into(), Json::from(col.clone()));
    }
    let (alias, full) = synthesize_names(&test_type, &target.name, &name_args);
    // A test given its own `name:` is aliased by it, as dbt's.
    let alias = spec.custom_name.clone().unwrap_or(alias);
    let name = spec.custom_name.clone().unwrap_or(full);
    let mut kwargs: Map<String, Json> = name_args.into_iter().collect();
    kwargs.insert(
        "model".into(),
        Json::from(format!("{{{{ get_where_subquery({}) }}}}", target.call)),
    );
    let mut fqn = vec![pkg.to_owned()];
    let inner = model_paths
        .iter()
        .find_map(|d| yml.strip_prefix(d).ok())
        .unwrap_or(yml);
    if let Some(parent) = inner.parent() {
        fqn.extend(
            parent
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned()),
        );
    }
    fqn.push(name.clone());
    let mut config = default_config();
    config.merge(&owner.own_tree.resolve(&fqn));
    config.merge(&tree.resolve(&fqn));
    config.merge(&spec.config);
    if config.get("alias").is_none() {
        config.set("alias", Json::from(alias));
    }
    let hash = test_hash(&name, &spec.name, spec.namespace.as_deref(), &kwargs);
    let macro_name = format!("test_{}", spec.name);
    Node {
        path: PathBuf::from(inner),
        original_file_path: yml.to_path_buf(),
        fqn,
        raw_code: format!("{{{{ {macro_call}(**_dbt_generic_test_kwargs) }}}}"),
        config,
        patch_path: Some(yml.to_path_buf()),
        depends_on_macros: vec![format!("macro.dbt.{macro_name}")],
        test_metadata: Some(TestMetadata {
            name: spec.name,
            namespace: spec.namespace,
            kwargs,
            column_name: spec.column_name,
            attached_node: (!target.is_source).then(|| target.node.unique_id.clone()),
        }),
        ..Node::blank(
            format!("test.{pkg}.{name}.{hash}"),
            name,
            ResourceType::Test,
            pkg,
        )
    }
}

fn yaml_entry_error(
    project: &Project,
    yml: &Path,
    entry: &serde_yaml::Value,
    msg: &str,
    hint: Option<String>,
) -> Error {
    let text = std::fs::read_to_string(project.root.join(yml)).unwrap_or_default();
    let needle = match entry {
        serde_yaml::Value::String(s) => Some(s.clone()),
        serde_yaml::Value::Mapping(m) => {
            m.keys().next().and_then(|k| k.as_str()).map(str::to_owned)
        }
        _ => None,
    };
    let mut err = Error::new(ErrorKind::Config, format!("{msg} in `{}`", slash(yml)));
    if let Some(offset) = needle.and_then(|n| text.find(&n)) {
        err = err.with_location(Location::from_offset(yml, &text, offset));
    }
    match hint {
        Some(h) => err.with_hint(h),
        None => err,
    }
}

/// Renders the test's config values written as Jinja, as dbt's
/// `TestBuilder` does with each string config value (natively: `enabled:
/// "{{ target.type != 'bigquery' }}"` is a boolean, and a test it makes
/// false is disabled). Hooks stay text: they render when they run. Returns
/// whether a value changed.
///
/// Errors: Jinja errors from a value; a value that is not plain data.
fn render_config(
    renderer: &Renderer,
    name: &str,
    config: &mut Config,
    scope: &Arc<NodeScope>,
    vars: &NodeVars,
) -> Result<bool> {
    let templated: Vec<(String, String)> = config
        .0
        .iter()
        .filter(|(key, _)| !matches!(key.as_str(), "pre-hook" | "post-hook"))
        .filter_map(|(key, value)| match value {
            Json::String(s) if s.contains("{{") || s.contains("{%") => {
                Some((key.clone(), s.clone()))
            }
            _ => None,
        })
        .collect();
    for (key, text) in &templated {
        let value = renderer.render_native(name, text, scope, vars)?;
        let value = serde_json::to_value(&value).map_err(|e| {
            Error::new(
                ErrorKind::Config,
                format!(
                    "config `{key}` of `{name}` rendered to a value that is not plain data: {e}"
                ),
            )
        })?;
        config.set(key, value);
    }
    Ok(!templated.is_empty())
}

/// Evaluates a generic test's kwargs in `scope`, as dbt's
/// `add_rendered_test_kwargs`, at every depth (a string inside a list or
/// dict argument too): `column_name` stays text; strings that look like a
/// call (`ref(...)`, `source(...)`, `var(...)`, `env_var(...)`) are
/// evaluated as expressions; other Jinja is rendered natively (`values:
/// "{{ var('types') }}"` is the var's list, not its text).
///
/// Errors: Jinja errors from the arguments.
pub fn render_kwargs(
    renderer: &Renderer,
    node: &Node,
    scope: &Arc<NodeScope>,
    vars: &NodeVars,
) -> Result<Value> {
    let Some(meta) = &node.test_metadata else {
        return Ok(Value::from(()));
    };
    let mut out = BTreeMap::new();
    for (key, value) in &meta.kwargs {
        let rendered = match value {
            Json::String(s) if key == "column_name" => Value::from(s.clone()),
            Json::String(s) if key == "model" => {
                let expr = s
                    .trim()
                    .trim_start_matches("{{")
                    .trim_end_matches("}}")
                    .trim();
                renderer.eval(unwrapped_where_subquery(renderer, scope, expr), scope, vars)?
            }
            other => render_kwarg(renderer, &node.unique_id, other, scope, vars)?,
        };
        out.insert(key.clone(), rendered);
    }
    Ok(Value::from(out))
}

/// One test argument (or a value inside one), rendered as
/// [`render_kwargs`] describes. Lists and dicts are Python lists and dicts
/// in dbt: dbt_utils' at_least_one appends to `group_by_columns`.
fn render_kwarg(
    renderer: &Renderer,
    name: &str,
    value: &Json,
    scope: &Arc<NodeScope>,
    vars: &NodeVars,
) -> Result<Value> {
    static LOOKS_LIKE_FUNC: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"^\s*(env_var|ref|var|source|doc)\s*\(.+\)\s*$").expect("valid regex")
    });
    Ok(match value {
        Json::String(s) if LOOKS_LIKE_FUNC.is_match(s) => renderer.eval(s, scope, vars)?,
        Json::String(s) if s.contains("{{") || s.contains("{%") => {
            renderer.render_native(name, s, scope, vars)?
        }
        Json::Array(items) => crate::render::pycompat::MutableList::value(
            items
                .iter()
                .map(|v| render_kwarg(renderer, name, v, scope, vars))
                .collect::<Result<_>>()?,
        ),
        Json::Object(map) => crate::render::pycompat::MutableDict::value(
            map.iter()
                .map(|(k, v)| {
                    Ok((
                        Value::from(k.as_str()),
                        render_kwarg(renderer, name, v, scope, vars)?,
                    ))
                })
                .collect::<Result<_>>()?,
        ),
        other => Value::from_serialize(other),
    })
}

/// `get_where_subquery(X)` is `X` when the test has no `where` config (as
/// dbt's `default__get_where_subquery`): then, unless the project overrides
/// the macro, `X` alone is evaluated, sparing two macro calls per test and
/// phase. Otherwise `expr` as it is.
fn unwrapped_where_subquery<'a>(renderer: &Renderer, scope: &NodeScope, expr: &'a str) -> &'a str {
    let Some(inner) = expr
        .strip_prefix("get_where_subquery(")
        .and_then(|r| r.strip_suffix(')'))
    else {
        return expr;
    };
    let no_where = match scope.config_value("where") {
        None | Some(Json::Null) | Some(Json::Bool(false)) => true,
        Some(Json::String(w)) => w.is_empty(),
        Some(_) => false,
    };
    if no_where && !renderer.project_overrides(&["get_where_subquery"]) {
        inner
    } else {
        expr
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Pins dbt-core 1.12's unique_id suffix (`create_test_node`): the
    /// expected values are what `md5(name + repr(get_hashable_md(metadata)))[-10:]`
    /// gives in Python for the same tests.
    #[test]
    fn test_hash_is_dbts() {
        let kwargs = |v: Json| v.as_object().unwrap().clone();
        assert_eq!(
            test_hash(
                "not_null_orders_id",
                "not_null",
                None,
                &kwargs(
                    serde_json::json!({"column_name": "id", "model": "{{ get_where_subquery(ref('orders')) }}"})
                )
            ),
            "84ef11d8fe"
        );
        // Values become Python's str() (True, 5, None, 0.5); a quote picks the other quote.
        assert_eq!(
            test_hash(
                "x",
                "accepted_values",
                Some("dbt_utils"),
                &kwargs(serde_json::json!({
                    "values": ["a", "it's", true, 5, null, 0.5],
                    "model": "{{ get_where_subquery(source('raw', 'orders')) }}",
                    "column_name": "status"
                }))
            ),
            "563383b7ea"
        );
    }

    fn args(pairs: &[(&str, Json)]) -> BTreeMap<String, Json> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect()
    }

    #[test]
    fn test_names_match_dbt() {
        // Pins dbt's generic test naming (synthesize_generic_test_names).
        let (_, name) = synthesize_names(
            "not_null",
            "orders",
            &args(&[("column_name", Json::from("order_id"))]),
        );
        assert_eq!(name, "not_null_orders_order_id");
        let (_, name) = synthesize_names(
            "accepted_values",
            "orders",
            &args(&[
                ("column_name", Json::from("status")),
                ("values", serde_json::json!(["placed", "shipped"])),
            ]),
        );
        assert_eq!(name, "accepted_values_orders_status__placed__shipped");
        let (_, name) = synthesize_names(
            "relationships",
            "orders",
            &args(&[
                ("column_name", Json::from("customer_id")),
                ("field", Json::from("customer_id")),
                ("to", Json::from("ref('customers')")),
            ]),
        );
        assert_eq!(
            name,
            "relationships_orders_customer_id__customer_id__ref_customers_"
        );
        let (alias, name) = synthesize_names(
            "accepted_values",
            "a_rather_long_model_name",
            &args(&[
                ("column_name", Json::from("status")),
                (
                    "values",
                    serde_json::json!(["placed", "shipped", "completed", "returned"]),
                ),
            ]),
        );
        assert!(name.len() >= 64);
        assert_eq!(alias.len(), 30 + 1 + 32);
    }

    #[test]
    fn parses_both_argument_forms() {
        let legacy: serde_yaml::Value =
            serde_yaml::from_str("accepted_values: {values: [a, b], severity: warn, quote: false}")
                .unwrap();
        let modern: serde_yaml::Value =
            serde_yaml::from_str("accepted_values: {arguments: {values: [a, b], quote: false}, config: {severity: warn}}").unwrap();
        let a = parse_entry(&legacy, Some("status")).unwrap();
        let b = parse_entry(&modern, Some("status")).unwrap();
        assert_eq!(a, b);
        assert_eq!(a.config.get_str("severity").as_deref(), Some("warn"));
        assert_eq!(a.args.len(), 2);
    }

    #[test]
    fn namespaced_and_custom_named_tests() {
        let e: serde_yaml::Value = serde_yaml::from_str(
            "dbt_utils.expression_is_true: {name: my_check, expression: 'a > 0'}",
        )
        .unwrap();
        let s = parse_entry(&e, None).unwrap();
        assert_eq!(s.namespace.as_deref(), Some("dbt_utils"));
        assert_eq!(s.name, "expression_is_true");
        assert_eq!(s.custom_name.as_deref(), Some("my_check"));
    }
}
