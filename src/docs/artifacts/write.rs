//! Writing artifact files: through a temp file renamed into place, so a
//! reader never sees half an artifact, and entries in parallel chunks, so
//! a large artifact is never held whole.

use std::path::Path;

use serde_json::Value as Json;

use crate::error::{Error, Result};

/// Writes one entry per item, comma-separated, to `out`: entries are built
/// in parallel (rayon), 1,024 at a time, and written in `items`' order, so
/// an artifact of tens of thousands of nodes is never held whole.
///
/// Errors: those of `out`.
pub(super) fn write_chunked<T: Sync>(
    out: &mut dyn std::io::Write,
    items: &[T],
    entry: impl Fn(&T) -> Vec<u8> + Sync,
) -> std::io::Result<()> {
    use rayon::prelude::*;
    for (k, chunk) in items.chunks(1024).enumerate() {
        let entries: Vec<Vec<u8>> = chunk.par_iter().map(&entry).collect();
        for (j, e) in entries.iter().enumerate() {
            if k > 0 || j > 0 {
                out.write_all(b",")?;
            }
            out.write_all(e)?;
        }
    }
    Ok(())
}

/// Writes `doc` as JSON to `dir/name`, through a temp file renamed
/// into place, so a reader never sees half an artifact.
///
/// Errors: [`crate::ErrorKind::Io`].
pub fn write_json(dir: &Path, name: &str, doc: &Json) -> Result<()> {
    // Compact, as dbt writes its artifacts; streamed, not built as one string.
    write_with(dir, name, &mut |out| {
        serde_json::to_writer(out, doc).map_err(std::io::Error::from)
    })
}

/// Writes `text` to `dir/name` through a temp file renamed into place.
///
/// Errors: [`crate::ErrorKind::Io`].
pub fn write_text(dir: &Path, name: &str, text: &str) -> Result<()> {
    write_with(dir, name, &mut |out| out.write_all(text.as_bytes()))
}

/// Writes `dir/name` with `write` (given a buffered writer), through a temp
/// file renamed into place, so a reader never sees half an artifact.
///
/// Errors: [`crate::ErrorKind::Io`].
pub fn write_with(
    dir: &Path,
    name: &str,
    write: &mut dyn FnMut(&mut dyn std::io::Write) -> std::io::Result<()>,
) -> Result<()> {
    use std::io::Write;
    std::fs::create_dir_all(dir).map_err(|e| Error::io("create", dir, e))?;
    let path = dir.join(name);
    let mut tmp = tempfile::NamedTempFile::new_in(dir)
        .map_err(|e| Error::io("create a temp file in", dir, e))?;
    {
        let mut out = std::io::BufWriter::with_capacity(1 << 20, tmp.as_file_mut());
        write(&mut out)
            .and_then(|()| out.flush())
            .map_err(|e| Error::io("write", &path, e))?;
    }
    #[cfg(unix)]
    {
        // NamedTempFile is created 0600; artifacts are ordinary files.
        use std::os::unix::fs::PermissionsExt;
        let _ = tmp
            .as_file()
            .set_permissions(std::fs::Permissions::from_mode(0o644));
    }
    tmp.persist(&path)
        .map_err(|e| Error::io("write", &path, e.error))?;
    Ok(())
}
