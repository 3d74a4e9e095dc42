//! A Spark Connect server for the adapter tests, and reading what they built.
//!
//! `.ci/run` starts one with `scripts/spark-server` and exports
//! `SLUICE_SPARK_URL` (`sc://127.0.0.1:<port>`). Under `CI` a missing
//! server fails the tests; locally they print how to start one and return.

use sluice::adapter::spark::SparkConnection;
use sluice::warehouse::connection::Connection;

use super::TempProject;

/// The test server's Spark Connect URL, or `None` (locally) without one.
pub fn server() -> Option<String> {
    match std::env::var("SLUICE_SPARK_URL") {
        Ok(url) if !url.is_empty() => Some(url),
        _ if std::env::var_os("CI").is_some() => {
            panic!("no Spark Connect test server: .ci/run starts one with scripts/spark-server and exports SLUICE_SPARK_URL")
        }
        _ => {
            eprintln!(
                "Spark tests not run: start a server with `eval \"$(scripts/spark-server start)\"` and run them again"
            );
            None
        }
    }
}

/// A temp copy of the project at `rel` (from the repository root) whose
/// profiles.yml targets the server at `url`, building into `schema`.
pub fn copy_on(url: &str, rel: &str, schema: &str) -> TempProject {
    let p = TempProject::copy_of(rel);
    let project: serde_yaml::Value =
        serde_yaml::from_str(&p.read("dbt_project.yml")).expect("dbt_project.yml");
    let profile = project["profile"].as_str().expect("a profile name");
    p.write(
        "profiles.yml",
        &format!(
            "{profile}:\n  target: spark\n  outputs:\n    spark:\n      type: spark\n      method: connect\n      host: {url}\n      schema: {schema}\n      threads: 2\n      connect_timeout: 60\n"
        ),
    );
    p
}

/// A session on the server at `url`, as the adapter opens them.
pub fn connect(url: &str) -> SparkConnection {
    let authority = url.trim_start_matches("sc://");
    let (host, port) = authority.rsplit_once(':').expect("sc://host:port");
    let profile = sluice::project::spark_profile::SparkProfile {
        url: url.to_owned(),
        host: host.to_owned(),
        port: port.parse().expect("a port"),
        connect_timeout: 60,
        server_side_parameters: Default::default(),
        location: None,
    };
    sluice::adapter::spark::connect(&profile).expect("connect to the Spark test server")
}

/// Drops the schemas a test builds into, so it starts from an empty warehouse.
pub fn drop_schemas(conn: &dyn Connection, schemas: &[&str]) {
    for schema in schemas {
        conn.execute(&format!("drop schema if exists \"{schema}\" cascade"))
            .unwrap();
    }
}
