//! Macros: splitting macro files into one template per macro, and calling
//! them as global functions.
//!
//! dbt makes every macro of every macro file callable from every model. Each
//! `{% macro name(...) %}...{% endmacro %}` block becomes its own minijinja
//! template (padded with blank lines so line numbers still match the file),
//! and a global function `name` that evaluates it. Calls between macros of
//! the same file then go through the same global functions, so a project
//! macro overrides a built-in one everywhere, and `{{ return(x) }}` works as
//! in dbt: the macro call evaluates to `x` instead of its text. dbt's
//! `{% test name(...) %}` blocks are macros named `test_name`, as in dbt.

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;
use std::sync::{Arc, LazyLock};

use minijinja::value::{Object, ObjectRepr};
use minijinja::{State, Value};
use regex::Regex;

use crate::error::{Error, ErrorKind, Location, Result};

/// The variables a macro sees from the node that calls it (besides globals).
pub const FORWARDED_VARS: &[&str] = &[
    "this",
    "model",
    "execute",
    "__sluice",
    "_dbt_generic_test_kwargs",
];

/// Temp slot `return()` writes to.
pub const RETURN_SLOT: &str = "__sluice_return";

/// Detail of the error `return()` raises to stop the macro; the macro call
/// catches it and evaluates to the returned value.
pub const RETURN_SIGNAL: &str = "`return()` outside a macro";

/// One macro definition cut out of a macro file.
#[derive(Debug, Clone, PartialEq)]
pub struct MacroDef {
    /// Macro name as called (`test_` prefix for `{% test %}` blocks).
    pub name: String,
    /// File the macro lives in (relative to the project, or `templates/...` for built-ins).
    pub path: String,
    /// Template source: the block, preceded by padding so lines and columns match `path`.
    pub source: String,
    /// `macro.<package>.<name>`.
    pub unique_id: String,
}

impl MacroDef {
    /// Template name the definition is registered under (`path#name`).
    pub fn template_name(&self) -> String {
        format!("{}#{}", self.path, self.name)
    }

    /// The package that defines the macro (`dbt` for built-ins), from its unique_id.
    pub fn package(&self) -> &str {
        self.unique_id
            .strip_prefix("macro.")
            .and_then(|rest| rest.split('.').next())
            .unwrap_or("")
    }
}

static BLOCK_TAG: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\{%-?\s*(macro|endmacro|test|endtest|materialization|endmaterialization)\b")
        .expect("valid regex")
});
static NAME: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*\(").expect("valid regex"));

/// Cuts `text` (a macro file at `path`) into its top-level macro and test blocks.
///
/// Errors: [`ErrorKind::Jinja`] at the tag for an unclosed block, a stray
/// `endmacro`, or a block without a name.
pub fn split_macro_file(path: &str, text: &str, package: &str) -> Result<Vec<MacroDef>> {
    let mut defs = Vec::new();
    let mut depth = 0usize;
    let mut open: Option<(usize, &str)> = None;
    let err = |offset: usize, msg: String| {
        Error::new(ErrorKind::Jinja, msg).with_location(Location::from_offset(path, text, offset))
    };
    for m in BLOCK_TAG.captures_iter(text) {
        let whole = m.get(0).expect("match");
        let kind = m.get(1).expect("group").as_str();
        match kind {
            "macro" | "test" | "materialization" => {
                if depth == 0 {
                    open = Some((whole.start(), kind));
                }
                depth += 1;
            }
            _ => {
                if depth == 0 {
                    return Err(err(
                        whole.start(),
                        format!("`{kind}` without a matching opening block"),
                    ));
                }
                depth -= 1;
                if depth > 0 {
                    continue;
                }
                let (start, open_kind) = open.take().expect("open block");
                let end_tag = text[whole.end()..]
                    .find("%}")
                    .map(|i| whole.end() + i + 2)
                    .ok_or_else(|| err(whole.start(), format!("unclosed `{kind}` tag")))?;
                if open_kind == "materialization" {
                    continue;
                }
                let head_end = text[start..].find("%}").map_or(text.len(), |i| start + i);
                let head = &text[start..head_end];
                let after_kw = head
                    .find(open_kind)
                    .map_or(head.len(), |i| i + open_kind.len());
                let Some(name) = NAME.captures(&head[after_kw..]).map(|c| c[1].to_owned()) else {
                    return Err(err(start, format!("`{open_kind}` block without a name")));
                };
                let mut body = text[start..end_tag].to_owned();
                let name = if open_kind == "test" {
                    body = rewrite_test_block(&body);
                    format!("test_{name}")
                } else {
                    name
                };
                let before = &text[..start];
                let line_start = before.rfind('\n').map_or(0, |i| i + 1);
                let mut source = "\n".repeat(before.matches('\n').count());
                source.push_str(&" ".repeat(text[line_start..start].chars().count()));
                source.push_str(&body);
                defs.push(MacroDef {
                    unique_id: format!("macro.{package}.{name}"),
                    name,
                    path: path.to_owned(),
                    source,
                });
            }
        }
    }
    if let Some((start, kind)) = open {
        return Err(err(start, format!("`{kind}` block is never closed"))
            .with_hint(format!("add `{{% end{kind} %}}` at the end of the block")));
    }
    Ok(defs)
}

/// `{% test name(...) %}...{% endtest %}` -> `{% macro test_name(...) %}...{% endmacro %}`.
fn rewrite_test_block(body: &str) -> String {
    static OPEN: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"^\{%(-?)(\s*)test(\s+)([A-Za-z_])").expect("valid regex"));
    static CLOSE: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"\{%(-?)(\s*)endtest\b").expect("valid regex"));
    let body = OPEN.replace(body, "{%${1}${2}macro${3}test_${4}");
    // Keep the text the same length per line: `endtest` -> `endmacro` only shifts the tail of one line.
    CLOSE.replace_all(&body, "{%${1}${2}endmacro").into_owned()
}

/// A macro as a callable template value: evaluates its template with the
/// caller's node variables and calls the macro, returning its text (safe
/// string) or the value passed to `return()`.
#[derive(Debug)]
pub struct MacroFn {
    /// Template name (`path#name`).
    pub template: String,
    /// Macro name inside the template.
    pub name: String,
    /// The installed package the macro belongs to (not the root project or
    /// dbt's built-ins): its own macros are found first, unqualified, inside it.
    pub package: Option<String>,
    /// The namespace the macro is defined in (`dbt`, the root project or a
    /// package), for a unit test's `overrides.macros` written `pkg.name`.
    pub namespace: String,
    /// `kwargs` / `varargs`, when the macro's body reads them.
    pub catch_all: Option<CatchAll>,
}

/// What a macro that reads Jinja2's `kwargs` or `varargs` accepts beyond its
/// declared arguments: Jinja2 (and so dbt) passes extra keyword arguments
/// in the `kwargs` dict and extra positional ones in the `varargs` list
/// instead of refusing them, and minijinja has neither.
#[derive(Debug, Clone)]
pub struct CatchAll {
    /// The declared argument names, in order.
    pub arguments: Vec<String>,
    /// Whether the body reads `kwargs`.
    pub kwargs: bool,
    /// Whether the body reads `varargs`.
    pub varargs: bool,
}

impl CatchAll {
    /// The catch-all of the macro whose template is `source`; `None` when
    /// its body reads neither `kwargs` nor `varargs`.
    pub fn of(source: &str) -> Option<CatchAll> {
        let kwargs = source.contains("kwargs");
        let varargs = source.contains("varargs");
        (kwargs || varargs).then(|| CatchAll {
            arguments: crate::render::pycompat::macro_arguments(source),
            kwargs,
            varargs,
        })
    }

    /// Splits a call's `args` into what the macro declares and the extras,
    /// returned as the `kwargs` dict and `varargs` list the body sees.
    fn split(&self, args: Vec<Value>) -> (Vec<Value>, Value, Value) {
        let mut positional = args;
        let kwargs = positional
            .last()
            .and_then(|v| minijinja::value::Kwargs::try_from(v.clone()).ok());
        if kwargs.is_some() {
            positional.pop();
        }
        let declared = self.arguments.len();
        let extra_positional: Vec<Value> = if self.varargs && positional.len() > declared {
            positional.split_off(declared)
        } else {
            Vec::new()
        };
        let mut keep: Vec<(String, Value)> = Vec::new();
        let mut extra = indexmap::IndexMap::new();
        if let Some(kwargs) = &kwargs {
            for key in kwargs.args() {
                let value = kwargs.get::<Value>(key).unwrap_or_default();
                if self.kwargs && !self.arguments.iter().any(|a| a == key) && key != "caller" {
                    extra.insert(Value::from(key), value);
                } else {
                    keep.push((key.to_owned(), value));
                }
            }
        }
        if kwargs.is_some() && !keep.is_empty() {
            positional.push(Value::from(minijinja::value::Kwargs::from_iter(keep)));
        }
        (
            positional,
            crate::render::pycompat::MutableDict::value(extra),
            crate::render::pycompat::MutableList::value(extra_positional),
        )
    }
}

/// Detail of the error that wraps a failure inside a macro, so that the
/// caller's location is kept too (see [`called_error`]).
const CALLED_DETAIL: &str = "error in a macro called here";

impl MacroFn {
    /// Wraps `err`, raised inside this macro, in an error the caller's
    /// template will locate at the call: the chain of wrappers is the call
    /// stack, model line outermost. Its kind is never `UnknownMethod`, which
    /// would make minijinja retry the call by other means.
    fn called(&self, err: minijinja::Error) -> minijinja::Error {
        if err.line().is_none() {
            return err;
        }
        minijinja::Error::new(minijinja::ErrorKind::InvalidOperation, CALLED_DETAIL)
            .with_source(err)
    }
}

/// The error raised inside a macro that `err` wraps, when `err` is the
/// wrapper [`MacroFn`] adds at a call site.
pub fn called_error(err: &minijinja::Error) -> Option<&minijinja::Error> {
    if err.detail() != Some(CALLED_DETAIL) {
        return None;
    }
    std::error::Error::source(err).and_then(|s| s.downcast_ref::<minijinja::Error>())
}

impl fmt::Display for MacroFn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<macro {}>", self.name)
    }
}

impl Object for MacroFn {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Plain
    }

    fn call(
        self: &Arc<Self>,
        state: &State<'_, '_>,
        args: &[Value],
    ) -> std::result::Result<Value, minijinja::Error> {
        // A unit test's `overrides.macros`: the macro returns the given
        // value (by its name, or `namespace.name`), as dbt's.
        if let Some(scope) = state
            .lookup("__sluice")
            .and_then(|v| v.downcast_object::<crate::render::scope::NodeScope>())
        {
            let overrides = &scope.resolver.macro_overrides;
            if !overrides.is_empty() {
                let value = overrides
                    .get(&format!("{}.{}", self.namespace, self.name))
                    .or_else(|| overrides.get(&self.name));
                if let Some(value) = value {
                    return Ok(Value::from_serialize(value));
                }
            }
        }
        let tmpl = state.env().get_template(&self.template)?;
        let mut vars: BTreeMap<&'static str, Value> = FORWARDED_VARS
            .iter()
            .filter_map(|name| state.lookup(name).map(|v| (*name, v)))
            .collect();
        let mut args = bind_caller(state, args)?;
        if let Some(catch_all) = &self.catch_all {
            let (declared, kwargs, varargs) = catch_all.split(args);
            args = declared;
            if catch_all.kwargs {
                vars.insert("kwargs", kwargs);
            }
            if catch_all.varargs {
                vars.insert("varargs", varargs);
            }
        }
        let node_package = vars
            .get("__sluice")
            .and_then(|v| v.downcast_object_ref::<crate::render::scope::NodeScope>())
            .and_then(|scope| scope.unique_id.split('.').nth(1).map(str::to_owned));
        let search = crate::render::namespace::Namespaces::of(state)
            .map(|ns| ns.macro_search(node_package.as_deref(), self.package.as_deref()))
            .unwrap_or_default();
        let ctx = if search.is_empty() {
            Value::from(vars)
        } else {
            Value::from_object(PackageContext { vars, search })
        };
        let captured = tmpl.render_captured(ctx).map_err(|e| self.called(e))?;
        let module = captured.state();
        match module.call_macro(&self.name, &args) {
            Ok(text) => Ok(Value::from_safe_string(text)),
            Err(e) if e.detail() == Some(RETURN_SIGNAL) => {
                Ok(module.get_temp(RETURN_SLOT).unwrap_or_default())
            }
            Err(e) => Err(self.called(e)),
        }
    }

    fn render(self: &Arc<Self>, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// The variables a node of an installed package, or a macro, sees: the
/// forwarded node variables, then the macros of the namespaces in `search`
/// by their unqualified names, then the globals (the root project's and
/// dbt's macros); see [`crate::render::namespace::Namespaces::macro_search`].
#[derive(Debug)]
pub struct PackageContext {
    /// Node variables (`this`, `model`, ...).
    pub vars: BTreeMap<&'static str, Value>,
    /// Namespaces searched, in order, for a name the variables lack.
    pub search: Vec<Arc<crate::render::namespace::PackageNamespace>>,
}

impl Object for PackageContext {
    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        let name = key.as_str()?;
        self.vars.get(name).cloned().or_else(|| {
            self.search
                .iter()
                .find_map(|ns| ns.macros.get(name).cloned())
        })
    }

    fn enumerate(self: &Arc<Self>) -> minijinja::value::Enumerator {
        minijinja::value::Enumerator::Values(self.vars.keys().map(|k| Value::from(*k)).collect())
    }
}

/// Replaces the `caller` of a `{% call %}` block by its rendered body.
///
/// minijinja binds a caller to the template state it was made in, and a
/// macro runs in its own template's state, so the body is rendered here,
/// in the calling state, before the macro runs. dbt's uses of `caller()`
/// (statement blocks, materializations) call it without arguments; a
/// `{% call(arg) %}` block, whose body needs arguments, cannot be rendered
/// ahead and is reported as unsupported when the macro calls it.
fn bind_caller(
    state: &State<'_, '_>,
    args: &[Value],
) -> std::result::Result<Vec<Value>, minijinja::Error> {
    let Some(kwargs) = args
        .last()
        .and_then(|v| minijinja::value::Kwargs::try_from(v.clone()).ok())
    else {
        return Ok(args.to_vec());
    };
    let Some(caller) = kwargs.get::<Option<Value>>("caller")? else {
        return Ok(args.to_vec());
    };
    let takes_args = caller
        .get_attr("arguments")
        .ok()
        .and_then(|a| a.len())
        .is_some_and(|n| n > 0);
    let body = if takes_args {
        CallerBody::NeedsArgs
    } else {
        CallerBody::Text(caller.call(state, &[])?.to_string())
    };
    let rebound: minijinja::value::Kwargs = kwargs
        .args()
        .map(|k| {
            let v = if k == "caller" {
                Value::from_object(CallerBody::clone(&body))
            } else {
                kwargs.get::<Value>(k).unwrap_or_default()
            };
            (k.to_owned(), v)
        })
        .collect();
    let mut out = args[..args.len() - 1].to_vec();
    out.push(Value::from(rebound));
    Ok(out)
}

/// The body of a `{% call %}` block, rendered in the caller's state.
#[derive(Debug, Clone)]
enum CallerBody {
    Text(String),
    NeedsArgs,
}

impl Object for CallerBody {
    fn call(
        self: &Arc<Self>,
        _state: &State<'_, '_>,
        _args: &[Value],
    ) -> std::result::Result<Value, minijinja::Error> {
        match &**self {
            CallerBody::Text(text) => Ok(Value::from_safe_string(text.clone())),
            CallerBody::NeedsArgs => Err(minijinja::Error::new(
                minijinja::ErrorKind::InvalidOperation,
                "a `{% call(...) %}` block with arguments cannot be passed to a macro from another file; move the macro into the same file or pass the values as macro arguments",
            )),
        }
    }
}

/// The built-in macros shipped in templates/, embedded in the binary:
/// `(path, text)` pairs. A project macro of the same name wins.
pub const BUILTIN_MACRO_FILES: &[(&str, &str)] = &[
    (
        "templates/macros/naming.sql",
        include_str!("../../templates/macros/naming.sql"),
    ),
    (
        "templates/macros/relations.sql",
        include_str!("../../templates/macros/relations.sql"),
    ),
    (
        "templates/macros/statement.sql",
        include_str!("../../templates/macros/statement.sql"),
    ),
    (
        "templates/macros/freshness.sql",
        include_str!("../../templates/macros/freshness.sql"),
    ),
    (
        "templates/macros/show.sql",
        include_str!("../../templates/macros/show.sql"),
    ),
    (
        "templates/macros/cross_database/aggregates.sql",
        include_str!("../../templates/macros/cross_database/aggregates.sql"),
    ),
    (
        "templates/macros/cross_database/arrays.sql",
        include_str!("../../templates/macros/cross_database/arrays.sql"),
    ),
    (
        "templates/macros/cross_database/comparisons.sql",
        include_str!("../../templates/macros/cross_database/comparisons.sql"),
    ),
    (
        "templates/macros/cross_database/dates.sql",
        include_str!("../../templates/macros/cross_database/dates.sql"),
    ),
    (
        "templates/macros/cross_database/postgres.sql",
        include_str!("../../templates/macros/cross_database/postgres.sql"),
    ),
    (
        "templates/macros/cross_database/sets.sql",
        include_str!("../../templates/macros/cross_database/sets.sql"),
    ),
    (
        "templates/macros/cross_database/spine.sql",
        include_str!("../../templates/macros/cross_database/spine.sql"),
    ),
    (
        "templates/macros/cross_database/strings.sql",
        include_str!("../../templates/macros/cross_database/strings.sql"),
    ),
    (
        "templates/macros/cross_database/timestamps.sql",
        include_str!("../../templates/macros/cross_database/timestamps.sql"),
    ),
    (
        "templates/macros/cross_database/types.sql",
        include_str!("../../templates/macros/cross_database/types.sql"),
    ),
    (
        "templates/tests/generic_tests.sql",
        include_str!("../../templates/tests/generic_tests.sql"),
    ),
    (
        "templates/tests/test_wrapper.sql",
        include_str!("../../templates/tests/test_wrapper.sql"),
    ),
    (
        "templates/materializations/table.sql",
        include_str!("../../templates/materializations/table.sql"),
    ),
    (
        "templates/materializations/view.sql",
        include_str!("../../templates/materializations/view.sql"),
    ),
    (
        "templates/materializations/postgres.sql",
        include_str!("../../templates/materializations/postgres.sql"),
    ),
    (
        "templates/materializations/spark.sql",
        include_str!("../../templates/materializations/spark.sql"),
    ),
    (
        "templates/materializations/seed.sql",
        include_str!("../../templates/materializations/seed.sql"),
    ),
    (
        "templates/materializations/external.sql",
        include_str!("../../templates/materializations/external.sql"),
    ),
    (
        "templates/materializations/incremental.sql",
        include_str!("../../templates/materializations/incremental.sql"),
    ),
    (
        "templates/materializations/snapshot.sql",
        include_str!("../../templates/materializations/snapshot.sql"),
    ),
];

/// Path shown for a macro file.
pub fn display_path(path: &Path) -> String {
    path.to_string_lossy().replace('\\', "/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_macros_and_keeps_line_numbers() {
        let text = "{# c #}\n{% macro a(x) %}{{ x }}{% endmacro %}\n\n  {%- macro b() -%}\n{% macro inner() %}{% endmacro %}\n{%- endmacro %}\n";
        let defs = split_macro_file("macros/m.sql", text, "p").unwrap();
        let names: Vec<_> = defs.iter().map(|d| d.name.as_str()).collect();
        assert_eq!(names, ["a", "b"]);
        assert!(defs[0].source.starts_with("\n{% macro a(x)"));
        assert!(defs[1].source.starts_with("\n\n\n  {%- macro b()"));
        assert_eq!(defs[1].unique_id, "macro.p.b");
    }

    #[test]
    fn test_blocks_become_test_macros() {
        let defs = split_macro_file(
            "tests/generic/t.sql",
            "{% test is_even(model, column_name) %}x{% endtest %}",
            "p",
        )
        .unwrap();
        assert_eq!(defs[0].name, "test_is_even");
        assert_eq!(
            defs[0].source,
            "{% macro test_is_even(model, column_name) %}x{% endmacro %}"
        );
    }

    #[test]
    fn unclosed_macro_is_located() {
        let err = split_macro_file("macros/m.sql", "\n{% macro a() %}oops", "p").unwrap_err();
        assert_eq!(err.location().unwrap().line, 2);
    }
}
