//! packages.yml (or dependencies.yml), as dbt: the packages a project
//! declares. Each entry becomes a typed [`PackageSpec`] once, here, so the
//! rest of sluice never compares key strings: `package:` (the dbt Hub),
//! `git:`, `tarball:`, `private:` and `local:`. `sluice deps` (see
//! `crate::deps`) installs them; [`loadable_packages`] gives the project
//! loader the folders of the `local:` ones and what `deps` installs.
//!
//! As dbt, string values may hold Jinja (`{{ env_var('GIT_TOKEN') }}`),
//! rendered with `env_var` and the `--vars` of the command line only (dbt's
//! `PackageRenderer`), and each entry is kept as written too: dbt's lock
//! hash covers both forms.
//!
//! The types are in `spec`, the parsing of entries in `entry`; this
//! module finds and reads the packages file.

mod entry;
mod spec;

use std::path::{Path, PathBuf};

use serde_yaml::Value;

use crate::error::{Error, ErrorKind, Result};
use crate::project::jinja::StrRenderer;
use crate::project::packages::entry::{parse_doc, RenderMode};

pub use crate::project::packages::spec::{DeclaredPackage, PackageSpec, PackagesFile};

/// Declared packages of the project at `root`, in file order; empty when
/// it has no packages.yml / dependencies.yml or they list none.
///
/// Read as dbt reads them: dependencies.yml's `packages:` wins, and both
/// files listing `packages:` is an error; Jinja in values is rendered with
/// `render` (the caller's: `env_var`, and `var` over the command line's `--vars`).
///
/// Errors: [`ErrorKind::Yaml`] for malformed YAML, [`ErrorKind::Config`]
/// (located, with a hint) for an entry with no source, two sources, an
/// unknown key, a wrong value type or a missing required key,
/// [`ErrorKind::Jinja`] for a value that fails to render.
pub fn declared_packages(root: &Path, render: StrRenderer) -> Result<Vec<PackageSpec>> {
    Ok(read_packages(root, render)?
        .map(|f| f.packages.into_iter().map(|p| p.spec).collect())
        .unwrap_or_default())
}

/// The packages file of the project at `root` as the project loader reads
/// it: every entry typed, but Jinja that fails outside `local:` values is
/// kept as written rather than an error (only `deps` needs those values;
/// the loader needs the `local:` folders and how many entries `deps`
/// installs). `None` without a packages file.
///
/// Errors: as [`declared_packages`], except Jinja errors outside `local:`.
pub fn loadable_packages(root: &Path, render: StrRenderer) -> Result<Option<PackagesFile>> {
    let Some((path, text)) = packages_file_text(root)? else {
        return Ok(None);
    };
    let packages = parse_entries(&path, &text, render, RenderMode::LocalOnly)?;
    Ok(Some(PackagesFile { path, packages }))
}

/// The packages file of the project (or installed package) at `root`,
/// its strings rendered with `render`; `None` when it
/// has neither packages.yml nor dependencies.yml with `packages:`.
///
/// Errors: as [`declared_packages`].
pub fn read_packages(root: &Path, render: StrRenderer) -> Result<Option<PackagesFile>> {
    let Some((path, text)) = packages_file_text(root)? else {
        return Ok(None);
    };
    let packages = parse_entries(&path, &text, render, RenderMode::Strict)?;
    Ok(Some(PackagesFile { path, packages }))
}

/// Which file holds the packages and its text, as dbt's
/// `package_and_project_data_from_root`.
fn packages_file_text(root: &Path) -> Result<Option<(PathBuf, String)>> {
    let read = |name: &str| -> Result<Option<(PathBuf, String, Value)>> {
        let full = root.join(name);
        match std::fs::read_to_string(&full) {
            Ok(text) => {
                let value: Value = crate::project::yaml::parse(Path::new(name), &text)?;
                Ok(Some((PathBuf::from(name), text, value)))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(Error::io("read", &full, e)),
        }
    };
    let has_packages = |v: &Value| v.get("packages").is_some();
    let packages = read("packages.yml")?;
    let dependencies = read("dependencies.yml")?;
    match (packages, dependencies) {
        (Some(p), Some(d)) if has_packages(&p.2) && has_packages(&d.2) => Err(Error::new(
            ErrorKind::Config,
            "both `packages.yml` and `dependencies.yml` list `packages:`",
        )
        .with_hint("keep the list in one of them (dbt refuses both)")),
        (_, Some(d)) if has_packages(&d.2) => Ok(Some((d.0, d.1))),
        (Some(p), _) => Ok(Some((p.0, p.1))),
        _ => Ok(None),
    }
}

/// Parses the `packages:` entries of `text` (the contents of `path`, a
/// packages file or package-lock.yml), rendering strings with `render`.
///
/// Errors: as [`declared_packages`].
pub fn parse_packages_text(
    path: &Path,
    text: &str,
    render: StrRenderer,
) -> Result<Vec<DeclaredPackage>> {
    parse_entries(path, text, render, RenderMode::Strict)
}

/// Parses the `packages:` list of an already-parsed document `doc` (a
/// dbt Hub version's metadata, whose `packages` mirror its packages.yml);
/// `label` names it in errors, which carry no line.
///
/// Errors: as [`declared_packages`], unlocated.
pub fn parse_packages_value(
    label: &Path,
    doc: &Value,
    render: StrRenderer,
) -> Result<Vec<DeclaredPackage>> {
    parse_doc(label, "", doc, render, RenderMode::Strict)
}

fn parse_entries(
    path: &Path,
    text: &str,
    render: StrRenderer,
    mode: RenderMode,
) -> Result<Vec<DeclaredPackage>> {
    let doc: Value = crate::project::yaml::parse(path, text)?;
    parse_doc(path, text, &doc, render, mode)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The renderer `Project::load` is given (render's), with no vars.
    fn jinja(text: &str) -> Result<String> {
        crate::render::render_config_string(text, &Default::default())
    }

    fn parse(text: &str) -> Result<Vec<DeclaredPackage>> {
        parse_packages_text(Path::new("packages.yml"), text, &jinja)
    }

    #[test]
    fn every_kind_parses_into_its_spec() {
        let text = r#"packages:
  - package: dbt-labs/dbt_utils
    version: [">=1.0.0", "<2.0.0"]
  - package: dbt-labs/codegen
    version: 0.12.1
    install_prerelease: true
  - git: "https://github.com/org/repo.git"
    revision: v1.0
    subdirectory: inner
    warn-unpinned: false
  - tarball: https://example.com/p.tar.gz
    name: p
  - private: org/repo
    provider: gitlab
  - local: ../shared
"#;
        let specs: Vec<PackageSpec> = parse(text).unwrap().into_iter().map(|p| p.spec).collect();
        assert_eq!(
            specs,
            vec![
                PackageSpec::Hub {
                    package: "dbt-labs/dbt_utils".into(),
                    version: vec![">=1.0.0".into(), "<2.0.0".into()],
                    install_prerelease: false
                },
                PackageSpec::Hub {
                    package: "dbt-labs/codegen".into(),
                    version: vec!["0.12.1".into()],
                    install_prerelease: true
                },
                PackageSpec::Git {
                    git: "https://github.com/org/repo.git".into(),
                    revision: Some("v1.0".into()),
                    subdirectory: Some("inner".into()),
                    warn_unpinned: false
                },
                PackageSpec::Tarball {
                    tarball: "https://example.com/p.tar.gz".into(),
                    name: "p".into()
                },
                PackageSpec::Private {
                    private: "org/repo".into(),
                    revision: None,
                    subdirectory: None,
                    provider: Some("gitlab".into())
                },
                PackageSpec::Local {
                    local: "../shared".into()
                },
            ]
        );
    }

    #[test]
    fn unknown_key_is_located_with_a_suggestion() {
        let text = "packages:\n  - git: https://x/y.git\n    warn_unpinned: false\n";
        let err = parse(text).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Config);
        assert!(
            err.message().contains("unknown key `warn_unpinned`"),
            "{}",
            err.render()
        );
        assert_eq!(err.hint(), Some("did you mean `warn-unpinned`?"));
        let loc = err.location().unwrap();
        assert_eq!((loc.line, loc.col), (3, 5), "{}", err.render());
    }

    #[test]
    fn entry_without_source_and_hub_without_version_are_errors() {
        let err = parse("packages:\n  - local: a\n  - revision: v1\n").unwrap_err();
        assert!(
            err.message().contains("names no package source"),
            "{}",
            err.render()
        );
        assert_eq!(err.location().unwrap().line, 3);
        let err = parse("packages:\n  - package: a/b\n").unwrap_err();
        assert!(
            err.message().contains("has no `version`"),
            "{}",
            err.render()
        );
        assert_eq!(err.location().unwrap().line, 2);
        let err = parse("packages:\n  - package: dbt_utils\n    version: 1.0.0\n").unwrap_err();
        assert!(err.message().contains("no namespace"), "{}", err.render());
    }

    #[test]
    fn env_var_is_rendered_and_the_written_form_kept() {
        std::env::set_var("SLUICE_TEST_PACKAGES_TOKEN", "s3cret");
        let text =
            "packages:\n  - git: \"https://{{ env_var('SLUICE_TEST_PACKAGES_TOKEN') }}@h/r.git\"\n";
        let entry = &parse(text).unwrap()[0];
        assert!(
            matches!(&entry.spec, PackageSpec::Git { git, .. } if git == "https://s3cret@h/r.git")
        );
        assert_eq!(
            entry.unrendered.get("git").and_then(Value::as_str),
            Some("https://{{ env_var('SLUICE_TEST_PACKAGES_TOKEN') }}@h/r.git")
        );
    }

    #[test]
    fn loadable_packages_skip_the_jinja_of_remote_entries() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("packages.yml"),
            "packages:\n  - git: \"{{ env_var('SLUICE_TEST_UNSET_VAR_X') }}\"\n  - local: vendor/a\n  - package: a/b\n    version: 1.0.0\n",
        )
        .unwrap();
        assert_eq!(
            loadable_packages(dir.path(), &jinja)
                .unwrap()
                .unwrap()
                .local_dirs(),
            vec![PathBuf::from("vendor/a")]
        );
        assert!(declared_packages(dir.path(), &jinja).is_err());
    }

    #[test]
    fn dependencies_yml_wins_and_both_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("packages.yml"), "packages:\n  - local: a\n").unwrap();
        std::fs::write(dir.path().join("dependencies.yml"), "projects: []\n").unwrap();
        assert_eq!(
            loadable_packages(dir.path(), &jinja)
                .unwrap()
                .unwrap()
                .local_dirs(),
            vec![PathBuf::from("a")]
        );
        std::fs::write(
            dir.path().join("dependencies.yml"),
            "packages:\n  - local: b\n",
        )
        .unwrap();
        assert!(declared_packages(dir.path(), &jinja).is_err());
        std::fs::remove_file(dir.path().join("packages.yml")).unwrap();
        assert_eq!(
            loadable_packages(dir.path(), &jinja)
                .unwrap()
                .unwrap()
                .local_dirs(),
            vec![PathBuf::from("b")]
        );
    }
}
