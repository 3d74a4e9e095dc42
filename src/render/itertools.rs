//! `modules.itertools`: the functions of Python's `itertools` that dbt puts
//! in the context (`chain`, `product`, `combinations`,
//! `combinations_with_replacement`, `permutations`, `islice`,
//! `zip_longest`, `accumulate`, `compress`, `starmap`, `repeat`, `tee`).
//!
//! Python returns lazy iterators; these return lists (of lists for
//! tuples), which templates use the same way (`for`, `| list`). The
//! infinite ones, `count` and `cycle`, and `repeat` without a count, are
//! errors: a template cannot consume them.

use std::sync::Arc;

use minijinja::value::{Kwargs, Object};
use minijinja::{Error, ErrorKind, State, Value};

/// The `modules.itertools` object.
#[derive(Debug)]
pub struct Itertools;

fn invalid(msg: impl Into<String>) -> Error {
    Error::new(ErrorKind::InvalidOperation, msg.into())
}

/// The positional arguments and keyword arguments of a call.
fn split(args: &[Value]) -> (&[Value], Option<Kwargs>) {
    match args.last().map(|v| Kwargs::try_from(v.clone())) {
        Some(Ok(k)) => (&args[..args.len() - 1], Some(k)),
        _ => (args, None),
    }
}

fn items(v: &Value, func: &str) -> Result<Vec<Value>, Error> {
    if v.is_none() || v.is_undefined() || v.is_number() {
        return Err(invalid(format!("itertools.{func}: `{v}` is not iterable")));
    }
    Ok(v.try_iter()?.collect())
}

fn int(v: Option<&Value>, func: &str, name: &str) -> Result<Option<usize>, Error> {
    match v {
        None => Ok(None),
        Some(v) if v.is_none() => Ok(None),
        Some(v) => usize::try_from(v.clone()).map(Some).map_err(|_| {
            invalid(format!(
                "itertools.{func}: `{name}` must be a non-negative integer"
            ))
        }),
    }
}

fn tuple(values: Vec<Value>) -> Value {
    Value::from(values)
}

/// Index tuples of `r`-combinations of `n` items, in Python's order;
/// with replacement when `repeat`.
fn combination_indices(n: usize, r: usize, repeat: bool) -> Vec<Vec<usize>> {
    let mut out = Vec::new();
    let mut current = Vec::with_capacity(r);
    fn walk(
        start: usize,
        n: usize,
        r: usize,
        repeat: bool,
        cur: &mut Vec<usize>,
        out: &mut Vec<Vec<usize>>,
    ) {
        if cur.len() == r {
            out.push(cur.clone());
            return;
        }
        for i in start..n {
            cur.push(i);
            walk(if repeat { i } else { i + 1 }, n, r, repeat, cur, out);
            cur.pop();
        }
    }
    walk(0, n, r, repeat, &mut current, &mut out);
    out
}

/// Index tuples of `r`-permutations of `n` items, in Python's order.
fn permutation_indices(n: usize, r: usize) -> Vec<Vec<usize>> {
    let mut out = Vec::new();
    let mut used = vec![false; n];
    let mut cur = Vec::with_capacity(r);
    fn walk(
        n: usize,
        r: usize,
        used: &mut [bool],
        cur: &mut Vec<usize>,
        out: &mut Vec<Vec<usize>>,
    ) {
        if cur.len() == r {
            out.push(cur.clone());
            return;
        }
        for i in 0..n {
            if !used[i] {
                used[i] = true;
                cur.push(i);
                walk(n, r, used, cur, out);
                cur.pop();
                used[i] = false;
            }
        }
    }
    if r <= n {
        walk(n, r, &mut used, &mut cur, &mut out);
    }
    out
}

impl Object for Itertools {
    fn call_method(
        self: &Arc<Self>,
        state: &State<'_, '_>,
        method: &str,
        args: &[Value],
    ) -> Result<Value, Error> {
        let (pos, kwargs) = split(args);
        let kw = |name: &str| -> Option<Value> {
            kwargs
                .as_ref()
                .and_then(|k| k.get::<Option<Value>>(name).ok().flatten())
        };
        let pick = |pool: &[Value], idx: Vec<Vec<usize>>| {
            Value::from(
                idx.into_iter()
                    .map(|t| tuple(t.into_iter().map(|i| pool[i].clone()).collect()))
                    .collect::<Vec<_>>(),
            )
        };
        match method {
            "chain" => {
                let mut out = Vec::new();
                for v in pos {
                    out.extend(items(v, method)?);
                }
                Ok(Value::from(out))
            }
            "product" => {
                let repeat = int(kw("repeat").as_ref(), method, "repeat")?.unwrap_or(1);
                let pools: Vec<Vec<Value>> = pos
                    .iter()
                    .map(|v| items(v, method))
                    .collect::<Result<_, _>>()?;
                let pools: Vec<&Vec<Value>> = std::iter::repeat_n(pools.iter(), repeat).flatten().collect();
                let mut out: Vec<Vec<Value>> = vec![Vec::new()];
                for pool in pools {
                    out = out
                        .into_iter()
                        .flat_map(|prefix| {
                            pool.iter().map(move |v| {
                                let mut t = prefix.clone();
                                t.push(v.clone());
                                t
                            })
                        })
                        .collect();
                }
                Ok(Value::from(out.into_iter().map(tuple).collect::<Vec<_>>()))
            }
            "combinations" | "combinations_with_replacement" => {
                let pool = items(pos.first().unwrap_or(&Value::from(())), method)?;
                let r = int(pos.get(1).or(kw("r").as_ref()), method, "r")?
                    .ok_or_else(|| invalid(format!("itertools.{method} needs `r`")))?;
                let repeat = method == "combinations_with_replacement";
                Ok(pick(&pool, combination_indices(pool.len(), r, repeat)))
            }
            "permutations" => {
                let pool = items(pos.first().unwrap_or(&Value::from(())), method)?;
                let r = int(pos.get(1).or(kw("r").as_ref()), method, "r")?.unwrap_or(pool.len());
                Ok(pick(&pool, permutation_indices(pool.len(), r)))
            }
            "islice" => {
                let pool = items(pos.first().unwrap_or(&Value::from(())), method)?;
                let (start, stop, step) = match pos.len() {
                    2 => (0, int(pos.get(1), method, "stop")?, 1),
                    3 | 4 => (
                        int(pos.get(1), method, "start")?.unwrap_or(0),
                        int(pos.get(2), method, "stop")?,
                        int(pos.get(3), method, "step")?.unwrap_or(1),
                    ),
                    _ => return Err(invalid("itertools.islice takes an iterable and a stop, or start, stop[, step]")),
                };
                if step == 0 {
                    return Err(invalid("itertools.islice: `step` must be positive"));
                }
                let stop = stop.unwrap_or(pool.len()).min(pool.len());
                Ok(Value::from(
                    pool.into_iter()
                        .take(stop)
                        .skip(start)
                        .step_by(step)
                        .collect::<Vec<_>>(),
                ))
            }
            "zip_longest" => {
                let fill = kw("fillvalue").unwrap_or(Value::from(()));
                let lists: Vec<Vec<Value>> = pos
                    .iter()
                    .map(|v| items(v, method))
                    .collect::<Result<_, _>>()?;
                let n = lists.iter().map(Vec::len).max().unwrap_or(0);
                Ok(Value::from(
                    (0..n)
                        .map(|i| {
                            tuple(
                                lists
                                    .iter()
                                    .map(|l| l.get(i).cloned().unwrap_or_else(|| fill.clone()))
                                    .collect(),
                            )
                        })
                        .collect::<Vec<_>>(),
                ))
            }
            "accumulate" => {
                let pool = items(pos.first().unwrap_or(&Value::from(())), method)?;
                let func = pos.get(1).cloned().or_else(|| kw("func"));
                let mut out: Vec<Value> = Vec::with_capacity(pool.len() + 1);
                if let Some(initial) = kw("initial") {
                    out.push(initial);
                }
                for v in pool {
                    let next = match (out.last(), &func) {
                        (None, _) => v,
                        (Some(acc), Some(f)) => f.call(state, &[acc.clone(), v])?,
                        (Some(acc), None) => {
                            let env = minijinja::Environment::new();
                            let expr = env.compile_expression("a + b")?;
                            expr.eval(minijinja::context! { a => acc.clone(), b => v })?
                        }
                    };
                    out.push(next);
                }
                Ok(Value::from(out))
            }
            "compress" => {
                let data = items(pos.first().unwrap_or(&Value::from(())), method)?;
                let selectors = items(pos.get(1).unwrap_or(&Value::from(())), method)?;
                Ok(Value::from(
                    data.into_iter()
                        .zip(selectors)
                        .filter(|(_, s)| s.is_true())
                        .map(|(d, _)| d)
                        .collect::<Vec<_>>(),
                ))
            }
            "starmap" => {
                let func = pos
                    .first()
                    .cloned()
                    .ok_or_else(|| invalid("itertools.starmap needs a function"))?;
                let pool = items(pos.get(1).unwrap_or(&Value::from(())), method)?;
                let out = pool
                    .iter()
                    .map(|t| func.call(state, &items(t, method)?))
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(Value::from(out))
            }
            "repeat" => {
                let obj = pos.first().cloned().unwrap_or_default();
                let times = int(pos.get(1).or(kw("times").as_ref()), method, "times")?
                    .ok_or_else(|| invalid("itertools.repeat without `times` never ends; give a count"))?;
                Ok(Value::from(vec![obj; times]))
            }
            "tee" => {
                let pool = items(pos.first().unwrap_or(&Value::from(())), method)?;
                let n = int(pos.get(1), method, "n")?.unwrap_or(2);
                Ok(Value::from(vec![Value::from(pool); n]))
            }
            "count" | "cycle" => Err(invalid(format!(
                "itertools.{method} never ends, which a template cannot use; use `range()` or a list"
            ))),
            _ => Err(Error::new(
                ErrorKind::UnknownMethod,
                format!("itertools has no function `{method}`"),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(src: &str) -> String {
        let mut env = minijinja::Environment::new();
        env.add_global("itertools", Value::from_object(Itertools));
        env.render_str(src, ()).unwrap()
    }

    /// Pins Python's itertools results (order included) for the functions dbt exports.
    #[test]
    fn itertools_as_python() {
        assert_eq!(render("{{ itertools.chain([1, 2], [3]) }}"), "[1, 2, 3]");
        assert_eq!(
            render("{{ itertools.product([1, 2], ['a', 'b']) }}"),
            r#"[[1, "a"], [1, "b"], [2, "a"], [2, "b"]]"#
        );
        assert_eq!(
            render("{{ itertools.combinations([1, 2, 3], 2) }}"),
            "[[1, 2], [1, 3], [2, 3]]"
        );
        assert_eq!(
            render("{{ itertools.permutations([1, 2, 3], 2) | length }} {{ itertools.permutations([1, 2]) }}"),
            "6 [[1, 2], [2, 1]]"
        );
        assert_eq!(
            render("{{ itertools.combinations_with_replacement([1, 2], 2) }}"),
            "[[1, 1], [1, 2], [2, 2]]"
        );
        assert_eq!(
            render("{{ itertools.islice([1, 2, 3, 4, 5], 2) }} {{ itertools.islice([1, 2, 3, 4, 5], 1, 5, 2) }}"),
            "[1, 2] [2, 4]"
        );
        assert_eq!(
            render("{{ itertools.zip_longest([1, 2], ['a'], fillvalue='-') }} {{ itertools.accumulate([1, 2, 3]) }} {{ itertools.compress([1, 2, 3], [1, 0, 1]) }}"),
            r#"[[1, "a"], [2, "-"]] [1, 3, 6] [1, 3]"#
        );
        assert_eq!(
            render("{{ itertools.product([0, 1], repeat=2) | length }}"),
            "4"
        );
    }
}
