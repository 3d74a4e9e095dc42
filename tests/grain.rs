//! Grain fixtures (tests/fixtures/grain/*.sql): each starts with
//! `-- schema: table(col, ...); ...` giving the tables it reads and what
//! they declare (`col*`: a `unique` test, `col!`: a `not_null` test,
//! `key(a b)`: `unique_combination_of_columns`); the inferred keys,
//! not-null columns, fan-out joins and nondeterministic expressions are an
//! insta snapshot.

use sluice::grain::{Declared, Grains, Key, NotNull};
use sqlparser::dialect::DuckDbDialect;
use sqlparser::parser::Parser;

fn grains(header: &str) -> Grains<'static> {
    let mut grains = Grains::default();
    let spec = header
        .trim_start_matches("--")
        .trim()
        .trim_start_matches("schema:");
    for t in spec.split(';') {
        let Some((name, cols)) = t.trim().split_once('(') else {
            continue;
        };
        let name = name.trim();
        let mut declared = Declared::default();
        let mut columns = Vec::new();
        let body = cols.strip_suffix(')').unwrap_or(cols);
        let (plain, combination) = match body.split_once("key(") {
            Some((plain, key)) => (plain, Some(key.trim_end_matches(')'))),
            None => (body, None),
        };
        for token in plain.split(',').map(str::trim).filter(|t| !t.is_empty()) {
            let column = token.trim_end_matches(['*', '!']).to_owned();
            if token.contains('*') {
                declared.keys.push(Key {
                    columns: vec![column.clone()],
                    with_nulls: false,
                    reason: format!("unique test on {name}.{column}"),
                });
            }
            if token.contains('!') {
                declared.not_null.push(NotNull {
                    column: column.clone(),
                    reason: format!("not_null test on {name}.{column}"),
                });
            }
            columns.push(column);
        }
        if let Some(key) = combination {
            let mut cols: Vec<String> = key.split_whitespace().map(str::to_owned).collect();
            cols.sort();
            declared.keys.push(Key {
                reason: format!("unique_combination_of_columns test on {name}"),
                columns: cols,
                with_nulls: true,
            });
        }
        grains.declare(&[name], columns, &declared);
    }
    grains
}

#[test]
fn grain_fixtures() {
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path("../snapshots");
    settings.set_prepend_module_to_snapshot(false);
    settings.bind(|| {
        insta::glob!("fixtures/grain/*.sql", |path| {
            let text = std::fs::read_to_string(path).unwrap();
            let header = text.lines().next().unwrap();
            let statements = Parser::parse_sql(&DuckDbDialect {}, &text).unwrap();
            let inference = grains(header).infer(&statements, false);
            let mut out = String::from("keys:\n");
            for k in &inference.grain.keys {
                let nulls = if k.with_nulls {
                    ""
                } else {
                    " (among non-NULL)"
                };
                out.push_str(&format!(
                    "  ({}){nulls}: {}\n",
                    k.columns.join(", "),
                    k.reason
                ));
            }
            out.push_str("not null:\n");
            for n in &inference.grain.not_null {
                out.push_str(&format!("  {}: {}\n", n.column, n.reason));
            }
            if !inference.nullable.is_empty() {
                out.push_str("nullable:\n");
                for n in &inference.nullable {
                    out.push_str(&format!("  {}: {}\n", n.name, n.join));
                }
            }
            if !inference.fan_outs.is_empty() {
                out.push_str("fan-out joins:\n");
                for f in &inference.fan_outs {
                    out.push_str(&format!(
                        "  {}:{} `{}` (from {}) on ({}) multiplies {}\n",
                        f.line,
                        f.column,
                        f.right,
                        f.upstream.as_deref().unwrap_or("?"),
                        f.columns.join(", "),
                        f.left
                    ));
                }
            }
            if !inference.findings.is_empty() {
                out.push_str("nondeterministic:\n");
                for f in &inference.findings {
                    out.push_str(&format!(
                        "  {}:{} {}\n    hint: {}\n",
                        f.line, f.column, f.message, f.hint
                    ));
                }
            }
            insta::assert_snapshot!(out);
        });
    });
}

mod common;

use common::TempProject;

/// One result of run_results.json: unique_id, status, and the proof's
/// reason and whether the test was executed.
type TestResult = (String, String, Option<(String, bool)>);

/// run_results.json's results.
fn results(p: &TempProject) -> Vec<TestResult> {
    let doc: serde_json::Value = serde_json::from_str(&p.read("target/run_results.json")).unwrap();
    doc["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let proof = r.get("proof").map(|p| {
                (
                    p["reason"].as_str().unwrap().to_owned(),
                    p["executed"].as_bool().unwrap(),
                )
            });
            (
                r["unique_id"].as_str().unwrap().to_owned(),
                r["status"].as_str().unwrap().to_owned(),
                proof,
            )
        })
        .collect()
}

/// The fan-out join of tests/projects/grain doubles the revenue of the
/// order with two payments, and compile names the join, the upstream
/// model without the key and the declared grain it breaks; with
/// `--warn-error` the command stops before building (exit 2, as dbt's
/// warn-error on any warning).
#[test]
fn a_fan_out_join_that_doubles_a_sum_is_warned_about_at_its_line() {
    let p = TempProject::copy_of("tests/projects/grain");
    assert_eq!(p.sluice(&["seed"]).code, 0);
    let run = p.sluice(&["run"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    // Order 10 (30) has two payments: 170 instead of 140.
    assert_eq!(p.scalar("select revenue from main.revenue"), 170);
    assert_eq!(
        p.scalar("select sum(amount) from main.orders"),
        140,
        "the true revenue"
    );
    let warning = run
        .stderr
        .split("\n\n")
        .find(|block| block.contains("can multiply the rows"))
        .unwrap_or_else(|| panic!("no fan-out warning in:\n{}", run.stderr));
    assert!(
        warning.contains("models/order_payments.sql:7:"),
        "{warning}"
    );
    assert!(
        warning.contains("`payments` is not known to be unique on `order_id`"),
        "{warning}"
    );
    assert!(
        warning.contains("unique_order_payments_order_id"),
        "{warning}"
    );
    assert!(warning.contains("hint:"), "{warning}");
    // Models whose declared grain is proven get no warning.
    assert_eq!(
        run.stderr.matches("can multiply the rows").count(),
        1,
        "{}",
        run.stderr
    );

    let strict = p.sluice(&["compile", "--warn-error"]);
    assert_eq!(strict.code, 2, "{}", strict.stderr);
    assert!(
        strict.stderr.contains("error: the join to `p`"),
        "{}",
        strict.stderr
    );
}

/// Every test the grain proves passes when it is executed, on this
/// project and on example_project; `--skip-proven` then reports them
/// without running them, and the summary line counts them.
#[test]
fn every_proven_test_passes_when_executed() {
    for project in ["tests/projects/grain", "example_project"] {
        let p = TempProject::copy_of(project);
        let run = p.sluice(&["build"]);
        let results = results(&p);
        let proven: Vec<_> = results.iter().filter(|r| r.2.is_some()).collect();
        assert!(proven.len() >= 6, "{project}: only {} proven", proven.len());
        for (id, status, proof) in &proven {
            assert_eq!(
                status, "pass",
                "{project}: {id} was proven ({proof:?}) but {status}"
            );
            assert!(proof.as_ref().unwrap().1, "{id} executed");
        }
        assert!(
            run.stderr.contains(&format!("PROVEN={}", proven.len())),
            "{}",
            run.stderr
        );
        let skipped = p.sluice(&["build", "--skip-proven"]);
        let again = self::results(&p);
        let not_run: Vec<_> = again
            .iter()
            .filter(|r| matches!(r.2, Some((_, false))))
            .collect();
        assert_eq!(not_run.len(), proven.len(), "{}", skipped.stderr);
        assert!(
            skipped.stderr.contains("PASS (proven, not run)"),
            "{}",
            skipped.stderr
        );
        // `sluice test` alone proves the same tests: the models they test
        // are compiled for their grain, not run.
        // (A test build skipped after a failure upstream is run here, and
        // may be proven too.)
        let test = p.sluice(&["test", "--skip-proven"]);
        let tested = self::results(&p);
        assert!(
            tested.iter().all(|r| r.0.starts_with("test.")),
            "{tested:?}"
        );
        let not_run: Vec<&String> = tested
            .iter()
            .filter(|r| matches!(r.2, Some((_, false))))
            .map(|r| &r.0)
            .collect();
        for (id, _, _) in &proven {
            assert!(
                not_run.contains(&id),
                "{id} not proven by `sluice test`: {not_run:?}"
            );
        }
        assert!(
            test.stderr
                .contains(&format!("PROVEN={0} (NOT RUN={0})", not_run.len())),
            "{}",
            test.stderr
        );
    }
}

/// The grain proves what its structure gives, and nothing weaker: a
/// `unique` test on the fan-out model, or on a column no key covers, is
/// executed (and here fails or passes on the data), never proven.
#[test]
fn tests_the_structure_does_not_prove_are_executed() {
    let p = TempProject::copy_of("tests/projects/grain");
    p.sluice(&["build"]);
    let results = results(&p);
    let find = |name: &str| {
        results
            .iter()
            .find(|r| r.0.contains(name))
            .unwrap_or_else(|| panic!("no {name}"))
    };
    let fan_out = find("unique_order_payments_order_id");
    assert_eq!(fan_out.1, "fail");
    assert!(fan_out.2.is_none());
    let method = find("unique_methods_method");
    assert_eq!(method.1, "pass");
    assert!(
        method.2.is_none(),
        "method is unique in the data, not by structure"
    );
    let name = find("not_null_customer_orders_name");
    assert!(name.2.is_none(), "customers.name declares nothing");
    let deduped = find("unique_latest_payment_order_id");
    assert!(
        deduped.2.as_ref().unwrap().0.contains("qualify"),
        "{deduped:?}"
    );
}

/// `build --verify-idempotent` builds twice into a scratch copy and
/// catches a model whose rows change between builds (`random()`), with
/// the rows that differ; deterministic models pass; the project's own
/// database is not written.
#[test]
fn verify_idempotent_catches_a_random_model() {
    let p = TempProject::copy_of("tests/projects/grain");
    p.write(
        "models/sampled.sql",
        "{{ config(materialized='table') }}\nselect id, random() as sample_key from {{ ref('orders') }}\n",
    );
    let run = p.sluice(&[
        "build",
        "--verify-idempotent",
        "--select",
        "+sampled",
        "+customer_orders",
    ]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr.contains("Not idempotent: 1 of 2 models differ"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("model.grain_shop.sampled"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("first only:  (1"), "{}", run.stderr);
    // The compile warning says why.
    assert!(
        run.stderr.contains("`random()` gives a new random number"),
        "{}",
        run.stderr
    );
    assert!(!p.db_path().exists(), "the project's database was written");
    assert!(p
        .root()
        .join("target/verify_idempotent/grain_shop.duckdb")
        .exists());

    let clean = p.sluice(&[
        "build",
        "--verify-idempotent",
        "--select",
        "+customer_orders",
    ]);
    assert_eq!(clean.code, 0, "{}", clean.stderr);
    assert!(
        clean.stderr.contains("Idempotent: the 1 selected models"),
        "{}",
        clean.stderr
    );

    let misuse = p.sluice(&["run", "--verify-idempotent"]);
    assert_eq!(misuse.code, 2, "{}", misuse.stderr);
}

/// A `not_null` test on a column read from the NULL side of a left join
/// is flagged at compile time, at the join; wrapped in `coalesce` it is
/// proven instead.
#[test]
fn not_null_on_the_null_side_of_a_left_join_is_flagged() {
    let p = TempProject::copy_of("tests/projects/grain");
    p.write(
        "models/order_methods.sql",
        "select o.id as order_id, p.method, coalesce(p.method, 'none') as method_or_none\n\
         from {{ ref('orders') }} o\n\
         left join {{ ref('latest_payment') }} p on p.order_id = o.id\n",
    );
    p.write(
        "models/order_methods.yml",
        "version: 2\nmodels:\n  - name: order_methods\n    columns:\n      - name: method\n        data_tests: [not_null]\n      - name: method_or_none\n        data_tests: [not_null]\n",
    );
    let run = p.sluice(&["compile"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let flagged: Vec<&str> = run
        .stderr
        .split("\n\n")
        .filter(|b| b.contains("expects no NULLs"))
        .collect();
    assert_eq!(flagged.len(), 1, "{}", run.stderr);
    assert!(
        flagged[0].contains("`method` of model `order_methods`"),
        "{}",
        flagged[0]
    );
    assert!(
        flagged[0].contains("models/order_methods.sql:3:"),
        "{}",
        flagged[0]
    );
    let manifest: serde_json::Value =
        serde_json::from_str(&p.read("target/manifest.json")).unwrap();
    let proven: Vec<&str> = manifest["nodes"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(id, n)| id.contains("order_methods") && n.get("proof").is_some())
        .map(|(id, _)| id.as_str())
        .collect();
    assert_eq!(proven.len(), 1, "{proven:?}");
    assert!(proven[0].contains("method_or_none"), "{proven:?}");
}
