//! The documentation site in a real browser: `sluice docs generate` on a
//! built copy of example_project, then headless Chromium opens
//! target/index.html from file:// and the test reads the DOM it rendered
//! (`--dump-dom`): the node list, a node page, the lineage graph, the
//! column lineage view, and an XSS probe whose description must stay text.
//! Screenshots go to `$CARGO_TARGET_TMPDIR/docs/` for review.
//!
//! Chromium is Debian's `chromium` (`.ci/run` installs it when missing).
//! When it cannot be found or started, the browser test fails under
//! `CI=true` (CI must not pass without having looked at the site); locally
//! it prints why and returns. Also `sluice docs serve` over real HTTP on
//! 127.0.0.1.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::TempProject;

/// A model whose YAML tries script injection three ways.
const XSS_YAML: &str = r#"version: 2
models:
  - name: xss_probe
    description: |
      Probe <script>document.documentElement.setAttribute('data-xss', 'script')</script>
      <img src=x onerror="document.documentElement.setAttribute('data-xss', 'img')">
      [click me](javascript:document.documentElement.setAttribute('data-xss','link'))
    columns:
      - name: id
        description: "<b onmouseover=alert(1)>not bold</b>"
      - name: "<svg onload=alert(1)>"
"#;

fn find_chromium() -> Option<PathBuf> {
    if let Ok(path) = std::env::var("SLUICE_CHROMIUM") {
        return Some(PathBuf::from(path));
    }
    let path = std::env::var_os("PATH")?;
    ["chromium", "chromium-browser", "google-chrome"]
        .iter()
        .flat_map(|name| std::env::split_paths(&path).map(move |dir| dir.join(name)))
        .find(|p| p.is_file())
}

/// Chromium, installed from Debian's packages when missing and apt-get can
/// run (as .ci/run does before the tests), checked to start headless; else
/// why not.
fn chromium() -> Result<PathBuf, String> {
    let chrome = match find_chromium() {
        Some(found) => found,
        None => {
            let apt = |args: &[&str]| {
                Command::new("apt-get")
                    .args(args)
                    .env("DEBIAN_FRONTEND", "noninteractive")
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .status()
                    .map(|s| s.success())
                    .unwrap_or(false)
            };
            let installed = apt(&["install", "-y", "-qq", "chromium"])
                || (apt(&["update", "-qq"]) && apt(&["install", "-y", "-qq", "chromium"]));
            match find_chromium() {
                Some(found) if installed => found,
                _ => return Err("Chromium is not installed and `apt-get install chromium` failed (not root, or no package index)".into()),
            }
        }
    };
    // Present is not enough: a binary missing its libraries, or one that
    // cannot start headless here, must count as missing.
    let profile = tempfile::tempdir().map_err(|e| e.to_string())?;
    let dom = try_browse(&chrome, profile.path(), "about:blank", &["--dump-dom"])
        .map_err(|e| format!("Chromium at `{}` did not start: {e}", chrome.display()))?;
    if !dom.contains("<body") {
        return Err(format!(
            "Chromium at `{}` started but rendered no page for about:blank: {dom:?}",
            chrome.display()
        ));
    }
    Ok(chrome)
}

/// Whether this is a CI run (`CI` set, as CI services and .ci/run set it,
/// and not `false` or `0`).
fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !matches!(v.trim(), "" | "false" | "0"))
}

/// Runs headless Chromium on `url` with `extra` flags; returns stdout.
/// Chromium that crashes (killed by a signal: it has died of SIGSEGV on a
/// loaded 2-core CI machine, with the same page rendering on the next
/// start) is started again, up to 3 times; any other failure fails at once.
fn browse(chrome: &Path, profile: &Path, url: &str, extra: &[&str]) -> String {
    let mut attempt = 1;
    loop {
        match try_browse(chrome, profile, url, extra) {
            Ok(out) => return out,
            Err(e) if e.starts_with(CRASHED) && attempt < 3 => {
                eprintln!("{e}; starting it again (attempt {})", attempt + 1);
                attempt += 1;
            }
            Err(e) => panic!("{e}"),
        }
    }
}

/// How [`try_browse`]'s error for a Chromium killed by a signal begins.
const CRASHED: &str = "chromium crashed";

/// [`browse`], with a failure to start or finish within 90 s as an error.
fn try_browse(chrome: &Path, profile: &Path, url: &str, extra: &[&str]) -> Result<String, String> {
    let mut child = Command::new(chrome)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(extra)
        .arg(url)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot start `{}`: {e}", chrome.display()))?;
    let mut stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut out = String::new();
        stdout.read_to_string(&mut out).unwrap();
        out
    });
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if start.elapsed() > Duration::from_secs(90) {
            child.kill().unwrap();
            child.wait().unwrap();
            return Err(format!("chromium did not finish on {url} within 90 s"));
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let out = reader.join().unwrap();
    if std::os::unix::process::ExitStatusExt::signal(&status).is_some() {
        return Err(format!("{CRASHED} ({status}) on {url}"));
    }
    if !status.success() {
        return Err(format!("chromium exited with {status} on {url}"));
    }
    Ok(out)
}

/// The rendered `<main>` element of a dumped DOM (the page's script, which
/// is in the dump too, holds the same markup as string literals).
fn main_of(dom: &str) -> &str {
    let start = dom.find("<main").expect("a <main> element");
    &dom[start..start + dom[start..].find("</main>").expect("</main>")]
}

fn count(haystack: &str, needle: &str) -> usize {
    haystack.matches(needle).count()
}

#[test]
fn docs_site_renders_in_chromium_and_keeps_user_text_inert() {
    let p = TempProject::new();
    p.write("models/xss_probe.sql", "select 1 as id\n");
    p.write("models/xss_probe.yml", XSS_YAML);
    let build = p.sluice(&["build"]);
    assert_eq!(build.code, 0, "{}{}", build.stdout, build.stderr);
    let docs = p.sluice(&["docs", "generate"]);
    assert_eq!(docs.code, 0, "{}{}", docs.stdout, docs.stderr);
    let index = p.root().join("target/index.html");
    let page = std::fs::read_to_string(&index).unwrap();
    // Self-contained: no external script, stylesheet or font, and a CSP
    // that forbids fetching anything.
    assert!(!page.contains("<script src"), "external script");
    assert!(!page.contains("<link"), "external stylesheet");
    assert!(page.contains("default-src 'none'"));

    let chrome = match chromium() {
        Ok(chrome) => chrome,
        Err(why) if in_ci() => {
            panic!("{why}; CI must run the browser test: install Debian's `chromium` (.ci/run does) or set SLUICE_CHROMIUM")
        }
        Err(why) => {
            println!("skipped: {why}; install Debian's `chromium` or set SLUICE_CHROMIUM");
            return;
        }
    };
    let profile = tempfile::tempdir().unwrap();
    let url = format!("file://{}", index.display());
    let shots = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("docs");
    std::fs::create_dir_all(&shots).unwrap();

    // The list: every node, grouped by type.
    let dom = browse(&chrome, profile.path(), &url, &["--dump-dom"]);
    assert!(
        dom.contains("data-ready-ms=\""),
        "page script did not finish:\n{dom}"
    );
    for uid in [
        "model.shop_analytics.customers",
        "seed.shop_analytics.raw_orders",
        "source.shop_analytics.shop.raw_orders",
        "snapshot.shop_analytics.customers_snapshot",
        "model.shop_analytics.xss_probe",
    ] {
        assert!(
            dom.contains(&format!("<li data-id=\"{uid}\">")),
            "{uid} not listed"
        );
    }
    assert!(dom.contains("<h3>Models (7)</h3>"), "{dom}");
    assert!(dom.contains("data-route=\"overview\""));

    // A node page: description from a doc() block, typed columns with tests,
    // compiled SQL, upstream and downstream, its neighbourhood graph.
    let node = format!("{url}#node=model.shop_analytics.customers");
    let dom = browse(&chrome, profile.path(), &node, &["--dump-dom"]);
    let dom = main_of(&dom);
    assert!(dom.contains("data-route=\"node\""), "{dom}");
    assert!(dom.contains("<h1>customers <span class=\"badge t-model\">model</span></h1>"));
    assert!(
        dom.contains("<td><code>customer_id</code></td><td><code>INTEGER</code></td>"),
        "{dom}"
    );
    assert!(
        dom.contains("<p>The customer's id in the shop's CRM."),
        "doc() block not rendered"
    );
    assert!(dom.contains("<span>unique</span>"), "column tests missing");
    assert!(
        dom.contains("<code class=\"compiled\">"),
        "compiled SQL missing"
    );
    assert!(dom.contains("last run: <span class=\"status success\">success</span>"));
    // The inferred grain (sluice's extension): the key, with its reason.
    let grain = &dom[dom.find("id=\"grain\"").expect("grain section")..];
    assert!(
        grain.contains("<td><code>customer_id</code></td><td>the `unique` test"),
        "{grain}"
    );
    assert!(
        grain.contains("<td><code>lifetime_value</code></td>"),
        "{grain}"
    );
    assert!(dom.contains("<b>Upstream (2)</b>"), "{dom}");
    assert!(
        count(dom, "<g class=\"node") >= 5,
        "neighbourhood graph missing"
    );
    let screenshot = |url: &str, name: &str, size: &str| {
        let file = format!("--screenshot={}", shots.join(name).display());
        browse(&chrome, profile.path(), url, &[&file, size]);
    };
    screenshot(&node, "node.png", "--window-size=1400,1000");

    // The whole DAG: one box per model, seed, source and snapshot, edges between them.
    let graph = format!("{url}#graph");
    let dom = browse(&chrome, profile.path(), &graph, &["--dump-dom"]);
    let dom = main_of(&dom);
    assert!(dom.contains("<svg class=\"dag\""), "{dom}");
    assert_eq!(count(dom, "<g class=\"node "), 7 + 3 + 1 + 1);
    assert!(count(dom, "class=\"edge\"") >= 10);
    assert!(dom.contains("data-id=\"source.shop_analytics.shop.raw_orders\""));
    screenshot(&graph, "graph.png", "--window-size=1400,700");

    // Column lineage: customers.customer_id comes from stg_customers.customer_id.
    let column = format!("{url}#column=model.shop_analytics.customers%7Ccustomer_id");
    let dom = browse(&chrome, profile.path(), &column, &["--dump-dom"]);
    let dom = main_of(&dom);
    assert!(dom.contains("data-route=\"column\""), "{dom}");
    let upstream =
        &dom[dom.find("id=\"upstream\"").unwrap()..dom.find("id=\"downstream\"").unwrap()];
    assert!(
        upstream.contains(">stg_customers.customer_id</a>"),
        "{upstream}"
    );
    // How a computed column is computed in its model (explain's steps).
    let column = format!("{url}#column=model.shop_analytics.customers%7Clifetime_value");
    let dom = browse(&chrome, profile.path(), &column, &["--dump-dom"]);
    let dom = main_of(&dom);
    let explain = &dom[dom.find("id=\"explain\"").expect("explain section")..];
    assert!(
        explain.contains("lifetime_value = coalesce(customer_orders.lifetime_value, 0)"),
        "{explain}"
    );
    assert!(explain.contains("group by customer_id"), "{explain}");
    // The column page's composed query is `sluice explain`'s, character for
    // character.
    let composed = &dom[dom.find("id=\"composed\"").expect("composed query")..];
    let composed = &composed[composed.find("<code>").unwrap() + "<code>".len()..];
    let composed = composed[..composed.find("</code>").unwrap()]
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&");
    let cli = p.sluice(&["explain", "customers.lifetime_value", "--output", "json"]);
    assert_eq!(cli.code, 0, "{}", cli.stderr);
    let cli: serde_json::Value = serde_json::from_str(&cli.stdout).unwrap();
    assert_eq!(composed, cli["composed_sql"].as_str().unwrap());

    // XSS: nothing ran, the markup shows as text, the javascript: link is gone.
    let xss = format!("{url}#node=model.shop_analytics.xss_probe");
    let dom = browse(&chrome, profile.path(), &xss, &["--dump-dom"]);
    let html_tag = &dom[dom.find("<html").unwrap()..];
    let html_tag = &html_tag[..html_tag.find('>').unwrap()];
    assert!(
        !html_tag.contains("data-xss"),
        "injected script ran: {html_tag}"
    );
    let dom = main_of(&dom);
    assert!(
        dom.contains("&lt;script&gt;document.documentElement.setAttribute"),
        "{dom}"
    );
    assert!(dom.contains("&lt;img src=x onerror="), "{dom}");
    assert!(!dom.contains("javascript:"), "javascript: link kept");
    assert!(dom.contains("&lt;b onmouseover=alert(1)&gt;not bold&lt;/b&gt;"));
    assert!(dom.contains("<code>&lt;svg onload=alert(1)&gt;</code>"));
    assert!(!dom.contains("<svg onload"));

    // Search, driven as a user would: type into the box (a copy of the page
    // with a script appended that sets the value and fires `input`).
    let probe = p.root().join("target/search-probe.html");
    std::fs::write(
        &probe,
        page.replace(
            "</body>",
            "<script>var s = document.getElementById('search'); s.value = 'lifetime customer'; \
             s.dispatchEvent(new Event('input'));</script></body>",
        ),
    )
    .unwrap();
    let dom = browse(
        &chrome,
        profile.path(),
        &format!("file://{}", probe.display()),
        &["--dump-dom"],
    );
    let list = &dom[dom.find("id=\"node-list\"").unwrap()..dom.find("</aside>").unwrap()];
    let shown: Vec<&str> = list
        .split("<li ")
        .skip(1)
        .filter(|li| !li[..li.find('>').unwrap()].contains("hidden"))
        .collect();
    // Both words must match (name, columns, description): only `customers`
    // has a column lifetime_value; its tests mention it by name too.
    assert!(
        shown
            .iter()
            .any(|li| li.contains("data-id=\"model.shop_analytics.customers\"")),
        "{list}"
    );
    assert!(
        !shown
            .iter()
            .any(|li| li.contains("data-id=\"model.shop_analytics.orders\"")),
        "orders has no lifetime column: {list}"
    );
    assert!(dom.contains("match</div>"), "no match count shown");

    for shot in ["node.png", "graph.png"] {
        let len = std::fs::metadata(shots.join(shot))
            .map(|m| m.len())
            .unwrap_or(0);
        assert!(len > 10_000, "screenshot {shot} is {len} bytes");
    }
    println!("screenshots in {}", shots.display());
}

#[test]
fn docs_serve_serves_target_on_loopback_only() {
    let p = TempProject::new();
    let missing = p.sluice(&["docs", "serve", "--port", "0"]);
    assert_eq!(missing.code, 2, "serving without index.html must fail");
    assert!(
        missing.stderr.contains("sluice docs generate"),
        "{}",
        missing.stderr
    );

    let docs = p.sluice(&["docs", "generate"]);
    assert_eq!(docs.code, 0, "{}", docs.stderr);
    let mut child = Command::new(env!("CARGO_BIN_EXE_sluice"))
        .args(["docs", "serve", "--port", "0", "--project-dir"])
        .arg(p.root())
        .env("HOME", p.dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start docs serve");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let addr = line
        .split("http://")
        .nth(1)
        .and_then(|rest| rest.split('/').next())
        .unwrap_or_else(|| panic!("no URL in {line:?}"))
        .to_owned();
    assert!(addr.starts_with("127.0.0.1:"), "{line}");
    let get = |path: &str| -> String {
        let mut stream = std::net::TcpStream::connect(&addr).unwrap();
        write!(stream, "GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n").unwrap();
        let mut out = String::new();
        stream.read_to_string(&mut out).unwrap();
        out
    };
    let index = get("/");
    let manifest = get("/manifest.json");
    let escape = get("/../dbt_project.yml");
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(
        index.starts_with("HTTP/1.0 200") || index.starts_with("HTTP/1.1 200"),
        "{index}"
    );
    assert!(index.contains("id=\"sluice-data\""));
    assert!(manifest.contains("application/json") && manifest.contains("\"nodes\""));
    assert!(escape.contains(" 404 "), "{escape}");
}
