//! Compiles DuckDB's ICU extension (vendored under `duckdb/extension/icu`, DuckDB v2.0.0) with the
//! headers of the DuckDB that libduckdb-sys bundles, plus `src/describe.cpp`, which describes it to
//! `duckdb_register_static_extension`. Flags mirror libduckdb-sys's `cc` build (C++17, NDEBUG or
//! DEBUG as cargo's profile says) so both halves agree on every header's layout.

use std::env;
use std::path::{Path, PathBuf};

fn main() {
    let include = PathBuf::from(
        env::var("DEP_DUCKDB_INCLUDE")
            .expect("libduckdb-sys publishes DEP_DUCKDB_INCLUDE (links = \"duckdb\")"),
    );
    // <out>/duckdb/src/include -> <out>/duckdb
    let duckdb_root = include
        .parent()
        .and_then(Path::parent)
        .expect("DuckDB source root");
    let icu = Path::new("duckdb/extension/icu");

    // DuckDB's headers include its vendored libraries (fmt, zstd, ...): the
    // same include directories libduckdb-sys compiles the core with.
    let manifest: serde_json::Value = serde_json::from_reader(
        std::fs::File::open(duckdb_root.join("manifest.json")).expect("DuckDB's manifest.json"),
    )
    .expect("DuckDB's manifest.json parses");
    let mut build = cc::Build::new();
    for dir in manifest["base"]["include_dirs"]
        .as_array()
        .into_iter()
        .flatten()
    {
        build.include(duckdb_root.join(dir.as_str().expect("an include directory")));
    }
    build
        .cpp(true)
        .std("c++17")
        .warnings(false)
        .flag_if_supported("-w")
        .include(&include)
        .include(icu.join("include"))
        .include(icu.join("collation/include"))
        .include(icu.join("datetime/include"))
        .define("EXT_VERSION_ICU", "\"v2.0.0\"");
    let debug = env::var("DEBUG").is_ok_and(|v| v != "false" && v != "0");
    build.define(if debug { "DEBUG" } else { "NDEBUG" }, None);

    let mut files: Vec<PathBuf> = Vec::new();
    for dir in [
        icu.to_path_buf(),
        icu.join("collation"),
        icu.join("collation/generated"),
        icu.join("datetime"),
        icu.join("datetime/generated"),
    ] {
        for entry in std::fs::read_dir(&dir).expect("vendored ICU extension source") {
            let path = entry.expect("directory entry").path();
            if path.extension().is_some_and(|e| e == "cpp") {
                files.push(path);
            }
        }
    }
    files.sort();
    files.push(PathBuf::from("src/describe.cpp"));
    for file in &files {
        println!("cargo:rerun-if-changed={}", file.display());
    }
    build.files(&files).compile("sluice_duckdb_icu");
}
