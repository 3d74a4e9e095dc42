//! Unpacking `.tar.gz` packages (dbt Hub downloads and `tarball:`
//! entries) with `flate2` and `tar`. As dbt, a package tarball holds one
//! top-level folder (`dbt-utils-1.3.0/`), which becomes the package folder.
//! `tar` refuses entries that would land outside the destination (`..`,
//! absolute paths).

use std::fs::File;
use std::path::{Path, PathBuf};

use flate2::read::GzDecoder;

use crate::error::{Error, ErrorKind, Result};

/// Unpacks the gzipped tarball `archive` into the new folder `dest` and
/// returns its single top-level folder. `url` and `what` (the package)
/// are for errors.
///
/// Errors: [`ErrorKind::Io`] for a file that is not a gzipped tarball, a
/// write error, or an archive without exactly one top-level folder.
pub fn unpack(archive: &Path, dest: &Path, url: &str, what: &str) -> Result<PathBuf> {
    let file = File::open(archive).map_err(|e| Error::io("read", archive, e))?;
    std::fs::create_dir_all(dest).map_err(|e| Error::io("create", dest, e))?;
    let mut tar = tar::Archive::new(GzDecoder::new(file));
    tar.set_preserve_permissions(false);
    tar.unpack(dest).map_err(|e| {
        Error::new(
            ErrorKind::Io,
            format!("the download of package `{what}` from `{url}` is not a .tar.gz archive: {e}"),
        )
        .with_hint("check that the URL points at a gzipped tarball of a dbt project; nothing was installed or changed")
    })?;
    let entries: Vec<PathBuf> = std::fs::read_dir(dest)
        .map_err(|e| Error::io("read", dest, e))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    match entries.as_slice() {
        [one] if one.is_dir() => Ok(one.clone()),
        _ => Err(Error::new(
            ErrorKind::Io,
            format!(
                "the tarball of package `{what}` from `{url}` has {} top-level entries; dbt packages hold exactly one folder",
                entries.len()
            ),
        )
        .with_hint("pack the project as `<name>/dbt_project.yml`, `<name>/models/...` (one folder at the top)")),
    }
}
