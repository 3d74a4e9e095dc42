//! Tests of the Python-Jinja rewrite and of the mutable list and dict.

use super::*;

fn render(src: &str) -> String {
    let mut env = Environment::new();
    env.set_unknown_method_callback(unknown_method);
    register(&mut env);
    let rewritten = rewrite(src, false);
    env.render_str(&rewritten, ()).unwrap()
}

#[test]
fn rewrites_literals_but_not_subscripts() {
    assert_eq!(
        rewrite("{% set x = [1, [2]] %}{{ x[0] }}{{ f()[1] }}{{ {'a': [3]}['a'] }}", false),
        "{% set x = __sluice_list([1, __sluice_list([2])]) %}{{ x[0] }}{{ f()[1] }}{{ __sluice_dict([('a', __sluice_list([3]))])['a'] }}"
    );
    assert_eq!(
        rewrite("{% for x in [1] %}{% endfor %}", false),
        "{% for x in __sluice_list([1]) %}{% endfor %}"
    );
    assert_eq!(
        rewrite("select a[1] from t where 5 % 2 = 1", false),
        "select a[1] from t where 5 % 2 = 1"
    );
}

#[test]
fn list_mutation_is_seen_through_every_name() {
    // As dbt's Jinja (Python lists): `do x.append(...)` changes the list in place.
    let out = render(
        "{% set cols = [] %}{% set alias = cols %}{% for c in ['a', 'b'] %}{% do cols.append(c) %}{% endfor %}\
         {% do cols.extend(['c']) %}{% do cols.insert(0, 'z') %}{% set last = cols.pop() %}{% do cols.remove('a') %}\
         {{ alias | join(',') }}|{{ last }}|{{ cols | length }}|{{ cols[-1] }}|{{ cols }}",
    );
    assert_eq!(out, "z,b|c|2|b|['z', 'b']");
}

#[test]
fn dict_literals_keep_the_order_their_keys_are_written_in() {
    // As Python's dicts (dbt renders `{'b': 1, 'a': 2}.keys() | list` as
    // `['b', 'a']`); a repeated key keeps its first place and last value.
    assert_eq!(
        rewrite("{% set d = {'b': {'y': 1, 'x': [1, {}]}, 'a': '%s' % v, c: (1, 2),} %}", false),
        "{% set d = __sluice_dict([('b', __sluice_dict([('y', 1), ('x', __sluice_list([1, __sluice_dict({})]))])), ('a', __sluice_mod('%s' , v)), (c, (1, 2)),]) %}"
    );
    let out = render(
        "{% set d = {'b': 1, 'a': 2, 'c': {'z': 0, 'y': '%d' % 7}, 'b': 3} %}{{ d.keys() | join(',') }}|{{ d }}|{{ d | tojson }}|{{ {} | length }}|{{ {'k': 'v',}['k'] }}",
    );
    assert_eq!(
        out,
        r#"b,a,c|{'b': 3, 'a': 2, 'c': {'z': 0, 'y': '7'}}|{"b":3,"a":2,"c":{"z":0,"y":"7"}}|0|v"#
    );
}

#[test]
fn dict_mutation_keeps_insertion_order() {
    let out = render(
        "{% set d = {} %}{% do d.update({'b': 1}) %}{% do d.update(a=2) %}{% set _ = d.setdefault('c', 3) %}\
         {% set p = d.pop('b') %}{% for k, v in d.items() %}{{ k }}={{ v }};{% endfor %}{{ p }}|{{ d.get('x', 'none') }}|{{ d['a'] }}|{{ d | tojson }}",
    );
    assert_eq!(out, r#"a=2;c=3;1|none|2|{"a":2,"c":3}"#);
}

#[test]
fn percent_formats_strings_and_keeps_modulo() {
    // As Python: `%` with a string on the left formats; with numbers it is modulo.
    let out = render(
        "{{ '%s_%s' % ('a', 1) }}|{{ \"'%s'\" % x|default('d') }}|{{ 'n=%d' % [2][0] }}|{{ 7 % 3 }}|{{ -7 % 3 }}",
    );
    assert_eq!(out, "a_1|'d'|n=2|1|2");
}

#[test]
fn datetime_arithmetic_is_rewritten_only_where_it_keeps_its_meaning() {
    assert_eq!(
        rewrite(
            "{% set s = (end - modules.datetime.timedelta(days=10)) %}",
            false
        ),
        "{% set s = (__sluice_sub(end , modules.datetime.timedelta(days=10))) %}"
    );
    assert_eq!(
        rewrite("{{ (b - a).days }}", false),
        "{{ (__sluice_sub(b , a)).days }}"
    );
    // A bare expression too (a test argument `'{{ today() - timedelta(2) }}'`,
    // evaluated natively).
    assert_eq!(
        rewrite("date.today() - timedelta(2)", true),
        "__sluice_sub(date.today() , timedelta(2))"
    );
    assert_eq!(
        rewrite("{{ x.y[0] - f(1)|int }}", false),
        "{{ __sluice_sub(x.y[0] , f(1)|int) }}"
    );
    // Unary minus, chains, mixes with `*`, and `+` without a timedelta stay as they are.
    for kept in [
        "{{ -x }}",
        "{{ a - b - c }}",
        "{{ a * b - c }}",
        "{{ a - b * c }}",
        "{{ 'a' + 'b' }}",
        "{{ a - b is none }}",
    ] {
        assert_eq!(rewrite(kept, false), kept);
    }
    assert_eq!(
        rewrite(
            "{{ run_started_at + modules.datetime.timedelta(hours=1) }}",
            false
        ),
        "{{ __sluice_add(run_started_at , modules.datetime.timedelta(hours=1)) }}"
    );
}

#[test]
fn macro_arguments_are_read_from_the_signature() {
    assert_eq!(
        macro_arguments(
            "\n{% macro m(a, b=1, c=[1, (2, 3)], d={'x': 1}) %}{{ kwargs }}{% endmacro %}"
        ),
        ["a", "b", "c", "d"]
    );
    assert!(macro_arguments("{% macro m() %}{% endmacro %}").is_empty());
}

#[test]
fn broken_templates_are_left_for_minijinja_to_report() {
    assert_eq!(rewrite("{{ [1, 2 }}", false), "{{ [1, 2 }}");
}
#[test]
fn split_gives_a_list_and_tuples_answer_index() {
    // As Python: `'a,b'.split(',')` is a list macros append to; a tuple
    // (agate's `column.values()`) has `index` and `count`.
    let out = render(
        "{% set t = ('x', 'y') %}{% set p = 'a,b'.split(',') %}{% do p.append('c') %}{{ p | join }}|{{ t.index('y') }}|{{ t.count('x') }}",
    );
    assert_eq!(out, "abc|1|1");
}

#[test]
fn json_data_becomes_python_lists_and_dicts() {
    // As dbt: data read from JSON/YAML are Python lists and dicts.
    let v = python_value(Value::from_serialize(
        serde_json::json!({"b": [1, {"c": 2}], "a": "s"}),
    ));
    let mut env = Environment::new();
    env.set_unknown_method_callback(unknown_method);
    let out = env
        .render_str(
            "{% do v.b.append(3) %}{% do v.b[1].update({'d': 4}) %}{{ v }}|{% for k, x in v.items() %}{{ k }};{% endfor %}",
            minijinja::context! { v },
        )
        .unwrap();
    assert_eq!(out, "{'a': 's', 'b': [1, {'c': 2, 'd': 4}, 3]}|a;b;");
}
