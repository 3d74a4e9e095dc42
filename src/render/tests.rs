//! Tests of the renderer: macros, `return`, scopes, secrets, Jinja
//! error hints, rendered against small in-memory projects.

use std::path::Path;

use super::*;
use crate::project::SourceFile;

pub(super) fn renderer(macros: &[(&str, &str)]) -> Renderer {
    let files: Vec<SourceFile> = macros
        .iter()
        .map(|(p, t)| SourceFile {
            path: p.into(),
            text: t.to_string(),
        })
        .collect();
    let vars = BTreeMap::from([("x".to_owned(), Json::from(5))]);
    let target = Target::embedded(Path::new("."), "shop");
    Renderer::from_parts("shop", &[("shop", &files)], &vars, &target, &[]).unwrap()
}

pub(super) fn scope(phase: Phase) -> Arc<NodeScope> {
    let resolver = Resolver {
        database: "shop".into(),
        schema: "main".into(),
        ..Resolver::default()
    };
    Arc::new(NodeScope::new(
        phase,
        "model.shop.m",
        Default::default(),
        Arc::new(resolver),
    ))
}

pub(super) fn vars() -> NodeVars {
    NodeVars {
        this: None,
        model: Value::from(()),
        test_kwargs: None,
    }
}

#[test]
fn jinja_errors_carry_a_hint_for_their_kind() {
    let r = renderer(&[("macros/m.sql", "{% macro two(a, b) %}{{ a }}{% endmacro %}")]);
    let err = |sql: &str| {
        r.render("models/m.sql", sql, &scope(Phase::Compile), &vars())
            .unwrap_err()
    };
    let e = err("{{ 'x' | upcase }}");
    assert_eq!(e.hint(), Some("did you mean `upper`?"), "{}", e.render());
    let e = err("{{ two(1, 2, 3) }}");
    assert!(
        e.hint()
            .unwrap_or("")
            .contains("`two` is given more arguments"),
        "{}",
        e.render()
    );
    let e = err("{% for x in [1] %}\n{{ x }}\n");
    assert_eq!(
        e.location().map(|l| (l.line, l.col)),
        Some((1, 1)),
        "{}",
        e.render()
    );
    assert!(
        e.notes().iter().any(|n| n.contains("never closed")),
        "{}",
        e.render()
    );
}

#[test]
fn return_hands_back_a_value() {
    let r = renderer(&[(
        "macros/m.sql",
        "{% macro pair() %}ignored{{ return([1, 2]) }}{% endmacro %}",
    )]);
    let out = r
        .render(
            "models/m.sql",
            "{{ pair() | length }}",
            &scope(Phase::Compile),
            &vars(),
        )
        .unwrap();
    assert_eq!(out, "2");
}

#[test]
fn secret_env_vars_only_in_profiles_and_packages() {
    // dbt: DBT_ENV_SECRET_* in profiles.yml/packages.yml only.
    std::env::set_var("DBT_ENV_SECRET_SLUICE_UNIT", "s3cret");
    let no_vars = BTreeMap::new();
    let profile = render_config_string("{{ env_var('DBT_ENV_SECRET_SLUICE_UNIT') }}", &no_vars);
    assert_eq!(profile.unwrap(), "s3cret");
    let target = Target::embedded(Path::new("."), "shop");
    let project = render_project_value(
        "{{ env_var('DBT_ENV_SECRET_SLUICE_UNIT') }}",
        &no_vars,
        &target,
    );
    assert!(project
        .unwrap_err()
        .message()
        .contains("outside profiles.yml"));
    let r = renderer(&[]);
    let model = r.render(
        "models/m.sql",
        "{{ env_var('DBT_ENV_SECRET_SLUICE_UNIT') }}",
        &scope(Phase::Compile),
        &vars(),
    );
    assert!(model
        .unwrap_err()
        .message()
        .contains("outside profiles.yml"));
}

#[test]
fn list_sums_are_new_python_lists_and_undefined_has_length_zero() {
    // Python: `a + [3]` and `a + b` are new lists that take `append`
    // (minijinja's `+` gives a lazy sequence without it); Jinja2's
    // Undefined has `len()` 0, as dbt renders it.
    let r = renderer(&[]);
    let src = "{% set a = [1, 2] %}{% set b = a + [3] %}{% do b.append(4) %}\
               {% set c = a + b %}{% do c.append(9) %}{{ b | join(',') }}|{{ c | join(',') }}|{{ a | join(',') }}|\
               {{ nothing_here | length }}|{{ nothing_here | count }}|{{ 'ab' + 'c' }}|{{ 1 + 2 }}";
    let out = r
        .render("models/m.sql", src, &scope(Phase::Compile), &vars())
        .unwrap();
    assert_eq!(out, "1,2,3,4|1,2,1,2,3,4,9|1,2|0|0|abc|3");
}

#[test]
fn default_schema_naming_matches_dbt() {
    // Pins dbt's default generate_schema_name: target schema, `_custom` appended.
    let r = renderer(&[]);
    let none = r
        .call_macro("generate_schema_name", &[Value::from(()), Value::from(())])
        .unwrap();
    assert_eq!(none.to_string().trim(), "main");
    let custom = r
        .call_macro(
            "generate_schema_name",
            &[Value::from("marts"), Value::from(())],
        )
        .unwrap();
    assert_eq!(custom.to_string().trim(), "main_marts");
}

#[test]
fn project_macros_override_builtins() {
    let r = renderer(&[(
        "macros/schema.sql",
        "{% macro generate_schema_name(custom_schema_name, node) %}{{ custom_schema_name or target.schema }}{% endmacro %}",
    )]);
    let custom = r
        .call_macro(
            "generate_schema_name",
            &[Value::from("marts"), Value::from(())],
        )
        .unwrap();
    assert_eq!(custom.to_string().trim(), "marts");
}

#[test]
fn dispatch_prefers_default_implementation_overrides() {
    let r = renderer(&[(
        "macros/t.sql",
        "{% macro default__test_not_null(model, column_name) %}custom {{ column_name }}{% endmacro %}",
    )]);
    let out = r
        .render(
            "models/m.sql",
            "{{ test_not_null('t', 'c') | trim }}",
            &scope(Phase::Compile),
            &vars(),
        )
        .unwrap();
    assert_eq!(out, "custom c");
}

#[test]
fn parse_phase_captures_refs_sources_and_config() {
    let r = renderer(&[]);
    let s = scope(Phase::Parse);
    let sql = "{{ config(materialized='table', tags=['a']) }}select * from {{ ref('a') }} join {{ source('raw', 'b') }} where {{ var('x') }} = 5";
    let out = r.render("models/m.sql", sql, &s, &vars()).unwrap();
    assert_eq!(
        out,
        r#"select * from "shop"."main"."a" join "shop"."raw"."b" where 5 = 5"#
    );
    let c = s.captured();
    assert_eq!(
        c.refs,
        vec![RefCall {
            package: None,
            name: "a".into(),
            version: None,
        }]
    );
    assert_eq!(c.sources, vec![("raw".to_owned(), "b".to_owned())]);
    assert_eq!(c.config.materialized(), "table");
    assert_eq!(c.config.tags(), vec!["a"]);
}

#[test]
fn errors_in_macros_point_at_the_macro_file() {
    let r = renderer(&[(
        "macros/bad.sql",
        "\n\n{% macro boom() %}\n  {{ 'a' + 1 }}\n{% endmacro %}",
    )]);
    let err = r
        .render(
            "models/m.sql",
            "select {{ boom() }}",
            &scope(Phase::Compile),
            &vars(),
        )
        .unwrap_err();
    let loc = err.location().expect("located");
    assert_eq!(loc.path, Path::new("macros/bad.sql"));
    assert_eq!(loc.line, 4);
}
