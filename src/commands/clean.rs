//! `clean`, as dbt's.

use std::path::Path;

use crate::cli::GlobalArgs;
use crate::commands::invocation::Outcome;
use crate::commands::session::load_options;
use crate::error::{Error, ErrorKind, Result};

/// `sluice clean`: removes the `clean-targets` (default: target-path),
/// refusing any folder outside the project.
///
/// Errors: [`ErrorKind::Config`] for a target outside the project; I/O errors.
pub fn clean(g: &GlobalArgs) -> Result<Outcome> {
    let opts = load_options(g);
    let root = &opts.project_dir;
    let file = root.join("dbt_project.yml");
    let text = std::fs::read_to_string(&file).map_err(|e| Error::io("read", &file, e))?;
    let config = crate::project::DbtProject::parse(Path::new("dbt_project.yml"), &text)?;
    let targets = config
        .clean_targets
        .clone()
        .unwrap_or_else(|| vec![config.target_path.clone()]);
    let canon_root = std::fs::canonicalize(root).map_err(|e| Error::io("read", root, e))?;
    for t in targets {
        let path = root.join(&t);
        if !path.exists() {
            continue;
        }
        let canon = std::fs::canonicalize(&path).map_err(|e| Error::io("read", &path, e))?;
        if !canon.starts_with(&canon_root) || canon == canon_root {
            return Err(Error::new(
                ErrorKind::Config,
                format!("refusing to clean `{t}`: it is not inside the project directory"),
            )
            .with_hint("list only folders inside the project in `clean-targets`"));
        }
        std::fs::remove_dir_all(&canon).map_err(|e| Error::io("remove", &path, e))?;
        if !g.quiet {
            eprintln!("Cleaned {t}/");
        }
    }
    Ok(Outcome::Success)
}
