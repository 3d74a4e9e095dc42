//! One generic test's node: what it is declared on and by whom, its fqn,
//! config (from the test defaults, the config trees and the entry) and
//! unique_id, and the SQL that calls the test macro.

use std::path::{Path, PathBuf};

use serde_json::{Map, Value as Json};

use crate::manifest::generic_tests::naming::{synthesize_names, test_hash};
use crate::manifest::generic_tests::spec::TestSpec;
use crate::manifest::node::{Node, ResourceType, TestMetadata};
use crate::project::config::{Config, ConfigTree};

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

/// What a test is declared on.
pub(super) struct Target<'a> {
    /// Model/seed node, or source node.
    pub(super) node: &'a Node,
    /// `ref('x')` or `source('s', 't')`.
    pub(super) call: String,
    /// Name used in the test name (`orders`, `raw_orders` for source raw.orders -> `source_..._raw_orders`).
    pub(super) name: String,
    pub(super) is_source: bool,
}

/// The project or package whose schema YAML declares a test.
pub(super) struct Owner<'a> {
    /// Its name (the root project's, or the package's).
    pub(super) name: &'a str,
    /// Its model paths, relative to the root project.
    pub(super) model_paths: Vec<String>,
    /// A package's own `data_tests:` config tree (empty for the root).
    pub(super) own_tree: ConfigTree,
}

pub(super) fn make_test_node(
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
