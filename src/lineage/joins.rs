//! Join keys of a model, resolved to the columns of the relations it reads:
//! `on orders.order_id = order_payments.order_id`, where `order_payments`
//! is a CTE grouping `stg_payments`, links `stg_orders.order_id` to
//! `stg_payments.order_id`. `sluice explain --rows` follows these links to
//! the input rows behind a value that the predicate's columns do not reach.

use sqlparser::ast::{
    BinaryOperator, Expr, GroupByExpr, Ident, JoinConstraint, JoinOperator, Query, Select,
    SelectItem, SetExpr, Statement, TableFactor,
};

use crate::lineage::resolve::lineage;
use crate::lineage::types::{ColumnRef, LineageKind, Tables};
use crate::sql::conjuncts;

/// The equality join conditions of the model whose syntax tree is
/// `statements` (its last statement, a query), each side resolved through
/// CTEs to one column of a relation in `tables`: `(left, right)` pairs, in
/// the order the joins appear. A side that is computed (not a column
/// copied through) or that reads no known relation is left out, with its
/// pair: the links are only those the SQL makes column to column.
pub fn join_keys(statements: &[Statement], tables: &Tables) -> Vec<(ColumnRef, ColumnRef)> {
    let Some(Statement::Query(query)) = statements.last() else {
        return Vec::new();
    };
    let ctes = query.with.as_ref().map_or(0, |w| w.cte_tables.len());
    let mut out = Vec::new();
    // Each CTE's select, with the CTEs before it in scope, then the body.
    for level in 0..=ctes {
        let body = match &query.with {
            Some(with) if level < ctes => &with.cte_tables[level].query.body,
            _ => &query.body,
        };
        for select in selects(body) {
            for (left, right) in equalities(select) {
                let mut probe = select.clone();
                probe.projection = vec![
                    SelectItem::ExprWithAlias {
                        expr: left,
                        alias: Ident::new("__left"),
                    },
                    SelectItem::ExprWithAlias {
                        expr: right,
                        alias: Ident::new("__right"),
                    },
                ];
                probe.distinct = None;
                probe.group_by = GroupByExpr::Expressions(Vec::new(), Vec::new());
                probe.having = None;
                probe.qualify = None;
                let mut q: Query = (**query).clone();
                if let Some(with) = &mut q.with {
                    with.cte_tables.truncate(level);
                }
                q.body = Box::new(SetExpr::Select(Box::new(probe)));
                q.order_by = None;
                q.limit_clause = None;
                q.fetch = None;
                let resolved = lineage(&[Statement::Query(Box::new(q))], tables);
                let copied = |i: usize| {
                    let l = resolved.get(i)?;
                    match (l.kind, l.sources.as_slice()) {
                        (LineageKind::Transformation, _) => None,
                        (_, [one]) => Some(one.clone()),
                        _ => None,
                    }
                };
                if let (Some(a), Some(b)) = (copied(0), copied(1)) {
                    if a.node != b.node {
                        out.push((a, b));
                    }
                }
            }
        }
    }
    out
}

/// The plain selects of a query body, set operations' branches included.
fn selects(body: &SetExpr) -> Vec<&Select> {
    match body {
        SetExpr::Select(s) => vec![s],
        SetExpr::SetOperation { left, right, .. } => {
            let mut out = selects(left);
            out.extend(selects(right));
            out
        }
        SetExpr::Query(q) => selects(&q.body),
        _ => Vec::new(),
    }
}

/// The `a = b` conditions of `select`'s joins between two column
/// references, and `using (c)` as `left.c = right.c` when the left side is
/// a single named relation.
fn equalities(select: &Select) -> Vec<(Expr, Expr)> {
    let mut out = Vec::new();
    for from in &select.from {
        let mut left_name = factor_name(&from.relation);
        for join in &from.joins {
            let right_name = factor_name(&join.relation);
            // Anti joins keep no row of the right side: no link.
            let constraint = match &join.join_operator {
                JoinOperator::Anti(_) | JoinOperator::LeftAnti(_) | JoinOperator::RightAnti(_) => {
                    None
                }
                operator => crate::sql::join_constraint(operator),
            };
            match constraint {
                Some(JoinConstraint::On(on)) => {
                    for conj in conjuncts(on) {
                        if let Expr::BinaryOp {
                            left,
                            op: BinaryOperator::Eq,
                            right,
                        } = conj
                        {
                            if is_column(left) && is_column(right) {
                                out.push(((**left).clone(), (**right).clone()));
                            }
                        }
                    }
                }
                Some(JoinConstraint::Using(names)) => {
                    if let (Some(l), Some(r)) = (&left_name, &right_name) {
                        for name in names {
                            let column = name.0.last().and_then(|p| p.as_ident()).cloned();
                            if let Some(column) = column {
                                out.push((
                                    Expr::CompoundIdentifier(vec![l.clone(), column.clone()]),
                                    Expr::CompoundIdentifier(vec![r.clone(), column]),
                                ));
                            }
                        }
                    }
                }
                _ => {}
            }
            // After a join the left side is several relations.
            left_name = None;
        }
    }
    out
}

fn is_column(expr: &Expr) -> bool {
    matches!(expr, Expr::Identifier(_) | Expr::CompoundIdentifier(_))
}

/// The name a table factor is referred to by: its alias, else the last
/// part of its table name.
fn factor_name(factor: &TableFactor) -> Option<Ident> {
    match factor {
        TableFactor::Table { name, alias, .. } => alias
            .as_ref()
            .map(|a| a.name.clone())
            .or_else(|| name.0.last().and_then(|p| p.as_ident()).cloned()),
        TableFactor::Derived { alias, .. } => alias.as_ref().map(|a| a.name.clone()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::join_keys;
    use crate::lineage::types::{Table, Tables};

    fn tables() -> Tables {
        let mut t = Tables::default();
        for (name, cols) in [
            ("stg_orders", vec!["order_id", "customer_id", "status"]),
            ("stg_payments", vec!["payment_id", "order_id", "amount"]),
            ("stg_customers", vec!["customer_id", "name"]),
        ] {
            t.insert(
                &["db", "main", name],
                Table {
                    node: format!("model.p.{name}"),
                    columns: cols.into_iter().map(str::to_owned).collect(),
                },
            );
        }
        t
    }

    fn keys(sql: &str) -> Vec<String> {
        let statements =
            sqlparser::parser::Parser::parse_sql(&sqlparser::dialect::DuckDbDialect {}, sql)
                .unwrap();
        join_keys(&statements, &tables())
            .into_iter()
            .map(|(a, b)| format!("{}.{} = {}.{}", a.node, a.column, b.node, b.column))
            .collect()
    }

    #[test]
    fn join_keys_resolve_through_ctes_and_grouping() {
        let sql = "with o as (select * from db.main.stg_orders), \
                   p as (select order_id, sum(amount) as total from db.main.stg_payments group by order_id) \
                   select o.order_id, p.total from o left join p on o.order_id = p.order_id and p.total > 0";
        assert_eq!(
            keys(sql),
            ["model.p.stg_orders.order_id = model.p.stg_payments.order_id"]
        );
    }

    #[test]
    fn join_keys_in_a_cte_and_with_using() {
        let sql = "with x as (select c.customer_id, o.order_id from db.main.stg_customers c \
                   join db.main.stg_orders o using (customer_id)) select * from x";
        assert_eq!(
            keys(sql),
            ["model.p.stg_customers.customer_id = model.p.stg_orders.customer_id"]
        );
    }

    #[test]
    fn computed_sides_make_no_link() {
        let sql = "select * from db.main.stg_orders o \
                   join db.main.stg_payments p on o.order_id + 1 = p.order_id";
        assert!(keys(sql).is_empty());
    }
}
