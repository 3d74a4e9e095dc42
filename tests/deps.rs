//! End-to-end tests of `sluice deps`: the real binary against a dbt-Hub-
//! style server started in the test (tiny_http, serving an index, package
//! JSON and `.tar.gz` tarballs built here from tests/projects/deps/), local
//! git repositories reached by `file://` URLs, and local folders.

mod common;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};

use common::{Run, TempProject};
use flate2::write::GzEncoder;

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/projects/deps");

/// An HTTP server on 127.0.0.1 answering from a path -> body map (404
/// otherwise), stopped when dropped.
struct Server {
    server: Arc<tiny_http::Server>,
    files: Arc<Mutex<HashMap<String, Vec<u8>>>>,
    thread: Option<std::thread::JoinHandle<()>>,
    base: String,
}

impl Server {
    fn start() -> Server {
        let server = Arc::new(tiny_http::Server::http("127.0.0.1:0").expect("bind"));
        let port = server.server_addr().to_ip().expect("ip").port();
        let files: Arc<Mutex<HashMap<String, Vec<u8>>>> = Arc::default();
        let (s, f) = (server.clone(), files.clone());
        let thread = std::thread::spawn(move || {
            for rq in s.incoming_requests() {
                let body = f.lock().unwrap().get(rq.url()).cloned();
                let _ = match body {
                    Some(b) => rq.respond(tiny_http::Response::from_data(b)),
                    None => rq.respond(
                        tiny_http::Response::from_string("not found").with_status_code(404),
                    ),
                };
            }
        });
        Server {
            server,
            files,
            thread: Some(thread),
            base: format!("http://127.0.0.1:{port}/"),
        }
    }

    fn put(&self, path: &str, body: Vec<u8>) {
        self.files.lock().unwrap().insert(path.to_owned(), body);
    }

    fn remove(&self, path: &str) {
        self.files.lock().unwrap().remove(path);
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.server.unblock();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// A `.tar.gz` of the fixture folder `fixture` under the top folder `top`,
/// its dbt_project.yml's `version:` set to `version`.
fn tarball(fixture: &str, top: &str, version: &str) -> Vec<u8> {
    let mut builder = tar::Builder::new(GzEncoder::new(Vec::new(), flate2::Compression::default()));
    let root = Path::new(FIXTURES).join(fixture);
    for entry in walkdir::WalkDir::new(&root).sort_by_file_name() {
        let entry = entry.unwrap();
        if !entry.file_type().is_file() {
            continue;
        }
        let rel = entry.path().strip_prefix(&root).unwrap();
        let mut data = std::fs::read(entry.path()).unwrap();
        if rel == Path::new("dbt_project.yml") {
            data = String::from_utf8(data)
                .unwrap()
                .replace("version: '0.0.0'", &format!("version: '{version}'"))
                .into_bytes();
        }
        let mut header = tar::Header::new_gnu();
        header.set_size(data.len() as u64);
        header.set_mode(0o644);
        header.set_cksum();
        builder
            .append_data(&mut header, Path::new(top).join(rel), data.as_slice())
            .unwrap();
    }
    builder.into_inner().unwrap().finish().unwrap()
}

/// A test dbt Hub: `sluice-test/base` (project `test_base`) and
/// `sluice-test/utils` (project `test_utils`, needing base `>=1.0.0,<2.0.0`).
struct Hub {
    server: Server,
    /// name -> version -> (project, its packages)
    published: BTreeMap<String, BTreeMap<String, serde_json::Value>>,
}

impl Hub {
    fn start() -> Hub {
        let mut hub = Hub {
            server: Server::start(),
            published: BTreeMap::new(),
        };
        for v in ["1.0.0", "1.1.0", "2.0.0", "1.2.0-rc1"] {
            hub.publish("base", v);
        }
        // Newer, but for a dbt sluice does not follow: never picked.
        hub.publish_with("base", "3.0.0", serde_json::json!([">=9.0.0"]));
        hub.publish("utils", "1.0.0");
        hub
    }

    fn url(&self) -> &str {
        &self.server.base
    }

    fn publish(&mut self, name: &str, version: &str) {
        self.publish_with(name, version, serde_json::Value::Null);
    }

    fn publish_with(&mut self, name: &str, version: &str, require_dbt: serde_json::Value) {
        let (fixture, project, deps) = match name {
            "base" => ("hub_base", "test_base", serde_json::json!([])),
            _ => (
                "hub_utils",
                "test_utils",
                serde_json::json!([{"package": "sluice-test/base", "version": [">=1.0.0", "<2.0.0"]}]),
            ),
        };
        let path = format!("/tarballs/{name}-{version}.tar.gz");
        self.server.put(
            &path,
            tarball(fixture, &format!("{name}-{version}"), version),
        );
        let mut meta = serde_json::json!({
            "id": format!("sluice-test/{name}/{version}"),
            "name": project,
            "version": version,
            "packages": deps,
            "works_with": [],
            "downloads": {"tarball": format!("{}{}", self.server.base, &path[1..]), "format": "tgz"},
        });
        if !require_dbt.is_null() {
            meta["require_dbt_version"] = require_dbt;
        }
        self.published
            .entry(name.to_owned())
            .or_default()
            .insert(version.to_owned(), meta);
        let versions: serde_json::Map<String, serde_json::Value> = self.published[name]
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let doc =
            serde_json::json!({"name": name, "namespace": "sluice-test", "versions": versions});
        self.server.put(
            &format!("/api/v1/sluice-test/{name}.json"),
            serde_json::to_vec(&doc).unwrap(),
        );
        let index: Vec<String> = self
            .published
            .keys()
            .map(|n| format!("sluice-test/{n}"))
            .collect();
        self.server
            .put("/api/v1/index.json", serde_json::to_vec(&index).unwrap());
    }
}

fn project() -> TempProject {
    TempProject::copy_of("tests/projects/deps/root")
}

fn deps(p: &TempProject, hub: &str, args: &[&str]) -> Run {
    let mut all = vec!["deps"];
    all.extend_from_slice(args);
    p.sluice_env(&all, &[("DBT_PACKAGE_HUB_URL", hub)])
}

/// Every path under `dir` with its file's text (a symlink as its target),
/// to compare an install path before and after.
fn tree(dir: &Path) -> Vec<(String, String)> {
    if !dir.exists() {
        return Vec::new();
    }
    let mut out = Vec::new();
    for entry in walkdir::WalkDir::new(dir).sort_by_file_name() {
        let entry = entry.unwrap();
        let rel = entry
            .path()
            .strip_prefix(dir)
            .unwrap()
            .to_string_lossy()
            .into_owned();
        let what = if entry.path_is_symlink() {
            format!("-> {}", std::fs::read_link(entry.path()).unwrap().display())
        } else if entry.file_type().is_file() {
            String::from_utf8_lossy(&std::fs::read(entry.path()).unwrap()).into_owned()
        } else {
            "dir".into()
        };
        out.push((rel, what));
    }
    out
}

fn installed_version(p: &TempProject, name: &str) -> String {
    let text = p.read(&format!("dbt_packages/{name}/dbt_project.yml"));
    text.lines()
        .find_map(|l| l.strip_prefix("version: '"))
        .map(|v| v.trim_end_matches('\'').to_owned())
        .unwrap_or_default()
}

fn assert_ok(run: &Run) {
    assert_eq!(
        run.code, 0,
        "stdout:\n{}\nstderr:\n{}",
        run.stdout, run.stderr
    );
}

fn lock_of(p: &TempProject) -> String {
    p.read("package-lock.yml")
}

#[test]
fn hub_packages_resolve_transitively_and_the_lock_pins_them() {
    let mut hub = Hub::start();
    let p = project();
    p.write(
        "packages.yml",
        "packages:\n  - package: sluice-test/utils\n    version: [\">=1.0.0\", \"<2.0.0\"]\n",
    );
    let run = deps(&p, hub.url(), &[]);
    assert_ok(&run);
    // utils from the range, base through utils' own packages.yml: the
    // highest release below 2.0.0 (not the 1.2.0-rc1 pre-release).
    assert_eq!(installed_version(&p, "test_utils"), "1.0.0");
    assert_eq!(installed_version(&p, "test_base"), "1.1.0");
    assert!(p
        .root()
        .join("dbt_packages/test_utils/macros/shout.sql")
        .is_file());
    for line in [
        "Installing sluice-test/utils",
        "Installed from version 1.0.0",
        "Up to date!",
        "Installing sluice-test/base",
        "Installed from version 1.1.0",
        // 3.0.0 requires a dbt sluice does not follow: not offered.
        "Updated version available: 2.0.0",
        "Updates available for packages: ['sluice-test/base']",
    ] {
        assert!(
            run.stderr.contains(line),
            "missing `{line}`:\n{}",
            run.stderr
        );
    }
    let lock = lock_of(&p);
    let expected = "packages:
  - name: test_utils
    package: sluice-test/utils
    version: 1.0.0
  - name: test_base
    package: sluice-test/base
    version: 1.1.0
sha1_hash: ";
    assert!(lock.starts_with(expected), "{lock}");
    assert!(!p.root().join("dbt_packages").read_dir().unwrap().any(|e| e
        .unwrap()
        .file_name()
        .to_string_lossy()
        .starts_with(".sluice-tmp")));

    // A newer base in range is published: the lock still pins 1.1.0.
    hub.publish("base", "1.1.5");
    let run = deps(&p, hub.url(), &[]);
    assert_ok(&run);
    assert_eq!(installed_version(&p, "test_base"), "1.1.0");
    assert!(
        run.stderr.contains("Installed from version 1.1.0"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("Updating lock file"), "{}", run.stderr);
    assert_eq!(lock_of(&p), lock);

    // --upgrade resolves afresh and moves up within the range.
    let run = deps(&p, hub.url(), &["--upgrade"]);
    assert_ok(&run);
    assert_eq!(installed_version(&p, "test_base"), "1.1.5");
    assert!(lock_of(&p).contains("version: 1.1.5"), "{}", lock_of(&p));
    assert!(
        run.stderr.contains("Updating lock file in file path:"),
        "{}",
        run.stderr
    );

    // Changing packages.yml changes the hash: the lock is rewritten.
    p.write(
        "packages.yml",
        "packages:\n  - package: sluice-test/utils\n    version: 1.0.0\n  - package: sluice-test/base\n    version: \"<1.1.0\"\n",
    );
    let run = deps(&p, hub.url(), &[]);
    assert_ok(&run);
    assert_eq!(installed_version(&p, "test_base"), "1.0.0");

    // --lock writes the lock and installs nothing.
    std::fs::remove_dir_all(p.root().join("dbt_packages")).unwrap();
    std::fs::remove_file(p.root().join("package-lock.yml")).unwrap();
    let run = deps(&p, hub.url(), &["--lock"]);
    assert_ok(&run);
    assert!(lock_of(&p).contains("version: 1.0.0"));
    assert!(!p.root().join("dbt_packages").exists());
}

#[test]
fn conflicting_ranges_name_both_requirers_and_change_nothing() {
    let hub = Hub::start();
    let p = project();
    p.write(
        "packages.yml",
        "packages:\n  - package: sluice-test/base\n    version: \">=2.0.0\"\n  - package: sluice-test/utils\n    version: 1.0.0\n",
    );
    let run = deps(&p, hub.url(), &[]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("no version of package `sluice-test/base` satisfies both requirements: `deps_root` (packages.yml) requires `>=2.0.0` but `sluice-test/utils@1.0.0` requires `>=1.0.0, <2.0.0`"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("hint:"), "{}", run.stderr);
    assert!(run.stderr.contains("packages.yml:2:"), "{}", run.stderr);
    assert!(!p.root().join("dbt_packages").exists());
    assert!(!p.root().join("package-lock.yml").exists());
}

fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_AUTHOR_NAME", "t")
        .env("GIT_AUTHOR_EMAIL", "t@example.com")
        .env("GIT_COMMITTER_NAME", "t")
        .env("GIT_COMMITTER_EMAIL", "t@example.com")
        .env("GIT_AUTHOR_DATE", "2024-01-01T00:00:00Z")
        .env("GIT_COMMITTER_DATE", "2024-01-01T00:00:00Z")
        .output()
        .expect("git");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// A git repository with the fixture `fixture`, committed on `main`.
fn repo(parent: &Path, fixture: &str) -> PathBuf {
    let dir = parent.join(format!("{fixture}.git-src"));
    copy(&Path::new(FIXTURES).join(fixture), &dir);
    git(&dir, &["init", "-q", "-b", "main"]);
    git(&dir, &["add", "."]);
    git(&dir, &["commit", "-q", "-m", "first"]);
    dir
}

fn copy(from: &Path, to: &Path) {
    for entry in walkdir::WalkDir::new(from) {
        let entry = entry.unwrap();
        let dest = to.join(entry.path().strip_prefix(from).unwrap());
        if entry.file_type().is_dir() {
            std::fs::create_dir_all(&dest).unwrap();
        } else {
            std::fs::copy(entry.path(), &dest).unwrap();
        }
    }
}

fn file_url(path: &Path) -> String {
    format!("file://{}", path.display())
}

#[test]
fn git_packages_install_at_a_tag_a_branch_a_commit_and_from_a_subdirectory() {
    let hub = Hub::start();
    let p = project();
    let repos = tempfile::tempdir().unwrap();
    let a = repo(repos.path(), "git_pkg");
    git(&a, &["tag", "v1.0.0"]);
    let first = git(&a, &["rev-parse", "HEAD"]);
    std::fs::write(
        a.join("macros/git_macro.sql"),
        "{% macro git_macro() %}'second'{% endmacro %}\n",
    )
    .unwrap();
    git(&a, &["commit", "-q", "-am", "second"]);
    let second = git(&a, &["rev-parse", "HEAD"]);
    let b = repo(repos.path(), "git_sub");
    let url = file_url(&a);
    let macro_text = |p: &TempProject| p.read("dbt_packages/git_pkg/macros/git_macro.sql");

    // A tag: the first commit, pinned by sha in the lock.
    p.write(
        "packages.yml",
        &format!("packages:\n  - git: \"{url}\"\n    revision: v1.0.0\n"),
    );
    let run = deps(&p, hub.url(), &[]);
    assert_ok(&run);
    assert!(macro_text(&p).contains("from git"), "{}", macro_text(&p));
    assert_eq!(
        lock_of(&p).lines().take(4).collect::<Vec<_>>(),
        vec![
            "packages:".to_owned(),
            format!("  - git: {url}"),
            "    name: git_pkg".to_owned(),
            format!("    revision: {first}"),
        ]
    );
    assert!(
        run.stderr
            .contains(&format!("Installed from revision {first}")),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("WARNING"), "{}", run.stderr);

    // A branch: its head, with dbt's unpinned warning.
    p.write(
        "packages.yml",
        &format!("packages:\n  - git: \"{url}\"\n    revision: main\n"),
    );
    let run = deps(&p, hub.url(), &[]);
    assert_ok(&run);
    assert!(macro_text(&p).contains("second"), "{}", macro_text(&p));
    assert!(lock_of(&p).contains(&format!("revision: {second}")));
    assert!(
        run.stderr.contains("is pinned to the `main` branch"),
        "{}",
        run.stderr
    );

    // A commit sha.
    p.write(
        "packages.yml",
        &format!("packages:\n  - git: \"{url}\"\n    revision: {first}\n"),
    );
    let run = deps(&p, hub.url(), &[]);
    assert_ok(&run);
    assert!(macro_text(&p).contains("from git"), "{}", macro_text(&p));

    // No revision (HEAD, warned unless `warn-unpinned: false`) and a subdirectory.
    p.write(
        "packages.yml",
        &format!(
            "packages:\n  - git: \"{}\"\n    subdirectory: inner\n  - git: \"{url}\"\n    warn-unpinned: false\n",
            file_url(&b)
        ),
    );
    let run = deps(&p, hub.url(), &[]);
    assert_ok(&run);
    let inner = p.root().join("dbt_packages/git_inner");
    assert!(inner.join("macros/inner_macro.sql").is_file());
    assert!(
        !inner.join("README.md").exists(),
        "only the subdirectory is installed"
    );
    assert!(macro_text(&p).contains("second"));
    assert!(
        run.stderr.contains("and subdirectory inner"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("is not pinned, using HEAD (default branch)"),
        "{}",
        run.stderr
    );
    assert_eq!(run.stderr.matches("[WARNING]").count(), 1, "{}", run.stderr);
    assert!(
        lock_of(&p).contains("    subdirectory: inner\n"),
        "{}",
        lock_of(&p)
    );

    // An unknown revision fails and leaves the install as it was.
    let before = tree(&p.root().join("dbt_packages"));
    p.write(
        "packages.yml",
        &format!("packages:\n  - git: \"{url}\"\n    revision: v9.9.9\n"),
    );
    let run = deps(&p, hub.url(), &[]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr
            .contains(&format!("`v9.9.9` of git package `{url}`")),
        "{}",
        run.stderr
    );
    assert_eq!(tree(&p.root().join("dbt_packages")), before);
}

#[test]
fn tarball_and_local_packages_install() {
    let hub = Hub::start();
    hub.server.put(
        "/plain.tar.gz",
        tarball("tarball_pkg", "tarball_pkg-main", "1.0.0"),
    );
    let p = project();
    copy(
        &Path::new(FIXTURES).join("local_pkg"),
        &p.root().join("vendor/local_pkg"),
    );
    p.write(
        "packages.yml",
        &format!(
            "packages:\n  - tarball: {}plain.tar.gz\n    name: my_tarball\n  - local: vendor/local_pkg\n",
            hub.url()
        ),
    );
    let run = deps(&p, hub.url(), &[]);
    assert_ok(&run);
    // A tarball installs under its `name:`, a local folder as a symlink to it.
    assert!(p
        .root()
        .join("dbt_packages/my_tarball/macros/tar_macro.sql")
        .is_file());
    let link = std::fs::read_link(p.root().join("dbt_packages/local_pkg")).unwrap();
    assert_eq!(
        link,
        std::fs::canonicalize(p.root())
            .unwrap()
            .join("vendor/local_pkg")
    );
    assert!(
        run.stderr
            .contains("Installed from <local @ vendor/local_pkg>"),
        "{}",
        run.stderr
    );
    let lock = lock_of(&p);
    assert!(
        lock.contains(&format!(
            "  - name: my_tarball\n    tarball: {}plain.tar.gz\n  - local: vendor/local_pkg\n    name: local_pkg\n",
            hub.url()
        )),
        "{lock}"
    );
    // The project still loads: local packages are read from their folders.
    let run = p.sluice(&["compile"]);
    assert_ok(&run);
}

#[test]
fn network_failures_are_one_error_and_leave_the_install_path_as_it_was() {
    let hub = Hub::start();
    let p = project();
    p.write(
        "packages.yml",
        "packages:\n  - package: sluice-test/base\n    version: [\">=1.0.0\", \"<2.0.0\"]\n",
    );
    // Nothing installed yet: a failed run must not even create dbt_packages/.
    hub.server.remove("/tarballs/base-1.1.0.tar.gz");
    let run = deps(&p, hub.url(), &[]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    let url = format!("{}tarballs/base-1.1.0.tar.gz", hub.url());
    assert!(
        run.stderr.contains(&format!("could not download package `sluice-test/base` from `{url}`: the server answered `404 Not Found`")),
        "{}",
        run.stderr
    );
    assert_eq!(run.stderr.matches("error:").count(), 1, "{}", run.stderr);
    assert!(run.stderr.contains("hint:"), "{}", run.stderr);
    assert!(!p.root().join("dbt_packages").exists());
    assert!(!p.root().join("package-lock.yml").exists());

    // Installed once, with a stale folder beside it.
    hub.server.put(
        "/tarballs/base-1.1.0.tar.gz",
        tarball("hub_base", "base-1.1.0", "1.1.0"),
    );
    assert_ok(&deps(&p, hub.url(), &[]));
    p.write("dbt_packages/old_pkg/dbt_project.yml", "name: old_pkg\n");
    let before = tree(&p.root().join("dbt_packages"));
    let lock = lock_of(&p);

    // The Hub gone (connection refused): one error naming the URL.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://127.0.0.1:{}/", l.local_addr().unwrap().port())
    };
    let run = deps(&p, &closed, &["--upgrade"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains(&format!(
            "could not download package `sluice-test/base` from `{closed}api/v1/index.json`"
        )),
        "{}",
        run.stderr
    );
    assert_eq!(run.stderr.matches("error:").count(), 1, "{}", run.stderr);
    assert_eq!(tree(&p.root().join("dbt_packages")), before);
    assert_eq!(lock_of(&p), lock);

    // A tarball 404 after resolution succeeded: still nothing changes.
    hub.server.remove("/tarballs/base-1.1.0.tar.gz");
    let run = deps(&p, hub.url(), &["--upgrade"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert_eq!(tree(&p.root().join("dbt_packages")), before);
    assert_eq!(lock_of(&p), lock);
}

#[test]
fn malformed_entries_are_located_errors() {
    let hub = Hub::start();
    let p = project();
    p.write(
        "packages.yml",
        "packages:\n  - package: sluice-test/base\n    versoin: 1.0.0\n",
    );
    let run = deps(&p, hub.url(), &[]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("unknown key `versoin`"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("--> packages.yml:3:5"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("hint: did you mean `version`?"),
        "{}",
        run.stderr
    );

    p.write("packages.yml", "packages:\n  - revision: v1\n");
    let run = deps(&p, hub.url(), &[]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("names no package source"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("--> packages.yml:2:5"),
        "{}",
        run.stderr
    );
}

#[test]
fn add_package_writes_packages_yml_as_dbt() {
    let hub = Hub::start();
    let p = project();
    let run = deps(
        &p,
        hub.url(),
        &["--add-package", "sluice-test/base@1.0.0", "--lock"],
    );
    assert_ok(&run);
    assert_eq!(
        p.read("packages.yml"),
        "packages:\n  - package: sluice-test/base\n    version: 1.0.0\n"
    );
    assert!(lock_of(&p).contains("version: 1.0.0"));
    // Adding it again at another version replaces the entry.
    let run = deps(
        &p,
        hub.url(),
        &["--add-package", "sluice-test/base@>=1.0.0,<2.0.0"],
    );
    assert_ok(&run);
    assert_eq!(
        p.read("packages.yml"),
        "packages:\n  - package: sluice-test/base\n    version:\n      - '>=1.0.0'\n      - <2.0.0\n"
    );
    assert_eq!(installed_version(&p, "test_base"), "1.1.0");
    let run = deps(&p, hub.url(), &["--add-package", "sluice-test/utils"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
}
