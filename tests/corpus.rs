//! The corpus of broken projects (issue 19): every `tests/corpus/*.txt` is
//! a small patch of example_project with the mistake a data engineer really
//! makes, and a header that says what sluice must answer: the exit code,
//! the kind of the diagnostic, the `path:line` it points at, whether it
//! carries a hint. Each case runs the real binary on a temp copy with
//! `--log-format json`, and [`judge`] compares the JSON diagnostics with
//! the header. All the cases run, and the test fails once at the end with
//! every broken case listed.
//!
//! A case whose header has `# known-gap: <why>` is a mistake today's
//! binary handles badly: it is expected to fall short of its header, and
//! the test fails when it suddenly meets it, so that the fix also removes
//! the `known-gap` line. tests/corpus/check.py does the same checks from
//! outside Cargo and prints a table; tests/corpus/README.md describes the
//! header. Keep the two checkers in step.

mod common;

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use common::TempProject;

/// One file operation of a case's patch.
#[derive(Debug, Clone, PartialEq)]
enum Op {
    /// `--- write <path>`: the lines that follow (each ending with `\n`);
    /// `latin1` for `--- write-latin1 <path>`, which writes them as ISO-8859-1.
    Write {
        path: String,
        text: String,
        latin1: bool,
    },
    /// `--- delete <path>`.
    Delete(String),
}

/// What a case expects, from its `# key: value` header lines.
#[derive(Debug, Clone, Default, PartialEq)]
struct Expect {
    /// `# command:` (default `compile`), split like a shell line.
    command: Vec<String>,
    /// `# before:` commands run first, their outcome ignored.
    before: Vec<Vec<String>>,
    /// `# exit:` (default 2).
    exit: i32,
    /// `# kind:` an error diagnostic of this ErrorKind (`A|B`: either).
    kind: Option<String>,
    /// `# warning:` a warning diagnostic of this ErrorKind, instead of an error.
    warning: Option<String>,
    /// `# failed-node:` a node (unique_id, or its prefix before the test hash)
    /// that must be reported failed.
    failed_node: Option<String>,
    /// `# location: path:line` the diagnostic must point at.
    location: Option<(String, usize)>,
    /// `# hint`: the diagnostic must carry a hint.
    hint: bool,
    /// `# clean`: no error or warning diagnostic at all.
    clean: bool,
    /// `# known-gap: <why>`: today's binary falls short of this case.
    known_gap: Option<String>,
}

#[derive(Debug, Clone)]
struct Case {
    name: String,
    expect: Expect,
    ops: Vec<Op>,
}

/// Splits a command line on whitespace, keeping '...' and "..." together.
fn split_args(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quote: Option<char> = None;
    let mut have = false;
    for ch in text.chars() {
        match quote {
            Some(q) if ch == q => quote = None,
            Some(_) => cur.push(ch),
            None if ch == '\'' || ch == '"' => {
                quote = Some(ch);
                have = true;
            }
            None if ch.is_whitespace() => {
                if have || !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
                have = false;
            }
            None => cur.push(ch),
        }
    }
    if have || !cur.is_empty() {
        out.push(cur);
    }
    out
}

const KEYS: &[&str] = &[
    "command",
    "exit",
    "kind",
    "warning",
    "location",
    "hint",
    "known-gap",
    "before",
    "failed-node",
    "clean",
];

/// Parses a case file: header lines up to the first `--- ` operation, then
/// the patch. Lines are split on `\n` only, so a `\r` (a CRLF case) stays.
fn parse_case(name: &str, text: &str) -> Result<Case, String> {
    let mut expect = Expect {
        command: vec!["compile".to_owned()],
        exit: 2,
        ..Expect::default()
    };
    let mut ops = Vec::new();
    let mut current: Option<(String, String, bool)> = None;
    let mut in_header = true;
    let body = text.strip_suffix('\n').unwrap_or(text);
    let flush = |cur: &mut Option<(String, String, bool)>, ops: &mut Vec<Op>| {
        if let Some((path, text, latin1)) = cur.take() {
            ops.push(Op::Write { path, text, latin1 });
        }
    };
    for line in body.split('\n') {
        let write = line.strip_prefix("--- write ").map(|p| (p, false));
        let write = write.or_else(|| line.strip_prefix("--- write-latin1 ").map(|p| (p, true)));
        if let Some((path, latin1)) = write {
            in_header = false;
            flush(&mut current, &mut ops);
            current = Some((path.trim().to_owned(), String::new(), latin1));
            continue;
        }
        if let Some(path) = line.strip_prefix("--- delete ") {
            in_header = false;
            flush(&mut current, &mut ops);
            ops.push(Op::Delete(path.trim().to_owned()));
            continue;
        }
        if in_header {
            let Some(rest) = line.strip_prefix("# ") else {
                continue;
            };
            let (key, value) = match rest.split_once(':') {
                Some((k, v)) => (k, v.trim()),
                None => (rest.trim_end(), ""),
            };
            if !KEYS.contains(&key) {
                continue;
            }
            match key {
                "command" => expect.command = split_args(value),
                "before" => expect.before.push(split_args(value)),
                "exit" => {
                    expect.exit = value
                        .parse()
                        .map_err(|_| format!("{name}: bad `# exit: {value}`"))?
                }
                "kind" => expect.kind = Some(value.to_owned()),
                "warning" => expect.warning = Some(value.to_owned()),
                "failed-node" => expect.failed_node = Some(value.to_owned()),
                "location" => {
                    let (path, line) = value
                        .rsplit_once(':')
                        .and_then(|(p, l)| Some((p.to_owned(), l.parse().ok()?)))
                        .ok_or_else(|| format!("{name}: bad `# location: {value}`"))?;
                    expect.location = Some((path, line));
                }
                "hint" => expect.hint = true,
                "clean" => expect.clean = true,
                "known-gap" => expect.known_gap = Some(value.to_owned()),
                _ => unreachable!(),
            }
            continue;
        }
        if let Some((_, text, _)) = current.as_mut() {
            text.push_str(line);
            text.push('\n');
        }
    }
    flush(&mut current, &mut ops);
    Ok(Case {
        name: name.to_owned(),
        expect,
        ops,
    })
}

/// One diagnostic of a `--log-format json` stderr: a structured one (with
/// `data.kind`), or a failed node (its location and hint read from its
/// block in the end-of-run summary).
#[derive(Debug, Clone, Default, PartialEq)]
struct Diag {
    level: String,
    kind: Option<String>,
    path: Option<String>,
    line: Option<u64>,
    hint: Option<String>,
    node: Option<String>,
    msg: String,
}

fn diagnostics(stderr: &str) -> Vec<Diag> {
    let mut diags: Vec<Diag> = Vec::new();
    // Summary lines under `Error in model x (...)`, by node name.
    let mut blocks: std::collections::HashMap<String, Vec<String>> = Default::default();
    let mut current: Option<String> = None;
    let str_of = |v: &serde_json::Value| v.as_str().map(str::to_owned);
    for raw in stderr.lines() {
        let Ok(obj) = serde_json::from_str::<serde_json::Value>(raw) else {
            continue;
        };
        let info = &obj["info"];
        let data = &obj["data"];
        let msg = info["msg"].as_str().unwrap_or_default().to_owned();
        let level = info["level"].as_str().unwrap_or_default().to_owned();
        let loc = &data["location"];
        if data.get("kind").is_some() {
            diags.push(Diag {
                level,
                kind: str_of(&data["kind"]),
                path: str_of(&loc["path"]),
                line: loc["line"].as_u64(),
                hint: str_of(&data["hint"]),
                node: None,
                msg,
            });
        } else if let Some(ni) = data.get("node_info") {
            let status = ni["node_status"].as_str().unwrap_or_default();
            if matches!(status, "error" | "fail" | "warn") {
                diags.push(Diag {
                    level,
                    kind: str_of(&data["kind"]),
                    path: str_of(&loc["path"]),
                    line: loc["line"].as_u64(),
                    hint: str_of(&data["hint"]),
                    node: str_of(&ni["unique_id"]),
                    msg,
                });
            }
        } else if info["name"] == "Line" {
            let head = ["Error in ", "Failure in ", "Warning in "]
                .iter()
                .find_map(|p| msg.strip_prefix(p));
            // `Error in <type> <name> (<file>)`
            let named = head.and_then(|rest| {
                let (_, rest) = rest.split_once(' ')?;
                let (name, file) = rest.split_once(' ')?;
                file.starts_with('(').then(|| name.to_owned())
            });
            if let Some(name) = named {
                blocks.entry(name.clone()).or_default();
                current = Some(name);
            } else if msg.starts_with("Done. ") {
                current = None;
            } else if let Some(name) = &current {
                blocks.get_mut(name).unwrap().push(msg);
            }
        }
    }
    for d in &mut diags {
        let Some(node) = &d.node else { continue };
        let parts: Vec<&str> = node.split('.').collect();
        // model.pkg.name, test.pkg.name.hash, unit_test.pkg.model.name
        let name = if parts[0] == "unit_test" && parts.len() > 3 {
            parts[3]
        } else {
            parts[2.min(parts.len() - 1)]
        };
        for l in blocks.get(name).map(Vec::as_slice).unwrap_or_default() {
            if d.path.is_none() {
                if let Some((_, at)) = l.split_once("--> ") {
                    let mut it = at.trim().split(':');
                    if let (Some(p), Some(line)) = (it.next(), it.next()) {
                        if let Ok(line) = line.parse() {
                            d.path = Some(p.to_owned());
                            d.line = Some(line);
                        }
                    }
                }
            }
            if d.hint.is_none() {
                // `= hint: ...`, as the renderer draws a diagnostic's hint.
                let l = l.trim_start();
                if let Some(h) = l
                    .strip_prefix("= hint: ")
                    .or_else(|| l.strip_prefix("hint: "))
                {
                    d.hint = Some(h.to_owned());
                }
            }
        }
    }
    diags
}

/// What a run got wrong against `expect`: one line per unmet expectation,
/// none when the case meets its header. `root` is the project directory,
/// so an absolute path into it counts as the same place as a relative one.
fn judge(expect: &Expect, code: i32, stderr: &str, root: &str) -> Vec<String> {
    let mut problems = Vec::new();
    let mut diags = diagnostics(stderr);
    let prefix = format!("{}/", root.trim_end_matches('/'));
    for d in &mut diags {
        if let Some(rel) = d.path.as_deref().and_then(|p| p.strip_prefix(&prefix)) {
            d.path = Some(rel.to_owned());
        }
    }
    if code != expect.exit {
        problems.push(format!("exit {code}, expected {}", expect.exit));
    }
    let internal = diags.iter().any(|d| d.kind.as_deref() == Some("Internal"));
    if !matches!(code, 0..=2) || stderr.contains("panicked") || internal {
        problems.push(format!("crash (exit {code})"));
    }
    let level = if expect.warning.is_some() {
        "warn"
    } else {
        "error"
    };
    let mut cands: Vec<&Diag> = diags
        .iter()
        .filter(|d| d.level == level && d.node.is_none())
        .collect();
    if let Some(node) = &expect.failed_node {
        cands = diags
            .iter()
            .filter(|d| {
                d.node
                    .as_deref()
                    .is_some_and(|n| n == node || n.starts_with(&format!("{node}.")))
            })
            .collect();
        if cands.is_empty() {
            problems.push(format!("no failure of `{node}` reported"));
        }
    } else if let Some(want) = expect.warning.as_ref().or(expect.kind.as_ref()) {
        let kinds: Vec<&str> = want.split('|').collect();
        let of_kind: Vec<&Diag> = cands
            .iter()
            .copied()
            .filter(|d| d.kind.as_deref().is_some_and(|k| kinds.contains(&k)))
            .collect();
        if of_kind.is_empty() {
            let mut got: Vec<&str> = cands.iter().filter_map(|d| d.kind.as_deref()).collect();
            got.sort_unstable();
            got.dedup();
            problems.push(format!(
                "no {level} of kind {want} (got {})",
                if got.is_empty() {
                    "none".to_owned()
                } else {
                    got.join(", ")
                }
            ));
        } else {
            cands = of_kind;
        }
    }
    if expect.clean {
        if let Some(d) = diags
            .iter()
            .find(|d| d.level == "error" || d.level == "warn")
        {
            problems.push(format!("not clean: {} `{}`", d.level, d.msg));
        }
    }
    if let Some((path, line)) = &expect.location {
        let hit = cands
            .iter()
            .any(|d| d.path.as_deref() == Some(path) && d.line == Some(*line as u64));
        if !hit {
            let got = cands
                .iter()
                .find_map(|d| Some(format!("{}:{}", d.path.as_deref()?, d.line?)))
                .unwrap_or_else(|| "none".to_owned());
            problems.push(format!("location {path}:{line} expected, got {got}"));
        }
    }
    if expect.hint
        && !cands
            .iter()
            .any(|d| d.hint.as_deref().is_some_and(|h| !h.is_empty()))
    {
        problems.push("no hint".to_owned());
    }
    problems
}

/// The failure to report for a case with these `problems`, if any: a case
/// that misses its expectation, or a known gap that now meets it.
fn verdict(case: &Case, problems: &[String]) -> Option<String> {
    match (&case.expect.known_gap, problems.is_empty()) {
        (None, true) | (Some(_), false) => None,
        (None, false) => Some(format!("{}: {}", case.name, problems.join("; "))),
        (Some(why), true) => Some(format!(
            "{}: meets its expectation now, remove its `# known-gap: {why}` line",
            case.name
        )),
    }
}

fn apply(p: &TempProject, ops: &[Op]) {
    for op in ops {
        match op {
            Op::Write { path, text, latin1 } => {
                let full = p.root().join(path);
                std::fs::create_dir_all(full.parent().unwrap()).unwrap();
                let bytes: Vec<u8> = if *latin1 {
                    text.chars()
                        .map(|c| u8::try_from(u32::from(c)).expect("a Latin-1 character"))
                        .collect()
                } else {
                    text.clone().into_bytes()
                };
                std::fs::write(full, bytes).unwrap();
            }
            Op::Delete(path) => {
                let full = p.root().join(path);
                if full.is_dir() {
                    std::fs::remove_dir_all(full).unwrap();
                } else {
                    std::fs::remove_file(full).unwrap();
                }
            }
        }
    }
}

/// Runs `case` on a fresh copy of example_project; the problems found.
fn run_case(case: &Case) -> Vec<String> {
    let p = TempProject::new();
    apply(&p, &case.ops);
    for before in &case.expect.before {
        let args: Vec<&str> = before.iter().map(String::as_str).collect();
        p.sluice(&args);
    }
    let mut args: Vec<&str> = case.expect.command.iter().map(String::as_str).collect();
    args.extend(["--log-format", "json", "--log-level", "info"]);
    let run = p.sluice(&args);
    judge(
        &case.expect,
        run.code,
        &run.stderr,
        &p.root().to_string_lossy(),
    )
}

fn load_cases() -> Vec<Case> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "txt"))
        .collect();
    files.sort();
    files
        .iter()
        .map(|f| {
            let name = f.file_stem().unwrap().to_string_lossy().into_owned();
            let text = std::fs::read_to_string(f).unwrap();
            parse_case(&name, &text).unwrap_or_else(|e| panic!("{e}"))
        })
        .collect()
}

#[test]
fn corpus_of_broken_projects() {
    let cases = load_cases();
    assert!(cases.len() >= 110, "only {} cases", cases.len());
    let next = AtomicUsize::new(0);
    let failures = Mutex::new(Vec::new());
    let gaps = AtomicUsize::new(0);
    let workers = std::thread::available_parallelism()
        .map_or(2, |n| n.get())
        .min(4);
    std::thread::scope(|s| {
        for _ in 0..workers {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(case) = cases.get(i) else { break };
                let problems = run_case(case);
                if case.expect.known_gap.is_some() && !problems.is_empty() {
                    gaps.fetch_add(1, Ordering::Relaxed);
                }
                if let Some(f) = verdict(case, &problems) {
                    failures.lock().unwrap().push(f);
                }
            });
        }
    });
    let mut failures = failures.into_inner().unwrap();
    failures.sort();
    eprintln!(
        "corpus: {} cases, {} known gaps still open",
        cases.len(),
        gaps.into_inner()
    );
    assert!(
        failures.is_empty(),
        "{} of {} corpus cases are broken:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

/// A JSON diagnostic line as the binary prints it.
fn diag_line(level: &str, kind: &str, loc: Option<(&str, u64)>, hint: Option<&str>) -> String {
    serde_json::json!({
        "info": {"name": "Diagnostic", "level": level, "msg": "something"},
        "data": {
            "kind": kind,
            "location": loc.map(|(p, l)| serde_json::json!({"path": p, "line": l, "col": 1})),
            "notes": [],
            "hint": hint,
        }
    })
    .to_string()
}

const FAKE_CASE: &str = "\
# A fake case: an unknown ref, located, with a hint.
# command: compile --select x
# exit: 2
# kind: UnknownRef
# location: models/x.sql:3
# hint
--- write models/x.sql
select 1
--- delete seeds/raw_orders.csv
";

#[test]
fn checker_reports_what_misses_the_expectation() {
    let case = parse_case("fake", FAKE_CASE).unwrap();
    assert_eq!(case.expect.command, ["compile", "--select", "x"]);
    assert_eq!(case.expect.location, Some(("models/x.sql".to_owned(), 3)));
    assert_eq!(
        case.ops,
        [
            Op::Write {
                path: "models/x.sql".into(),
                text: "select 1\n".into(),
                latin1: false
            },
            Op::Delete("seeds/raw_orders.csv".into())
        ]
    );

    // The expected diagnostic: no problem, no failure.
    let good = diag_line(
        "error",
        "UnknownRef",
        Some(("models/x.sql", 3)),
        Some("did you mean"),
    );
    assert_eq!(
        judge(&case.expect, 2, &good, "/tmp/p"),
        Vec::<String>::new()
    );
    assert_eq!(verdict(&case, &[]), None);
    // An absolute path into the project is the same place.
    let abs = diag_line(
        "error",
        "UnknownRef",
        Some(("/tmp/p/models/x.sql", 3)),
        Some("h"),
    );
    assert_eq!(judge(&case.expect, 2, &abs, "/tmp/p"), Vec::<String>::new());

    // Wrong exit, kind, line and no hint: each is reported, and the case fails.
    let bad = diag_line("error", "Jinja", Some(("models/x.sql", 4)), None);
    let problems = judge(&case.expect, 1, &bad, "/tmp/p");
    let all = problems.join("\n");
    assert!(all.contains("exit 1, expected 2"), "{all}");
    assert!(
        all.contains("no error of kind UnknownRef (got Jinja)"),
        "{all}"
    );
    assert!(
        all.contains("location models/x.sql:3 expected, got models/x.sql:4"),
        "{all}"
    );
    assert!(all.contains("no hint"), "{all}");
    let failure = verdict(&case, &problems).expect("a broken case fails");
    assert!(failure.starts_with("fake: exit 1, expected 2"), "{failure}");

    // A panic is a crash whatever the exit code.
    let crashed = judge(
        &case.expect,
        101,
        "thread 'main' panicked at src/x.rs",
        "/tmp/p",
    );
    assert!(
        crashed.iter().any(|p| p.starts_with("crash")),
        "{crashed:?}"
    );

    // A known gap that still fails passes; one that now meets its header fails.
    let mut gap = case.clone();
    gap.expect.known_gap = Some("no hint yet".into());
    assert_eq!(verdict(&gap, &problems), None);
    let fixed = verdict(&gap, &[]).expect("a fixed gap is reported");
    assert!(
        fixed.contains("remove its `# known-gap: no hint yet` line"),
        "{fixed}"
    );
}

#[test]
fn checker_reads_failed_nodes_and_warnings() {
    // A node failure: its location and hint come from the summary block.
    let stderr = [
        r#"{"info":{"name":"NodeFinished","level":"error","msg":"1 of 1 ERROR"},"data":{"node_info":{"unique_id":"test.shop.not_null_x_id.abc123","resource_type":"test","node_status":"error"}}}"#,
        r#"{"info":{"name":"Line","level":"info","msg":"Error in test not_null_x_id (models/_x.yml)"},"data":{}}"#,
        r#"{"info":{"name":"Line","level":"info","msg":"    --> models/_x.yml:7:9"},"data":{}}"#,
        r#"{"info":{"name":"Line","level":"info","msg":"    hint: did you mean `id`?"},"data":{}}"#,
        r#"{"info":{"name":"Line","level":"info","msg":"Done. PASS=0 WARN=0 ERROR=1 SKIP=0 TOTAL=1"},"data":{}}"#,
    ]
    .join("\n");
    let case = parse_case(
        "node",
        "# x\n# exit: 1\n# failed-node: test.shop.not_null_x_id\n# location: models/_x.yml:7\n# hint\n",
    )
    .unwrap();
    assert_eq!(judge(&case.expect, 1, &stderr, "/p"), Vec::<String>::new());
    let other = parse_case("node", "# x\n# exit: 1\n# failed-node: model.shop.y\n").unwrap();
    assert_eq!(
        judge(&other.expect, 1, &stderr, "/p"),
        ["no failure of `model.shop.y` reported"]
    );

    // A warning case is not met by an error, and a clean case by a warning.
    let warn = parse_case("w", "# x\n# exit: 0\n# warning: Selector\n# hint\n").unwrap();
    let err = diag_line("error", "Selector", None, Some("h"));
    assert!(!judge(&warn.expect, 0, &err, "/p").is_empty());
    let w = diag_line("warn", "Selector", None, Some("h"));
    assert_eq!(judge(&warn.expect, 0, &w, "/p"), Vec::<String>::new());
    let clean = parse_case("c", "# x\n# exit: 0\n# clean\n").unwrap();
    assert_eq!(judge(&clean.expect, 0, "", "/p"), Vec::<String>::new());
    assert!(judge(&clean.expect, 0, &w, "/p")[0].starts_with("not clean"));

    // CRLF bodies keep their `\r`; quoted command arguments stay whole.
    let crlf = parse_case(
        "crlf",
        "# x\n# command: show --inline \"select * from {{ ref('a') }}\"\n--- write m.sql\na\r\nb\r\n",
    )
    .unwrap();
    assert_eq!(
        crlf.expect.command,
        ["show", "--inline", "select * from {{ ref('a') }}"]
    );
    assert_eq!(
        crlf.ops,
        [Op::Write {
            path: "m.sql".into(),
            text: "a\r\nb\r\n".into(),
            latin1: false
        }]
    );
}
