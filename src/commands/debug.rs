//! `debug`, as dbt's.

use crate::adapter::duckdb::Database;
use crate::cli::GlobalArgs;
use crate::commands::invocation::Outcome;
use crate::commands::session::load_options;
use crate::error::Result;
use crate::project::Project;
use crate::render::ProjectJinja;
use crate::warehouse::connection::Connection;

/// `sluice debug`: checks the project, profile and connection, as `dbt debug`;
/// on PostgreSQL it also reports the server version and the median round
/// trip of `select 1`, in milliseconds.
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
    if let Some(pg) = &t.postgres {
        // As dbt-postgres's debug: the connection fields but never the password.
        eprintln!(
            "target: `{}` (type postgres, host `{}`, port {}, user `{}`, database `{}`, schema `{}`, threads {})",
            t.name, pg.host, pg.port, pg.user, t.database, t.schema, t.threads
        );
        let conn = crate::adapter::postgres::connect(pg)?;
        let version = conn.server_version()?;
        let mut trips: Vec<f64> = (0..5)
            .map(|_| {
                let start = std::time::Instant::now();
                conn.query("select 1")
                    .map(|_| start.elapsed().as_secs_f64() * 1000.0)
            })
            .collect::<Result<_>>()?;
        trips.sort_by(f64::total_cmp);
        eprintln!(
            "connection: PostgreSQL {version}, round trip {:.2} ms (median of 5)  [OK connection ok]",
            trips[2]
        );
        eprintln!("All checks passed!");
        return Ok(Outcome::Success);
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
