//! [`Warehouse`]: an open target of one adapter, which makes the
//! connections a run's threads use and reads its catalog once.

use std::sync::Arc;

use crate::error::Result;
use crate::warehouse::catalog::Catalog;
use crate::warehouse::connection::Connection;

/// An open warehouse of one adapter: it makes one [`Connection`] per worker
/// thread and reads its catalog. DuckDB (a file) and PostgreSQL (a server)
/// implement it in [`crate::adapter`], whose `open` picks one from the
/// target's `type`.
pub trait Warehouse {
    /// The adapter's name, as profiles.yml's `type` and dbt's `adapter.type()`:
    /// `duckdb`, `postgres`.
    fn adapter_type(&self) -> &'static str;

    /// The engine's name and version for `sluice debug` (`DuckDB v1.2.0`,
    /// `PostgreSQL 15.8`).
    fn version(&self) -> String;

    /// A new connection, for one thread.
    ///
    /// Errors: [`crate::ErrorKind::Database`], or a located profile error
    /// when a server cannot be reached.
    fn connect(&self) -> Result<Box<dyn Connection>>;

    /// A connection that answers [`Connection::relation_type`] from
    /// `catalog` instead of the warehouse: for a run, where only sluice
    /// changes what exists.
    ///
    /// Errors: as [`Warehouse::connect`].
    fn connect_cached(&self, catalog: Arc<Catalog>) -> Result<Box<dyn Connection>>;

    /// Every relation the warehouse holds, read once.
    ///
    /// Errors: [`crate::ErrorKind::Database`].
    fn catalog(&self) -> Result<Arc<Catalog>> {
        Catalog::read(self.connect()?.as_ref())
    }
}
