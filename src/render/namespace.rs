//! Macro namespaces, as dbt resolves them.
//!
//! dbt's `MacroNamespace` answers an unqualified macro name from, in order:
//! the package of the node being rendered (also inside a package's macro:
//! the context is the node's), the root project, then dbt's own (internal)
//! macros. Every package is also a namespace of its own
//! (`dbt_utils.star(...)`, `my_project.helper(...)`, `dbt.date_trunc(...)`),
//! and `adapter.dispatch(name, macro_namespace)` searches the packages the
//! project's `dispatch:` config lists for `<adapter>__name` (the target's
//! adapter: `duckdb__`, `postgres__`) then `default__name`. A package's macros are not visible unqualified outside
//! the package, as in dbt.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use minijinja::value::{Enumerator, Object, ObjectRepr};
use minijinja::{Error, ErrorKind, State, Value};

use crate::error::{did_you_mean, Error as SluiceError, ErrorKind as SluiceKind};
use crate::render::call::wrap;

/// The global every macro call and `adapter.dispatch` finds the namespaces under.
pub const NAMESPACES_VAR: &str = "__sluice_ns";

/// The adapter prefixes `adapter.dispatch` tries for a target of type
/// `adapter_type`, in order: the adapter's own, then dbt's `default`
/// (dbt-duckdb and dbt-postgres name no parent adapter).
pub fn dispatch_prefixes(adapter_type: &str) -> [String; 2] {
    [adapter_type.to_owned(), "default".to_owned()]
}

/// One package's macros by name: the value `<package>.<macro>` reads.
#[derive(Debug, Default)]
pub struct PackageNamespace {
    /// The package name (`dbt` for dbt's internal macros).
    pub name: String,
    /// Macro name to its callable value.
    pub macros: HashMap<String, Value>,
}

impl fmt::Display for PackageNamespace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<namespace {}>", self.name)
    }
}

impl PackageNamespace {
    fn missing(&self, macro_name: &str) -> Error {
        let err = SluiceError::new(
            SluiceKind::Jinja,
            format!(
                "macro `{macro_name}` is not defined in package `{}`",
                self.name
            ),
        );
        let err = match did_you_mean(macro_name, self.macros.keys().map(String::as_str)) {
            Some(s) => err.with_hint(format!("did you mean `{}.{s}`?", self.name)),
            None => err.with_hint(format!(
                "check the macro name, or that the installed `{}` is the version the project expects (run `sluice deps`)",
                self.name
            )),
        };
        wrap(err)
    }
}

impl Object for PackageNamespace {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Plain
    }

    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        self.macros.get(key.as_str()?).cloned()
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        let mut keys: Vec<Value> = self
            .macros
            .keys()
            .map(|k| Value::from(k.as_str()))
            .collect();
        keys.sort();
        Enumerator::Values(keys)
    }

    fn call_method(
        self: &Arc<Self>,
        state: &State<'_, '_>,
        method: &str,
        args: &[Value],
    ) -> Result<Value, Error> {
        match self.macros.get(method) {
            Some(func) => func.call(state, args),
            None => Err(self.missing(method)),
        }
    }

    fn render(self: &Arc<Self>, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// Every package's namespace, and the project's `dispatch:` search orders.
#[derive(Debug, Default)]
pub struct Namespaces {
    /// The root project's name.
    pub root: String,
    /// Package name (root project and `dbt` included) to its namespace.
    pub packages: HashMap<String, Arc<PackageNamespace>>,
    /// `macro_namespace` to `search_order`, from dbt_project.yml `dispatch:`.
    pub dispatch: HashMap<String, Vec<String>>,
    /// The dispatch prefixes, from [`dispatch_prefixes`] of the target's adapter.
    pub prefixes: [String; 2],
}

impl fmt::Display for Namespaces {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<namespaces>")
    }
}

impl Object for Namespaces {}

impl Namespaces {
    /// The namespaces of the running template's environment.
    pub fn of(state: &State<'_, '_>) -> Option<Arc<Namespaces>> {
        state
            .lookup(NAMESPACES_VAR)
            .and_then(|v| v.downcast_object::<Namespaces>())
    }

    /// The installed packages whose macros an unqualified name is looked up
    /// in (before the globals: the root project's macros, then dbt's) when
    /// a macro of package `own` (`None`: the root project or dbt) runs for a
    /// node of package `node` (`None`: no node, or the root project's).
    ///
    /// As dbt's `MacroNamespaceBuilder`: every macro runs in the node's
    /// context, so the node's package comes first, and a package macro
    /// called from a root model sees the root project's macros, not its own
    /// package's: `{% macro a() %}{{ b() }}{% endmacro %}` in package `p`
    /// calls the root's `b` when the root defines one. Where dbt would stop
    /// with an undefined name, sluice then tries the macro's own package,
    /// after the root project and dbt.
    pub fn macro_search(
        &self,
        node: Option<&str>,
        own: Option<&str>,
    ) -> Vec<Arc<PackageNamespace>> {
        let installed = |p: &str| {
            (p != self.root && p != "dbt")
                .then(|| self.packages.get(p).cloned())
                .flatten()
        };
        let mut search: Vec<Arc<PackageNamespace>> = node.and_then(installed).into_iter().collect();
        if let Some(own_ns) = own.and_then(installed) {
            if node != own {
                search.extend(self.packages.get(&self.root).cloned());
                search.extend(self.packages.get("dbt").cloned());
                search.push(own_ns);
            }
        }
        search
    }

    /// The packages `adapter.dispatch(_, namespace)` searches, as dbt's
    /// `_get_search_packages`: the `dispatch:` search order for the
    /// namespace when configured, else the root project then the namespace
    /// when it is an installed package (or `dbt`), else the caller's own
    /// scope (`None`).
    pub fn search_packages(&self, namespace: Option<&str>) -> Vec<Option<String>> {
        match namespace {
            None => vec![None],
            Some(ns) => match self.dispatch.get(ns) {
                Some(order) if !order.is_empty() => order.iter().cloned().map(Some).collect(),
                _ if self.packages.contains_key(ns) => {
                    vec![Some(self.root.clone()), Some(ns.to_owned())]
                }
                _ => vec![None],
            },
        }
    }
}

/// `adapter.dispatch(name, macro_namespace)`: the first of
/// `<package>.<adapter>__<name>`, `<package>.default__<name>` over the search
/// packages (see [`Namespaces::search_packages`]), as dbt's dispatch.
///
/// Errors: a Jinja error listing every name searched, as dbt's "No macro
/// named ... found within namespace".
pub fn dispatch(
    state: &State<'_, '_>,
    name: &str,
    namespace: Option<&str>,
) -> Result<Value, Error> {
    let Some(ns) = Namespaces::of(state) else {
        return Err(Error::new(
            ErrorKind::InvalidOperation,
            "macro namespaces are not set up",
        ));
    };
    let mut attempts = Vec::new();
    for package in ns.search_packages(namespace) {
        for prefix in &ns.prefixes {
            let candidate = format!("{prefix}__{name}");
            let found = match &package {
                None => state.lookup(&candidate).filter(|v| v.as_object().is_some()),
                Some(p) => ns
                    .packages
                    .get(p)
                    .and_then(|n| n.macros.get(&candidate).cloned()),
            };
            match &package {
                None => attempts.push(format!("`{candidate}`")),
                Some(p) => attempts.push(format!("`{p}.{candidate}`")),
            }
            if let Some(found) = found {
                return Ok(found);
            }
        }
    }
    let err = SluiceError::new(
        SluiceKind::Jinja,
        format!(
            "`adapter.dispatch` found no macro named `{name}` within namespace `{}`; searched for {}",
            namespace.unwrap_or("None"),
            attempts.join(", ")
        ),
    )
    .with_hint(match namespace {
        Some(n) if !ns.packages.contains_key(n) => format!(
            "package `{n}` is not installed: add it to packages.yml and run `sluice deps`"
        ),
        _ => format!("define `default__{name}` (or `{}__{name}`) in one of the searched packages", ns.prefixes[0]),
    });
    Err(wrap(err))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn namespaces() -> Namespaces {
        let package = |name: &str| {
            Arc::new(PackageNamespace {
                name: name.to_owned(),
                macros: HashMap::from([("m".to_owned(), Value::from(name))]),
            })
        };
        Namespaces {
            root: "shop".to_owned(),
            packages: ["shop", "dbt", "p", "q"]
                .into_iter()
                .map(|n| (n.to_owned(), package(n)))
                .collect(),
            dispatch: HashMap::new(),
            prefixes: dispatch_prefixes("duckdb"),
        }
    }

    fn names(search: Vec<Arc<PackageNamespace>>) -> Vec<String> {
        search.iter().map(|ns| ns.name.clone()).collect()
    }

    /// Pins dbt's MacroNamespaceBuilder order: the node's package, then the
    /// root project and dbt (the globals); a package macro's own package
    /// comes last, where dbt would find nothing.
    #[test]
    fn unqualified_names_search_the_node_package_first() {
        let ns = namespaces();
        // A root model calling a macro of package p: root, dbt, then p.
        assert_eq!(
            names(ns.macro_search(Some("shop"), Some("p"))),
            ["shop", "dbt", "p"]
        );
        // A model of package p calling p's macro: p, then the globals.
        assert_eq!(names(ns.macro_search(Some("p"), Some("p"))), ["p"]);
        // A model of package q calling p's macro: q first.
        assert_eq!(
            names(ns.macro_search(Some("q"), Some("p"))),
            ["q", "shop", "dbt", "p"]
        );
        // A root or dbt macro for a model of package q: q, then the globals.
        assert_eq!(names(ns.macro_search(Some("q"), None)), ["q"]);
        // A root macro for a root model, or no node: the globals only.
        assert!(ns.macro_search(Some("shop"), None).is_empty());
        assert!(ns.macro_search(None, Some("dbt")).is_empty());
    }
}
