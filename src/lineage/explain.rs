//! How one output column of a model is computed inside the model's SQL:
//! the expression at each step (the final select, then each CTE or
//! subquery it reads the column through), with the step's `from` and
//! joins, `where`, `group by`, `having` and `qualify`, as SQL text. Across
//! models, `sluice explain` follows column lineage.

use std::collections::HashMap;

use serde::Serialize;
use sqlparser::ast::{
    Expr, GroupByExpr, Query, Select, SelectItem, SetExpr, Statement, TableFactor,
};

/// One step of a column's derivation: where it is computed and how.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Step {
    /// The relation the step defines: `select` for the model's own output,
    /// else the CTE's (or subquery's) name.
    pub relation: String,
    /// The column's name at this step.
    pub column: String,
    /// Its expression, as SQL (`sum(amount)`).
    pub expression: String,
    /// What the step reads: `from` with its joins and their conditions.
    pub from: String,
    /// The step's `where`, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub filter: Option<String>,
    /// The step's `group by`, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group_by: Option<String>,
    /// The step's `having`, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub having: Option<String>,
    /// The step's `qualify` (a dedupe), if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub qualify: Option<String>,
}

/// The steps computing `column` (any case) of the last statement of
/// `statements` (a model's select), from its output back through the
/// CTEs it reads the column from, in that order. Empty when the column is
/// not found; a set operation is one step over its whole text.
pub fn column_steps(statements: &[Statement], column: &str) -> Vec<Step> {
    let Some(Statement::Query(query)) = statements.last() else {
        return Vec::new();
    };
    let mut out = Vec::new();
    query_steps(
        query,
        "select",
        &column.to_lowercase(),
        &HashMap::new(),
        &mut out,
        0,
    );
    out
}

type Ctes<'a> = HashMap<String, &'a Query>;

fn query_steps<'a>(
    query: &'a Query,
    relation: &str,
    column: &str,
    outer: &Ctes<'a>,
    out: &mut Vec<Step>,
    depth: usize,
) {
    if depth > 32 {
        return;
    }
    let mut ctes = outer.clone();
    if let Some(with) = &query.with {
        for cte in &with.cte_tables {
            ctes.insert(cte.alias.name.value.to_lowercase(), &cte.query);
        }
    }
    match &*query.body {
        SetExpr::Select(select) => select_steps(select, relation, column, &ctes, out, depth),
        SetExpr::Query(q) => query_steps(q, relation, column, &ctes, out, depth),
        other => out.push(Step {
            relation: relation.to_owned(),
            column: column.to_owned(),
            expression: column.to_owned(),
            from: other.to_string(),
            filter: None,
            group_by: None,
            having: None,
            qualify: None,
        }),
    }
}

/// A relation of a select's `from`: its alias and, when it is a CTE or a
/// subquery, its query.
fn from_relations<'a>(select: &'a Select, ctes: &Ctes<'a>) -> Vec<(String, Option<&'a Query>)> {
    let mut out = Vec::new();
    let mut add = |factor: &'a TableFactor| match factor {
        TableFactor::Table { name, alias, .. } => {
            let last = name
                .0
                .last()
                .and_then(|p| p.as_ident())
                .map(|i| i.value.to_lowercase())
                .unwrap_or_default();
            let alias_name = alias
                .as_ref()
                .map(|a| a.name.value.to_lowercase())
                .unwrap_or_else(|| last.clone());
            let cte = (name.0.len() == 1)
                .then(|| ctes.get(&last).copied())
                .flatten();
            out.push((alias_name, cte));
        }
        TableFactor::Derived {
            subquery, alias, ..
        } => out.push((
            alias
                .as_ref()
                .map(|a| a.name.value.to_lowercase())
                .unwrap_or_default(),
            Some(&**subquery),
        )),
        _ => {}
    };
    for twj in &select.from {
        add(&twj.relation);
        for join in &twj.joins {
            add(&join.relation);
        }
    }
    out
}

fn select_steps<'a>(
    select: &'a Select,
    relation: &str,
    column: &str,
    ctes: &Ctes<'a>,
    out: &mut Vec<Step>,
    depth: usize,
) {
    let rels = from_relations(select, ctes);
    // The expression naming `column`, or `*` passing it through.
    let mut expression: Option<&Expr> = None;
    let mut through_star = false;
    for item in &select.projection {
        match item {
            SelectItem::ExprWithAlias { expr, alias }
                if alias.value.eq_ignore_ascii_case(column) =>
            {
                expression = Some(expr);
                break;
            }
            SelectItem::UnnamedExpr(expr) => {
                let name = match expr {
                    Expr::Identifier(i) => Some(&i.value),
                    Expr::CompoundIdentifier(p) => p.last().map(|i| &i.value),
                    _ => None,
                };
                if name.is_some_and(|n| n.eq_ignore_ascii_case(column)) {
                    expression = Some(expr);
                    break;
                }
            }
            SelectItem::Wildcard(_) | SelectItem::QualifiedWildcard(..) => through_star = true,
            _ => {}
        }
    }
    let from = select
        .from
        .iter()
        .map(|t| t.to_string())
        .collect::<Vec<_>>()
        .join(", ");
    let group_by = match &select.group_by {
        GroupByExpr::Expressions(e, _) if e.is_empty() => None,
        g => Some(g.to_string().trim_start_matches("GROUP BY ").to_owned()),
    };
    let text = |e: &Option<Expr>| e.as_ref().map(|e| e.to_string());
    let step = |expression: String| Step {
        relation: relation.to_owned(),
        column: column.to_owned(),
        expression,
        from: from.clone(),
        filter: text(&select.selection),
        group_by: group_by.clone(),
        having: text(&select.having),
        qualify: text(&select.qualify),
    };
    match expression {
        Some(expr) => {
            out.push(step(expr.to_string()));
            // Follow each column the expression reads from a CTE or subquery.
            for (qualifier, name) in references(expr) {
                let target = match &qualifier {
                    Some(q) => rels.iter().find(|(a, _)| a == q),
                    None if rels.len() == 1 => rels.first(),
                    None => None,
                };
                if let Some((alias, Some(q))) = target {
                    query_steps(q, alias, &name, ctes, out, depth + 1);
                }
            }
        }
        None if through_star => {
            // `select *` (from one relation, or with filters): the column
            // passes through; its step shows the filters applied here.
            let s = step(column.to_owned());
            let filters = s.filter.is_some() || s.qualify.is_some() || s.group_by.is_some();
            if filters || rels.len() > 1 {
                out.push(s);
            }
            for (alias, q) in &rels {
                if let Some(q) = q {
                    let before = out.len();
                    query_steps(q, alias, column, ctes, out, depth + 1);
                    if out.len() > before {
                        break;
                    }
                }
            }
        }
        None => {}
    }
}

/// The column references of `expr` outside nested queries, as
/// (qualifier, column), lowercased.
fn references(expr: &Expr) -> Vec<(Option<String>, String)> {
    let mut found: Vec<(Option<String>, String)> = crate::lineage::resolve::column_references(expr)
        .into_iter()
        .filter_map(|parts| match parts.as_slice() {
            [column] => Some((None, column.to_lowercase())),
            [.., qualifier, column] => {
                Some((Some(qualifier.to_lowercase()), column.to_lowercase()))
            }
            [] => None,
        })
        .collect();
    found.dedup();
    found
}

#[cfg(test)]
mod tests {
    use super::column_steps;
    use sqlparser::dialect::DuckDbDialect;
    use sqlparser::parser::Parser;

    #[test]
    fn steps_follow_the_column_through_ctes() {
        let sql = "with o as (select * from orders where status <> 'x'), \
                   t as (select customer_id, sum(amount) as total from o group by customer_id) \
                   select c.id, coalesce(t.total, 0) as lifetime from customers c left join t on t.customer_id = c.id";
        let statements = Parser::parse_sql(&DuckDbDialect {}, sql).unwrap();
        let steps = column_steps(&statements, "lifetime");
        let shown: Vec<(String, String)> = steps
            .iter()
            .map(|s| (s.relation.clone(), s.expression.clone()))
            .collect();
        assert_eq!(
            shown,
            [
                ("select".to_owned(), "coalesce(t.total, 0)".to_owned()),
                ("t".to_owned(), "sum(amount)".to_owned()),
                ("o".to_owned(), "amount".to_owned()),
            ]
        );
        assert_eq!(steps[1].group_by.as_deref(), Some("customer_id"));
        assert_eq!(steps[2].filter.as_deref(), Some("status <> 'x'"));
        assert!(steps[0]
            .from
            .contains("LEFT JOIN t ON t.customer_id = c.id"));
        assert!(column_steps(&statements, "nope").is_empty());
    }
}
