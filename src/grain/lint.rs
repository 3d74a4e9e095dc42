//! The nondeterminism lint, run by the grain walk on every expression it
//! meets: functions whose value changes from run to run (`now()`,
//! `random()`, `uuid()`), order-sensitive window functions whose order is
//! not unique, aggregates that depend on row order without an `order by`,
//! and `limit` without a total order. A window's or a limit's order is
//! only called not unique when a key of its rows is known and the order
//! does not contain one: without a known key nothing is claimed.

use std::collections::BTreeSet;
use std::ops::ControlFlow;

use sqlparser::ast::{
    Expr, FunctionArgumentClause, FunctionArguments, OrderByKind, Query, Select, Spanned, Visit,
    Visitor, WindowFrameUnits, WindowType,
};

use crate::grain::scope::{column_parts, function_name, position, Joined, Walk};
use crate::grain::shape::Shape;
use crate::grain::types::Finding;

/// Functions whose value differs between two runs on the same data.
const VOLATILE: &[(&str, &str)] = &[
    ("now", "the time of the run"),
    ("current_timestamp", "the time of the run"),
    ("get_current_timestamp", "the time of the run"),
    ("transaction_timestamp", "the time of the run"),
    ("localtimestamp", "the time of the run"),
    ("current_date", "the date of the run"),
    ("today", "the date of the run"),
    ("current_time", "the time of the run"),
    ("random", "a new random number"),
    ("rand", "a new random number"),
    ("uuid", "a new random UUID"),
    ("gen_random_uuid", "a new random UUID"),
    ("uuidv4", "a new random UUID"),
];

/// Window functions whose result depends on the order of rows that tie.
const ORDER_SENSITIVE_WINDOWS: &[&str] = &[
    "row_number",
    "lag",
    "lead",
    "first_value",
    "last_value",
    "nth_value",
    "ntile",
    "first",
    "last",
    "any_value",
];

/// Aggregates whose result depends on the order rows arrive in.
const ORDER_SENSITIVE_AGGREGATES: &[&str] = &[
    "string_agg",
    "listagg",
    "group_concat",
    "list",
    "array_agg",
    "json_group_array",
    "first",
    "last",
    "any_value",
    "arbitrary",
];

fn finding(walk: &mut Walk, span: sqlparser::tokenizer::Span, message: String, hint: String) {
    let (line, column) = position(span);
    walk.findings.push(Finding {
        line,
        column,
        message,
        hint,
    });
}

/// Reports calls of volatile functions in `expr` (nested queries
/// included), unless `report` is false (an incremental model's filter).
pub(crate) fn volatile(walk: &mut Walk, expr: &Expr, report: bool) {
    if !report {
        return;
    }
    struct Find(Vec<(sqlparser::tokenizer::Span, String, &'static str)>);
    impl Visitor for Find {
        type Break = ();
        fn pre_visit_expr(&mut self, e: &Expr) -> ControlFlow<()> {
            if let Expr::Function(f) = e {
                let name = function_name(f);
                if let Some((_, what)) = VOLATILE.iter().find(|(n, _)| *n == name) {
                    self.0.push((e.span(), name, what));
                }
            }
            ControlFlow::Continue(())
        }
    }
    let mut find = Find(Vec::new());
    let _ = expr.visit(&mut find);
    for (span, name, what) in find.0 {
        let call = if name.starts_with("current_") || name == "localtimestamp" {
            name.clone()
        } else {
            format!("{name}()")
        };
        let hint = if what.contains("time") || what.contains("date") {
            "pass the time in (`{{ var('as_of') }}`, or `{{ run_started_at }}`), or compare with it only in an incremental model's filter".to_owned()
        } else if what.contains("UUID") {
            "derive the key from the row's columns, e.g. `md5(concat_ws('|', a, b))` or `dbt_utils.generate_surrogate_key`".to_owned()
        } else {
            "derive the value from the row, e.g. `hash(<key>) % 100` for a stable sample".to_owned()
        };
        finding(
            walk,
            span,
            format!("`{call}` gives {what}: the table differs on every rebuild"),
            hint,
        );
    }
}

/// Reports `limit` without an `order by`, or ordered by columns that are
/// not unique in `shape` (the rows it cuts).
pub(crate) fn limit(walk: &mut Walk, query: &Query, shape: &Shape) {
    let limit = match &query.limit_clause {
        Some(sqlparser::ast::LimitClause::LimitOffset {
            limit: Some(limit), ..
        }) => limit,
        Some(sqlparser::ast::LimitClause::OffsetCommaLimit { limit, .. }) => limit,
        _ => return,
    };
    let order: Option<Vec<&Expr>> = query.order_by.as_ref().map(|o| match &o.kind {
        OrderByKind::Expressions(exprs) => exprs.iter().map(|e| &e.expr).collect(),
        OrderByKind::All(_) => Vec::new(),
    });
    let span = limit.span();
    match order {
        None => finding(
            walk,
            span,
            format!("`limit {limit}` without `order by` keeps arbitrary rows"),
            "order by a unique column (a key of the rows) before the limit".to_owned(),
        ),
        Some(exprs) if !exprs.is_empty() && !shape.keys.is_empty() => {
            let names: BTreeSet<String> = exprs
                .iter()
                .filter_map(|e| column_parts(e).and_then(|p| p.last().map(|c| c.to_lowercase())))
                .collect();
            let unique = shape.keys.iter().any(|k| {
                k.columns
                    .iter()
                    .all(|c| names.contains(c) || shape.constants.contains_key(c))
            });
            if !unique {
                let key = &shape.keys[0];
                finding(
                    walk,
                    span,
                    format!(
                        "`limit {limit}` after an `order by` that is not unique: rows that tie at the cut are picked arbitrarily"
                    ),
                    format!(
                        "add a key to the `order by`, e.g. `{}` ({})",
                        key.columns.iter().cloned().collect::<Vec<_>>().join(", "),
                        key.reason
                    ),
                );
            }
        }
        Some(_) => {}
    }
}

/// Reports order-sensitive window functions whose `partition by` and
/// `order by` do not contain a key of `joined`, and order-sensitive
/// aggregates without an `order by`, in `exprs` (a select's outputs) and
/// its `qualify`. `grouped`: the select has a `group by`.
pub(crate) fn window_and_aggregates(
    walk: &mut Walk,
    select: &Select,
    joined: &Joined,
    exprs: &[&Expr],
    grouped: bool,
) {
    let mut calls: Vec<&Expr> = Vec::new();
    // The function calls at this query level (not in nested queries).
    fn collect<'a>(e: &'a Expr, calls: &mut Vec<&'a Expr>) {
        match e {
            Expr::Function(f) => {
                calls.push(e);
                if let FunctionArguments::List(list) = &f.args {
                    for a in &list.args {
                        if let sqlparser::ast::FunctionArg::Unnamed(
                            sqlparser::ast::FunctionArgExpr::Expr(x),
                        )
                        | sqlparser::ast::FunctionArg::Named {
                            arg: sqlparser::ast::FunctionArgExpr::Expr(x),
                            ..
                        } = a
                        {
                            collect(x, calls);
                        }
                    }
                }
            }
            other => {
                for child in children(other) {
                    collect(child, calls);
                }
            }
        }
    }
    for e in exprs {
        collect(e, &mut calls);
    }
    if let Some(q) = &select.qualify {
        collect(q, &mut calls);
    }
    let group_inputs: BTreeSet<_> = match &select.group_by {
        sqlparser::ast::GroupByExpr::Expressions(g, _) => {
            g.iter().filter_map(|e| joined.column_of(e)).collect()
        }
        _ => BTreeSet::new(),
    };
    let one_row_per_group = grouped && joined.covers_key(&group_inputs);
    for call in calls {
        let Expr::Function(f) = call else { continue };
        let name = function_name(f);
        match &f.over {
            Some(WindowType::WindowSpec(spec)) => {
                let rows_frame = spec
                    .window_frame
                    .as_ref()
                    .is_some_and(|w| w.units == WindowFrameUnits::Rows);
                let sensitive = ORDER_SENSITIVE_WINDOWS.contains(&name.as_str())
                    || ORDER_SENSITIVE_AGGREGATES.contains(&name.as_str());
                if !sensitive && !rows_frame {
                    continue;
                }
                if spec.order_by.is_empty() {
                    finding(
                        walk,
                        call.span(),
                        format!("`{name}()` over a window without `order by` depends on the order rows arrive in"),
                        "order the window by a unique column (a key of its rows)".to_owned(),
                    );
                    continue;
                }
                if grouped || joined.keys_unknown() {
                    continue;
                }
                let mut covered = BTreeSet::new();
                let mut all_columns = true;
                for e in spec
                    .partition_by
                    .iter()
                    .chain(spec.order_by.iter().map(|o| &o.expr))
                {
                    match joined.column_of(e) {
                        Some(c) => {
                            covered.insert(c);
                        }
                        None => all_columns = false,
                    }
                }
                if !all_columns || joined.covers_key(&covered) {
                    continue;
                }
                let order: Vec<String> = spec.order_by.iter().map(|o| o.expr.to_string()).collect();
                let within = if spec.partition_by.is_empty() {
                    String::new()
                } else {
                    format!(
                        " within `{}`",
                        spec.partition_by
                            .iter()
                            .map(|p| p.to_string())
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                };
                finding(
                    walk,
                    call.span(),
                    format!(
                        "`{name}()` is ordered by `{}`, which is not unique{within}: rows that tie get an arbitrary order",
                        order.join(", ")
                    ),
                    format!("add a key to the window's `order by`: {}", joined.key_text()),
                );
            }
            Some(WindowType::NamedWindow(_)) => {}
            None => {
                if !ORDER_SENSITIVE_AGGREGATES.contains(&name.as_str()) {
                    continue;
                }
                let ordered = match &f.args {
                    FunctionArguments::List(list) => list
                        .clauses
                        .iter()
                        .any(|c| matches!(c, FunctionArgumentClause::OrderBy(_))),
                    _ => false,
                } || !f.within_group.is_empty();
                if ordered || one_row_per_group {
                    continue;
                }
                let picks = matches!(name.as_str(), "first" | "last" | "any_value" | "arbitrary");
                let (message, hint) = if picks {
                    (
                        format!("`{name}(...)` takes the value of an arbitrary row of each group"),
                        format!(
                            "use `min`/`max`, `arg_min(x, <key>)`, or `{name}(x order by <key>)`"
                        ),
                    )
                } else {
                    (
                        format!(
                            "`{name}(...)` without `order by` lists values in an arbitrary order"
                        ),
                        format!("order the values: `{name}(x, ... order by x)`"),
                    )
                };
                finding(walk, call.span(), message, hint);
            }
        }
    }
}

/// The direct sub-expressions of the common expression forms.
fn children(e: &Expr) -> Vec<&Expr> {
    match e {
        Expr::BinaryOp { left, right, .. } => vec![left, right],
        Expr::UnaryOp { expr, .. }
        | Expr::Nested(expr)
        | Expr::Cast { expr, .. }
        | Expr::IsNull(expr)
        | Expr::IsNotNull(expr) => vec![expr],
        Expr::Case {
            operand,
            conditions,
            else_result,
            ..
        } => {
            let mut out: Vec<&Expr> = Vec::new();
            if let Some(o) = operand {
                out.push(o);
            }
            for c in conditions {
                out.push(&c.condition);
                out.push(&c.result);
            }
            if let Some(e) = else_result {
                out.push(e);
            }
            out
        }
        Expr::Between {
            expr, low, high, ..
        } => vec![expr, low, high],
        Expr::InList { expr, list, .. } => {
            let mut out = vec![&**expr];
            out.extend(list.iter());
            out
        }
        _ => Vec::new(),
    }
}
