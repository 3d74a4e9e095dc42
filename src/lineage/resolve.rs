//! Resolving the output columns of a statement to their upstream columns:
//! the scopes of CTEs and `FROM` relations, set operations, `*` expansion,
//! joins, and the columns an expression reads, nested queries included.

use std::collections::{BTreeSet, HashMap};
use std::ops::ControlFlow;
use std::rc::Rc;

use sqlparser::ast::{
    Expr, Query, SelectItem, SetExpr, Statement, TableFactor, Visit, Visitor,
    WildcardAdditionalOptions,
};

use crate::lineage::types::{ColumnLineage, ColumnRef, LineageKind, Tables};

/// What a relation in scope yields: columns with their lineage, and
/// whether the list is complete.
#[derive(Debug, Clone, Default)]
struct Rel {
    columns: Vec<Col>,
    /// The node a bare table belongs to, for columns not in `columns`.
    table: Option<String>,
}

#[derive(Debug, Clone)]
struct Col {
    name: String,
    kind: LineageKind,
    sources: BTreeSet<ColumnRef>,
}

/// Names visible while resolving one SELECT: CTEs and the FROM relations by alias.
#[derive(Debug, Clone, Default)]
struct Scope {
    ctes: HashMap<String, Rc<Rel>>,
    from: Vec<(String, Rc<Rel>)>,
    outer: Option<Rc<Scope>>,
}

impl Scope {
    /// The sources of column `parts` (`col` or `alias.col`) and whether it is
    /// a plain reference to one column.
    fn resolve(&self, parts: &[String]) -> BTreeSet<ColumnRef> {
        let (qualifier, column) = match parts {
            [c] => (None, c),
            [.., q, c] => (Some(q), c),
            [] => return BTreeSet::new(),
        };
        let lower = column.to_lowercase();
        let in_rel = |rel: &Rel| -> Option<BTreeSet<ColumnRef>> {
            if let Some(c) = rel.columns.iter().find(|c| c.name.to_lowercase() == lower) {
                return Some(c.sources.clone());
            }
            None
        };
        let candidates: Vec<&(String, Rc<Rel>)> = match qualifier {
            Some(q) => self
                .from
                .iter()
                .filter(|(alias, _)| alias.eq_ignore_ascii_case(q))
                .collect(),
            None => self.from.iter().collect(),
        };
        for (_, rel) in &candidates {
            if let Some(found) = in_rel(rel) {
                return found;
            }
        }
        // Not a known column: a table of unknown columns may hold it.
        let unknown: Vec<&String> = candidates
            .iter()
            .filter(|(_, r)| r.columns.is_empty())
            .filter_map(|(_, r)| r.table.as_ref())
            .collect();
        if !unknown.is_empty() {
            return unknown
                .into_iter()
                .map(|node| ColumnRef {
                    node: node.clone(),
                    column: column.clone(),
                })
                .collect();
        }
        match &self.outer {
            Some(outer) => outer.resolve(parts),
            None => BTreeSet::new(),
        }
    }
}

/// The lineage of the last statement of `statements` (a model's select),
/// reading relations from `tables`.
pub fn lineage(statements: &[Statement], tables: &Tables) -> Vec<ColumnLineage> {
    let Some(Statement::Query(query)) = statements.last() else {
        return Vec::new();
    };
    query_columns(query, tables, &Scope::default())
        .into_iter()
        .map(|c| ColumnLineage {
            name: c.name,
            kind: c.kind,
            sources: c.sources.into_iter().collect(),
        })
        .collect()
}

fn query_columns(query: &Query, tables: &Tables, parent: &Scope) -> Vec<Col> {
    let mut scope = Scope {
        ctes: parent.ctes.clone(),
        from: Vec::new(),
        outer: parent.outer.clone(),
    };
    if let Some(with) = &query.with {
        for cte in &with.cte_tables {
            let mut cols = query_columns(&cte.query, tables, &scope);
            // `name(a, b) as (...)` renames the columns.
            for (col, alias) in cols.iter_mut().zip(&cte.alias.columns) {
                col.name = alias.name.value.clone();
            }
            scope.ctes.insert(
                cte.alias.name.value.to_lowercase(),
                Rc::new(Rel {
                    columns: cols,
                    table: None,
                }),
            );
        }
    }
    set_columns(&query.body, tables, &scope)
}

fn set_columns(body: &SetExpr, tables: &Tables, scope: &Scope) -> Vec<Col> {
    match body {
        SetExpr::Select(select) => {
            let mut scope = scope.clone();
            for twj in &select.from {
                add_factor(&twj.relation, tables, &mut scope);
                for join in &twj.joins {
                    add_factor(&join.relation, tables, &mut scope);
                }
            }
            let mut out = Vec::new();
            for item in &select.projection {
                match item {
                    SelectItem::UnnamedExpr(expr) => {
                        let name = match expr {
                            Expr::Identifier(i) => i.value.clone(),
                            Expr::CompoundIdentifier(parts) => {
                                parts.last().map(|i| i.value.clone()).unwrap_or_default()
                            }
                            other => other.to_string(),
                        };
                        out.push(expr_col(name, expr, tables, &scope));
                    }
                    SelectItem::ExprWithAlias { expr, alias } => {
                        out.push(expr_col(alias.value.clone(), expr, tables, &scope));
                    }
                    SelectItem::Wildcard(opts) => {
                        let rels: Vec<Rc<Rel>> =
                            scope.from.iter().map(|(_, r)| r.clone()).collect();
                        for rel in rels {
                            out.extend(star(&rel, opts, tables, &scope));
                        }
                    }
                    SelectItem::QualifiedWildcard(kind, opts) => {
                        let q = kind.to_string();
                        let q = q
                            .rsplit('.')
                            .next()
                            .unwrap_or(&q)
                            .trim_matches('"')
                            .to_owned();
                        let rels: Vec<Rc<Rel>> = scope
                            .from
                            .iter()
                            .filter(|(a, _)| a.eq_ignore_ascii_case(&q))
                            .map(|(_, r)| r.clone())
                            .collect();
                        for rel in rels {
                            out.extend(star(&rel, opts, tables, &scope));
                        }
                    }
                }
            }
            out
        }
        SetExpr::Query(q) => query_columns(q, tables, scope),
        SetExpr::SetOperation { left, right, .. } => {
            let mut l = set_columns(left, tables, scope);
            let r = set_columns(right, tables, scope);
            // Columns pair by position and take the left side's names.
            for (a, b) in l.iter_mut().zip(r) {
                a.sources.extend(b.sources);
                let plain = |k: LineageKind| k != LineageKind::Transformation;
                a.kind = if !(plain(a.kind) && plain(b.kind)) {
                    LineageKind::Transformation
                } else if a.kind == LineageKind::Copy
                    && b.kind == LineageKind::Copy
                    && a.name.eq_ignore_ascii_case(&b.name)
                {
                    LineageKind::Copy
                } else {
                    LineageKind::Rename
                };
            }
            l
        }
        _ => Vec::new(),
    }
}

/// The columns a `* exclude (...)` leaves out, lowercased (none without `exclude`).
pub(crate) fn excluded_columns(opts: &WildcardAdditionalOptions) -> BTreeSet<String> {
    opts.opt_exclude
        .as_ref()
        .map(|e| {
            let text = e.to_string();
            let inner = text
                .trim_start_matches("EXCLUDE")
                .trim()
                .trim_start_matches('(')
                .trim_end_matches(')')
                .to_owned();
            inner
                .split(',')
                .map(|s| s.trim().trim_matches('"').to_lowercase())
                .collect()
        })
        .unwrap_or_default()
}

/// The column references of `expr` outside its nested queries, each as
/// its name parts as written (`["o", "amount"]`), in order.
pub(crate) fn column_references(expr: &Expr) -> Vec<Vec<String>> {
    struct Refs {
        depth: usize,
        columns: Vec<Vec<String>>,
    }
    impl Visitor for Refs {
        type Break = ();
        fn pre_visit_query(&mut self, _q: &Query) -> ControlFlow<()> {
            self.depth += 1;
            ControlFlow::Continue(())
        }
        fn post_visit_query(&mut self, _q: &Query) -> ControlFlow<()> {
            self.depth -= 1;
            ControlFlow::Continue(())
        }
        fn pre_visit_expr(&mut self, e: &Expr) -> ControlFlow<()> {
            if self.depth > 0 {
                return ControlFlow::Continue(());
            }
            match e {
                Expr::Identifier(i) => self.columns.push(vec![i.value.clone()]),
                Expr::CompoundIdentifier(parts) => self
                    .columns
                    .push(parts.iter().map(|p| p.value.clone()).collect()),
                _ => {}
            }
            ControlFlow::Continue(())
        }
    }
    let mut refs = Refs {
        depth: 0,
        columns: Vec::new(),
    };
    let _ = expr.visit(&mut refs);
    refs.columns
}

/// The columns `*` yields from `rel`, minus `EXCLUDE`, with `REPLACE`d expressions.
fn star(rel: &Rel, opts: &WildcardAdditionalOptions, tables: &Tables, scope: &Scope) -> Vec<Col> {
    let excluded = excluded_columns(opts);
    let replaced: HashMap<String, &Expr> = opts
        .opt_replace
        .as_ref()
        .map(|r| {
            r.items
                .iter()
                .map(|i| (i.column_name.value.to_lowercase(), &i.expr))
                .collect()
        })
        .unwrap_or_default();
    rel.columns
        .iter()
        .filter(|c| !excluded.contains(&c.name.to_lowercase()))
        .map(|c| match replaced.get(&c.name.to_lowercase()) {
            Some(expr) => expr_col(c.name.clone(), expr, tables, scope),
            None => c.clone(),
        })
        .collect()
}

fn add_factor(factor: &TableFactor, tables: &Tables, scope: &mut Scope) {
    match factor {
        TableFactor::Table {
            name, alias, args, ..
        } => {
            let parts: Vec<String> = name
                .0
                .iter()
                .filter_map(|p| p.as_ident().map(|i| i.value.clone()))
                .collect();
            let alias_name = alias
                .as_ref()
                .map(|a| a.name.value.clone())
                .or_else(|| parts.last().cloned())
                .unwrap_or_default();
            if args.is_some() {
                scope.from.push((alias_name, Rc::new(Rel::default())));
                return;
            }
            if let Some(cte) = scope
                .ctes
                .get(&parts[0].to_lowercase())
                .filter(|_| parts.len() == 1)
            {
                let cte = cte.clone();
                scope.from.push((alias_name, cte));
                return;
            }
            let rel = {
                match tables.get(&parts) {
                    Some(t) => Rel {
                        columns: t
                            .columns
                            .iter()
                            .map(|c| Col {
                                name: c.clone(),
                                kind: LineageKind::Copy,
                                sources: BTreeSet::from([ColumnRef {
                                    node: t.node.clone(),
                                    column: c.clone(),
                                }]),
                            })
                            .collect(),
                        table: Some(t.node.clone()),
                    },
                    None => Rel {
                        columns: Vec::new(),
                        table: Some(parts.join(".")),
                    },
                }
            };
            scope.from.push((alias_name, Rc::new(rel)));
        }
        TableFactor::Derived {
            subquery, alias, ..
        } => {
            let mut cols = query_columns(subquery, tables, scope);
            if let Some(a) = alias {
                for (col, c) in cols.iter_mut().zip(&a.columns) {
                    col.name = c.name.value.clone();
                }
            }
            let alias_name = alias
                .as_ref()
                .map(|a| a.name.value.clone())
                .unwrap_or_default();
            scope.from.push((
                alias_name,
                Rc::new(Rel {
                    columns: cols,
                    table: None,
                }),
            ));
        }
        TableFactor::NestedJoin {
            table_with_joins, ..
        } => {
            add_factor(&table_with_joins.relation, tables, scope);
            for join in &table_with_joins.joins {
                add_factor(&join.relation, tables, scope);
            }
        }
        _ => {}
    }
}

/// The lineage of `expr` named `name`: every column it references (nested
/// queries resolved in their own scope, with this one as the outer scope).
fn expr_col(name: String, expr: &Expr, tables: &Tables, scope: &Scope) -> Col {
    let columns = column_references(expr);
    // Nested queries (scalar subqueries, EXISTS, IN): their own scope.
    let mut nested = Vec::new();
    collect_nested(expr, &mut nested);
    let mut sources = BTreeSet::new();
    for parts in &columns {
        sources.extend(scope.resolve(parts));
    }
    if !nested.is_empty() {
        let inner_scope = Scope {
            ctes: scope.ctes.clone(),
            from: Vec::new(),
            outer: Some(Rc::new(scope.clone())),
        };
        for q in nested {
            for c in query_columns(q, tables, &inner_scope) {
                sources.extend(c.sources);
            }
        }
    }
    let kind = match expr {
        Expr::Identifier(i) if i.value.eq_ignore_ascii_case(&name) => {
            single_kind(scope, std::slice::from_ref(&i.value))
        }
        Expr::CompoundIdentifier(p)
            if p.last()
                .is_some_and(|l| l.value.eq_ignore_ascii_case(&name)) =>
        {
            single_kind(
                scope,
                &p.iter().map(|i| i.value.clone()).collect::<Vec<_>>(),
            )
        }
        Expr::Identifier(_) | Expr::CompoundIdentifier(_) => LineageKind::Rename,
        _ => LineageKind::Transformation,
    };
    Col {
        name,
        kind,
        sources,
    }
}

/// A bare column reference keeps the kind of the column it reads (a copy of
/// a computed CTE column is still a transformation of its sources).
fn single_kind(scope: &Scope, parts: &[String]) -> LineageKind {
    let column = parts.last().map(|c| c.to_lowercase()).unwrap_or_default();
    let qualifier = if parts.len() > 1 {
        parts.get(parts.len() - 2)
    } else {
        None
    };
    for (alias, rel) in &scope.from {
        if qualifier.is_some_and(|q| !alias.eq_ignore_ascii_case(q)) {
            continue;
        }
        if let Some(c) = rel.columns.iter().find(|c| c.name.to_lowercase() == column) {
            return c.kind;
        }
    }
    LineageKind::Copy
}

/// Queries nested in `expr` (scalar subqueries, `EXISTS`, `IN (select ...)`)
/// through the common expression forms, not inside another nested query.
fn collect_nested<'a>(e: &'a Expr, out: &mut Vec<&'a Query>) {
    match e {
        Expr::Subquery(q) | Expr::Exists { subquery: q, .. } => out.push(q),
        Expr::InSubquery { subquery, expr, .. } => {
            collect_nested(expr, out);
            out.push(subquery);
        }
        Expr::BinaryOp { left, right, .. } => {
            collect_nested(left, out);
            collect_nested(right, out);
        }
        Expr::UnaryOp { expr, .. } | Expr::Nested(expr) | Expr::Cast { expr, .. } => {
            collect_nested(expr, out)
        }
        Expr::Case {
            operand,
            conditions,
            else_result,
            ..
        } => {
            if let Some(o) = operand {
                collect_nested(o, out);
            }
            for c in conditions {
                collect_nested(&c.condition, out);
                collect_nested(&c.result, out);
            }
            if let Some(e) = else_result {
                collect_nested(e, out);
            }
        }
        _ => {}
    }
}
