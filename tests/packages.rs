//! End-to-end: a project whose packages are installed in dbt_packages/ (as
//! `dbt deps` leaves them) builds offline, with dbt's macro namespaces,
//! dispatch search orders and the Python-Jinja idioms package macros use.

mod common;

use common::TempProject;

fn rows(p: &TempProject, sql: &str) -> Vec<Vec<String>> {
    p.query(sql)
        .into_iter()
        .map(|r| r.into_iter().map(|v| v.unwrap_or_default()).collect())
        .collect()
}

#[test]
fn installed_packages_build_with_namespaces_and_python_idioms() {
    let p = TempProject::copy_of("tests/projects/packages");
    let build = p.sluice(&["build"]);
    assert_eq!(build.code, 0, "{}\n{}", build.stdout, build.stderr);

    // `helpers.cents` (installed package), `base_utils.double` (its
    // dependency) and `shared_utils.shout` (a `local:` package), called
    // qualified from a root model, as dbt's package namespaces.
    assert_eq!(
        rows(&p, "select id, customer, amount_cents, id_doubled, status_loud from main.orders order by id"),
        [
            ["1", "ann", "1050", "2", "PAID"],
            ["2", "bob", "325", "4", "REFUNDED"],
            ["3", "ann", "700", "6", "PAID"],
        ]
    );

    let idioms = rows(&p, "select * from main.idioms");
    assert_eq!(
        idioms,
        [[
            // `{% do list.append %}` and `{% do dict.update %}` mutate in place (Python semantics).
            "a-bz",
            // `"%s_%s" % (a, b)` formats as Python's printf-style `%`.
            "left_42",
            // A package macro building a list by append and a dict by update, then pop().
            "id,customer,amount|4",
            // dispatch('greeting', 'helpers') follows the project's `dispatch:` search order
            // (base_utils before helpers; the root project is not in it).
            "greeting from base_utils",
            // dispatch('farewell', 'base_utils') without config searches the root project
            // first, then the namespace, as dbt's _get_search_packages.
            "farewell from root",
            // A package macro runs in the node's context, as dbt's: called from a root
            // model, its unqualified `inner_name()` is the root project's, though the
            // package defines one too (helper_totals below, a package model, gets the
            // package's).
            "root inner_name",
            // return() stops the macro, as dbt's: the first return wins.
            "first",
            // Extra keyword and positional arguments reach `kwargs` and `varargs`, as Jinja2's.
            "x|mint|2",
            // api.Column's is_string()/is_number() on DuckDB types, as dbt-duckdb's column class.
            "id:n,customer:s,amount:n,status:s",
            // graph.nodes holds the enabled models (root and package), as dbt's flat graph.
            "4",
            // Python sets compare equal whatever the order of their values, as
            // dbt_utils' `equality` test compares two relations' column sets
            // (after dropping the `exclude` columns, compared lower-cased) ...
            "same",
            // ... and without the exclusion the extra column makes them differ.
            "different",
            // Lists that are Python lists in dbt take append/insert/pop:
            // get_columns_in_relation, `| list` after map/reject/select/unique,
            // `| sort`, `.split()`, `.keys() | list`, `| dictsort`, `range() | list`.
            "id,customer,amount,status|amount,customer,id,status,s|customer,amount,status,r|id,p|u,id,customer,amount,status|x,y,z|b,a,k|a,b,z|0,1,2,9",
        ]]
    );

    // A post-hook whose `statement` block inserts into `this` runs when the
    // hook runs, after the table exists (dbt renders hooks inside the
    // materialization), as dbt_project_evaluator's graph tables are filled.
    // The graph's node configs carry dbt's defaults for keys nobody set
    // (`enabled`, `on_schema_change`).
    assert_eq!(
        rows(&p, "select * from main.graph_models order by unique_id"),
        [
            ["model.helpers.graph_models", "true", "ignore", "table"],
            ["model.helpers.helper_totals", "true", "ignore", "table"],
            ["model.pkg_shop.idioms", "true", "ignore", "view"],
            ["model.pkg_shop.orders", "true", "ignore", "view"],
        ]
    );
    // Jinja in a schema YAML value (a seed's `column_types`) is rendered when
    // the file is read, as dbt's SchemaYamlRenderer.
    assert_eq!(
        rows(
            &p,
            "select data_type from information_schema.columns where table_name = 'raw_orders_reordered' and column_name = 'amount'"
        ),
        [["DECIMAL(10,2)"]]
    );

    // A package model, with the package's own config (table) and the root's (+tags).
    assert_eq!(
        rows(
            &p,
            "select customer, total_cents, two, inner_name from main.helper_totals order by customer"
        ),
        [
            ["ann", "1750", "2", "helpers inner_name"],
            ["bob", "325", "2", "helpers inner_name"]
        ]
    );
    assert_eq!(
        rows(
            &p,
            "select table_type from information_schema.tables where table_name = 'helper_totals'"
        ),
        [["BASE TABLE"]]
    );
    let ls = p.sluice(&["ls", "-s", "tag:from_helpers", "--resource-type", "model"]);
    assert_eq!(ls.code, 0, "{}", ls.stderr);
    assert!(ls.stdout.contains("helper_totals"), "{}", ls.stdout);
    // The package's disabled `orders` never collides with the root's `orders`,
    // though the package's YAML describes it too (dbt checks enabled nodes only).
    assert!(!ls.stdout.contains("helpers.orders"), "{}", ls.stdout);

    // The tests declared in a package's YAML belong to the package, with the
    // root project's config for it (its tags), as dbt-core 1.12 names them.
    let ls = p.sluice(&["ls", "-s", "tag:helpers_tests", "--output", "json"]);
    assert_eq!(ls.code, 0, "{}", ls.stderr);
    assert!(
        ls.stdout.contains(
            "\"unique_id\":\"test.helpers.not_null_helper_totals_total_cents.9bebbc9363\""
        ),
        "{}",
        ls.stdout
    );
    assert_eq!(
        ls.stdout.lines().filter(|l| l.starts_with('{')).count(),
        1,
        "{}",
        ls.stdout
    );

    // A generic test from a package (`helpers.is_positive`) ran and passed.
    assert!(
        build
            .stdout
            .contains("helpers_is_positive_orders_amount_cents")
            || build
                .stderr
                .contains("helpers_is_positive_orders_amount_cents"),
        "{}\n{}",
        build.stdout,
        build.stderr
    );

    // Test arguments and configs written as Jinja render natively, as dbt's
    // (checked against dbt-core 1.12): `values: "{{ var('order_statuses') }}"`
    // is the var's list and `day: "{{ date(2024, 1, 10) - timedelta(2) }}"` a
    // date, so both tests pass (the build exits 0), and
    // `enabled: "{{ target.type in ['bigquery', 'trino'] }}"` is false, so
    // that test does not exist.
    let tests = p.sluice(&["ls", "--resource-type", "test"]);
    assert_eq!(tests.code, 0, "{}", tests.stderr);
    let native: Vec<&str> = tests
        .stdout
        .lines()
        .filter(|l| l.contains("accepted_values") || l.contains("is_day"))
        .collect();
    assert_eq!(
        native,
        [
            "pkg_shop.accepted_values_orders_status_loud___var_order_statuses_",
            "pkg_shop.helpers_is_day_orders__modules_datetime_date_2024_1_10_modules_datetime_timedelta_2___2024_01_08",
        ]
    );
}

#[test]
fn a_missing_package_says_to_run_deps() {
    // As dbt: a package listed in packages.yml but not installed stops the
    // run before anything is built, and says to run deps.
    let p = TempProject::copy_of("tests/projects/packages");
    std::fs::remove_dir_all(p.root().join("dbt_packages/helpers")).unwrap();
    let run = p.sluice(&["build"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("package `helpers`"), "{}", run.stderr);
    assert!(run.stderr.contains("sluice deps"), "{}", run.stderr);
}

#[test]
fn an_unknown_package_macro_names_the_namespace_and_suggests() {
    let p = TempProject::copy_of("tests/projects/packages");
    p.write(
        "models/typo.sql",
        "select {{ helpers.cent('amount') }} as x",
    );
    let run = p.sluice(&["compile"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("macro `cent` is not defined in package `helpers`"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("did you mean `helpers.cents`?"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("models/typo.sql:1"), "{}", run.stderr);
}

#[test]
fn errors_inside_package_macros_show_the_call_chain() {
    // The error is located in the package's macro file, with the chain of
    // calls back to the model line.
    let p = TempProject::copy_of("tests/projects/packages");
    p.write(
        "dbt_packages/helpers/macros/broken.sql",
        "{% macro outer_call() %}\n{{ inner_call() }}\n{% endmacro %}\n{% macro inner_call() %}\n\n{{ 1 + 'x' }}\n{% endmacro %}\n",
    );
    p.write(
        "models/uses_broken.sql",
        "\n\nselect {{ helpers.outer_call() }} as x",
    );
    let run = p.sluice(&["compile", "-s", "uses_broken"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("dbt_packages/helpers/macros/broken.sql:6"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("called from dbt_packages/helpers/macros/broken.sql:2"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("called from models/uses_broken.sql:3"),
        "{}",
        run.stderr
    );
}
