//! Jinja2's builtin filters where minijinja's behave differently, so that
//! package macros written for dbt (Python Jinja2) render the same.
//!
//! - `int` and `float` never fail: a value Python cannot convert gives the
//!   filter's `default` (0 / 0.0), as Jinja2's `do_int` / `do_float`.
//! - `round` takes Jinja2's `method` argument (`common`, `ceil`, `floor`);
//!   `common` is Python's `round()`, which rounds halves to even.
//! - the filters whose result is a Python list in Jinja2 return a
//!   [`MutableList`], which macros then `append` to or call `index` on:
//!   `list` (so every `x | map(...) | list`, `d.items() | list`,
//!   `range(n) | list`), `sort` and `dictsort` (`sorted()`), and the groups
//!   of `batch` and `slice`. `map`, `select`, `reject`, `selectattr`,
//!   `rejectattr`, `unique` and `reverse` are generators in Jinja2 (no
//!   `append`), so minijinja's read-only lists are kept for them.
//! - `length` (and `count`) of an undefined value is 0, as Jinja2's
//!   `Undefined.__len__` (dbt renders with the lenient `Undefined`).

use minijinja::filters;
use minijinja::value::{Kwargs, ValueKind};
use minijinja::{Environment, Error, ErrorKind, State, Value};

use crate::render::pycompat::MutableList;

/// Registers the filters, replacing minijinja's builtins of the same name.
pub fn register(env: &mut Environment<'_>) {
    env.add_filter("int", int);
    env.add_filter("float", float);
    env.add_filter("round", round);
    env.add_filter("list", list);
    env.add_filter("sort", sort);
    env.add_filter("dictsort", dictsort);
    env.add_filter("batch", batch);
    env.add_filter("slice", slice);
    env.add_filter("length", length);
    env.add_filter("count", length);
}

/// Jinja2's `length`: minijinja's, with 0 for an undefined value.
fn length(value: &Value) -> Result<usize, Error> {
    if value.is_undefined() {
        return Ok(0);
    }
    filters::length(value)
}

/// Jinja2's `int(value, default=0, base=10)`: Python's `int(value)`, then
/// `int(float(value))`, then `default`.
fn int(
    state: &State,
    value: &Value,
    default: Option<Value>,
    base: Option<u32>,
    kwargs: Kwargs,
) -> Result<Value, Error> {
    let default = default.or(kwargs.get("default")?);
    let base = base.or(kwargs.get("base")?);
    kwargs.assert_all_used()?;
    if value.is_undefined() {
        // minijinja's own filter: 0, or an error under strict undefined.
        return filters::int(state, value);
    }
    let default = default.unwrap_or(Value::from(0));
    Ok(match value.kind() {
        ValueKind::Bool => Value::from(value.is_true() as i64),
        ValueKind::Number => match f64::try_from(value.clone()) {
            _ if value.is_integer() => value.clone(),
            Ok(f) if f.is_finite() => Value::from(f.trunc() as i128),
            _ => default,
        },
        ValueKind::String => {
            let s = value.as_str().unwrap_or_default().trim().replace('_', "");
            let base = base.unwrap_or(10);
            let parsed = (2..=36)
                .contains(&base)
                .then(|| i128::from_str_radix(&s, base).ok())
                .flatten();
            match parsed {
                Some(i) => Value::from(i),
                None => match s.parse::<f64>() {
                    Ok(f) if f.is_finite() => Value::from(f.trunc() as i128),
                    _ => default,
                },
            }
        }
        _ => default,
    })
}

/// Jinja2's `float(value, default=0.0)`: Python's `float(value)`, else `default`.
fn float(
    state: &State,
    value: &Value,
    default: Option<Value>,
    kwargs: Kwargs,
) -> Result<Value, Error> {
    let default = default.or(kwargs.get("default")?);
    kwargs.assert_all_used()?;
    if value.is_undefined() {
        return filters::float(state, value);
    }
    let default = default.unwrap_or(Value::from(0.0));
    Ok(match value.kind() {
        ValueKind::Bool => Value::from(value.is_true() as i64 as f64),
        ValueKind::Number => f64::try_from(value.clone())
            .map(Value::from)
            .unwrap_or(default),
        ValueKind::String => value
            .as_str()
            .unwrap_or_default()
            .trim()
            .replace('_', "")
            .parse::<f64>()
            .map(Value::from)
            .unwrap_or(default),
        _ => default,
    })
}

/// Jinja2's `round(value, precision=0, method='common')`. `common` keeps an
/// integer an integer and rounds halves to even (Python's `round()`);
/// `ceil` and `floor` always give a float, as `math.ceil(v * 10**p) / 10**p`.
fn round(
    value: &Value,
    precision: Option<i32>,
    method: Option<String>,
    kwargs: Kwargs,
) -> Result<Value, Error> {
    let precision = precision.or(kwargs.get("precision")?).unwrap_or(0);
    let method = method.or(kwargs.get("method")?);
    kwargs.assert_all_used()?;
    let method = method.as_deref().unwrap_or("common");
    let rounding: fn(f64) -> f64 = match method {
        "common" => f64::round_ties_even,
        "ceil" => f64::ceil,
        "floor" => f64::floor,
        _ => {
            return Err(Error::new(
                ErrorKind::InvalidOperation,
                "method must be common, ceil or floor",
            ))
        }
    };
    if value.kind() != ValueKind::Number {
        return Err(Error::new(
            ErrorKind::InvalidOperation,
            format!("cannot round value ({})", value.kind()),
        ));
    }
    if method == "common" && value.is_integer() && precision >= 0 {
        return Ok(value.clone());
    }
    let v = f64::try_from(value.clone())?;
    let scale = 10f64.powi(precision);
    Ok(Value::from(rounding(v * scale) / scale))
}

/// The items of a sequence minijinja's filter returned, as a Python list.
///
/// Errors: the value cannot be iterated.
fn python_list(items: Value) -> Result<Value, Error> {
    Ok(MutableList::value(items.try_iter()?.collect()))
}

/// A sequence of groups with each group a Python list, as the lists
/// Jinja2's `batch` and `slice` yield.
///
/// Errors: the value or a group cannot be iterated.
fn python_groups(groups: Value) -> Result<Value, Error> {
    let groups = groups
        .try_iter()?
        .map(python_list)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Value::from(groups))
}

/// Jinja2's `list`: a Python list of the items.
fn list(state: &State, value: Value) -> Result<Value, Error> {
    python_list(filters::list(state, value)?)
}

/// Jinja2's `sort` (Python's `sorted()`): a Python list.
fn sort(state: &State, value: Value, kwargs: Kwargs) -> Result<Value, Error> {
    python_list(filters::sort(state, value, kwargs)?)
}

/// Jinja2's `dictsort` (`sorted(d.items())`): a Python list of
/// `(key, value)` pairs.
fn dictsort(value: &Value, kwargs: Kwargs) -> Result<Value, Error> {
    python_list(filters::dictsort(value, kwargs)?)
}

/// Jinja2's `batch(count, fill_with=None)`: groups of `count` items, each
/// a Python list.
fn batch(
    state: &State,
    value: Value,
    count: usize,
    fill_with: Option<Value>,
) -> Result<Value, Error> {
    python_groups(filters::batch(state, value, count, fill_with)?)
}

/// Jinja2's `slice(count, fill_with=None)`: `count` groups, each a Python
/// list.
fn slice(
    state: &State,
    value: Value,
    count: usize,
    fill_with: Option<Value>,
) -> Result<Value, Error> {
    python_groups(filters::slice(state, value, count, fill_with)?)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn env() -> Environment<'static> {
        let mut env = Environment::new();
        env.set_unknown_method_callback(crate::render::pycompat::unknown_method);
        crate::render::pycompat::register(&mut env);
        register(&mut env);
        env
    }

    fn render(src: &str) -> String {
        let src = crate::render::pycompat::rewrite(src, false);
        env().render_str(&src, ()).unwrap()
    }

    /// Renders `src` with `things` (two maps with a `name`) and `plain` (a
    /// map that is not a literal, as configs and graph nodes are).
    fn render_with_data(src: &str) -> Result<String, Error> {
        let src = crate::render::pycompat::rewrite(src, false);
        let things = vec![
            BTreeMap::from([("name", "b")]),
            BTreeMap::from([("name", "a")]),
        ];
        let plain = BTreeMap::from([("k", 1), ("j", 2)]);
        env().render_str(&src, minijinja::context! { things, plain })
    }

    #[test]
    fn int_and_float_fall_back_to_their_default() {
        // As Jinja2's do_int/do_float: dbt_project_evaluator does
        // `var('max_depth_dag') | int` on a string that is no number.
        assert_eq!(
            render("{{ 'x' | int }}|{{ 'x' | int(7) }}|{{ ' 12 ' | int }}|{{ '3.9' | int }}|{{ -2.7 | int }}|{{ none | int }}|{{ 'ff' | int(base=16) }}|{{ true | int }}"),
            "0|7|12|3|-2|0|255|1"
        );
        assert_eq!(
            render("{{ 'x' | float }}|{{ 'x' | float(1.5) }}|{{ '2' | float }}|{{ 3 | float }}"),
            "0.0|1.5|2.0|3.0"
        );
    }

    #[test]
    fn round_takes_a_method() {
        // As Jinja2's do_round: dbt_project_evaluator's insert_resources_from_graph
        // does `(n / size) | round(0, 'ceil') | int`.
        assert_eq!(
            render("{{ (7 / 2) | round(0, 'ceil') | int }}|{{ 7 | round(0, 'ceil') }}|{{ 2.5 | round }}|{{ 3.5 | round }}|{{ 1.26 | round(1, method='floor') }}|{{ 4 | round }}|{{ 2.567 | round(2) }}"),
            "4|7.0|2.0|4.0|1.2|4|2.57"
        );
    }

    #[test]
    fn list_and_sort_give_python_lists() {
        // As Jinja2: `| list` and `| sort` are Python lists, so dbt_expectations'
        // `_get_column_list(...)` result answers `.index(name)`.
        assert_eq!(
            render("{% set l = ('b', 'a') | list %}{% do l.append('c') %}{{ l.index('c') }}|{% set s = l | sort %}{% do s.append('z') %}{{ s | join }}"),
            "2|abcz"
        );
    }

    /// Every form whose result Jinja2 makes a Python list takes `append`,
    /// as in dbt: `{% set xs = ... %}{% do xs.append('x') %}`. The outputs
    /// are Jinja2 3.1's (dbt-core 1.12's venv), but for `plain`, whose keys
    /// iterate sorted here.
    #[test]
    fn filter_results_that_are_python_lists_take_append() {
        for (form, expected) in [
            ("things | map(attribute='name') | list", "['b', 'a', 'x']"),
            ("things | map(attribute='name') | sort", "['a', 'b', 'x']"),
            ("['b', 'a'] | reject('equalto', 'a') | list", "['b', 'x']"),
            ("['b', 'a'] | select('equalto', 'a') | list", "['a', 'x']"),
            (
                "things | selectattr('name', 'equalto', 'a') | map(attribute='name') | list",
                "['a', 'x']",
            ),
            (
                "things | rejectattr('name', 'equalto', 'a') | map(attribute='name') | list",
                "['b', 'x']",
            ),
            ("['b', 'a', 'B'] | unique | list", "['b', 'a', 'x']"),
            ("('b', 'a') | list", "['b', 'a', 'x']"),
            ("'ab' | list", "['a', 'b', 'x']"),
            ("'a,b'.split(',')", "['a', 'b', 'x']"),
            ("plain.keys() | list", "['j', 'k', 'x']"),
            ("plain.values() | list", "[2, 1, 'x']"),
            ("plain | list", "['j', 'k', 'x']"),
            ("{'k': 1}.keys() | list", "['k', 'x']"),
            ("range(2) | list", "[0, 1, 'x']"),
            ("[3, 1] | reverse | list", "[1, 3, 'x']"),
            ("['p', 'q'] | batch(1) | first", "['p', 'x']"),
        ] {
            let src = format!("{{% set xs = {form} %}}{{% do xs.append('x') %}}{{{{ xs }}}}");
            assert_eq!(render_with_data(&src).unwrap(), expected, "{form}");
        }
        // Pairs: each is a tuple in Python; the list of them takes `append`.
        for form in ["plain.items() | list", "plain | dictsort"] {
            let src = format!(
                "{{% set xs = {form} %}}{{% do xs.append(('x', 0)) %}}{{% for k, v in xs %}}{{{{ k }}}}={{{{ v }}}};{{% endfor %}}"
            );
            assert_eq!(render_with_data(&src).unwrap(), "j=2;k=1;x=0;", "{form}");
        }
        assert_eq!(
            render("{% set groups = [1, 2, 3] | slice(2) | list %}{% do groups[1].append(9) %}{{ groups }}"),
            "[[1, 2], [3, 9]]"
        );
    }

    /// `map`, `select`, `reject` and `unique` are generators in Jinja2:
    /// `.append` on them fails in dbt, and fails here too.
    #[test]
    fn generator_filters_stay_read_only() {
        for form in [
            "['a'] | map('upper')",
            "['a'] | select",
            "['a'] | reject",
            "['a'] | unique",
        ] {
            let src = format!("{{% set xs = {form} %}}{{% do xs.append('x') %}}");
            let err = render_with_data(&src).unwrap_err();
            assert!(err.to_string().contains("append"), "{form}: {err}");
        }
    }
}
