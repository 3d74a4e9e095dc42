//! `debug`, as dbt's.

use crate::adapter::duckdb::Database;
use crate::cli::GlobalArgs;
use crate::commands::invocation::Outcome;
use crate::commands::session::load_options;
use crate::error::Result;
use crate::project::Project;
use crate::render::ProjectJinja;
use crate::warehouse::connection::Connection;

/// `sluice debug`: checks the project, profile and connection, as `dbt debug`.
///
/// Errors: the first check that fails.
pub fn debug(g: &GlobalArgs) -> Result<Outcome> {
    let opts = load_options(g);
    eprintln!("sluice version: {}", env!("CARGO_PKG_VERSION"));
    let project = Project::load(&opts, &ProjectJinja)?;
    eprintln!(
        "project: `{}` in `{}`  [OK found and valid]",
        project.name(),
        project.root.display()
    );
    let t = &project.target;
    match &t.profiles_file {
        Some(f) => eprintln!("profiles.yml: `{}`  [OK found and valid]", f.display()),
        None => eprintln!(
            "profiles.yml: none defines profile `{}`; using the embedded DuckDB default",
            t.profile_name
        ),
    }
    eprintln!(
        "target: `{}` (type {}, path `{}`, database `{}`, schema `{}`, threads {})",
        t.name, t.adapter_type, t.path, t.database, t.schema, t.threads
    );
    let db = Database::open(t)?;
    let conn = db.connect()?;
    conn.query("select 1")?;
    eprintln!("connection: DuckDB {}  [OK connection ok]", db.version());
    eprintln!("All checks passed!");
    Ok(Outcome::Success)
}
