//! The walk that infers a statement's grain (see the rules in
//! [`crate::grain`]): relations in scope, joins, projection, grouping and
//! set operations. It collects fan-out joins on the way, and hands every
//! expression to [`crate::grain::lint`].

use std::collections::{BTreeSet, HashMap};
use std::rc::Rc;

use sqlparser::ast::{
    BinaryOperator, Distinct, Expr, FunctionArguments, GroupByExpr, Join, JoinConstraint,
    JoinOperator, Query, Select, SelectItem, SetExpr, SetOperator, SetQuantifier, Spanned,
    Statement, TableFactor, WildcardAdditionalOptions,
};

use crate::grain::lint;
use crate::grain::scope::{
    column_parts, function_name, literal, position, row_number_partition, Ctes, Joined, QCol, QKey,
    Walk,
};
use crate::grain::shape::{Shape, ShapeKey};
use crate::grain::types::{FanOut, Grain, Inference};
use crate::lineage::Tables;
use crate::sql::conjuncts;

/// Infers the grain of the last statement of `statements` (a model's
/// select) from what `tables` knows of the relations it reads, with the
/// fan-out joins and nondeterministic expressions found on the way.
/// `incremental`: the model is incremental (`now()` in a filter is allowed).
pub(crate) fn infer(
    statements: &[Statement],
    tables: &Tables<Shape>,
    incremental: bool,
) -> (Inference, Shape) {
    let Some(Statement::Query(query)) = statements.last() else {
        return (Inference::default(), Shape::default());
    };
    let mut walk = Walk {
        tables,
        incremental,
        fan_outs: Vec::new(),
        findings: Vec::new(),
    };
    let shape = walk.query(query, &Ctes::new());
    let inference = Inference {
        grain: Grain::of(&shape),
        fan_outs: walk.fan_outs,
        findings: walk.findings,
        nullable: shape
            .nullable
            .iter()
            .map(
                |(c, (join, (line, column)))| crate::grain::types::Nullable {
                    name: c.clone(),
                    join: join.clone(),
                    line: *line,
                    column: *column,
                },
            )
            .collect(),
        shape: None,
    };
    (inference, shape)
}

impl Walk<'_> {
    fn query(&mut self, query: &Query, outer: &Ctes) -> Shape {
        let mut ctes = outer.clone();
        if let Some(with) = &query.with {
            for cte in &with.cte_tables {
                let mut shape = self.query(&cte.query, &ctes);
                let names: Vec<String> = cte
                    .alias
                    .columns
                    .iter()
                    .map(|c| c.name.value.clone())
                    .collect();
                rename(&mut shape, &names);
                ctes.insert(cte.alias.name.value.to_lowercase(), Rc::new(shape));
            }
        }
        let mut shape = self.set_expr(&query.body, &ctes);
        lint::limit(self, query, &shape);
        if limit_one(query) {
            shape.keys = vec![ShapeKey {
                columns: BTreeSet::new(),
                with_nulls: true,
                reason: "`limit 1`: at most one row".to_owned(),
            }];
        }
        shape
    }

    fn set_expr(&mut self, body: &SetExpr, ctes: &Ctes) -> Shape {
        match body {
            SetExpr::Select(select) => self.select(select, ctes),
            SetExpr::Query(q) => self.query(q, ctes),
            SetExpr::SetOperation {
                op,
                set_quantifier,
                left,
                right,
            } => {
                let l = self.set_expr(left, ctes);
                let r = self.set_expr(right, ctes);
                set_operation(*op, *set_quantifier, l, r)
            }
            _ => Shape::default(),
        }
    }

    /// The relation a `FROM` item reads, with its alias.
    fn factor(&mut self, factor: &TableFactor, ctes: &Ctes) -> (String, Shape) {
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
                    .unwrap_or_default()
                    .to_lowercase();
                let mut shape = if args.is_some() {
                    Shape::default()
                } else if let Some(cte) = ctes
                    .get(&parts.first().map(|p| p.to_lowercase()).unwrap_or_default())
                    .filter(|_| parts.len() == 1)
                {
                    (**cte).clone()
                } else {
                    match self.tables.get(&parts) {
                        Some(shape) => shape.clone(),
                        None => Shape {
                            upstream: Some(parts.join(".")),
                            ..Shape::default()
                        },
                    }
                };
                if let Some(a) = alias {
                    let names: Vec<String> =
                        a.columns.iter().map(|c| c.name.value.clone()).collect();
                    rename(&mut shape, &names);
                }
                (alias_name, shape)
            }
            TableFactor::Derived {
                subquery, alias, ..
            } => {
                let mut shape = self.query(subquery, ctes);
                let alias_name = match alias {
                    Some(a) => {
                        let names: Vec<String> =
                            a.columns.iter().map(|c| c.name.value.clone()).collect();
                        rename(&mut shape, &names);
                        a.name.value.to_lowercase()
                    }
                    None => String::new(),
                };
                (alias_name, shape)
            }
            // Nested joins, table functions, unnest, pivots: not modelled.
            _ => (String::new(), Shape::default()),
        }
    }

    fn select(&mut self, select: &Select, ctes: &Ctes) -> Shape {
        let mut joined = Joined::default();
        for (k, twj) in select.from.iter().enumerate() {
            let (alias, shape) = self.factor(&twj.relation, ctes);
            if k == 0 {
                joined.start(alias, shape);
            } else {
                // `from a, b`: a cross join.
                let span = twj.relation.span();
                self.join(&mut joined, alias, shape, None, span);
            }
            for join in &twj.joins {
                let (alias, shape) = self.factor(&join.relation, ctes);
                self.join(&mut joined, alias, shape, Some(join), join.relation.span());
            }
        }
        if select.from.is_empty() {
            // `select 1 as x`: one row.
            joined.rels.push((String::new(), Shape::default()));
            joined.keys.push(QKey {
                columns: BTreeSet::new(),
                with_nulls: true,
                reason: "a select without `from` is one row".to_owned(),
            });
        }
        if let Some(filter) = &select.selection {
            lint::volatile(self, filter, !self.incremental);
            apply_filter(&mut joined, filter);
        }
        project(self, select, &joined)
    }

    /// Adds `right` (aliased `alias`) to `joined` by `join` (`None`: a
    /// comma, a cross join), recording a fan-out when it can multiply rows.
    fn join(
        &mut self,
        joined: &mut Joined,
        alias: String,
        right: Shape,
        join: Option<&Join>,
        span: sqlparser::tokenizer::Span,
    ) {
        use JoinOperator as J;
        #[derive(PartialEq, Clone, Copy)]
        enum Kind {
            Inner,
            Left,
            Right,
            Full,
            Cross,
            Semi,
            Other,
        }
        let (kind, constraint) = match join.map(|j| &j.join_operator) {
            None => (Kind::Cross, None),
            Some(J::Join(c) | J::Inner(c) | J::StraightJoin(c)) => (Kind::Inner, Some(c)),
            Some(J::Left(c) | J::LeftOuter(c)) => (Kind::Left, Some(c)),
            Some(J::Right(c) | J::RightOuter(c)) => (Kind::Right, Some(c)),
            Some(J::FullOuter(c)) => (Kind::Full, Some(c)),
            Some(J::CrossJoin(c)) => (Kind::Cross, Some(c)),
            Some(J::Semi(c) | J::LeftSemi(c) | J::Anti(c) | J::LeftAnti(c)) => {
                (Kind::Semi, Some(c))
            }
            Some(_) => (Kind::Other, None),
        };
        let r = joined.rels.len();
        let left_names = joined.left_names();
        joined.rels.push((alias.clone(), right.clone()));
        if let Some(JoinConstraint::On(on)) = constraint {
            lint::volatile(self, on, true);
        }
        // The columns each side is matched on: equal to a column of the
        // other side, or to a constant.
        let mut left_bound: BTreeSet<QCol> = BTreeSet::new();
        let mut right_bound: BTreeSet<String> = BTreeSet::new();
        let mut equal: Vec<(QCol, QCol)> = Vec::new();
        match constraint {
            Some(JoinConstraint::On(on)) => {
                for conj in conjuncts(on) {
                    let Expr::BinaryOp {
                        left: a,
                        op: BinaryOperator::Eq,
                        right: b,
                    } = conj
                    else {
                        continue;
                    };
                    match (joined.column_of(a), joined.column_of(b)) {
                        (Some(x), Some(y)) if (x.0 == r) != (y.0 == r) => {
                            let (rc, lc) = if x.0 == r { (x, y) } else { (y, x) };
                            right_bound.insert(rc.1.clone());
                            left_bound.insert(lc.clone());
                            equal.push((lc, rc));
                        }
                        (Some(x), None) | (None, Some(x))
                            if literal(a).or(literal(b)).is_some() =>
                        {
                            if x.0 == r {
                                right_bound.insert(x.1);
                            } else {
                                left_bound.insert(x);
                            }
                        }
                        _ => {}
                    }
                }
            }
            Some(JoinConstraint::Using(names)) => {
                for name in names {
                    let column = name.to_string().trim_matches('"').to_lowercase();
                    let left = (0..r).find(|&i| {
                        joined.rels[i]
                            .1
                            .columns
                            .as_ref()
                            .is_some_and(|c| c.contains(&column))
                    });
                    let left = left.or((r == 1).then_some(0));
                    right_bound.insert(column.clone());
                    if let Some(l) = left {
                        left_bound.insert((l, column.clone()));
                        equal.push(((l, column.clone()), (r, column)));
                    }
                }
            }
            _ => {}
        }
        let right_unique = right.keys.iter().find(|k| {
            k.columns
                .iter()
                .all(|c| right_bound.contains(c) || right.constants.contains_key(c))
        });
        let left_unique = joined.covers_key(&left_bound);
        let on_text = match constraint {
            Some(JoinConstraint::On(on)) => format!(" on {on}"),
            Some(JoinConstraint::Using(names)) => format!(
                " using ({})",
                names
                    .iter()
                    .map(|n| n.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            _ => String::new(),
        };
        let right_keys: Vec<QKey> = right
            .keys
            .iter()
            .map(|k| QKey {
                columns: k.columns.iter().map(|c| (r, c.clone())).collect(),
                with_nulls: k.with_nulls,
                reason: k.reason.clone(),
            })
            .collect();
        let left_keys = std::mem::take(&mut joined.keys);
        let mut keys: Vec<QKey> = Vec::new();
        let kept = |k: &QKey, why: &str| QKey {
            columns: k.columns.clone(),
            with_nulls: k.with_nulls,
            reason: format!("{}; {why}", k.reason),
        };
        let one_match =
            |side: &str| format!("the join to `{alias}`{on_text} matches at most one {side} row");
        match kind {
            Kind::Semi => keys = left_keys.clone(),
            Kind::Inner | Kind::Left if right_unique.is_some() => {
                let why = one_match("right");
                keys.extend(left_keys.iter().map(|k| kept(k, &why)));
                if kind == Kind::Inner && left_unique {
                    let why = one_match("left");
                    keys.extend(right_keys.iter().map(|k| kept(k, &why)));
                }
            }
            Kind::Inner if left_unique => {
                let why = one_match("left");
                keys.extend(right_keys.iter().map(|k| kept(k, &why)));
            }
            Kind::Right if left_unique => {
                let why = one_match("left");
                keys.extend(right_keys.iter().map(|k| kept(k, &why)));
            }
            _ => {}
        }
        // Each left row with each right row appears at most once: a key of
        // each side together are a key of the join. On the NULL side of an
        // outer join the right key is NULL on unmatched rows, one per left
        // row, which a key over not-null columns keeps apart.
        let pairs_ok = matches!(kind, Kind::Inner | Kind::Cross | Kind::Left);
        if pairs_ok {
            for lk in left_keys.iter().take(4) {
                for rk in right_keys.iter().take(4) {
                    let right_not_null = rk
                        .columns
                        .iter()
                        .all(|(_, c)| right.not_null.contains_key(c));
                    if kind == Kind::Left && !right_not_null {
                        continue;
                    }
                    keys.push(QKey {
                        columns: lk.columns.union(&rk.columns).cloned().collect(),
                        with_nulls: lk.with_nulls && rk.with_nulls,
                        reason: format!(
                            "a key of each side of the join to `{alias}`: {} / {}",
                            lk.reason, rk.reason
                        ),
                    });
                }
            }
        }
        let at = position(span);
        let fans_out = match kind {
            Kind::Semi => false,
            Kind::Right => !left_unique,
            _ => right_unique.is_none(),
        };
        if fans_out {
            let (line, column) = at;
            self.fan_outs.push(FanOut {
                line,
                column,
                right: alias.clone(),
                upstream: right.upstream.clone(),
                columns: right_bound.iter().cloned().collect(),
                left: left_names,
            });
        }
        if kind == Kind::Other {
            joined.unknown = true;
        }
        joined.keys = keys;
        // Not-null columns and constants by side.
        let right_facts = |joined: &mut Joined| {
            for (c, why) in &right.not_null {
                joined.not_null.insert((r, c.clone()), why.clone());
            }
            for (c, v) in &right.constants {
                joined.constants.insert((r, c.clone()), v.clone());
            }
        };
        match kind {
            Kind::Inner | Kind::Cross => {
                right_facts(joined);
                for (l, rc) in &equal {
                    let why = format!("matched by the inner join to `{alias}`{on_text}");
                    joined
                        .not_null
                        .entry(l.clone())
                        .or_insert_with(|| why.clone());
                    joined.not_null.entry(rc.clone()).or_insert(why);
                }
            }
            Kind::Left => {
                joined
                    .null_side
                    .insert(r, (format!("`left join {alias}{on_text}`"), at));
            }
            Kind::Right => {
                right_facts(joined);
                joined.not_null.retain(|(i, _), _| *i == r);
                joined.constants.retain(|(i, _), _| *i == r);
                for i in 0..r {
                    joined
                        .null_side
                        .insert(i, (format!("`right join {alias}{on_text}`"), at));
                }
            }
            Kind::Full => {
                joined.not_null.clear();
                joined.constants.clear();
                for i in 0..=r {
                    joined
                        .null_side
                        .insert(i, (format!("`full join {alias}{on_text}`"), at));
                }
            }
            Kind::Semi | Kind::Other => {}
        }
        // A key over columns now not null holds with NULLs.
        for k in &mut joined.keys {
            if !k.with_nulls && k.columns.iter().all(|c| joined.not_null.contains_key(c)) {
                k.with_nulls = true;
            }
        }
    }
}

/// Whether `query` ends in `limit 1`.
fn limit_one(query: &Query) -> bool {
    match &query.limit_clause {
        Some(sqlparser::ast::LimitClause::LimitOffset {
            limit: Some(limit),
            offset: None,
            limit_by,
        }) if limit_by.is_empty() => literal(limit).is_some_and(|l| l == "1"),
        _ => false,
    }
}

/// Renames a shape's columns by position (`cte(a, b) as (...)`, `t(a, b)`).
fn rename(shape: &mut Shape, names: &[String]) {
    if names.is_empty() {
        return;
    }
    let Some(columns) = &shape.columns else {
        // Unknown columns: renaming cannot be followed.
        *shape = Shape {
            upstream: shape.upstream.clone(),
            ..Shape::default()
        };
        return;
    };
    let map: HashMap<String, String> = columns
        .iter()
        .zip(names)
        .map(|(old, new)| (old.clone(), new.to_lowercase()))
        .collect();
    let new_columns: Vec<String> = columns
        .iter()
        .enumerate()
        .map(|(i, c)| names.get(i).map_or_else(|| c.clone(), |n| n.to_lowercase()))
        .collect();
    let get = |c: &String| map.get(c).cloned().unwrap_or_else(|| c.clone());
    shape.keys = shape
        .keys
        .iter()
        .map(|k| ShapeKey {
            columns: k.columns.iter().map(get).collect(),
            with_nulls: k.with_nulls,
            reason: k.reason.clone(),
        })
        .collect();
    shape.not_null = shape
        .not_null
        .iter()
        .map(|(c, r)| (get(c), r.clone()))
        .collect();
    shape.constants = shape
        .constants
        .iter()
        .map(|(c, v)| (get(c), v.clone()))
        .collect();
    shape.nullable = shape
        .nullable
        .iter()
        .map(|(c, v)| (get(c), v.clone()))
        .collect();
    shape.columns = Some(new_columns);
}

/// Applies a `where` clause: its conjuncts make columns not null
/// (`x is not null`, comparisons) or constant (`x = 'a'`).
fn apply_filter(joined: &mut Joined, filter: &Expr) {
    for conj in conjuncts(filter) {
        let why = format!("`where {conj}`");
        let not_null = |joined: &mut Joined, e: &Expr| {
            if let Some(c) = joined.column_of(e) {
                joined.filtered.insert(c.clone());
                joined.not_null.entry(c).or_insert_with(|| why.clone());
            }
        };
        match conj {
            Expr::IsNotNull(e) => not_null(joined, e),
            Expr::BinaryOp { left, op, right } => {
                use BinaryOperator as B;
                if !matches!(op, B::Eq | B::NotEq | B::Gt | B::Lt | B::GtEq | B::LtEq) {
                    continue;
                }
                not_null(joined, left);
                not_null(joined, right);
                if *op == B::Eq {
                    let constant = match (joined.column_of(left), joined.column_of(right)) {
                        (Some(c), None) => literal(right).map(|v| (c, v)),
                        (None, Some(c)) => literal(left).map(|v| (c, v)),
                        _ => None,
                    };
                    if let Some((c, v)) = constant {
                        joined.constants.insert(c, v);
                    }
                }
            }
            Expr::InList { expr, .. } | Expr::Between { expr, .. } => not_null(joined, expr),
            Expr::Like { expr, .. } | Expr::ILike { expr, .. } => not_null(joined, expr),
            _ => {}
        }
    }
    joined.drop_constants();
}

/// One output column of a select: its name and what it is.
struct Out<'a> {
    name: String,
    /// The joined column it copies, when it is a plain reference.
    source: Option<QCol>,
    expr: Option<&'a Expr>,
}

/// Aggregate functions: a select using one without `group by` is one row.
const AGGREGATES: &[&str] = &[
    "count",
    "sum",
    "min",
    "max",
    "avg",
    "mean",
    "median",
    "mode",
    "any_value",
    "arbitrary",
    "first",
    "last",
    "string_agg",
    "listagg",
    "group_concat",
    "list",
    "array_agg",
    "bool_and",
    "bool_or",
    "bit_and",
    "bit_or",
    "bit_xor",
    "stddev",
    "stddev_samp",
    "stddev_pop",
    "variance",
    "var_samp",
    "var_pop",
    "approx_count_distinct",
    "count_if",
    "countif",
    "product",
    "arg_min",
    "arg_max",
    "min_by",
    "max_by",
    "quantile",
    "quantile_cont",
    "quantile_disc",
    "histogram",
    "json_group_array",
    "json_group_object",
    "fsum",
    "kahan_sum",
    "sumkahan",
    "corr",
    "covar_pop",
    "covar_samp",
    "entropy",
    "kurtosis",
    "skewness",
    "approx_quantile",
    "reservoir_quantile",
    "every",
    "logical_and",
    "logical_or",
];

/// Whether `expr` calls an aggregate (not as a window), outside nested queries.
pub(crate) fn has_aggregate(expr: &Expr) -> bool {
    use sqlparser::ast::{Visit, Visitor};
    use std::ops::ControlFlow;
    struct Find {
        depth: usize,
        found: bool,
    }
    impl Visitor for Find {
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
            if let Expr::Function(f) = e {
                if self.depth == 0
                    && f.over.is_none()
                    && AGGREGATES.contains(&function_name(f).as_str())
                {
                    self.found = true;
                    return ControlFlow::Break(());
                }
            }
            ControlFlow::Continue(())
        }
    }
    let mut find = Find {
        depth: 0,
        found: false,
    };
    let _ = expr.visit(&mut find);
    find.found
}

/// Whether `expr` is never NULL on its own: a literal, `count(...)`, a
/// ranking window function, or `coalesce`/`ifnull` with a literal or a
/// not-null argument.
fn never_null(expr: &Expr, joined: &Joined) -> Option<String> {
    match expr {
        Expr::Nested(inner) => never_null(inner, joined),
        Expr::Cast {
            kind: sqlparser::ast::CastKind::Cast | sqlparser::ast::CastKind::DoubleColon,
            expr,
            ..
        } => never_null(expr, joined),
        e if literal(e).is_some() => Some("a literal".to_owned()),
        e => {
            if let Some(c) = joined.column_of(e) {
                if joined.null_side.contains_key(&c.0) && !joined.filtered.contains(&c) {
                    return None;
                }
                return joined.not_null.get(&c).cloned();
            }
            let Expr::Function(f) = e else {
                return None;
            };
            let name = function_name(f);
            match name.as_str() {
                "count" | "count_star" | "row_number" | "rank" | "dense_rank" | "ntile" => {
                    Some(format!("`{name}(...)` is never NULL"))
                }
                "coalesce" | "ifnull" => {
                    let FunctionArguments::List(list) = &f.args else {
                        return None;
                    };
                    list.args.iter().find_map(|a| match a {
                        sqlparser::ast::FunctionArg::Unnamed(
                            sqlparser::ast::FunctionArgExpr::Expr(arg),
                        ) => never_null(arg, joined)
                            .map(|why| format!("`{e}`: an argument is never NULL ({why})")),
                        _ => None,
                    })
                }
                _ => None,
            }
        }
    }
}

/// The output of a select over `joined`: its columns, keys (kept through
/// the projection, from `group by`, `distinct`, `qualify`, row numbers),
/// not-null columns and constants.
fn project(walk: &mut Walk, select: &Select, joined: &Joined) -> Shape {
    let mut outs: Vec<Out> = Vec::new();
    // Relations whose columns pass through `*` unlisted: (index, excluded or replaced).
    let mut through: Vec<(usize, BTreeSet<String>)> = Vec::new();
    let mut columns_known = true;
    let mut star = |rel: usize, opts: &WildcardAdditionalOptions, outs: &mut Vec<Out>| {
        let (skipped, replaced) = star_options(opts);
        match &joined.rels[rel].1.columns {
            Some(cols) => {
                for c in cols {
                    if skipped.contains(c) {
                        continue;
                    }
                    outs.push(Out {
                        name: c.clone(),
                        source: (!replaced.contains(c)).then(|| (rel, c.clone())),
                        expr: None,
                    });
                }
            }
            None => {
                columns_known = false;
                through.push((rel, skipped.union(&replaced).cloned().collect()));
            }
        }
    };
    for item in &select.projection {
        match item {
            SelectItem::UnnamedExpr(expr) => {
                let name = match column_parts(expr) {
                    Some(parts) => parts.last().cloned().unwrap_or_default(),
                    None => expr.to_string(),
                };
                outs.push(Out {
                    name: name.to_lowercase(),
                    source: joined.column_of(expr),
                    expr: Some(expr),
                });
            }
            SelectItem::ExprWithAlias { expr, alias } => outs.push(Out {
                name: alias.value.to_lowercase(),
                source: joined.column_of(expr),
                expr: Some(expr),
            }),
            SelectItem::Wildcard(opts) => {
                for rel in 0..joined.rels.len() {
                    star(rel, opts, &mut outs);
                }
            }
            SelectItem::QualifiedWildcard(kind, opts) => {
                let q = kind.to_string();
                let q = q
                    .rsplit('.')
                    .next()
                    .unwrap_or(&q)
                    .trim_matches('"')
                    .to_lowercase();
                for rel in 0..joined.rels.len() {
                    if joined.rels[rel].0 == q {
                        star(rel, opts, &mut outs);
                    }
                }
            }
        }
    }
    for out in &outs {
        if let Some(e) = out.expr {
            lint::volatile(walk, e, true);
        }
    }
    // Where a joined column shows up in the output.
    let output_of = |c: &QCol| -> Option<String> {
        if let Some(o) = outs.iter().find(|o| o.source.as_ref() == Some(c)) {
            return Some(o.name.clone());
        }
        through
            .iter()
            .find(|(rel, skipped)| *rel == c.0 && !skipped.contains(&c.1))
            .map(|_| c.1.clone())
    };
    let map_key = |cols: &BTreeSet<QCol>| -> Option<BTreeSet<String>> {
        cols.iter().map(output_of).collect()
    };
    let mut shape = Shape {
        columns: columns_known.then(|| outs.iter().map(|o| o.name.clone()).collect()),
        ..Shape::default()
    };
    if joined.rels.len() == 1 {
        shape.upstream = joined.rels[0].1.upstream.clone();
    }
    // Not-null columns, constants and NULL sides carried to the output.
    for (c, why) in &joined.not_null {
        if joined.null_side.contains_key(&c.0) && !joined.filtered.contains(c) {
            continue;
        }
        if let Some(name) = output_of(c) {
            shape.not_null.entry(name).or_insert_with(|| why.clone());
        }
    }
    for (c, v) in &joined.constants {
        if joined.null_side.contains_key(&c.0) {
            continue;
        }
        if let Some(name) = output_of(c) {
            shape.constants.insert(name, v.clone());
        }
    }
    for (rel, why) in &joined.null_side {
        for out in &outs {
            if out.source.as_ref().is_some_and(|s| s.0 == *rel) {
                shape.nullable.insert(out.name.clone(), why.clone());
            }
        }
    }
    for out in &outs {
        if let Some(e) = out.expr {
            if out.source.is_none() {
                if let Some(why) = never_null(e, joined) {
                    shape.not_null.entry(out.name.clone()).or_insert(why);
                }
                if let Some(v) = literal(e) {
                    shape.constants.insert(out.name.clone(), v);
                }
            }
        }
    }
    let aggregated = outs.iter().any(|o| o.expr.is_some_and(has_aggregate));
    let group: Option<Vec<&Expr>> = match &select.group_by {
        GroupByExpr::Expressions(exprs, modifiers) if !exprs.is_empty() => {
            if modifiers.is_empty() {
                Some(exprs.iter().collect())
            } else {
                None
            }
        }
        GroupByExpr::All(modifiers) if modifiers.is_empty() => Some(
            outs.iter()
                .filter_map(|o| o.expr.filter(|e| !has_aggregate(e)))
                .collect(),
        ),
        _ => None,
    };
    let grouped = !matches!(&select.group_by, GroupByExpr::Expressions(e, _) if e.is_empty());
    lint::window_and_aggregates(
        walk,
        select,
        joined,
        &outs.iter().filter_map(|o| o.expr).collect::<Vec<_>>(),
        grouped,
    );
    if grouped {
        // One row per group: the group's expressions are a key when all
        // are selected; a key of the input within them stays one.
        if let Some(group) = group {
            let mut names = BTreeSet::new();
            let mut inputs = BTreeSet::new();
            let mut complete = true;
            for g in &group {
                if let Some(c) = joined.column_of(g) {
                    inputs.insert(c);
                }
                match group_output(g, &outs, joined, &output_of) {
                    Some(name) => {
                        names.insert(name);
                    }
                    None => complete = false,
                }
            }
            let text: Vec<String> = group.iter().map(|g| g.to_string()).collect();
            if complete {
                shape.keys.push(ShapeKey {
                    columns: names,
                    with_nulls: true,
                    reason: format!("`group by {}`", text.join(", ")),
                });
            }
            if !joined.unknown {
                for k in &joined.keys {
                    if k.columns.is_subset(&inputs) {
                        if let Some(cols) = map_key(&k.columns) {
                            shape.keys.push(ShapeKey {
                                columns: cols,
                                with_nulls: k.with_nulls,
                                reason: format!("{}; grouped by it", k.reason),
                            });
                        }
                    }
                }
            }
        }
        // Only grouped and aggregated values are not null after grouping.
        let group_names: BTreeSet<String> =
            shape.keys.iter().flat_map(|k| k.columns.clone()).collect();
        shape.not_null.retain(|c, _| {
            group_names.contains(c) || outs.iter().any(|o| &o.name == c && o.source.is_none())
        });
    } else if aggregated {
        shape.keys.push(ShapeKey {
            columns: BTreeSet::new(),
            with_nulls: true,
            reason: "an aggregate without `group by` is one row".to_owned(),
        });
    } else if !joined.unknown {
        for k in &joined.keys {
            if let Some(cols) = map_key(&k.columns) {
                shape.keys.push(ShapeKey {
                    columns: cols,
                    with_nulls: k.with_nulls,
                    reason: k.reason.clone(),
                });
            }
        }
    }
    // Row numbers: `(partition, rn)` is a key.
    if !grouped && !aggregated {
        for out in &outs {
            let Some(partition) = out.expr.and_then(row_number_partition) else {
                continue;
            };
            let cols: Option<BTreeSet<String>> = partition
                .iter()
                .map(|p| joined.column_of(p).and_then(|c| output_of(&c)))
                .collect();
            if let Some(mut cols) = cols {
                cols.insert(out.name.clone());
                let text: Vec<String> = partition.iter().map(|p| p.to_string()).collect();
                shape.keys.push(ShapeKey {
                    columns: cols,
                    with_nulls: true,
                    reason: format!(
                        "`{}` numbers the rows of each `{}` from 1",
                        out.name,
                        if text.is_empty() {
                            "select".to_owned()
                        } else {
                            text.join(", ")
                        }
                    ),
                });
            }
        }
    }
    match &select.distinct {
        Some(Distinct::Distinct) => {
            if let Some(cols) = &shape.columns {
                shape.keys.push(ShapeKey {
                    columns: cols.iter().cloned().collect(),
                    with_nulls: true,
                    reason: "`select distinct`".to_owned(),
                });
            }
        }
        Some(Distinct::On(exprs)) => {
            let cols: Option<BTreeSet<String>> = exprs
                .iter()
                .map(|e| group_output(e, &outs, joined, &output_of))
                .collect();
            if let Some(cols) = cols {
                shape.keys.push(ShapeKey {
                    columns: cols,
                    with_nulls: true,
                    reason: format!(
                        "`distinct on ({})`",
                        exprs
                            .iter()
                            .map(|e| e.to_string())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                });
            }
        }
        None => {}
    }
    if let Some(qualify) = &select.qualify {
        lint::volatile(walk, qualify, true);
        for conj in conjuncts(qualify) {
            let Expr::BinaryOp { left, op, right } = conj else {
                continue;
            };
            use BinaryOperator as B;
            let (window, bound, op) = match (literal(left), literal(right)) {
                (None, Some(v)) => (&**left, v, op.clone()),
                (Some(v), None) => (
                    &**right,
                    v,
                    match op {
                        B::GtEq => B::LtEq,
                        B::Gt => B::Lt,
                        other => other.clone(),
                    },
                ),
                _ => continue,
            };
            let first_only = matches!((&op, bound.as_str()), (B::Eq | B::LtEq, "1") | (B::Lt, "2"));
            if first_only {
                if let Some(partition) = row_number_partition(window) {
                    let cols: Option<BTreeSet<String>> = partition
                        .iter()
                        .map(|p| joined.column_of(p).and_then(|c| output_of(&c)))
                        .collect();
                    if let Some(cols) = cols {
                        shape.keys.push(ShapeKey {
                            columns: cols,
                            with_nulls: true,
                            reason: format!("`qualify {conj}` keeps one row per partition"),
                        });
                    }
                } else if let Some(name) = column_parts(window).and_then(|p| p.last().cloned()) {
                    // `qualify rn = 1` on a selected row number.
                    let name = name.to_lowercase();
                    if outs.iter().any(|o| o.name == name) {
                        shape.constants.insert(name, bound);
                    }
                }
            }
        }
    }
    if let Some(having) = &select.having {
        lint::volatile(walk, having, true);
    }
    shape.normalize();
    shape
}

/// The output column a `group by` (or `distinct on`) expression is: a
/// position (`group by 1`), an output alias, a selected column, or an
/// expression selected as is.
fn group_output(
    g: &Expr,
    outs: &[Out],
    joined: &Joined,
    output_of: &dyn Fn(&QCol) -> Option<String>,
) -> Option<String> {
    if let Some(n) = literal(g).and_then(|v| v.parse::<usize>().ok()) {
        return outs.get(n.checked_sub(1)?).map(|o| o.name.clone());
    }
    if let Some(c) = joined.column_of(g) {
        if let Some(name) = output_of(&c) {
            return Some(name);
        }
    }
    if let Some([name]) = column_parts(g).as_deref() {
        let name = name.to_lowercase();
        if let Some(o) = outs.iter().find(|o| o.name == name && o.source.is_none()) {
            return Some(o.name.clone());
        }
    }
    let text = g.to_string();
    outs.iter()
        .find(|o| o.expr.is_some_and(|e| e.to_string() == text))
        .map(|o| o.name.clone())
}

/// The columns `*` leaves out (`exclude`) and those it computes (`replace`).
fn star_options(opts: &WildcardAdditionalOptions) -> (BTreeSet<String>, BTreeSet<String>) {
    let replaced = opts
        .opt_replace
        .as_ref()
        .map(|r| {
            r.items
                .iter()
                .map(|i| i.column_name.value.to_lowercase())
                .collect()
        })
        .unwrap_or_default();
    (crate::lineage::excluded_columns(opts), replaced)
}

/// `union`, `union all`, `except`, `intersect` of two shapes (columns pair
/// by position, named by the left side).
fn set_operation(op: SetOperator, quantifier: SetQuantifier, l: Shape, r: Shape) -> Shape {
    let (Some(lc), Some(rc)) = (l.columns.clone(), r.columns.clone()) else {
        return Shape::default();
    };
    if lc.len() != rc.len() {
        return Shape::default();
    }
    let by_name = matches!(
        quantifier,
        SetQuantifier::ByName | SetQuantifier::AllByName | SetQuantifier::DistinctByName
    );
    if by_name {
        return Shape::default();
    }
    let mut shape = Shape {
        columns: Some(lc.clone()),
        ..Shape::default()
    };
    match op {
        SetOperator::Except | SetOperator::Minus | SetOperator::Intersect => {
            // A subset of the left side's rows.
            shape.keys = l.keys.clone();
            shape.not_null = l.not_null.clone();
            shape.constants = l.constants.clone();
            shape.normalize();
            return shape;
        }
        SetOperator::Union => {}
    }
    for (a, b) in lc.iter().zip(&rc) {
        if let (Some(x), Some(y)) = (l.not_null.get(a), r.not_null.get(b)) {
            shape.not_null.insert(
                a.clone(),
                format!("not null on both sides of the union: {x} / {y}"),
            );
        }
        if let (Some(x), Some(y)) = (l.constants.get(a), r.constants.get(b)) {
            if x == y {
                shape.constants.insert(a.clone(), x.clone());
            }
        }
    }
    let distinct = !matches!(quantifier, SetQuantifier::All);
    if distinct {
        shape.keys.push(ShapeKey {
            columns: lc.iter().cloned().collect(),
            with_nulls: true,
            reason: "`union` removes duplicate rows".to_owned(),
        });
    }
    // `union all` of sides a column tells apart: a key on both sides at
    // the same positions, plus that column.
    let position = |cols: &[String], c: &String| cols.iter().position(|x| x == c);
    let tag = (0..lc.len()).find(|&i| {
        matches!((l.constants.get(&lc[i]), r.constants.get(&rc[i])), (Some(x), Some(y)) if x != y)
    });
    if let Some(t) = tag {
        for lk in &l.keys {
            let positions: Option<BTreeSet<usize>> =
                lk.columns.iter().map(|c| position(&lc, c)).collect();
            let Some(positions) = positions else { continue };
            let matching = r.keys.iter().find(|rk| {
                rk.columns
                    .iter()
                    .map(|c| position(&rc, c))
                    .collect::<Option<BTreeSet<usize>>>()
                    .is_some_and(|p| p.is_subset(&positions))
            });
            if let Some(rk) = matching {
                let mut columns: BTreeSet<String> =
                    positions.iter().map(|&i| lc[i].clone()).collect();
                columns.insert(lc[t].clone());
                shape.keys.push(ShapeKey {
                    columns,
                    with_nulls: lk.with_nulls && rk.with_nulls,
                    reason: format!(
                        "`union all` of disjoint sides (`{}` is {} on one, {} on the other): {} / {}",
                        lc[t], l.constants[&lc[t]], r.constants[&rc[t]], lk.reason, rk.reason
                    ),
                });
            }
        }
    }
    shape.normalize();
    shape
}

#[cfg(test)]
mod tests {
    //! One test per inference rule: what it proves, and what it must not.
    use crate::grain::facts::{Declared, Grains};
    use crate::grain::types::{Inference, Key, NotNull};
    use sqlparser::dialect::DuckDbDialect;
    use sqlparser::parser::Parser;

    /// `tables`: `name: col*, col!, col` (`*` unique, `!` not null).
    fn run(tables: &[&str], sql: &str) -> Inference {
        let mut grains = Grains::default();
        for t in tables {
            let (name, cols) = t.split_once(':').unwrap();
            let mut declared = Declared::default();
            let mut columns = Vec::new();
            for token in cols.split(',').map(str::trim).filter(|t| !t.is_empty()) {
                let column = token.trim_end_matches(['*', '!']).to_owned();
                if token.contains('*') {
                    declared.keys.push(Key {
                        columns: vec![column.clone()],
                        with_nulls: false,
                        reason: "declared".into(),
                    });
                }
                if token.contains('!') {
                    declared.not_null.push(NotNull {
                        column: column.clone(),
                        reason: "declared".into(),
                    });
                }
                columns.push(column);
            }
            grains.declare(&[name.trim()], columns, &declared);
        }
        let statements = Parser::parse_sql(&DuckDbDialect {}, sql).unwrap();
        grains.infer(&statements, false)
    }

    fn keys(i: &Inference) -> Vec<String> {
        i.grain.keys.iter().map(|k| k.columns.join(",")).collect()
    }

    fn not_null(i: &Inference) -> Vec<String> {
        i.grain.not_null.iter().map(|n| n.column.clone()).collect()
    }

    const ORDERS: &str = "orders: order_id*!, customer_id!, amount, status";
    const CUSTOMERS: &str = "customers: customer_id*!, name";

    #[test]
    fn projection_keeps_a_selected_key_and_follows_renames() {
        let i = run(&[ORDERS], "select order_id as id, amount from orders");
        assert_eq!(keys(&i), ["id"]);
        assert_eq!(not_null(&i), ["id"]);
        // The key's column is not selected: no key.
        let i = run(&[ORDERS], "select customer_id, amount from orders");
        assert!(keys(&i).is_empty());
        // A computed column is not the key, even from the key's column.
        let i = run(&[ORDERS], "select order_id % 10 as bucket from orders");
        assert!(keys(&i).is_empty());
    }

    #[test]
    fn star_passes_keys_through_known_and_unknown_columns() {
        let i = run(&[ORDERS], "select * from orders");
        assert_eq!(keys(&i), ["order_id"]);
        let i = run(&[ORDERS], "select * exclude (order_id) from orders");
        assert!(keys(&i).is_empty());
        // An unknown table: nothing known.
        let i = run(&[], "select * from mystery");
        assert!(keys(&i).is_empty());
    }

    #[test]
    fn unique_tests_give_keys_among_non_null_values_until_not_null() {
        let i = run(&["t: a*, b"], "select a, b from t");
        assert!(!i.grain.keys[0].with_nulls);
        let i = run(&["t: a*, b"], "select a, b from t where a is not null");
        assert!(i.grain.keys[0].with_nulls);
    }

    #[test]
    fn group_by_is_a_key_when_every_expression_is_selected() {
        let i = run(
            &[ORDERS],
            "select customer_id, count(*) as n from orders group by customer_id",
        );
        assert_eq!(keys(&i), ["customer_id"]);
        assert_eq!(not_null(&i), ["customer_id", "n"]);
        let i = run(
            &[ORDERS],
            "select date_trunc('month', x) as m, sum(amount) from orders group by 1",
        );
        assert_eq!(keys(&i), ["m"]);
        let i = run(
            &[ORDERS],
            "select customer_id, status, count(*) from orders group by all",
        );
        assert_eq!(keys(&i), ["customer_id,status"]);
        // Grouped by a column that is not selected: no key.
        let i = run(
            &[ORDERS],
            "select customer_id, count(*) from orders group by customer_id, status",
        );
        assert!(keys(&i).is_empty());
        // Rollups add subtotal rows: no key.
        let i = run(
            &[ORDERS],
            "select customer_id, count(*) from orders group by rollup (customer_id)",
        );
        assert!(keys(&i).is_empty());
        // A key of the input inside the group stays a key.
        let i = run(
            &[ORDERS],
            "select order_id, customer_id, sum(amount) from orders group by order_id, customer_id",
        );
        assert_eq!(keys(&i), ["order_id"]);
    }

    #[test]
    fn an_aggregate_without_group_by_is_one_row() {
        let i = run(&[ORDERS], "select sum(amount) as total from orders");
        assert_eq!(keys(&i), [""]);
        // A window function is not an aggregate of the whole table.
        let i = run(&[ORDERS], "select sum(amount) over () as total from orders");
        assert!(keys(&i).is_empty());
    }

    #[test]
    fn distinct_and_distinct_on() {
        let i = run(&[ORDERS], "select distinct customer_id, status from orders");
        assert_eq!(keys(&i), ["customer_id,status"]);
        let i = run(&[ORDERS], "select distinct on (customer_id) customer_id, amount from orders order by customer_id, amount");
        assert_eq!(keys(&i), ["customer_id"]);
    }

    #[test]
    fn row_numbers_and_dedupes() {
        let i = run(&[ORDERS], "select customer_id, row_number() over (partition by customer_id order by order_id) as rn from orders");
        assert_eq!(keys(&i), ["customer_id,rn"]);
        let i = run(&[ORDERS], "select customer_id, amount from orders qualify row_number() over (partition by customer_id order by order_id) = 1");
        assert_eq!(keys(&i), ["customer_id"]);
        let i = run(&[ORDERS], "select * from (select customer_id, row_number() over (partition by customer_id order by order_id) as rn from orders) where rn = 1");
        assert_eq!(keys(&i), ["customer_id"]);
        // rank() ties: not a dedupe.
        let i = run(&[ORDERS], "select customer_id from orders qualify rank() over (partition by customer_id order by amount) = 1");
        assert!(keys(&i).is_empty());
        let i = run(&[ORDERS], "select customer_id, rank() over (partition by customer_id order by amount) as r from orders");
        assert!(keys(&i).is_empty());
        // `rn <= 2` keeps two rows per partition.
        let i = run(&[ORDERS], "select customer_id from orders qualify row_number() over (partition by customer_id order by order_id) <= 2");
        assert!(keys(&i).is_empty());
    }

    #[test]
    fn a_constant_column_drops_out_of_keys() {
        let i = run(&["p: product_id!, currency!, price"], "select * from p");
        assert!(keys(&i).is_empty());
        let mut grains = Grains::default();
        let declared = Declared {
            keys: vec![Key {
                columns: vec!["currency".into(), "product_id".into()],
                with_nulls: true,
                reason: "declared".into(),
            }],
            ..Declared::default()
        };
        grains.declare(
            &["p"],
            vec!["product_id".into(), "currency".into(), "price".into()],
            &declared,
        );
        let sql = "select product_id, price from p where currency = 'EUR'";
        let statements = Parser::parse_sql(&DuckDbDialect {}, sql).unwrap();
        assert_eq!(keys(&grains.infer(&statements, false)), ["product_id"]);
        // `currency <> 'EUR'` leaves several currencies.
        let sql = "select product_id, price from p where currency <> 'EUR'";
        let statements = Parser::parse_sql(&DuckDbDialect {}, sql).unwrap();
        assert!(keys(&grains.infer(&statements, false)).is_empty());
    }

    #[test]
    fn joins_keep_keys_by_which_side_is_unique() {
        // Right side unique on the join column: the left key stays.
        let i = run(&[ORDERS, CUSTOMERS], "select o.order_id, c.name from orders o join customers c on c.customer_id = o.customer_id");
        assert_eq!(keys(&i), ["order_id"]);
        assert!(i.fan_outs.is_empty());
        // A left join too.
        let i = run(&[ORDERS, CUSTOMERS], "select o.order_id, c.name from orders o left join customers c on c.customer_id = o.customer_id");
        assert_eq!(keys(&i), ["order_id"]);
        // One-to-one: both keys stay on an inner join.
        let i = run(&[CUSTOMERS, "profiles: customer_id*!, country"], "select c.customer_id as a, p.customer_id as b from customers c join profiles p on p.customer_id = c.customer_id");
        assert_eq!(keys(&i), ["a", "b"]);
        // Fan-out: the left key is lost, the pair is a key, the join is reported.
        let i = run(&[CUSTOMERS, ORDERS], "select c.customer_id, o.order_id from customers c join orders o on o.customer_id = c.customer_id");
        assert_eq!(keys(&i), ["order_id"]);
        assert_eq!(i.fan_outs.len(), 1);
        assert_eq!(i.fan_outs[0].columns, ["customer_id"]);
        // Many-to-many with no known keys: nothing.
        let i = run(
            &["a: x, y", "b: x, z"],
            "select a.x, b.z from a join b on a.x = b.x",
        );
        assert!(keys(&i).is_empty());
        assert_eq!(i.fan_outs.len(), 1);
        // A join on a column that is not the right side's key multiplies.
        let i = run(
            &[ORDERS, CUSTOMERS],
            "select o.order_id from orders o join customers c on c.name = o.status",
        );
        assert_eq!(i.fan_outs.len(), 1);
        // `using` names the same column on both sides.
        let i = run(
            &[ORDERS, CUSTOMERS],
            "select order_id from orders join customers using (customer_id)",
        );
        assert_eq!(keys(&i), ["order_id"]);
        // A full join: no key kept.
        let i = run(&[ORDERS, CUSTOMERS], "select o.order_id from orders o full join customers c on c.customer_id = o.customer_id");
        assert!(keys(&i).is_empty());
        // A cross join with a one-row side keeps the other side's key.
        let i = run(
            &[ORDERS],
            "select o.order_id from orders o cross join (select max(amount) as m from orders) x",
        );
        assert_eq!(keys(&i), ["order_id"]);
    }

    #[test]
    fn not_null_rules() {
        // `is not null` and comparisons filter NULLs out.
        let i = run(
            &["t: a, b, c"],
            "select a, b, c from t where a is not null and b > 3",
        );
        assert_eq!(not_null(&i), ["a", "b"]);
        // `or` proves nothing.
        let i = run(
            &["t: a, b"],
            "select a, b from t where a is not null or b is not null",
        );
        assert!(not_null(&i).is_empty());
        // Inner join equality: both sides not null.
        let i = run(
            &["a: x", "b: x, y"],
            "select a.x as ax, b.x as bx from a join b on a.x = b.x",
        );
        assert_eq!(not_null(&i), ["ax", "bx"]);
        // The NULL side of a left join loses its not-null columns.
        let i = run(&[ORDERS, CUSTOMERS], "select o.order_id, c.customer_id as cid from orders o left join customers c on c.customer_id = o.customer_id");
        assert_eq!(not_null(&i), ["order_id"]);
        assert_eq!(i.nullable[0].name, "cid");
        // coalesce with a literal, count, literals.
        let i = run(&["t: a, b"], "select coalesce(a, 0) as a0, coalesce(a, b) as ab, count(b) over () as n, 'x' as lit from t");
        assert_eq!(not_null(&i), ["a0", "lit", "n"]);
        // try_cast can give NULL.
        let i = run(&["t: a!"], "select try_cast(a as int) as a from t");
        assert!(not_null(&i).is_empty());
    }

    #[test]
    fn set_operations() {
        let i = run(
            &["a: x, y", "b: x, y"],
            "select x, y from a union select x, y from b",
        );
        assert_eq!(keys(&i), ["x,y"]);
        let i = run(
            &["a: id*!", "b: id*!"],
            "select id from a union all select id from b",
        );
        assert!(keys(&i).is_empty());
        let i = run(
            &["a: id*!", "b: id*!"],
            "select 'a' as src, id from a union all select 'b' as src, id from b",
        );
        assert_eq!(keys(&i), ["id,src"]);
        // The same literal on both sides tells nothing apart.
        let i = run(
            &["a: id*!", "b: id*!"],
            "select 'a' as src, id from a union all select 'a' as src, id from b",
        );
        assert!(keys(&i).is_empty());
        // except keeps the left side's key.
        let i = run(
            &["a: id*!", "b: id"],
            "select id from a except select id from b",
        );
        assert_eq!(keys(&i), ["id"]);
    }

    #[test]
    fn limit_one_is_one_row() {
        let i = run(
            &[ORDERS],
            "select order_id, amount from orders order by amount desc, order_id limit 1",
        );
        assert_eq!(keys(&i), [""]);
    }

    #[test]
    fn ctes_and_subqueries_carry_their_grain() {
        let i = run(&[ORDERS], "with x as (select customer_id, sum(amount) as total from orders group by 1) select * from x");
        assert_eq!(keys(&i), ["customer_id"]);
        let i = run(&[ORDERS], "with x(c, t) as (select customer_id, sum(amount) from orders group by 1) select c, t from x");
        assert_eq!(keys(&i), ["c"]);
        let i = run(&[ORDERS], "select * from (select order_id from orders) sub");
        assert_eq!(keys(&i), ["order_id"]);
    }

    #[test]
    fn lint_finds_volatile_functions_windows_aggregates_and_limits() {
        let messages = |i: &Inference| -> Vec<String> {
            i.findings.iter().map(|f| f.message.clone()).collect()
        };
        let i = run(
            &[ORDERS],
            "select order_id, now() as t, random() as r, current_timestamp as c from orders",
        );
        assert_eq!(i.findings.len(), 3, "{:?}", messages(&i));
        // An incremental model's filter may read the clock.
        let statements = Parser::parse_sql(
            &DuckDbDialect {},
            "select * from orders where amount > 0 and status_at > now() - interval 1 day",
        )
        .unwrap();
        let mut grains = Grains::default();
        grains.declare(&["orders"], vec![], &Declared::default());
        assert!(grains.infer(&statements, true).findings.is_empty());
        assert_eq!(grains.infer(&statements, false).findings.len(), 1);
        // Ordered by a key: fine; by a non-unique column: reported.
        let i = run(&[ORDERS], "select row_number() over (partition by customer_id order by amount, order_id) as n from orders");
        assert!(i.findings.is_empty(), "{:?}", messages(&i));
        let i = run(
            &[ORDERS],
            "select row_number() over (partition by customer_id order by amount) as n from orders",
        );
        assert_eq!(i.findings.len(), 1);
        // rank() handles ties deterministically.
        let i = run(
            &[ORDERS],
            "select rank() over (partition by customer_id order by amount) as n from orders",
        );
        assert!(i.findings.is_empty());
        // Without a known key nothing is claimed.
        let i = run(
            &["t: a, b"],
            "select row_number() over (order by a) as n from t",
        );
        assert!(i.findings.is_empty());
        // Unordered list aggregates and arbitrary picks.
        let i = run(&[ORDERS], "select customer_id, string_agg(status, ',') as s, list(status order by status) as l, any_value(status) as v from orders group by customer_id");
        assert_eq!(i.findings.len(), 2, "{:?}", messages(&i));
        // One row per group: any_value is that row's value.
        let i = run(
            &[ORDERS],
            "select order_id, any_value(status) from orders group by order_id",
        );
        assert!(i.findings.is_empty());
        // limit without order by, and with a non-unique order.
        let i = run(&[ORDERS], "select order_id from orders limit 5");
        assert_eq!(i.findings.len(), 1);
        let i = run(
            &[ORDERS],
            "select order_id, amount from orders order by amount limit 5",
        );
        assert_eq!(i.findings.len(), 1);
        let i = run(
            &[ORDERS],
            "select order_id, amount from orders order by amount, order_id limit 5",
        );
        assert!(i.findings.is_empty());
    }
}
