//! The Jinja that reading project files needs, supplied by the caller so
//! that nothing in `project` renders templates itself: project files are
//! read below the template engine (see docs/architecture.md).

use std::collections::BTreeMap;

use serde_json::Value as Json;

use crate::error::Result;
use crate::project::profile::Target;

/// Renders the Jinja in one string of a project file (dbt_project.yml,
/// profiles.yml, packages.yml): `Ok(text)` unchanged when it has none.
/// A closure over the caller's renderer and vars.
pub type StrRenderer<'a> = &'a dyn Fn(&str) -> Result<String>;

/// The Jinja that reading a project needs, supplied by the caller (the
/// render stage's `ProjectJinja`).
pub trait ConfigJinja {
    /// Renders a string of dbt_project.yml, profiles.yml or packages.yml
    /// with `env_var` and `var` over `vars`, as dbt's `BaseContext`.
    ///
    /// Errors: [`crate::ErrorKind::Jinja`] for bad Jinja or a missing env var.
    fn config_string(&self, text: &str, vars: &BTreeMap<String, Json>) -> Result<String>;

    /// Renders one value of a dbt_project.yml config tree with `target`,
    /// `var` over `cli_vars` only, and native types, as dbt's
    /// `DbtProjectYamlRenderer`.
    ///
    /// Errors: [`crate::ErrorKind::Jinja`], unlocated.
    fn project_value(
        &self,
        text: &str,
        cli_vars: &BTreeMap<String, Json>,
        target: &Target,
    ) -> Result<serde_yaml::Value>;
}
