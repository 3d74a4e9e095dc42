//! Shared helpers for the end-to-end tests: temp copies of example_project,
//! running the real binary, and reading the DuckDB file it wrote.

#![allow(dead_code)]

pub mod compat_states;
pub mod microbatch_states;
pub mod pg;
pub mod snapshot_states;
pub mod spark;

use std::path::{Path, PathBuf};
use std::process::Command;

/// A temp copy of example_project (without target/ or a database file).
pub struct TempProject {
    /// Keeps the directory alive.
    pub dir: tempfile::TempDir,
    /// Project folder name inside `dir`.
    name: String,
}

/// Output of one sluice run.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl TempProject {
    pub fn new() -> TempProject {
        TempProject::copy_of("example_project")
    }

    /// A temp copy of the project at `rel` (relative to the repository root).
    pub fn copy_of(rel: &str) -> TempProject {
        let dir = tempfile::tempdir().expect("tempdir");
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join(rel);
        let name = src.file_name().unwrap().to_string_lossy().into_owned();
        copy_dir(&src, &dir.path().join(&name));
        TempProject { dir, name }
    }

    /// The project directory.
    pub fn root(&self) -> PathBuf {
        self.dir.path().join(&self.name)
    }

    /// The embedded default database file (`<project name>.duckdb`).
    pub fn db_path(&self) -> PathBuf {
        let text = std::fs::read_to_string(self.root().join("dbt_project.yml")).unwrap();
        let doc: serde_yaml::Value = serde_yaml::from_str(&text).unwrap();
        self.root()
            .join(format!("{}.duckdb", doc["name"].as_str().unwrap()))
    }

    /// Writes `text` to `rel` inside the project.
    pub fn write(&self, rel: &str, text: &str) {
        let path = self.root().join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    /// Reads `rel` inside the project.
    pub fn read(&self, rel: &str) -> String {
        std::fs::read_to_string(self.root().join(rel)).unwrap()
    }

    /// Runs the sluice binary with `args` and `--project-dir <root>`, from the temp dir,
    /// with HOME pointed at the temp dir so no user profiles.yml interferes.
    pub fn sluice(&self, args: &[&str]) -> Run {
        self.sluice_env(args, &[])
    }

    /// [`TempProject::sluice`] with extra environment variables.
    pub fn sluice_env(&self, args: &[&str], envs: &[(&str, &str)]) -> Run {
        let out = Command::new(env!("CARGO_BIN_EXE_sluice"))
            .args(args)
            .envs(envs.iter().copied())
            .arg("--project-dir")
            .arg(self.root())
            .current_dir(self.dir.path())
            .env("HOME", self.dir.path())
            .env_remove("DBT_PROFILES_DIR")
            .env_remove("DBT_PROJECT_DIR")
            .env("NO_COLOR", "1")
            .output()
            .expect("run sluice");
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// Rows of a query against the project's DuckDB file, every value as text.
    pub fn query(&self, sql: &str) -> Vec<Vec<Option<String>>> {
        query_db(&self.db_path(), sql)
    }

    /// A single integer from a query.
    pub fn scalar(&self, sql: &str) -> i64 {
        self.query(sql)[0][0]
            .as_ref()
            .expect("not null")
            .parse()
            .expect("integer")
    }

    /// Every row of a relation, cast to text and sorted.
    pub fn table(&self, relation: &str) -> Vec<Vec<Option<String>>> {
        self.query(&format!(
            "select columns(*)::varchar from {relation} order by all"
        ))
    }
}

/// Rows of a query against the DuckDB file at `path`, every value as text,
/// opened as sluice opens it (ICU registered, extension autoload off).
pub fn query_db(path: &Path, sql: &str) -> Vec<Vec<Option<String>>> {
    let conn =
        sluice::adapter::duckdb::open_connection(&path.to_string_lossy(), &Default::default())
            .expect("open db");
    let mut stmt = conn
        .prepare(&format!("select * from ({sql}) q"))
        .expect("prepare");
    let mut rows = stmt.query([]).expect("query");
    let mut out = Vec::new();
    while let Some(row) = rows.next().expect("row") {
        let n = row.as_ref().column_count();
        out.push(
            (0..n)
                .map(|i| sluice::adapter::duckdb::value_to_string(row.get(i).unwrap()))
                .collect(),
        );
    }
    out
}

fn copy_dir(src: &Path, dst: &Path) {
    std::fs::create_dir_all(dst).unwrap();
    for entry in std::fs::read_dir(src).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name();
        let name_s = name.to_string_lossy();
        if name_s == "target"
            || name_s == "logs"
            || name_s.ends_with(".duckdb")
            || name_s.ends_with(".wal")
        {
            continue;
        }
        let from = entry.path();
        let to = dst.join(&name);
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&from, &to);
        } else {
            std::fs::copy(&from, &to).unwrap();
        }
    }
}

/// xorshift64*: a small deterministic generator, so a failing random test
/// replays from the seed it prints (kill points, fuzz mutations, snapshot
/// histories).
pub struct Rng(pub u64);

impl Rng {
    /// The next 64 random bits.
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A number in `0..n` (0 when `n` is 0).
    pub fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }
}

/// Replaces volatile parts of output (timestamps, timings, temp paths) for snapshots.
pub fn scrub(text: &str, project: &TempProject) -> String {
    let root = project.dir.path().to_string_lossy().into_owned();
    let mut out = text.replace(&root, "[TEMP_DIR]");
    let ts = regex::Regex::new(r"(?m)^\d\d:\d\d:\d\d  ").unwrap();
    out = ts.replace_all(&out, "").into_owned();
    let secs = regex::Regex::new(r"\d+\.\d\ds").unwrap();
    secs.replace_all(&out, "[T]s").into_owned()
}

/// The example project's relations, as `(schema suffix, name)`: a suffix is
/// appended to the target schema (`_raw`, `_marts`), `snapshots` is absolute.
pub const EXAMPLE_RELATIONS: &[(&str, &str)] = &[
    ("_raw", "raw_customers"),
    ("_raw", "raw_orders"),
    ("_raw", "raw_payments"),
    ("", "stg_customers"),
    ("", "stg_orders"),
    ("", "stg_payments"),
    ("_marts", "customers"),
    ("_marts", "orders"),
    ("_marts", "monthly_revenue"),
];

/// The snapshot's columns that hold times of the run, not data.
pub const SNAPSHOT_TIMES: &[&str] = &["dbt_scd_id", "dbt_updated_at", "dbt_valid_from"];
