//! package-lock.yml, byte-for-byte as dbt >= 1.7 writes it.
//!
//! The file lists every package installed (the declared ones and their
//! dependencies) pinned: hub packages to a `version`, git packages to the
//! commit sha as `revision`; each entry carries the installed folder's
//! `name`. Its `sha1_hash` is dbt's `_create_sha1_hash` of the declared
//! packages: each entry as dbt's `PackageSpec.to_dict()` (every field of
//! its kind, `null` when unset, plus `unrendered`, the entry as written),
//! dumped with Python's `json.dumps(sort_keys=True)`, the lines sorted,
//! joined with `\n` and SHA-1 hashed. `sluice deps` reuses the lock only
//! while that hash matches packages.yml, exactly as dbt does, so a lock
//! written by either tool is honoured by the other.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::{Map, Value as Json};
use serde_yaml::{Mapping, Value};
use sha1::{Digest, Sha1};

use crate::deps::pyyaml;
use crate::error::{Error, Result};
use crate::project::packages::{parse_packages_text, DeclaredPackage, PackageSpec};

/// The lock file's name, in the project root.
pub const LOCK_FILE: &str = "package-lock.yml";

/// dbt's `_create_sha1_hash` of the declared `packages`.
pub fn sha1_hash(packages: &[DeclaredPackage]) -> String {
    let mut lines: Vec<String> = packages
        .iter()
        .map(|p| pyyaml::json_dumps(&contract_json(p)))
        .collect();
    lines.sort();
    let digest = Sha1::digest(lines.join("\n").as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// dbt's `to_dict()` of one entry's contract: its kind's fields (rendered,
/// `null` when unset; hub `install_prerelease` defaults to `false`), the
/// entry as written under `unrendered`, and `name` only when set.
fn contract_json(p: &DeclaredPackage) -> Json {
    let fields: &[&str] = match p.spec {
        PackageSpec::Hub { .. } => &["package", "version"],
        PackageSpec::Git { .. } => &["git", "revision", "warn-unpinned", "subdirectory"],
        PackageSpec::Tarball { .. } => &["tarball", "name"],
        PackageSpec::Private { .. } => &[
            "private",
            "provider",
            "revision",
            "warn-unpinned",
            "subdirectory",
        ],
        PackageSpec::Local { .. } => &["local"],
    };
    let mut out = Map::new();
    for f in fields {
        let v = p.rendered.get(*f).map_or(Json::Null, yaml_to_json);
        out.insert((*f).to_owned(), v);
    }
    if let PackageSpec::Hub {
        install_prerelease, ..
    } = p.spec
    {
        out.insert("install_prerelease".into(), Json::Bool(install_prerelease));
    }
    if !matches!(p.spec, PackageSpec::Tarball { .. }) {
        if let Some(name) = &p.name {
            out.insert("name".into(), Json::String(name.clone()));
        }
    }
    out.insert(
        "unrendered".into(),
        yaml_to_json(&Value::Mapping(p.unrendered.clone())),
    );
    Json::Object(out)
}

/// A YAML value as the JSON Python's `yaml.safe_load` would have made of it.
fn yaml_to_json(v: &Value) -> Json {
    match v {
        Value::Null => Json::Null,
        Value::Bool(b) => Json::Bool(*b),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                Json::from(i)
            } else if let Some(u) = n.as_u64() {
                Json::from(u)
            } else {
                n.as_f64()
                    .and_then(serde_json::Number::from_f64)
                    .map_or(Json::Null, Json::Number)
            }
        }
        Value::String(s) => Json::String(s.clone()),
        Value::Sequence(items) => Json::Array(items.iter().map(yaml_to_json).collect()),
        Value::Mapping(m) => Json::Object(
            m.iter()
                .map(|(k, v)| {
                    let key = match k {
                        Value::String(s) => s.clone(),
                        other => serde_yaml::to_string(other)
                            .unwrap_or_default()
                            .trim()
                            .to_owned(),
                    };
                    (key, yaml_to_json(v))
                })
                .collect(),
        ),
        Value::Tagged(t) => yaml_to_json(&t.value),
    }
}

/// One pinned package as a lock entry: the fields dbt's pinned package
/// `to_dict()` gives, then `name`, the installed folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LockEntry {
    /// `package` + exact `version`.
    Hub {
        /// `org/name`.
        package: String,
        /// The exact version installed.
        version: String,
        /// The installed folder (the version's project name).
        name: String,
    },
    /// `git` (as written) + commit sha `revision` (+ `subdirectory`).
    Git {
        /// The URL as written in packages.yml (Jinja not rendered).
        git: String,
        /// The commit sha.
        revision: String,
        /// Folder of the project inside the repository.
        subdirectory: Option<String>,
        /// The installed folder.
        name: String,
    },
    /// `private` + commit sha `revision` (+ `subdirectory`, `provider`).
    Private {
        /// `org/repo` as written.
        private: String,
        /// The commit sha.
        revision: String,
        /// Folder of the project inside the repository.
        subdirectory: Option<String>,
        /// The provider, when packages.yml gives one.
        provider: Option<String>,
        /// The installed folder.
        name: String,
    },
    /// `tarball` (as written) + `name`.
    Tarball {
        /// The URL as written.
        tarball: String,
        /// The installed folder.
        name: String,
    },
    /// `local` + `name`.
    Local {
        /// The folder as written.
        local: String,
        /// The installed folder.
        name: String,
    },
}

impl LockEntry {
    fn to_mapping(&self) -> Mapping {
        let mut m = Mapping::new();
        let mut put = |k: &str, v: &str| {
            m.insert(Value::from(k), Value::from(v));
        };
        match self {
            LockEntry::Hub {
                package,
                version,
                name,
            } => {
                put("package", package);
                put("version", version);
                put("name", name);
            }
            LockEntry::Git {
                git,
                revision,
                subdirectory,
                name,
            } => {
                put("git", git);
                put("revision", revision);
                if let Some(s) = subdirectory {
                    put("subdirectory", s);
                }
                put("name", name);
            }
            LockEntry::Private {
                private,
                revision,
                subdirectory,
                provider,
                name,
            } => {
                put("private", private);
                put("revision", revision);
                if let Some(s) = subdirectory {
                    put("subdirectory", s);
                }
                if let Some(p) = provider {
                    put("provider", p);
                }
                put("name", name);
            }
            LockEntry::Tarball { tarball, name } => {
                put("tarball", tarball);
                put("name", name);
            }
            LockEntry::Local { local, name } => {
                put("local", local);
                put("name", name);
            }
        }
        m
    }
}

/// The text of package-lock.yml for `entries` (in install order) and the
/// declared packages' `hash`, as dbt's `yaml.dump` writes it.
pub fn render(entries: &[LockEntry], hash: &str) -> String {
    let mut doc = Mapping::new();
    doc.insert(
        Value::from("packages"),
        Value::Sequence(
            entries
                .iter()
                .map(|e| Value::Mapping(e.to_mapping()))
                .collect(),
        ),
    );
    doc.insert(Value::from("sha1_hash"), Value::from(hash));
    pyyaml::dump(&Value::Mapping(doc))
}

/// A package-lock.yml, read.
#[derive(Debug, Clone)]
pub struct Lock {
    /// `sha1_hash`, when present.
    pub sha1_hash: Option<String>,
    /// Its entries, rendered with the command line's vars.
    pub packages: Vec<DeclaredPackage>,
}

/// Reads `<root>/package-lock.yml`; `None` when there is none.
///
/// Errors: [`crate::ErrorKind::Yaml`]/[`crate::ErrorKind::Config`]
/// (located) for a malformed file, I/O errors.
pub fn read(root: &Path, vars: &BTreeMap<String, Json>) -> Result<Option<Lock>> {
    let path = root.join(LOCK_FILE);
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::io("read", &path, e)),
    };
    let rel = Path::new(LOCK_FILE);
    let doc: Value = crate::project::yaml::parse(rel, &text)?;
    let sha1_hash = doc
        .get("sha1_hash")
        .and_then(Value::as_str)
        .map(str::to_owned);
    let packages = parse_packages_text(rel, &text, &|s: &str| {
        crate::render::render_config_string(s, vars)
    })
    .map_err(|e| {
        e.with_note("delete package-lock.yml or run `sluice deps --upgrade` to write it anew")
    })?;
    Ok(Some(Lock {
        sha1_hash,
        packages,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn declared(text: &str) -> Vec<DeclaredPackage> {
        parse_packages_text(Path::new("packages.yml"), text, &|s: &str| {
            crate::render::render_config_string(s, &BTreeMap::new())
        })
        .unwrap()
    }

    /// The hashes dbt-core's own functional tests pin for these packages
    /// (tests/functional/dependencies: test_dependency_options.py,
    /// test_simple_dependency.py, test_private_package.py).
    #[test]
    fn sha1_hash_matches_dbt_core_fixtures() {
        let hub = declared("packages:\n  - package: fivetran/fivetran_utils\n    version: 0.4.7\n");
        assert_eq!(sha1_hash(&hub), "71304bca2138cf8004070b3573a1e17183c0c1a8");
        let git = declared(
            "packages:
  - git: https://github.com/dbt-labs/dbt-multipe-packages.git
    subdirectory: dbt-utils-main
    revision: v0.1.0
  - git: https://github.com/dbt-labs/dbt-multipe-packages.git
    subdirectory: dbt-date-main
    revision: v0.1.0
",
        );
        assert_eq!(sha1_hash(&git), "b9c8042f29446c55a33f9f211737f445a640c7a1");
        let private = declared(
            "packages:
  - private: dbt-labs/dbt-integration-project
    revision: dbt/1.0.0
  - private: dbt-labs/dbt-integration-project
    revision: dbt/1.0.0
",
        );
        assert_eq!(
            sha1_hash(&private),
            "bdd5bb1fe19294d5f5c14d347064da22bfa34657"
        );
    }

    /// package-lock.yml as dbt-core 1.12.0 wrote it (`dbt deps`, run on
    /// this packages.yml against a local Hub serving the fixture packages
    /// of tests/projects/deps), and the sha1_hash it computed.
    #[test]
    fn lock_text_and_hash_match_dbt_1_12() {
        let packages = declared(
            r#"packages:
  - package: sluice-test/utils
    version: 1.0.0
  - package: sluice-test/base
    version: [">=1.0.0", "<3.0.0"]
  - git: "file:///tmp/dbtexp/gitrepo"
    revision: v1.0.0
  - git: "file:///tmp/dbtexp/gitsub"
    subdirectory: inner
  - tarball: http://127.0.0.1:8765/tarballs/plain.tar.gz
    name: tarball_pkg
  - local: local_pkg
"#,
        );
        let hash = sha1_hash(&packages);
        assert_eq!(hash, "8b1b09cd5acf07123f5252552c93bef39a66ea07");
        let entries = vec![
            LockEntry::Hub {
                package: "sluice-test/utils".into(),
                version: "1.0.0".into(),
                name: "test_utils".into(),
            },
            LockEntry::Hub {
                package: "sluice-test/base".into(),
                version: "1.1.0".into(),
                name: "test_base".into(),
            },
            LockEntry::Git {
                git: "file:///tmp/dbtexp/gitrepo".into(),
                revision: "7c4827e6adbebeef06ea98929257ad0d2c84986d".into(),
                subdirectory: None,
                name: "git_pkg".into(),
            },
            LockEntry::Git {
                git: "file:///tmp/dbtexp/gitsub".into(),
                revision: "52c88b4169d040f9253689fe93cfc3ffe920a086".into(),
                subdirectory: Some("inner".into()),
                name: "git_inner".into(),
            },
            LockEntry::Tarball {
                tarball: "http://127.0.0.1:8765/tarballs/plain.tar.gz".into(),
                name: "tarball_pkg".into(),
            },
            LockEntry::Local {
                local: "local_pkg".into(),
                name: "local_pkg".into(),
            },
        ];
        let dbt_wrote = "packages:
  - name: test_utils
    package: sluice-test/utils
    version: 1.0.0
  - name: test_base
    package: sluice-test/base
    version: 1.1.0
  - git: file:///tmp/dbtexp/gitrepo
    name: git_pkg
    revision: 7c4827e6adbebeef06ea98929257ad0d2c84986d
  - git: file:///tmp/dbtexp/gitsub
    name: git_inner
    revision: 52c88b4169d040f9253689fe93cfc3ffe920a086
    subdirectory: inner
  - name: tarball_pkg
    tarball: http://127.0.0.1:8765/tarballs/plain.tar.gz
  - local: local_pkg
    name: local_pkg
sha1_hash: 8b1b09cd5acf07123f5252552c93bef39a66ea07
";
        assert_eq!(render(&entries, &hash), dbt_wrote);
        // And dbt-core's own expected lock for two git subdirectories.
        let two = vec![
            LockEntry::Git {
                git: "https://github.com/dbt-labs/dbt-multipe-packages.git".into(),
                revision: "53782f3ede8fdf307ee1d8e418aa65733a4b72fa".into(),
                subdirectory: Some("dbt-utils-main".into()),
                name: "dbt_utils".into(),
            },
            LockEntry::Git {
                git: "https://github.com/dbt-labs/dbt-multipe-packages.git".into(),
                revision: "53782f3ede8fdf307ee1d8e418aa65733a4b72fa".into(),
                subdirectory: Some("dbt-date-main".into()),
                name: "dbt_date".into(),
            },
        ];
        assert_eq!(
            render(&two, "b9c8042f29446c55a33f9f211737f445a640c7a1"),
            "packages:
  - git: https://github.com/dbt-labs/dbt-multipe-packages.git
    name: dbt_utils
    revision: 53782f3ede8fdf307ee1d8e418aa65733a4b72fa
    subdirectory: dbt-utils-main
  - git: https://github.com/dbt-labs/dbt-multipe-packages.git
    name: dbt_date
    revision: 53782f3ede8fdf307ee1d8e418aa65733a4b72fa
    subdirectory: dbt-date-main
sha1_hash: b9c8042f29446c55a33f9f211737f445a640c7a1
"
        );
    }

    #[test]
    fn a_lock_reads_back() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join(LOCK_FILE),
            "packages:\n  - name: test_base\n    package: sluice-test/base\n    version: 1.1.0\nsha1_hash: abc\n",
        )
        .unwrap();
        let lock = read(dir.path(), &BTreeMap::new()).unwrap().unwrap();
        assert_eq!(lock.sha1_hash.as_deref(), Some("abc"));
        assert_eq!(lock.packages[0].name.as_deref(), Some("test_base"));
        assert!(read(&dir.path().join("none"), &BTreeMap::new())
            .unwrap()
            .is_none());
    }
}
