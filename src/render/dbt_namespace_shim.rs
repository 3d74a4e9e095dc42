//! TEMPORARY stand-in for dbt's `dbt` macro namespace, until the lead's
//! namespace work lands: `dbt.<name>` is the macro `<name>` as sluice
//! resolves unqualified calls (a project macro of the same name wins, where
//! dbt would keep its own). dbt's cross-database macros call each other as
//! `dbt.dateadd(...)`, as in dbt's global project, and need it to render.
//!
//! Drop this file, and its `add_global("dbt", ...)` in `Renderer::from_parts`,
//! when the real namespace is merged: it is registered before
//! `builtins::register`, so a `dbt` global registered there replaces it.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use minijinja::value::{Object, ObjectRepr};
use minijinja::Value;

/// `dbt`: attribute `name` is the macro `name`.
#[derive(Debug)]
pub struct DbtNamespace {
    /// Macro name to callable, as registered as globals.
    pub macros: Arc<HashMap<String, Value>>,
}

impl fmt::Display for DbtNamespace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<namespace dbt>")
    }
}

impl Object for DbtNamespace {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Plain
    }

    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        key.as_str().and_then(|name| self.macros.get(name).cloned())
    }

    fn render(self: &Arc<Self>, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}
