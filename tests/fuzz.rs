//! Fuzzing the front ends (issue 19): the YAML loaders, the Jinja front end
//! with dbt's context, the SQL check and column lineage, and the selector
//! grammar, each for a bounded time on a checked-in seed corpus
//! (`tests/fuzz/<target>/`).
//!
//! Each input is a mutation of a seed (bit flips, dictionary tokens of the
//! target's grammar, deleted, repeated and spliced ranges) run through the
//! real command in-process (`sluice compile`, `sluice ls --select`) on a
//! temp copy of example_project. An input fails the run when it panics,
//! hangs (over [`HANG`]) or gives an internal error; anything else, an exit
//! of 0, 1 or 2 with a diagnostic, is a correct answer to bad input. An
//! input whose diagnostic is new joins the in-memory corpus, so mutation
//! explores past the first error it finds (a cheap stand-in for coverage
//! feedback; cargo-fuzz would need a nightly toolchain CI does not have).
//!
//! The budget per target is `SLUICE_FUZZ_SECONDS` (default: 60 under
//! `CI`, 10 otherwise); `SLUICE_FUZZ_SEED` picks the random sequence
//! (default fixed, so a CI failure replays). Before each input runs it is
//! written to `<CARGO_TARGET_TMPDIR>/fuzz-<target>-current`, so even an
//! abort leaves the input that caused it.

mod common;

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::sync::{Mutex, Once};
use std::time::{Duration, Instant};

use common::{Rng, TempProject};

/// Longer than any input should take to compile: past it, a hang.
const HANG: Duration = Duration::from_secs(20);

/// Largest input, in bytes.
const MAX_LEN: usize = 64 * 1024;

/// One target runs at a time: diagnostics capture and the environment are
/// process-wide.
static SERIAL: Mutex<()> = Mutex::new(());
static HOME: Once = Once::new();

/// Bytes that change meaning in every grammar we fuzz.
const SPECIAL: &[u8] = b"{}%()[]'\"\n\t :-#,.+*@|\\=<>;`~!&/\r";

/// Tokens every target gets: multi-byte and invisible characters that move
/// columns and byte offsets apart.
const COMMON_TOKENS: &[&str] = &[
    "\u{feff}", "é", "😀", "\u{0}", "\u{200b}", "\r\n", "\t", "    ", "\n\n",
];

/// A mutation of `input`: one to four edits, some from `dict`, some
/// splicing in a piece of another corpus entry.
fn mutate(rng: &mut Rng, input: &[u8], corpus: &[(String, Vec<u8>)], dict: &[&str]) -> Vec<u8> {
    let mut out = input.to_vec();
    let token = |rng: &mut Rng| -> &str {
        if rng.below(4) == 0 {
            COMMON_TOKENS[rng.below(COMMON_TOKENS.len())]
        } else {
            dict[rng.below(dict.len())]
        }
    };
    for _ in 0..1 + rng.below(4) {
        let len = out.len();
        let at = rng.below(len + 1);
        match rng.below(9) {
            0 if len > 0 => {
                let i = rng.below(len);
                out[i] ^= 1 << rng.below(8);
            }
            1 => {
                let t = token(rng).as_bytes().to_vec();
                out.splice(at..at, t);
            }
            2 if len > 0 => {
                let end = (at + 1 + rng.below(16)).min(len);
                out.drain(at.min(len - 1)..end);
            }
            3 if len > 0 => {
                let start = rng.below(len);
                let end = (start + 1 + rng.below(64)).min(len);
                let piece = out[start..end].to_vec();
                let at = rng.below(out.len() + 1);
                out.splice(at..at, piece);
            }
            4 if len > 0 => {
                let i = rng.below(len);
                out[i] = SPECIAL[rng.below(SPECIAL.len())];
            }
            5 => {
                let other = &corpus[rng.below(corpus.len())].1;
                if !other.is_empty() {
                    let start = rng.below(other.len());
                    let end = (start + 1 + rng.below(128)).min(other.len());
                    out.splice(at..at, other[start..end].iter().copied());
                }
            }
            6 => {
                // Deep nesting and long lists: a token repeated.
                let t = token(rng).to_owned();
                let times = 1 + rng.below(300);
                out.splice(at..at, t.repeat(times).into_bytes());
            }
            7 => out.truncate(at),
            _ => {
                let t = token(rng).as_bytes().to_vec();
                let end = (at + t.len()).min(out.len());
                out.splice(at..end, t);
            }
        }
    }
    out.truncate(MAX_LEN);
    out
}

/// What one input did, for the corpus to tell outcomes apart.
enum Outcome {
    /// A correct answer: the exit code and the shape of the first
    /// diagnostic (digits and quoted names removed).
    Answer(String),
    /// A bug: what went wrong.
    Failure(String),
}

/// Runs the sluice command `args` in this process, as the binary does (on
/// a thread with its deep stack), with a deadline. Returns the outcome.
fn run_in_process(args: Vec<String>) -> Outcome {
    use clap::Parser;
    let cli = match sluice::cli::Cli::try_parse_from(&args) {
        Ok(cli) => cli,
        Err(e) => return Outcome::Answer(format!("usage:{:?}", e.kind())),
    };
    let answer = on_deep_stack(move || {
        sluice::execute::output::capture_diagnostics(|| sluice::commands::run(&cli))
    });
    match answer {
        Err(failure) => failure,
        Ok((result, mut text)) => {
            let code = match result {
                Ok(outcome) => outcome.exit_code(),
                Err(err) => {
                    text.push_str(&err.render());
                    2
                }
            };
            if text.contains("internal error") {
                return Outcome::Failure(format!("internal error:\n{text}"));
            }
            Outcome::Answer(format!("{code}:{}", shape(&text)))
        }
    }
}

/// Runs `f` on a thread with the binary's deep stack, as sluice runs its
/// work, with the [`HANG`] deadline. Returns its result, or the failure: a
/// panic (with its message) or a hang.
fn on_deep_stack<R: Send + 'static>(f: impl FnOnce() -> R + Send + 'static) -> Result<R, Outcome> {
    let (tx, rx) = mpsc::channel();
    std::thread::Builder::new()
        .stack_size(sluice::execute::DEEP_STACK)
        .spawn(move || {
            let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
            let _ = tx.send(caught);
        })
        .expect("spawn");
    match rx.recv_timeout(HANG) {
        Err(_) => Err(Outcome::Failure(format!(
            "no answer within {HANG:?} (a hang)"
        ))),
        Ok(Err(panic)) => {
            let msg = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                .unwrap_or_default();
            Err(Outcome::Failure(format!("panic: {msg}")))
        }
        Ok(Ok(r)) => Ok(r),
    }
}

/// The first diagnostic line without digits or quoted text: what kind of
/// answer an input got, not its details.
fn shape(text: &str) -> String {
    let first = text.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
    let mut out = String::new();
    let mut quote: Option<char> = None;
    for c in first.chars().take(80) {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None if matches!(c, '`' | '\'' | '"') => quote = Some(c),
            None if c.is_ascii_digit() => {}
            None => out.push(c),
        }
    }
    out
}

/// A fuzz target: its seeds and how one input runs.
struct Target {
    name: &'static str,
    /// Grammar tokens for insertions.
    dict: &'static [&'static str],
    /// Runs one input against the project; `seed_name` is the file the
    /// input descends from.
    run: fn(&TempProject, &str, &str) -> Outcome,
}

fn project_args(p: &TempProject, args: &[&str]) -> Vec<String> {
    let mut out: Vec<String> = std::iter::once("sluice")
        .chain(args.iter().copied())
        .map(str::to_owned)
        .collect();
    out.push("--project-dir".into());
    out.push(p.root().to_string_lossy().into_owned());
    out
}

/// Where a YAML seed goes in the project, by its file name's first word.
fn yaml_destination(seed: &str) -> &'static str {
    let stem = seed.split(['-', '.']).next().unwrap_or("");
    match stem {
        "dbt_project" => "dbt_project.yml",
        "profiles" => "profiles.yml",
        "packages" => "packages.yml",
        "selectors" => "selectors.yml",
        "sources" => "models/staging/_sources.yml",
        "seeds" => "seeds/_seeds.yml",
        _ => "models/marts/_marts.yml",
    }
}

fn run_yaml(p: &TempProject, seed: &str, input: &str) -> Outcome {
    let dest = yaml_destination(seed);
    let original = std::fs::read_to_string(p.root().join(dest)).ok();
    p.write(dest, input);
    // profiles.yml only matters where sluice reads it: the project dir.
    let outcome = run_in_process(project_args(p, &["compile", "-q"]));
    match original {
        Some(text) => p.write(dest, &text),
        None => std::fs::remove_file(p.root().join(dest)).unwrap(),
    }
    outcome
}

fn run_jinja(p: &TempProject, _seed: &str, input: &str) -> Outcome {
    p.write("models/fuzz_model.sql", input);
    run_in_process(project_args(p, &["compile", "-q"]))
}

fn run_sql(p: &TempProject, _seed: &str, input: &str) -> Outcome {
    // Column lineage straight from the parser, on tables it knows, on a
    // thread with the binary's deep stack, as sluice parses.
    let sql = input.to_owned();
    let direct = on_deep_stack(move || {
        if let Ok(statements) = sluice::sql::parse_statements(&sql) {
            let mut tables = sluice::lineage::Tables::default();
            for (name, columns) in [
                (
                    "stg_orders",
                    &["order_id", "customer_id", "order_date", "status"][..],
                ),
                (
                    "stg_customers",
                    &["customer_id", "first_name", "last_name"][..],
                ),
            ] {
                tables.insert(
                    &["db", "main", name],
                    sluice::lineage::Table {
                        node: format!("model.shop_analytics.{name}"),
                        columns: columns.iter().map(|c| (*c).to_owned()).collect(),
                    },
                );
            }
            sluice::lineage::lineage(&statements, &tables);
        }
    });
    if let Err(failure) = direct {
        return failure;
    }
    // Then the whole front end: render, the compile-time SQL check, and
    // the lineage of every column downstream of stg_orders.
    p.write("models/fuzz_model.sql", input);
    match run_in_process(project_args(p, &["compile", "-q"])) {
        Outcome::Answer(a) => {
            match run_in_process(project_args(p, &["lineage", "stg_orders.order_id"])) {
                Outcome::Answer(_) => Outcome::Answer(a),
                failure => failure,
            }
        }
        failure => failure,
    }
}

fn run_selector(p: &TempProject, _seed: &str, input: &str) -> Outcome {
    let select = format!("--select={input}");
    let exclude = format!(
        "--exclude={}",
        input.split_whitespace().last().unwrap_or("")
    );
    match run_in_process(project_args(p, &["ls", "-q", &select])) {
        Outcome::Answer(a) => {
            match run_in_process(project_args(p, &["ls", "-q", "-s", "+orders", &exclude])) {
                Outcome::Answer(_) => Outcome::Answer(a),
                failure => failure,
            }
        }
        failure => failure,
    }
}

/// The seed corpus of `target`: each file, or for `.txt` files each line.
fn seeds(target: &str) -> Vec<(String, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fuzz")
        .join(target);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    let mut out = Vec::new();
    for f in files {
        let name = f.file_name().unwrap().to_string_lossy().into_owned();
        let bytes = std::fs::read(&f).unwrap();
        if name.ends_with(".txt") {
            for line in String::from_utf8_lossy(&bytes).lines() {
                out.push((name.clone(), line.as_bytes().to_vec()));
            }
        } else {
            out.push((name, bytes));
        }
    }
    assert!(!out.is_empty(), "no seeds in {}", dir.display());
    out
}

fn budget() -> Duration {
    let secs = std::env::var("SLUICE_FUZZ_SECONDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(if std::env::var_os("CI").is_some() {
            60
        } else {
            10
        });
    Duration::from_secs(secs)
}

fn fuzz(target: Target) {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let home = std::env::temp_dir().join("sluice-fuzz-home");
    HOME.call_once(|| {
        std::fs::create_dir_all(&home).unwrap();
        std::env::set_var("HOME", &home);
        sluice::execute::init_deep_stacks();
        std::env::remove_var("DBT_PROFILES_DIR");
        std::env::remove_var("DBT_PROJECT_DIR");
    });
    let p = TempProject::new();
    let current =
        Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("fuzz-{}-current", target.name));
    let seed: u64 = std::env::var("SLUICE_FUZZ_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0x5115_cefa_u64 ^ target.name.len() as u64);
    let mut rng = Rng(seed | 1);
    let budget = budget();

    let mut corpus: Vec<(String, Vec<u8>)> = seeds(target.name);
    let mut shapes: HashSet<String> = HashSet::new();
    let mut failures: Vec<(String, Vec<u8>)> = Vec::new();
    // The seeds themselves first, then mutations until the budget is spent.
    let mut queue: Vec<(String, Vec<u8>)> = corpus.clone();
    let started = Instant::now();
    let mut runs = 0usize;
    while started.elapsed() < budget || !queue.is_empty() {
        let (origin, input) = match queue.pop() {
            Some(seed_input) => seed_input,
            None => {
                let (origin, base) = &corpus[rng.below(corpus.len())];
                (origin.clone(), mutate(&mut rng, base, &corpus, target.dict))
            }
        };
        std::fs::write(&current, &input).unwrap();
        let text = String::from_utf8_lossy(&input).into_owned();
        runs += 1;
        match (target.run)(&p, &origin, &text) {
            Outcome::Answer(shape) => {
                if shapes.insert(shape) {
                    corpus.push((origin, input));
                }
            }
            Outcome::Failure(what) => {
                let saved = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!(
                    "fuzz-{}-failure-{}",
                    target.name,
                    failures.len()
                ));
                std::fs::write(&saved, &input).unwrap();
                failures.push((
                    format!("{what}\n  input ({origin}): {}", saved.display()),
                    input,
                ));
                if failures.len() >= 5 {
                    break;
                }
            }
        }
    }
    eprintln!(
        "fuzz {}: {runs} inputs in {:.1?} (seed {seed}), {} distinct answers, corpus {}",
        target.name,
        started.elapsed(),
        shapes.len(),
        corpus.len()
    );
    assert!(
        failures.is_empty(),
        "fuzz {}: {} failing inputs:\n{}",
        target.name,
        failures.len(),
        failures
            .iter()
            .map(|(w, _)| w.as_str())
            .collect::<Vec<_>>()
            .join("\n")
    );
}

#[test]
fn fuzz_yaml_loaders() {
    fuzz(Target {
        name: "yaml",
        dict: &[
            ": ",
            "- ",
            "\n  ",
            "\n    - ",
            "{",
            "}",
            "[",
            "]",
            "'",
            "\"",
            "&a ",
            "*a",
            "<<: *a",
            "!!str ",
            "~",
            "null",
            "true",
            "yes",
            "1e9",
            "-1",
            "name: ",
            "config:",
            "+materialized: ",
            "columns:",
            "data_tests:",
            "tests:",
            "version: 2",
            "models:",
            "sources:",
            "tables:",
            "seeds:",
            "vars:",
            "{{ ",
            " }}",
            "{{ var('x') }}",
            "{{ env_var('DBT_ENV_SECRET_X') }}",
            "target-path: ",
            "|\n  ",
            ">-\n  ",
            "---\n",
            "#",
            "%YAML 1.2\n",
            "\t",
        ],
        run: run_yaml,
    });
}

#[test]
fn fuzz_jinja_front_end() {
    fuzz(Target {
        name: "jinja",
        dict: &[
            "{{ ",
            " }}",
            "{% ",
            " %}",
            "{%- ",
            " -%}",
            "{# ",
            " #}",
            "{% if x %}",
            "{% endif %}",
            "{% for i in range(3) %}",
            "{% endfor %}",
            "{% set x = ",
            "{% endset %}",
            "{% macro m(a) %}",
            "{% endmacro %}",
            "{% call m() %}",
            "{% endcall %}",
            "ref('stg_orders')",
            "ref(",
            "source('shop', ",
            "config(",
            "var('",
            "env_var('",
            "this",
            "adapter.dispatch(",
            "dbt.",
            "modules.",
            "caller()",
            "is_incremental()",
            "execute",
            "run_query(",
            "return(",
            "| join(",
            "| default(",
            "~",
            "%",
            ".format(",
            ".append(",
            "namespace(",
            "loop.",
            "**",
            "(",
            ")",
            "[",
            "]",
            "'",
            "\"",
            ",",
            "none",
            "10**9",
        ],
        run: run_jinja,
    });
}

#[test]
fn fuzz_sql_check_and_lineage() {
    fuzz(Target {
        name: "sql",
        dict: &[
            "select ",
            " from ",
            " where ",
            " join ",
            " using (",
            " on ",
            " group by ",
            " order by ",
            " union all ",
            " with ",
            " as ",
            "(",
            ")",
            ",",
            "*",
            ".",
            "'",
            "\"",
            ";",
            " over (",
            " partition by ",
            " case when ",
            " then ",
            " end",
            " exclude (",
            " replace (",
            "::",
            " -> ",
            "[",
            "]",
            "{",
            "}",
            "lateral ",
            " qualify ",
            "--",
            "/*",
            "*/",
            " pivot ",
            " unnest(",
            "count(*)",
            "$1",
            "?",
            "e'\\n'",
            "1e400",
            " recursive ",
        ],
        run: run_sql,
    });
}

#[test]
fn fuzz_selector_grammar() {
    fuzz(Target {
        name: "selector",
        dict: &[
            "+",
            "@",
            ",",
            " ",
            "*",
            "?",
            "[",
            "]",
            ":",
            ".",
            "/",
            "1",
            "2+",
            "+3",
            "tag:",
            "path:",
            "config.",
            "source:",
            "fqn:",
            "state:",
            "result:",
            "selector:",
            "resource_type:",
            "test_type:",
            "package:",
            "exposure:",
            "group:",
            "access:",
            "version:",
            "orders",
            "stg_",
            "models/",
            "\\",
            "..",
            "-",
            "--",
        ],
        run: run_selector,
    });
}
