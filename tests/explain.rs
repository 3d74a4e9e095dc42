//! `sluice explain model.column` (sluice's extension) on example_project:
//! the composed query it prints computes the same values as the built
//! model, from seeds and sources alone; its steps name the expressions,
//! joins, filters and grouping on the path; `--rows` shows the value and
//! the input rows behind it.

mod common;

use common::TempProject;

fn explain_json(p: &TempProject, column: &str) -> serde_json::Value {
    let run = p.sluice(&["explain", column, "--output", "json"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("{e}: {}", run.stdout))
}

/// The composed query of `column` computes `model`'s `value` for every
/// `key`, reading no built model.
fn assert_composed_matches(p: &TempProject, column: &str, model: &str, key: &str, value: &str) {
    let doc = explain_json(p, column);
    let sql = doc["composed_sql"].as_str().unwrap();
    // From the inputs alone: no model's relation is read.
    let manifest: serde_json::Value =
        serde_json::from_str(&p.read("target/manifest.json")).unwrap();
    let models = manifest["nodes"].as_object().unwrap().values();
    let built: Vec<&str> = models
        .filter(|n| n["resource_type"] == "model")
        .filter_map(|n| n["relation_name"].as_str())
        .collect();
    assert!(built.len() >= 5, "{built:?}");
    for relation in built {
        assert!(!sql.contains(relation), "{column} reads {relation}: {sql}");
    }
    let rows = p.scalar(&format!("select count(*) from ({sql}) c"));
    assert_eq!(
        rows,
        p.scalar(&format!("select count(*) from {model}")),
        "{column}"
    );
    assert!(rows > 0);
    let differing = p.scalar(&format!(
        "select count(*) from ({sql}) c full join {model} m using ({key}) \
         where c.{value} is distinct from m.{value}"
    ));
    assert_eq!(differing, 0, "{column}: composed query and model differ");
}

#[test]
fn the_composed_query_computes_the_models_values() {
    let p = TempProject::new();
    assert_eq!(p.sluice(&["build"]).code, 0);
    for (column, model, key, value) in [
        (
            "customers.lifetime_value",
            "main_marts.customers",
            "customer_id",
            "lifetime_value",
        ),
        ("orders.amount", "main_marts.orders", "order_id", "amount"),
        (
            "monthly_revenue.revenue",
            "main_marts.monthly_revenue",
            "order_month",
            "revenue",
        ),
    ] {
        assert_composed_matches(&p, column, model, key, value);
    }
}

/// An ephemeral model is inlined in its readers' SQL as a CTE: the
/// composed query inlines the models it reads too, so it still reads no
/// built model, also when the ephemeral model is not on the column's path
/// (`customers.full_name` comes from stg_customers, but customers' SQL
/// reads the ephemeral orders, which reads stg_orders and stg_payments).
#[test]
fn the_composed_query_reads_through_ephemeral_models() {
    let p = TempProject::new();
    let path = "models/marts/orders.sql";
    let sql = p.read(path);
    p.write(
        path,
        &format!("{{{{ config(materialized='ephemeral') }}}}\n{sql}"),
    );
    let build = p.sluice(&[
        "build",
        "--select",
        "+customers",
        "--exclude",
        "test_type:data",
    ]);
    assert_eq!(build.code, 0, "{}{}", build.stdout, build.stderr);
    for (column, value) in [
        ("customers.full_name", "full_name"),
        ("customers.lifetime_value", "lifetime_value"),
    ] {
        assert_composed_matches(&p, column, "main_marts.customers", "customer_id", value);
    }
}

#[test]
fn steps_name_each_expression_join_filter_and_group() {
    let p = TempProject::new();
    let doc = explain_json(&p, "customers.lifetime_value");
    let models = doc["models"].as_array().unwrap();
    assert_eq!(models[0]["node"], "model.shop_analytics.customers");
    let steps = models[0]["steps"].as_array().unwrap();
    assert_eq!(
        steps[0]["expression"],
        "coalesce(customer_orders.lifetime_value, 0)"
    );
    assert!(steps[0]["from"]
        .as_str()
        .unwrap()
        .contains("LEFT JOIN customer_orders ON"));
    assert_eq!(steps[1]["relation"], "customer_orders");
    assert_eq!(steps[1]["group_by"], "customer_id");
    let orders = models
        .iter()
        .find(|m| m["node"] == "model.shop_analytics.stg_orders")
        .expect("stg_orders on the path (status filter)");
    assert!(orders["steps"][0]["filter"]
        .as_str()
        .unwrap()
        .contains("order_date >="));
    let inputs: Vec<&str> = doc["inputs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["node"].as_str().unwrap())
        .collect();
    assert!(
        inputs.contains(&"seed.shop_analytics.raw_payments"),
        "{inputs:?}"
    );

    let wrong = p.sluice(&["explain", "customers.lifetime_valu"]);
    assert_eq!(wrong.code, 2);
    assert!(
        wrong
            .stderr
            .contains("did you mean `customers.lifetime_value`?"),
        "{}",
        wrong.stderr
    );
}

/// The text a person reads: each model's steps from the column down to
/// the seeds, then the composed query. A snapshot, so a change to how a
/// number is explained shows in review.
#[test]
fn the_explanation_reads_as_text() {
    let p = TempProject::new();
    let run = p.sluice(&["explain", "customers.lifetime_value"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    insta::with_settings!({snapshot_path => "../snapshots", prepend_module_to_snapshot => false}, {
        insta::assert_snapshot!("explain_customers_lifetime_value", run.stdout);
    });
}

#[test]
fn rows_shows_the_value_and_the_input_rows_behind_it() {
    let p = TempProject::new();
    assert_eq!(p.sluice(&["build"]).code, 0);
    let run = p.sluice(&[
        "explain",
        "customers.lifetime_value",
        "--rows",
        "customer_id = 3",
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let expected = p.query("select lifetime_value from main_marts.customers where customer_id = 3")
        [0][0]
        .clone()
        .unwrap();
    let value = run
        .stdout
        .split("The value where customer_id = 3 (1 rows):")
        .nth(1)
        .expect("value shown");
    assert!(
        value
            .lines()
            .nth(2)
            .unwrap()
            .ends_with(&format!("| {expected}")),
        "{value}"
    );
    // The input rows behind it: customers by the predicate's own column,
    // orders through the join on customer_id, payments (which have no
    // customer_id) through the join on order_id.
    let orders = p.scalar("select count(*) from main_raw.raw_orders where customer_id = 3");
    let payments = p.scalar(
        "select count(*) from main_raw.raw_payments where order_id in \
         (select id from main_raw.raw_orders where customer_id = 3)",
    );
    assert!(payments > 0 && orders > 0);
    for shown in [
        "seed raw_customers where id = 3 (1 rows)".to_owned(),
        format!(
            "model orders where customer_id in (stg_customers.customer_id above) ({orders} rows)"
        ),
        format!("seed raw_orders where id in (stg_orders.order_id above) ({orders} rows)"),
        format!(
            "seed raw_payments where order_id in (stg_payments.order_id above) ({payments} rows)"
        ),
    ] {
        assert!(run.stdout.contains(&shown), "{shown}\n{}", run.stdout);
    }
    // The payments shown are the customer's: every order_id is one of theirs.
    let ids: std::collections::BTreeSet<String> = p
        .query("select id from main_raw.raw_orders where customer_id = 3")
        .into_iter()
        .map(|r| r[0].clone().unwrap())
        .collect();
    let section = run.stdout.split("seed raw_payments where").nth(1).unwrap();
    let rows: Vec<&str> = section
        .lines()
        .skip(2)
        .take_while(|l| !l.trim().is_empty())
        .collect();
    assert_eq!(rows.len() as i64, payments, "{section}");
    for row in rows {
        let order_id = row.split(" | ").nth(1).unwrap().trim();
        assert!(
            ids.contains(order_id),
            "{row} is not an order of customer 3"
        );
    }
}

/// A `-- why:` note is pinned to its expression's syntax tree: reformatting
/// keeps it, changing the expression warns at the expression that the
/// note may be stale (an error under `--warn-error`) until the note is
/// edited; a column's `meta.why` works the same; manifest.json lists them.
#[test]
fn why_notes_warn_when_their_expression_changes_and_the_note_does_not() {
    let p = TempProject::new();
    let path = "models/marts/customers.sql";
    let original = p.read(path);
    let noted = original.replace(
        "    coalesce(customer_orders.lifetime_value, 0) as lifetime_value",
        "    -- why: customers without orders have spent nothing\n    coalesce(customer_orders.lifetime_value, 0) as lifetime_value",
    );
    assert_ne!(noted, original);
    p.write(path, &noted);
    let first = p.sluice(&["compile"]);
    assert_eq!(first.code, 0, "{}", first.stderr);
    assert!(!first.stderr.contains("may be stale"), "{}", first.stderr);
    let manifest: serde_json::Value =
        serde_json::from_str(&p.read("target/manifest.json")).unwrap();
    let why = &manifest["nodes"]["model.shop_analytics.customers"]["why"][0];
    assert_eq!(
        why["expression"],
        "coalesce(customer_orders.lifetime_value, 0)"
    );

    // Reformatted: the same tree, no warning.
    p.write(
        path,
        &noted.replace("lifetime_value, 0)", "lifetime_value,   0 )"),
    );
    assert!(!p.sluice(&["compile"]).stderr.contains("may be stale"));

    // Changed under the note: warned at the expression's line, every compile.
    // The pins live in the project, beside the code: `sluice clean`
    // (which empties target/) does not forget them.
    let pins = p.read("why-notes.lock.yml");
    assert!(
        pins.contains("model.shop_analytics.customers:")
            && pins.contains("customers without orders have spent nothing"),
        "{pins}"
    );
    assert_eq!(p.sluice(&["clean"]).code, 0);
    assert!(!p.root().join("target").join("manifest.json").exists());
    p.write(
        path,
        &noted.replace("lifetime_value, 0)", "lifetime_value, -1)"),
    );
    for _ in 0..2 {
        let run = p.sluice(&["compile"]);
        assert_eq!(run.code, 0);
        let line = noted
            .lines()
            .position(|l| l.contains("coalesce(customer_orders.lifetime_value"))
            .unwrap()
            + 1;
        assert!(
            run.stderr
                .contains(&format!("models/marts/customers.sql:{line}:")),
            "{}",
            run.stderr
        );
        assert!(
            run.stderr.contains(
                "may be stale: it was written for `coalesce(customer_orders.lifetime_value, 0)`"
            ),
            "{}",
            run.stderr
        );
    }
    assert_eq!(p.sluice(&["compile", "--warn-error"]).code, 2);

    // The note is edited: pinned again, no warning.
    p.write(
        path,
        &noted
            .replace("lifetime_value, 0)", "lifetime_value, -1)")
            .replace("have spent nothing", "are marked -1"),
    );
    assert!(!p.sluice(&["compile"]).stderr.contains("may be stale"));

    // meta.why on a column pins the column's expression.
    let yml = p.read("models/marts/_marts.yml").replace(
        "      - name: lifetime_value\n",
        "      - name: lifetime_value\n        meta:\n          why: returned orders do not count\n",
    );
    p.write("models/marts/_marts.yml", &yml);
    assert!(!p.sluice(&["compile"]).stderr.contains("may be stale"));
    p.write(
        path,
        &original.replace("lifetime_value, 0)", "lifetime_value, 1)"),
    );
    let run = p.sluice(&["compile"]);
    assert!(
        run.stderr
            .contains("the note \"returned orders do not count\" may be stale"),
        "{}",
        run.stderr
    );

    // No note left: the pins file goes.
    p.write(
        "models/marts/_marts.yml",
        &yml.replace(
            "        meta:\n          why: returned orders do not count\n",
            "",
        ),
    );
    assert_eq!(p.sluice(&["compile"]).code, 0);
    assert!(!p.root().join("why-notes.lock.yml").exists());
}

/// Pins that cannot be read (a merge conflict in why-notes.lock.yml) are a
/// located warning, and the file is left as it is: rewriting it would
/// re-pin every stale note.
#[test]
fn unreadable_why_pins_are_reported_and_kept() {
    let p = TempProject::new();
    let path = "models/marts/customers.sql";
    p.write(
        path,
        &p.read(path).replace(
            "    coalesce(customer_orders.lifetime_value, 0) as lifetime_value",
            "    coalesce(customer_orders.lifetime_value, 0) as lifetime_value -- why: no orders, no spend",
        ),
    );
    assert_eq!(p.sluice(&["compile"]).code, 0);
    let pins = p.read("why-notes.lock.yml");
    let conflicted = format!("<<<<<<< HEAD\n{pins}=======\n{pins}>>>>>>> theirs\n");
    p.write("why-notes.lock.yml", &conflicted);
    let run = p.sluice(&["compile"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stderr.contains("why-notes.lock.yml:"), "{}", run.stderr);
    assert!(
        run.stderr
            .contains("no why-note was checked and the file is left as it is"),
        "{}",
        run.stderr
    );
    assert_eq!(p.read("why-notes.lock.yml"), conflicted);
    assert_eq!(p.sluice(&["compile", "--warn-error"]).code, 2);
}
