//! Rendering Jinja with minijinja, the dbt way.
//!
//! [`Renderer`] owns one minijinja [`Environment`] with dbt's context
//! (`ref`, `source`, `var`, `config`, `this`, `target`, macros from the
//! project and from templates/). Node templates are compiled on demand from
//! borrowed text, so many nodes render in parallel from one environment.

pub mod adapter;
pub mod builtins;
pub mod call;
pub mod column;
pub mod context;
pub mod diagnostics;
mod docs_blocks;
pub mod itertools;
pub mod macros;
pub mod modules;
pub mod namespace;
pub mod project_jinja;
pub mod pycompat;
pub mod pyfilters;
pub mod re;
pub mod relation;
pub mod scope;
pub mod table;
pub mod timezone;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use minijinja::{Environment, Value};
use serde_json::Value as Json;

use crate::error::{did_you_mean, Error, ErrorKind, Result};
use crate::project::{Project, Target};
use crate::warehouse::relation::Relation;
pub use diagnostics::jinja_error;
pub use macros::MacroDef;
pub use project_jinja::{render_config_string, render_project_value, ProjectJinja};
use project_jinja::{single_expression, target_value};

pub use scope::{
    utc_text, BatchScope, Captured, EventTimeWindow, Introspection, NodeScope, Phase, RefCall,
    Resolver,
};

/// Levels of nested calls, blocks and loops a template may use (minijinja
/// counts a few per macro call): well beyond what dbt's Python recursion
/// limit allows, with stacker growing the stack as needed.
const JINJA_RECURSION_LIMIT: usize = 5000;

/// Node-specific template variables besides the scope.
#[derive(Debug, Clone)]
pub struct NodeVars {
    /// `this`: the node's own relation.
    pub this: Option<Relation>,
    /// `model`: a dict describing the node (name, unique_id, config, ...).
    pub model: Value,
    /// `_dbt_generic_test_kwargs` for generic tests.
    pub test_kwargs: Option<Value>,
}

/// The Jinja environment for one project.
pub struct Renderer {
    env: Environment<'static>,
    macros: Vec<MacroDef>,
    /// Names the project's (or a package's) macros define, with dispatch
    /// prefixes `default__`/`duckdb__` removed: see [`Renderer::project_overrides`].
    overridden: HashSet<String>,
    registry: Arc<HashMap<String, Value>>,
    namespaces: Arc<namespace::Namespaces>,
    docs: BTreeMap<String, (String, String)>,
    external_root: String,
}

impl std::fmt::Debug for Renderer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Renderer")
            .field("macros", &self.macros.len())
            .finish()
    }
}

impl Renderer {
    /// Builds the environment: built-in macros from templates/, then the
    /// project's macros (which override built-ins of the same name), dbt's
    /// globals, and `target`.
    ///
    /// Errors: [`ErrorKind::Jinja`] (located) for a macro file that does not parse.
    pub fn new(project: &Project) -> Result<Renderer> {
        // Packages first: the root project's macros override theirs, as dbt.
        let mut macro_files: Vec<(&str, &[crate::project::SourceFile])> = project
            .packages
            .iter()
            .map(|p| (p.name.as_str(), p.macros.as_slice()))
            .collect();
        macro_files.push((project.name(), &project.macros));
        let target = Target {
            external_root: crate::warehouse::external::anchor(
                &project.root,
                &project.target.external_root,
            ),
            ..project.target.clone()
        };
        let mut renderer = Renderer::from_parts(
            project.name(),
            &macro_files,
            &project.vars,
            &target,
            &project.config.dispatch,
        )?;
        renderer.add_docs(&project.docs_files)?;
        Ok(renderer)
    }

    /// Registers the `{% docs name %}...{% enddocs %}` blocks of `files` and
    /// the `doc(name)` function that returns a block's text, as dbt.
    ///
    /// Errors: [`ErrorKind::DuplicateNode`] for two blocks of the same name.
    pub fn add_docs(&mut self, files: &[crate::project::SourceFile]) -> Result<()> {
        let docs = docs_blocks::parse(files)?;
        docs_blocks::register_doc(&mut self.env, &docs);
        self.docs = docs;
        Ok(())
    }

    /// The `{% docs %}` blocks: name to `(file, text)`.
    pub fn docs(&self) -> &BTreeMap<String, (String, String)> {
        &self.docs
    }

    /// Builds the environment from its parts: the root package name, the
    /// macro files of each package as `(package, files)` (a later package's
    /// macro overrides an earlier one's of the same name), the vars `var()`
    /// sees and the target.
    ///
    /// Errors: as [`Renderer::new`].
    pub fn from_parts(
        package: &str,
        macro_files: &[(&str, &[crate::project::SourceFile])],
        vars: &BTreeMap<String, Json>,
        target: &Target,
        dispatch: &[crate::project::dbt_project::DispatchConfig],
    ) -> Result<Renderer> {
        let mut defs = Vec::new();
        for (path, text) in macros::BUILTIN_MACRO_FILES {
            defs.extend(macros::split_macro_file(path, text, "dbt")?);
        }
        for (owner, files) in macro_files {
            for file in *files {
                let path = macros::display_path(&file.path);
                defs.extend(macros::split_macro_file(&path, &file.text, owner)?);
            }
        }
        // Within one package a name is defined once; across packages each
        // keeps its own (reachable as `<package>.<name>`). Unqualified names
        // are dbt's internal macros overridden by the root project's, as
        // dbt's MacroNamespace; a package's own macros come first inside it.
        let mut by_pkg: HashMap<&str, HashMap<&str, usize>> = HashMap::new();
        for (i, def) in defs.iter().enumerate() {
            let pkg = def.package();
            if let Some(prev) = by_pkg.entry(pkg).or_default().insert(&def.name, i) {
                let prev = &defs[prev];
                return Err(Error::new(
                    ErrorKind::DuplicateNode,
                    format!(
                        "macro `{}` is defined twice in package `{pkg}`: in `{}` and `{}`",
                        def.name, prev.path, def.path
                    ),
                )
                .with_hint("rename or delete one of them"));
            }
        }
        let mut env = Environment::new();
        // Python's own limit lets dbt nest about 200 macro calls; minijinja's
        // default (500 levels, a few per call) stops near 100.
        env.set_recursion_limit(JINJA_RECURSION_LIMIT);
        // SQL is never escaped (minijinja would JSON-escape templates named `.yml`).
        env.set_auto_escape_callback(|_| minijinja::AutoEscape::None);
        env.set_unknown_method_callback(pycompat::unknown_method);
        minijinja_contrib::add_to_environment(&mut env);
        pycompat::register(&mut env);
        pyfilters::register(&mut env);
        let mut namespaces = namespace::Namespaces {
            root: package.to_owned(),
            packages: HashMap::new(),
            dispatch: dispatch
                .iter()
                .map(|d| (d.macro_namespace.clone(), d.search_order.clone()))
                .collect(),
            prefixes: namespace::dispatch_prefixes(&target.adapter_type),
        };
        let mut registry = HashMap::new();
        for (pkg, names) in &by_pkg {
            let is_package = *pkg != package && *pkg != "dbt";
            let mut ns = namespace::PackageNamespace {
                name: (*pkg).to_owned(),
                macros: HashMap::new(),
            };
            for &i in names.values() {
                let def = &defs[i];
                env.add_template_owned(
                    def.template_name(),
                    pycompat::rewrite(&def.source, false).into_owned(),
                )
                .map_err(|e| jinja_error(&e, None))?;
                let func = Value::from_object(macros::MacroFn {
                    template: def.template_name(),
                    name: def.name.clone(),
                    package: is_package.then(|| (*pkg).to_owned()),
                    namespace: (*pkg).to_owned(),
                    catch_all: macros::CatchAll::of(&def.source),
                });
                ns.macros.insert(def.name.clone(), func);
            }
            namespaces.packages.insert((*pkg).to_owned(), Arc::new(ns));
        }
        for pkg in ["dbt", package] {
            if let Some(ns) = namespaces.packages.get(pkg) {
                registry.extend(ns.macros.iter().map(|(k, v)| (k.clone(), v.clone())));
            }
        }
        for (name, value) in &registry {
            env.add_global(name.clone(), value.clone());
        }
        for (name, ns) in &namespaces.packages {
            if !registry.contains_key(name) {
                env.add_global(name.clone(), Value::from_dyn_object(ns.clone()));
            }
        }
        let namespaces = Arc::new(namespaces);
        env.add_global(
            namespace::NAMESPACES_VAR,
            Value::from_dyn_object(namespaces.clone()),
        );
        let registry = Arc::new(registry);
        let vars: BTreeMap<String, Value> = vars
            .iter()
            .map(|(k, v)| (k.clone(), Value::from_serialize(v)))
            .collect();
        builtins::register(&mut env, Arc::new(vars));
        env.add_global("target", target_value(target));
        env.add_global("project_name", Value::from(package.to_owned()));
        env.add_global(
            "invocation_id",
            Value::from(uuid::Uuid::new_v4().to_string()),
        );
        env.add_global("run_started_at", modules::run_started_at());
        env.add_global("modules", modules::modules());
        defs.sort_by(|a, b| a.unique_id.cmp(&b.unique_id));
        let overridden = defs
            .iter()
            .filter(|m| !m.path.starts_with("templates/"))
            .map(|m| {
                let name = m.name.as_str();
                let base = name.strip_prefix("default__");
                let adapter_prefix = format!("{}__", target.adapter_type);
                base.or_else(|| name.strip_prefix(adapter_prefix.as_str()))
                    .unwrap_or(name)
                    .to_owned()
            })
            .collect();
        Ok(Renderer {
            env,
            macros: defs,
            overridden,
            registry,
            namespaces,
            docs: BTreeMap::new(),
            external_root: target.external_root.clone(),
        })
    }

    /// Where `external` models write by default: the profile's
    /// `external_root`, anchored at the project directory when relative
    /// (dbt-duckdb anchors it at the working directory; sluice keeps every
    /// default write inside the project).
    pub fn external_root(&self) -> &str {
        &self.external_root
    }

    /// Sets the global template variable `name` to `value`, replacing any
    /// value it had: how a command hands renders what it learns as it goes
    /// (`flags` before parsing, `graph` after it, `selected_resources` once
    /// the selection is made; see [`context`]).
    pub fn add_global(&mut self, name: &'static str, value: Value) {
        self.env.add_global(name, value);
    }

    /// Every macro definition (built-in and project), sorted by unique_id.
    pub fn macros(&self) -> &[MacroDef] {
        &self.macros
    }

    /// Whether the project (or a package) defines any of `names`, or their
    /// `default__`/`duckdb__` dispatch variants, over the built-in macros:
    /// when none does, sluice may compute what the built-in macro would in
    /// Rust (relation naming, `get_where_subquery`). A set lookup per name:
    /// it is asked once per generic test.
    pub fn project_overrides(&self, names: &[&str]) -> bool {
        names.iter().any(|n| self.overridden.contains(*n))
    }

    /// How a node calls macro `name` of `package` (any package when `None`),
    /// as dbt's `find_macro_by_name` finds generic tests: `name` when it is
    /// visible unqualified (root project, then dbt's), else
    /// `<package>.<name>` for the first package (by name) that defines it.
    /// `None` when no package defines it.
    pub fn macro_call_path(&self, name: &str, package: Option<&str>) -> Option<String> {
        let qualified = |p: &str| {
            let ns = self.namespaces.packages.get(p)?;
            ns.macros.contains_key(name).then(|| {
                if (p == self.namespaces.root || p == "dbt") && self.registry.contains_key(name) {
                    name.to_owned()
                } else {
                    format!("{p}.{name}")
                }
            })
        };
        match package {
            Some(p) => qualified(p),
            None if self.registry.contains_key(name) => Some(name.to_owned()),
            None => {
                let mut names: Vec<&String> = self.namespaces.packages.keys().collect();
                names.sort();
                names.into_iter().find_map(|p| qualified(p))
            }
        }
    }

    /// Renders `source` (the text of the node file `name`) in `scope`.
    ///
    /// Errors: [`ErrorKind::Jinja`] located in the template (or in the macro
    /// it failed in), or the error a `ref`/`source`/`var` call raised.
    pub fn render(
        &self,
        name: &str,
        source: &str,
        scope: &Arc<NodeScope>,
        vars: &NodeVars,
    ) -> Result<String> {
        let ctx = self.node_context(scope, vars);
        let source = pycompat::rewrite(source, false);
        let tmpl = self
            .env
            .template_from_named_str(name, &source)
            .map_err(|e| jinja_error(&e, Some(&source)))?;
        tmpl.render(ctx)
            .map_err(|e| self.hint_unknown_function(jinja_error(&e, Some(&source))))
    }

    /// The root context of a node's render: its variables, plus, for a node
    /// of an installed package, that package's macros by unqualified name
    /// (dbt's local namespace).
    fn node_context(&self, scope: &Arc<NodeScope>, vars: &NodeVars) -> Value {
        let ctx = context(scope, vars);
        let package = scope.unique_id.split('.').nth(1).unwrap_or_default();
        if package == self.namespaces.root || package == "dbt" {
            return Value::from(ctx);
        }
        match self.namespaces.packages.get(package) {
            Some(locals) => Value::from_object(macros::PackageContext {
                vars: ctx,
                search: vec![locals.clone()],
            }),
            None => Value::from(ctx),
        }
    }

    /// Adds a "did you mean" hint to an unknown-function error.
    fn hint_unknown_function(&self, err: Error) -> Error {
        let Some(name) = err
            .message()
            .strip_prefix("unknown macro or function `")
            .and_then(|r| r.strip_suffix('`'))
        else {
            return err;
        };
        match did_you_mean(name, self.registry.keys().map(String::as_str)) {
            Some(s) => err.with_hint(format!("did you mean `{s}`?")),
            None => err,
        }
    }

    /// Evaluates a Jinja expression (a generic test argument such as
    /// `ref('customers')`) in `scope`, returning the native value.
    ///
    /// Errors: as [`Renderer::render`].
    pub fn eval(&self, expr: &str, scope: &Arc<NodeScope>, vars: &NodeVars) -> Result<Value> {
        let expr = pycompat::rewrite(expr, true);
        let compiled = self
            .env
            .compile_expression(&expr)
            .map_err(|e| jinja_error(&e, Some(&expr)))?;
        compiled
            .eval(self.node_context(scope, vars))
            .map_err(|e| jinja_error(&e, Some(&expr)))
    }

    /// Renders `text` (a generic test's argument or config value, from the
    /// file `name`) in `scope` as dbt's native rendering
    /// (`get_rendered(..., native=True)`): a text that is one
    /// `{{ expression }}` gives the expression's value, so
    /// `"{{ var('types') }}"` is a list and `"{{ target.type == 'duckdb' }}"`
    /// a boolean; any other template gives its rendered text.
    ///
    /// Errors: as [`Renderer::render`].
    pub fn render_native(
        &self,
        name: &str,
        text: &str,
        scope: &Arc<NodeScope>,
        vars: &NodeVars,
    ) -> Result<Value> {
        match single_expression(text) {
            Some(expr) => self.eval(expr, scope, vars),
            None => self.render(name, text, scope, vars).map(Value::from),
        }
    }

    /// Calls macro `name` with positional `args` outside any node, returning
    /// its value (`return()`ed value, or its text).
    ///
    /// Errors: [`ErrorKind::Jinja`] when the macro is unknown or fails.
    pub fn call_macro(&self, name: &str, args: &[Value]) -> Result<Value> {
        let func = self.registry.get(name).ok_or_else(|| {
            Error::new(ErrorKind::Jinja, format!("macro `{name}` is not defined"))
        })?;
        let state = self.env.empty_state();
        func.call(&state, args).map_err(|e| jinja_error(&e, None))
    }
}

fn context(scope: &Arc<NodeScope>, vars: &NodeVars) -> BTreeMap<&'static str, Value> {
    let mut ctx = BTreeMap::new();
    ctx.insert("__sluice", Value::from_dyn_object(scope.clone()));
    ctx.insert("execute", Value::from(scope.phase == Phase::Compile));
    ctx.insert("model", vars.model.clone());
    ctx.insert(
        "this",
        vars.this
            .clone()
            .map(Value::from_object)
            .unwrap_or(Value::from(())),
    );
    if let Some(kwargs) = &vars.test_kwargs {
        ctx.insert("_dbt_generic_test_kwargs", kwargs.clone());
    }
    ctx
}

#[cfg(test)]
mod tests;

/// Tests that run templates against a live DuckDB connection: unit-test
/// modules may wire layers together (see tests/architecture.rs).
#[cfg(test)]
mod engine_tests {
    use std::path::Path;

    use super::tests::{renderer, scope, vars};
    use super::*;

    fn live_scope() -> Arc<NodeScope> {
        let target = Target {
            path: ":memory:".into(),
            ..Target::embedded(Path::new("."), "shop")
        };
        let db = crate::adapter::duckdb::Database::open(&target).unwrap();
        let conn: Box<dyn crate::warehouse::connection::Connection> =
            Box::new(db.connect().unwrap());
        conn.execute("create table t as select * from (values (1, 'card'), (2, 'cash'), (3, 'card')) v(id, method)")
            .unwrap();
        let resolver = Resolver {
            database: "memory".into(),
            schema: "main".into(),
            ..Resolver::default()
        };
        Arc::new(
            NodeScope::new(
                Phase::Compile,
                "model.shop.m",
                Default::default(),
                Arc::new(resolver),
            )
            .with_introspection(Introspection::Live(Arc::new(std::sync::Mutex::new(conn)))),
        )
    }

    #[test]
    fn run_query_returns_an_agate_like_table() {
        // Pins dbt's run_query: `columns[0].values()`, `rows`, `row['name']`, `column_names`.
        let r = renderer(&[]);
        let sql = "{% set t = run_query('select distinct method, count(*) as n from t group by 1 order by 1') %}\
    {{ t.columns[0].values() | join(',') }}|{{ t.column_names | join(',') }}|{{ t.rows | length }}|\
    {% for row in t.rows %}{{ row['method'] }}={{ row[1] }};{% endfor %}|{{ t.columns['n'].values() | sum }}";
        let out = r
            .render("models/m.sql", sql, &live_scope(), &vars())
            .unwrap();
        assert_eq!(out, "card,cash|method,n|2|card=2;cash=1;|3");
    }

    #[test]
    fn statement_blocks_store_results_for_load_result() {
        // Pins dbt's `{% call statement(name, fetch_result=True) %}` + `load_result(name)['data']`.
        let r = renderer(&[]);
        let sql = "{% call statement('ids', fetch_result=True) %}select id from t order by id{% endcall %}\
    {% set res = load_result('ids') %}{{ res['data'] | map(attribute=0) | join(',') }} {{ res['table'].columns[0].values() | sum }}";
        let out = r
            .render("models/m.sql", sql, &live_scope(), &vars())
            .unwrap();
        assert_eq!(out.trim(), "1,2,3 6");
    }

    #[test]
    fn run_query_returns_none_while_parsing_and_defers_when_compiling_ahead() {
        // As dbt: with `execute` false nothing runs.
        let r = renderer(&[]);
        let sql = "{% set t = run_query('select 1') %}{{ 'none' if t is none else 'table' }}";
        let out = r
            .render("models/m.sql", sql, &scope(Phase::Parse), &vars())
            .unwrap();
        assert_eq!(out.trim(), "none");
        let resolver = Resolver::default();
        let deferred = Arc::new(
            NodeScope::new(
                Phase::Compile,
                "model.shop.m",
                Default::default(),
                Arc::new(resolver),
            )
            .with_introspection(Introspection::Deferred),
        );
        let sql = "{% set t = run_query('select 1') %}{{ t.rows | length }}";
        let out = r.render("models/m.sql", sql, &deferred, &vars()).unwrap();
        assert_eq!(out.trim(), "0");
        assert!(deferred.captured().introspective);
    }

    #[test]
    fn adapter_lookups_read_the_catalog() {
        let r = renderer(&[]);
        let sql = "{% set rel = adapter.get_relation(database='memory', schema='main', identifier='T') %}\
    {{ rel.identifier }} {{ adapter.get_columns_in_relation(rel) | map(attribute='name') | join(',') }} \
    {{ adapter.get_relation(database='memory', schema='main', identifier='nope') is none }}";
        let out = r
            .render("models/m.sql", sql, &live_scope(), &vars())
            .unwrap();
        assert_eq!(out.trim(), "t id,method True");
    }

    #[test]
    fn missing_var_is_a_config_error_with_hint() {
        let r = renderer(&[]);
        let err = r
            .render(
                "models/m.sql",
                "{{ var('y') }}",
                &scope(Phase::Compile),
                &vars(),
            )
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Config);
        assert!(err.hint().unwrap().contains("--vars"));
        assert_eq!(err.location().unwrap().line, 1);
    }
}
