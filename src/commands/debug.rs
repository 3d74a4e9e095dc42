//! `debug`, as dbt's.

use crate::cli::GlobalArgs;
use crate::commands::invocation::Outcome;
use crate::commands::session::load_options;
use crate::error::Result;
use crate::project::Project;
use crate::render::ProjectJinja;

/// `sluice debug`: checks the project, profile and connection, as `dbt debug`,
/// and reports the engine's version and the median round trip of `select 1`,
/// in milliseconds.
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
    if let Some(spark) = &t.spark {
        // As dbt-spark's debug: where the server is, never its token.
        eprintln!(
            "target: `{}` (type spark, method connect, host `{}`, port {}, schema `{}`, threads {})",
            t.name, spark.host, spark.port, t.schema, t.threads
        );
    } else {
        match &t.postgres {
        // As dbt-postgres's debug: the connection fields but never the password.
        Some(pg) => eprintln!(
            "target: `{}` (type postgres, host `{}`, port {}, user `{}`, database `{}`, schema `{}`, sslmode {}, threads {})",
            t.name, pg.host, pg.port, pg.user, t.database, t.schema, pg.sslmode, t.threads
        ),
        None => eprintln!(
            "target: `{}` (type {}, path `{}`, database `{}`, schema `{}`, threads {})",
            t.name, t.adapter_type, t.path, t.database, t.schema, t.threads
        ),
        }
    }
    let warehouse = crate::adapter::open(t)?;
    let conn = warehouse.connect()?;
    let mut trips: Vec<f64> = (0..5)
        .map(|_| {
            let start = std::time::Instant::now();
            conn.query("select 1")
                .map(|_| start.elapsed().as_secs_f64() * 1000.0)
        })
        .collect::<Result<_>>()?;
    trips.sort_by(f64::total_cmp);
    eprintln!(
        "connection: {}, round trip {:.2} ms (median of 5)  [OK connection ok]",
        warehouse.version(),
        trips[2]
    );
    eprintln!("All checks passed!");
    Ok(Outcome::Success)
}
