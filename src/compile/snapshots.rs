//! Compiled-SQL snapshots (`sluice compile --snapshot` / `--check`): each
//! model's compiled SQL as an insta-format file under snapshots/compiled/.

use std::path::Path;

use crate::compile::output::{write_if_changed, Compiled};
use crate::error::{Error, Result};
use crate::manifest::{slash, Node};

/// The insta-format `.snap` file of a compiled model: a YAML header naming
/// the model's file and unique_id, then the SQL.
pub(crate) fn snapshot_text(node: &Node, code: &str) -> String {
    format!(
        "---\nsource: {}\nexpression: compiled SQL of {}\n---\n{}\n",
        slash(&node.original_file_path),
        node.unique_id,
        code.trim_end()
    )
}

/// The `.snap` file name of a model: insta's `<prefix>__<name>.snap`.
pub(crate) fn snapshot_file(node: &Node) -> String {
    format!("compiled__{}__{}.snap", node.package_name, node.name)
}

/// `compile --snapshot`: writes each of `models`' compiled SQL to
/// `dir/compiled__<package>__<model>.snap` (insta's format); returns how
/// many files were written or changed.
///
/// Errors: [`ErrorKind::Io`] when `dir` or a file cannot be written.
pub fn write_snapshots(dir: &Path, models: &[(&Node, &Compiled)]) -> Result<usize> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io("create", dir, e))?;
    let mut written = 0;
    for (node, c) in models {
        let path = dir.join(snapshot_file(node));
        let text = snapshot_text(node, &c.code);
        if std::fs::read_to_string(&path).ok().as_deref() != Some(text.as_str()) {
            write_if_changed(&path, &text).map_err(|e| Error::io("write", &path, e))?;
            written += 1;
        }
    }
    Ok(written)
}

/// `compile --check`: for each of `models` whose compiled SQL differs from
/// its `.snap` file in `dir` (or has none), a unified diff for people.
pub fn check_snapshots(dir: &Path, models: &[(&Node, &Compiled)]) -> Vec<String> {
    let mut out = Vec::new();
    for (node, c) in models {
        let path = dir.join(snapshot_file(node));
        let want = snapshot_text(node, &c.code);
        match std::fs::read_to_string(&path) {
            Ok(have) if have.trim_end() == want.trim_end() => {}
            Ok(have) => {
                let body = |t: &str| t.splitn(3, "---\n").nth(2).unwrap_or(t).to_owned();
                let (old, new) = (body(&have), body(&want));
                let diff = similar::TextDiff::from_lines(&old, &new)
                    .unified_diff()
                    .context_radius(3)
                    .header(
                        &format!("snapshots/compiled/{}", snapshot_file(node)),
                        &format!("compiled {}", slash(&node.original_file_path)),
                    )
                    .to_string();
                out.push(format!(
                    "compiled SQL of `{}` changed:\n{diff}\n",
                    node.name
                ));
            }
            Err(_) => out.push(format!(
                "compiled SQL of `{}` has no snapshot (snapshots/compiled/{})\n",
                node.name,
                snapshot_file(node)
            )),
        }
    }
    out
}
