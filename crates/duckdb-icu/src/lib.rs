//! DuckDB's ICU extension (time zones, `at time zone`, `current_date`/`now()` in the session's
//! zone, collations), compiled into the DuckDB that the `duckdb` crate bundles, so no build of
//! sluice ever downloads it at run time. The crate's own `icu` feature needs a DuckDB source
//! checkout and cmake, which crates.io does not ship; see docs/decisions/duckdb-extensions.md.

use std::sync::OnceLock;

extern "C" {
    fn sluice_duckdb_register_icu() -> i32;
}

/// Registers ICU as a statically linked extension for every DuckDB database opened afterwards in
/// this process (DuckDB's `duckdb_register_static_extension`). Idempotent and thread-safe.
///
/// Returns `Err` with a message when DuckDB refuses the registration (a version mismatch between
/// this crate and libduckdb-sys would be one).
pub fn register() -> Result<(), String> {
    static REGISTERED: OnceLock<i32> = OnceLock::new();
    // SAFETY: the C function only reads static data and DuckDB's registry is internally locked.
    let code = *REGISTERED.get_or_init(|| unsafe { sluice_duckdb_register_icu() });
    if code == 0 {
        Ok(())
    } else {
        Err(format!(
            "DuckDB refused to register the built-in ICU extension (code {code})"
        ))
    }
}
