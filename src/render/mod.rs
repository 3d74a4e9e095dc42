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
pub mod itertools;
pub mod macros;
pub mod modules;
pub mod namespace;
pub mod pycompat;
pub mod pyfilters;
pub mod re;
pub mod relation;
pub mod scope;
pub mod table;
pub mod timezone;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;
use std::sync::Arc;

use minijinja::{Environment, Value};
use serde_json::Value as Json;

use crate::error::{did_you_mean, Error, ErrorKind, Location, Result};
use crate::project::{Project, Target};
use crate::warehouse::relation::Relation;
pub use macros::MacroDef;

pub use scope::{Captured, Introspection, NodeScope, Phase, RefCall, Resolver};

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
        static BLOCK: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
            regex::Regex::new(
                r"(?s)\{%-?\s*docs\s+([A-Za-z_][A-Za-z0-9_]*)\s*-?%\}(.*?)\{%-?\s*enddocs\s*-?%\}",
            )
            .expect("valid regex")
        });
        let mut docs: BTreeMap<String, (String, String)> = BTreeMap::new();
        for file in files {
            let path = macros::display_path(&file.path);
            for cap in BLOCK.captures_iter(&file.text) {
                let name = cap[1].to_owned();
                if let Some((prev, _)) = docs.get(&name) {
                    let offset = cap.get(0).map_or(0, |m| m.start());
                    return Err(Error::new(
                        ErrorKind::DuplicateNode,
                        format!("docs block `{name}` is defined twice: in `{prev}` and `{path}`"),
                    )
                    .with_location(Location::from_offset(Path::new(&path), &file.text, offset))
                    .with_hint("rename or delete one of them"));
                }
                docs.insert(name, (path.clone(), cap[2].trim().to_owned()));
            }
        }
        let texts: Arc<BTreeMap<String, String>> = Arc::new(
            docs.iter()
                .map(|(k, (_, t))| (k.clone(), t.clone()))
                .collect(),
        );
        self.env.add_function(
            "doc",
            move |first: String, second: Option<String>| -> std::result::Result<Value, minijinja::Error> {
                // doc('name') or doc('package', 'name').
                let name = second.unwrap_or(first);
                match texts.get(&name) {
                    Some(text) => Ok(Value::from(text.clone())),
                    None => {
                        let err = Error::new(ErrorKind::Config, format!("docs block `{name}` is not defined"));
                        let err = match did_you_mean(&name, texts.keys().map(String::as_str)) {
                            Some(s) => err.with_hint(format!("did you mean `{s}`?")),
                            None => err.with_hint(
                                "define it with `{% docs name %}...{% enddocs %}` in a .md file under the model paths",
                            ),
                        };
                        Err(call::wrap(err))
                    }
                }
            },
        );
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
                base.or_else(|| name.strip_prefix("duckdb__"))
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

/// `target` as templates see it: dbt's target fields for a DuckDB profile.
fn target_value(target: &Target) -> Value {
    Value::from_serialize(serde_json::json!({
        "name": target.name,
        "profile_name": target.profile_name,
        "type": target.adapter_type,
        "database": target.database,
        "schema": target.schema,
        "threads": target.threads,
        "path": target.path,
        "external_root": target.external_root,
        "extensions": target.extensions,
        "settings": target.settings,
    }))
}

/// The Jinja that [`Project::load`] needs, as dbt renders project files:
/// [`render_config_string`] and [`render_project_value`].
pub struct ProjectJinja;

impl crate::project::ConfigJinja for ProjectJinja {
    fn config_string(&self, text: &str, vars: &BTreeMap<String, Json>) -> Result<String> {
        render_config_string(text, vars)
    }

    fn project_value(
        &self,
        text: &str,
        cli_vars: &BTreeMap<String, Json>,
        target: &Target,
    ) -> Result<serde_yaml::Value> {
        render_project_value(text, cli_vars, target)
    }
}

/// Renders a string value of dbt_project.yml or profiles.yml (`env_var`, `var`).
///
/// Errors: [`ErrorKind::Jinja`] for bad Jinja or a missing env var without default.
pub fn render_config_string(text: &str, vars: &BTreeMap<String, Json>) -> Result<String> {
    if !text.contains("{{") && !text.contains("{%") {
        return Ok(text.to_owned());
    }
    let mut env = Environment::new();
    env.set_auto_escape_callback(|_| minijinja::AutoEscape::None);
    env.add_function("env_var", builtins::env_var_fn);
    let vars = vars.clone();
    env.add_function("var", move |name: String, default: Option<Value>| {
        vars.get(&name)
            .map(Value::from_serialize)
            .or(default)
            .unwrap_or(Value::from(()))
    });
    minijinja_contrib::add_to_environment(&mut env);
    env.render_str(text, ())
        .map_err(|e| jinja_error(&e, Some(text)))
}

/// Renders one string value of a dbt_project.yml config tree (`models:`,
/// `seeds:`, `snapshots:`, `data_tests:`) as dbt's `DbtProjectYamlRenderer`
/// does at load time, or of a schema YAML file as its `SchemaYamlRenderer`:
/// the context is dbt's `TargetContext` (`target`, `var()` over `cli_vars`,
/// which are the `--vars` only for dbt_project.yml, `env_var()`,
/// `modules`), and rendering is
/// native, so a value that is one `{{ expression }}` keeps the expression's
/// type (`"{{ target.name == 'dev' }}"` is a boolean) while anything else
/// renders to a string, as dbt's `quoted_native_concat`.
///
/// Errors: [`ErrorKind::Jinja`] for bad Jinja, a missing env var without
/// default, or a `var()` without default that `--vars` does not set (dbt's
/// "Required var ... not found"). The error has no location; the caller
/// knows where the value sits in its file.
pub fn render_project_value(
    text: &str,
    cli_vars: &BTreeMap<String, Json>,
    target: &Target,
) -> Result<serde_yaml::Value> {
    if !text.contains("{{") && !text.contains("{%") {
        return Ok(serde_yaml::Value::String(text.to_owned()));
    }
    let mut env = Environment::new();
    env.set_auto_escape_callback(|_| minijinja::AutoEscape::None);
    env.add_function("env_var", builtins::env_var_no_secrets);
    let vars = cli_vars.clone();
    env.add_function(
        "var",
        move |name: String,
              default: Option<Value>|
              -> std::result::Result<Value, minijinja::Error> {
            match (vars.get(&name), default) {
                (Some(v), _) => Ok(Value::from_serialize(v)),
                (None, Some(d)) => Ok(d),
                (None, None) => Err(minijinja::Error::new(
                    minijinja::ErrorKind::InvalidOperation,
                    format!("required var `{name}` not found, and it has no default"),
                )),
            }
        },
    );
    env.add_global("target", target_value(target));
    env.add_global("modules", modules::modules());
    env.set_unknown_method_callback(minijinja_contrib::pycompat::unknown_method_callback);
    minijinja_contrib::add_to_environment(&mut env);
    pycompat::register(&mut env);
    let to_yaml = |value: Value| {
        serde_yaml::to_value(&value).map_err(|e| {
            Error::new(
                ErrorKind::Jinja,
                format!("`{text}` rendered to a value that is not plain data: {e}"),
            )
        })
    };
    if let Some(expr) = single_expression(text) {
        let expr = pycompat::rewrite(expr, true);
        let value = env
            .compile_expression(&expr)
            .and_then(|e| e.eval(()))
            .map_err(|e| jinja_error(&e, Some(text)))?;
        if value.is_undefined() {
            return Ok(serde_yaml::Value::String(String::new()));
        }
        return to_yaml(value);
    }
    env.render_str(&pycompat::rewrite(text, false), ())
        .map(serde_yaml::Value::String)
        .map_err(|e| jinja_error(&e, Some(text)))
}

/// The expression of a template that is one `{{ ... }}` and nothing else
/// (whitespace control allowed), the case where dbt's native rendering keeps
/// the expression's type.
fn single_expression(text: &str) -> Option<&str> {
    let inner = text.strip_prefix("{{")?.strip_suffix("}}")?;
    if inner.contains("{{") || inner.contains("}}") || inner.contains("{%") || inner.contains("{#")
    {
        return None;
    }
    let inner = inner.strip_prefix('-').unwrap_or(inner);
    let inner = inner.strip_suffix('-').unwrap_or(inner);
    Some(inner.trim())
}

/// Converts a minijinja error into a located sluice error.
///
/// The template name is the file path (a macro's is `path#macro`); `source`
/// is the template text when the caller has it, for the caret line.
pub fn jinja_error(err: &minijinja::Error, source: Option<&str>) -> Error {
    // A failing macro call is wrapped once per call level (see
    // macros::MacroFn): the innermost error says what went wrong and where;
    // each wrapper says where the call was made, model line outermost.
    let mut frames = Vec::new();
    let mut inner_err = err;
    while let Some(next) = macros::called_error(inner_err) {
        frames.push(inner_err);
        inner_err = next;
    }
    let mut out = located_jinja_error(inner_err, source.filter(|_| frames.is_empty()));
    for frame in frames.iter().rev() {
        if let (Some(name), Some(line)) = (frame.name(), frame.line()) {
            let path = name.split('#').next().unwrap_or(name);
            if !path.starts_with('<') {
                out = out.with_note(format!("called from {path}:{line}"));
            }
        }
    }
    out
}

/// Filters a dbt template can use, for "did you mean" on an unknown one:
/// Jinja's built-ins and dbt's additions.
const KNOWN_FILTERS: &[&str] = &[
    "abs",
    "as_bool",
    "as_native",
    "as_number",
    "as_text",
    "attr",
    "batch",
    "capitalize",
    "center",
    "count",
    "d",
    "default",
    "dictsort",
    "e",
    "escape",
    "first",
    "float",
    "format",
    "groupby",
    "indent",
    "int",
    "items",
    "join",
    "last",
    "length",
    "list",
    "lower",
    "map",
    "max",
    "min",
    "pprint",
    "reject",
    "rejectattr",
    "replace",
    "reverse",
    "round",
    "safe",
    "select",
    "selectattr",
    "slice",
    "sort",
    "split",
    "string",
    "striptags",
    "sum",
    "title",
    "tojson",
    "trim",
    "truncate",
    "unique",
    "upper",
    "urlencode",
    "wordcount",
    "zip",
];

/// Filter names from other languages and the Jinja filter that does it.
const FILTER_ALIASES: &[(&str, &str)] = &[
    ("upcase", "upper"),
    ("uppercase", "upper"),
    ("downcase", "lower"),
    ("lowercase", "lower"),
    ("len", "length"),
    ("size", "length"),
    ("strip", "trim"),
    ("to_json", "tojson"),
    ("json", "tojson"),
    ("distinct", "unique"),
    ("concat", "join"),
];

/// Where the block that is never closed opens in `text`: the innermost
/// `{% for %}`/`{% if %}`/... without its end tag, an unclosed `{#` or an
/// unclosed `{{` (byte offset and what it is), for a syntax error that
/// minijinja reports at the end of the file.
fn unclosed_opening(text: &str) -> Option<(usize, String)> {
    static TAG: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(r"\{%-?\s*(\w+)([^%]*)").expect("valid regex")
    });
    const BLOCKS: &[&str] = &[
        "for",
        "if",
        "macro",
        "call",
        "filter",
        "with",
        "block",
        "raw",
        "materialization",
        "test",
        "snapshot",
        "docs",
        "set",
    ];
    let mut stack: Vec<(usize, String)> = Vec::new();
    let mut pos = 0;
    while pos < text.len() {
        let rest = &text[pos..];
        let Some(open) = rest.find('{') else { break };
        let at = pos + open;
        let after = &text[at..];
        if after.starts_with("{#") {
            match after.find("#}") {
                Some(end) => pos = at + end + 2,
                None => return Some((at, "comment `{#`".to_owned())),
            }
        } else if after.starts_with("{{") {
            match after.find("}}") {
                Some(end) => pos = at + end + 2,
                None => return Some((at, "expression `{{`".to_owned())),
            }
        } else if let Some(c) = TAG
            .captures(after)
            .filter(|c| c.get(0).is_some_and(|m| m.start() == 0))
        {
            let name = c[1].to_owned();
            let assigns = c[2].contains('=');
            if let Some(closed) = name.strip_prefix("end") {
                while let Some((_, open)) = stack.pop() {
                    if open == closed {
                        break;
                    }
                }
            } else if BLOCKS.contains(&name.as_str()) && !(name == "set" && assigns) {
                stack.push((at, name));
            }
            pos = at + c.get(0).map_or(2, |m| m.end());
        } else {
            pos = at + 1;
        }
    }
    stack
        .pop()
        .map(|(at, name)| (at, format!("`{{% {name} %}}`")))
}

/// What to do about a Jinja error minijinja raised, by its kind: the
/// closing tag to write, the filter meant, the call's signature.
fn jinja_hint(err: &minijinja::Error, detail: &str, source: Option<&str>) -> Option<String> {
    use minijinja::ErrorKind as K;
    let text = err.template_source().or(source);
    let span = text
        .zip(err.range())
        .and_then(|(t, r)| t.get(r))
        .unwrap_or("")
        .trim();
    let callee = span.split('(').next().unwrap_or("").trim();
    Some(match err.kind() {
        K::SyntaxError => "check that every `{% if %}`, `{% for %}` and `{% macro %}` is closed and every `{{` has its `}}`".to_owned(),
        K::UnknownFilter => {
            let name = detail
                .strip_prefix("filter ")
                .and_then(|d| d.strip_suffix(" is unknown"))
                .unwrap_or("");
            // Names from other languages first (Ruby's upcase, Python's strip).
            let alias = FILTER_ALIASES.iter().find(|(a, _)| *a == name).map(|(_, f)| *f);
            match alias.or_else(|| crate::error::did_you_mean(name, KNOWN_FILTERS.iter().copied())) {
                Some(close) => format!("did you mean `{close}`?"),
                None => "a filter is applied as `value | upper`; a macro is called as `my_macro(value)`".to_owned(),
            }
        }
        K::TooManyArguments if callee == "ref" => "ref() takes a model's name, optionally after its package's: `ref('orders')` or `ref('package', 'orders')`".to_owned(),
        K::TooManyArguments if callee == "source" => "source() takes the source's name and the table's: `source('shop', 'orders')`".to_owned(),
        K::MissingArgument if callee == "ref" => "name the model: `ref('orders')`".to_owned(),
        K::MissingArgument if callee == "source" => "source() takes the source's name and the table's: `source('shop', 'orders')`".to_owned(),
        K::TooManyArguments if !callee.is_empty() => format!("`{callee}` is given more arguments than its signature takes: check its `{{% macro %}}` line"),
        K::MissingArgument if !callee.is_empty() => format!("`{callee}` needs an argument that is not given: check its `{{% macro %}}` line"),
        K::TooManyArguments | K::MissingArgument => "check the arguments against the macro's `{% macro %}` line".to_owned(),
        K::InvalidOperation if detail.contains("not callable") && !callee.is_empty() => format!(
            "`{callee}` is not a macro here: define it in one of the project's macro-paths, or check its spelling (a package's macro is called as `package.{callee}`)"
        ),
        K::InvalidOperation if detail.contains("undefined is not callable") => "a macro called here does not exist: define it in one of the project's macro-paths, or check its spelling (a package's macro is called as `package.macro`)".to_owned(),
        K::UnknownMethod if detail.starts_with("undefined has no method") => {
            let namespace = callee.split('.').next().unwrap_or(callee);
            format!("`{namespace}` is not an installed package or a variable here: check its spelling, or install the package (packages.yml, then `sluice deps`)")
        }
        K::UndefinedError => "the value is not defined here: check its spelling, or set it (`{% set %}`, a var, a macro argument)".to_owned(),
        _ if detail.contains("unknown keyword argument") || detail.contains("unexpected keyword") => {
            "check the argument names against the macro's `{% macro %}` line".to_owned()
        }
        _ => return None,
    })
}

fn located_jinja_error(err: &minijinja::Error, source: Option<&str>) -> Error {
    // An error a sluice function raised keeps its own kind, message and hint.
    let inner = std::error::Error::source(err).and_then(|s| s.downcast_ref::<Error>());
    let detail = err
        .detail()
        .map(str::to_owned)
        .unwrap_or_else(|| err.kind().to_string());
    let mut out = match inner {
        Some(e) => e.duplicate(),
        None => match (err.kind(), detail.strip_suffix(" is unknown")) {
            (minijinja::ErrorKind::UnknownFunction, Some(name)) => Error::new(
                ErrorKind::Jinja,
                format!("unknown macro or function `{name}`"),
            )
            .with_hint(
                "define it as a macro in one of the project's macro-paths, or check the spelling",
            ),
            _ => {
                let what = match err.kind() {
                    minijinja::ErrorKind::SyntaxError => "Jinja syntax error",
                    minijinja::ErrorKind::UnknownFilter => "unknown filter",
                    minijinja::ErrorKind::UnknownTest => "unknown Jinja test",
                    minijinja::ErrorKind::UndefinedError => "undefined value",
                    _ => "Jinja error",
                };
                let out = Error::new(ErrorKind::Jinja, format!("{what}: {detail}"));
                match jinja_hint(err, &detail, source) {
                    Some(hint) => out.with_hint(hint),
                    None => out,
                }
            }
        },
    };
    if let (Some(name), Some(line)) = (err.name(), err.line()) {
        let path = name.split('#').next().unwrap_or(name);
        if !path.starts_with('<') {
            let text = err.template_source().or(source);
            let col = match (err.range(), text) {
                (Some(range), Some(text)) if range.start <= text.len() => {
                    let before = &text[..range.start];
                    before
                        .rfind('\n')
                        .map_or(before.chars().count(), |i| before[i + 1..].chars().count())
                        + 1
                }
                _ => 1,
            };
            // A block never closed is reported by minijinja at the end of
            // the file; the mistake is where the block opens.
            let syntax = err.kind() == minijinja::ErrorKind::SyntaxError;
            let opening = text.and_then(|t| {
                if syntax && (detail.contains("end of input") || detail.contains("end of comment"))
                {
                    unclosed_opening(t).map(|o| (t, o))
                } else if syntax && detail.contains("expected end of variable block") {
                    // The parser gave up past the `{{` that lacks its `}}`.
                    let upto = err.range().map_or(t.len(), |r| r.start.min(t.len()));
                    t[..upto]
                        .rfind("{{")
                        .map(|at| (t, (at, "expression `{{`".to_owned())))
                } else {
                    None
                }
            });
            out = match opening {
                Some((t, (at, what))) if out.location().is_none() => out
                    .with_location(Location::from_offset(Path::new(path), t, at))
                    .with_note(format!("this {what} is never closed")),
                _ => out.or_location(|| Some(Location::new(Path::new(path), line, col, text))),
            };
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::project::SourceFile;

    fn renderer(macros: &[(&str, &str)]) -> Renderer {
        let files: Vec<SourceFile> = macros
            .iter()
            .map(|(p, t)| SourceFile {
                path: p.into(),
                text: t.to_string(),
            })
            .collect();
        let vars = BTreeMap::from([("x".to_owned(), Json::from(5))]);
        let target = Target::embedded(Path::new("."), "shop");
        Renderer::from_parts("shop", &[("shop", &files)], &vars, &target, &[]).unwrap()
    }

    fn scope(phase: Phase) -> Arc<NodeScope> {
        let resolver = Resolver {
            database: "shop".into(),
            schema: "main".into(),
            ..Resolver::default()
        };
        Arc::new(NodeScope::new(
            phase,
            "model.shop.m",
            Default::default(),
            Arc::new(resolver),
        ))
    }

    fn vars() -> NodeVars {
        NodeVars {
            this: None,
            model: Value::from(()),
            test_kwargs: None,
        }
    }

    #[test]
    fn the_unclosed_block_is_found_where_it_opens() {
        let text = "{% if a %}x{% endif %}\n{% for r in rows %}\n{% if r %}y{% endif %}\n";
        assert_eq!(unclosed_opening(text), Some((23, "`{% for %}`".to_owned())));
        let (at, what) = unclosed_opening("a {# b\n c").unwrap();
        assert_eq!((at, what.as_str()), (2, "comment `{#`"));
        assert_eq!(unclosed_opening("{% set x = 1 %}{{ x }}"), None);
        assert_eq!(
            unclosed_opening("{% set x %}1"),
            Some((0, "`{% set %}`".to_owned()))
        );
    }

    #[test]
    fn jinja_errors_carry_a_hint_for_their_kind() {
        let r = renderer(&[("macros/m.sql", "{% macro two(a, b) %}{{ a }}{% endmacro %}")]);
        let err = |sql: &str| {
            r.render("models/m.sql", sql, &scope(Phase::Compile), &vars())
                .unwrap_err()
        };
        let e = err("{{ 'x' | upcase }}");
        assert_eq!(e.hint(), Some("did you mean `upper`?"), "{}", e.render());
        let e = err("{{ two(1, 2, 3) }}");
        assert!(
            e.hint()
                .unwrap_or("")
                .contains("`two` is given more arguments"),
            "{}",
            e.render()
        );
        let e = err("{% for x in [1] %}\n{{ x }}\n");
        assert_eq!(
            e.location().map(|l| (l.line, l.col)),
            Some((1, 1)),
            "{}",
            e.render()
        );
        assert!(
            e.notes().iter().any(|n| n.contains("never closed")),
            "{}",
            e.render()
        );
    }

    #[test]
    fn return_hands_back_a_value() {
        let r = renderer(&[(
            "macros/m.sql",
            "{% macro pair() %}ignored{{ return([1, 2]) }}{% endmacro %}",
        )]);
        let out = r
            .render(
                "models/m.sql",
                "{{ pair() | length }}",
                &scope(Phase::Compile),
                &vars(),
            )
            .unwrap();
        assert_eq!(out, "2");
    }

    #[test]
    fn secret_env_vars_only_in_profiles_and_packages() {
        // dbt: DBT_ENV_SECRET_* in profiles.yml/packages.yml only.
        std::env::set_var("DBT_ENV_SECRET_SLUICE_UNIT", "s3cret");
        let no_vars = BTreeMap::new();
        let profile = render_config_string("{{ env_var('DBT_ENV_SECRET_SLUICE_UNIT') }}", &no_vars);
        assert_eq!(profile.unwrap(), "s3cret");
        let target = Target::embedded(Path::new("."), "shop");
        let project = render_project_value(
            "{{ env_var('DBT_ENV_SECRET_SLUICE_UNIT') }}",
            &no_vars,
            &target,
        );
        assert!(project
            .unwrap_err()
            .message()
            .contains("outside profiles.yml"));
        let r = renderer(&[]);
        let model = r.render(
            "models/m.sql",
            "{{ env_var('DBT_ENV_SECRET_SLUICE_UNIT') }}",
            &scope(Phase::Compile),
            &vars(),
        );
        assert!(model
            .unwrap_err()
            .message()
            .contains("outside profiles.yml"));
    }

    #[test]
    fn list_sums_are_new_python_lists_and_undefined_has_length_zero() {
        // Python: `a + [3]` and `a + b` are new lists that take `append`
        // (minijinja's `+` gives a lazy sequence without it); Jinja2's
        // Undefined has `len()` 0, as dbt renders it.
        let r = renderer(&[]);
        let src = "{% set a = [1, 2] %}{% set b = a + [3] %}{% do b.append(4) %}\
                   {% set c = a + b %}{% do c.append(9) %}{{ b | join(',') }}|{{ c | join(',') }}|{{ a | join(',') }}|\
                   {{ nothing_here | length }}|{{ nothing_here | count }}|{{ 'ab' + 'c' }}|{{ 1 + 2 }}";
        let out = r
            .render("models/m.sql", src, &scope(Phase::Compile), &vars())
            .unwrap();
        assert_eq!(out, "1,2,3,4|1,2,1,2,3,4,9|1,2|0|0|abc|3");
    }

    #[test]
    fn default_schema_naming_matches_dbt() {
        // Pins dbt's default generate_schema_name: target schema, `_custom` appended.
        let r = renderer(&[]);
        let none = r
            .call_macro("generate_schema_name", &[Value::from(()), Value::from(())])
            .unwrap();
        assert_eq!(none.to_string().trim(), "main");
        let custom = r
            .call_macro(
                "generate_schema_name",
                &[Value::from("marts"), Value::from(())],
            )
            .unwrap();
        assert_eq!(custom.to_string().trim(), "main_marts");
    }

    #[test]
    fn project_macros_override_builtins() {
        let r = renderer(&[(
            "macros/schema.sql",
            "{% macro generate_schema_name(custom_schema_name, node) %}{{ custom_schema_name or target.schema }}{% endmacro %}",
        )]);
        let custom = r
            .call_macro(
                "generate_schema_name",
                &[Value::from("marts"), Value::from(())],
            )
            .unwrap();
        assert_eq!(custom.to_string().trim(), "marts");
    }

    #[test]
    fn dispatch_prefers_default_implementation_overrides() {
        let r = renderer(&[(
            "macros/t.sql",
            "{% macro default__test_not_null(model, column_name) %}custom {{ column_name }}{% endmacro %}",
        )]);
        let out = r
            .render(
                "models/m.sql",
                "{{ test_not_null('t', 'c') | trim }}",
                &scope(Phase::Compile),
                &vars(),
            )
            .unwrap();
        assert_eq!(out, "custom c");
    }

    #[test]
    fn parse_phase_captures_refs_sources_and_config() {
        let r = renderer(&[]);
        let s = scope(Phase::Parse);
        let sql = "{{ config(materialized='table', tags=['a']) }}select * from {{ ref('a') }} join {{ source('raw', 'b') }} where {{ var('x') }} = 5";
        let out = r.render("models/m.sql", sql, &s, &vars()).unwrap();
        assert_eq!(
            out,
            r#"select * from "shop"."main"."a" join "shop"."raw"."b" where 5 = 5"#
        );
        let c = s.captured();
        assert_eq!(
            c.refs,
            vec![RefCall {
                package: None,
                name: "a".into()
            }]
        );
        assert_eq!(c.sources, vec![("raw".to_owned(), "b".to_owned())]);
        assert_eq!(c.config.materialized(), "table");
        assert_eq!(c.config.tags(), vec!["a"]);
    }

    #[test]
    fn errors_in_macros_point_at_the_macro_file() {
        let r = renderer(&[(
            "macros/bad.sql",
            "\n\n{% macro boom() %}\n  {{ 'a' + 1 }}\n{% endmacro %}",
        )]);
        let err = r
            .render(
                "models/m.sql",
                "select {{ boom() }}",
                &scope(Phase::Compile),
                &vars(),
            )
            .unwrap_err();
        let loc = err.location().expect("located");
        assert_eq!(loc.path, Path::new("macros/bad.sql"));
        assert_eq!(loc.line, 4);
    }

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
