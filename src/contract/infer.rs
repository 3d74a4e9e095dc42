//! A model's output columns, inferred from its SQL without a warehouse, for
//! sluice's compile-time contract check (an extension: dbt checks contracts
//! only when the model runs).
//!
//! The inference proves or gives up. A column's name is known when it is a
//! plain or aliased column of the top-level `select`, or comes from `*` over
//! a relation whose columns are known for certain (a seed's CSV header, a
//! model with an enforced contract, another model whose own output was
//! inferred here, a CTE or subquery inferred the same way). A column's type
//! is known only from an explicit cast (`cast(x as int)`, `x::int`), a
//! literal (`'a'`, `true`, `1`), or a bare reference to a column whose type is certain (a seed's
//! `column_types`, an enforced contract's `data_type`). Anything else —
//! unnamed expressions (DuckDB names them), `*` over a table of unknown
//! columns, `USING`/`NATURAL` joins, `UNION BY NAME`, duplicate names,
//! table functions — makes the answer `None` (or the type `None`), never a
//! guess, so the check it feeds reports no false positives.

use std::collections::HashMap;
use std::sync::Arc;

use sqlparser::ast::{
    ExcludeSelectItem, Expr, Query, SelectItem, SelectItemQualifiedWildcardKind, SetExpr,
    SetQuantifier, Statement, TableFactor, WildcardAdditionalOptions,
};

use super::types::normalize;
use super::ColumnType;

/// Columns known for certain, by relation name: keys are lowercased
/// `db.schema.name`, `schema.name` and `name`, as column lineage's tables.
/// A shorter name two relations share is ambiguous, and known for neither.
#[derive(Debug, Clone, Default)]
pub struct KnownRelations {
    /// `None`: two relations answer to this name.
    by_key: HashMap<String, Option<Arc<Vec<ColumnType>>>>,
}

impl KnownRelations {
    /// Registers `columns` as the certain output of the relation named by
    /// `parts` (`[db, schema, name]`, or `[name]` for an ephemeral CTE).
    pub fn insert(&mut self, parts: &[&str], columns: Vec<ColumnType>) {
        let columns = Arc::new(columns);
        for start in 0..parts.len() {
            let key = parts[start..].join(".").to_lowercase();
            self.by_key
                .entry(key)
                .and_modify(|known| *known = None)
                .or_insert_with(|| Some(columns.clone()));
        }
    }

    fn get(&self, parts: &[String]) -> Option<Arc<Vec<ColumnType>>> {
        self.by_key
            .get(&parts.join(".").to_lowercase())
            .cloned()
            .flatten()
    }
}

/// The output columns of the last statement of `statements` (a model's
/// select), or `None` when they cannot be known for certain.
pub fn output_columns(statements: &[Statement], known: &KnownRelations) -> Option<Vec<ColumnType>> {
    let Some(Statement::Query(query)) = statements.last() else {
        return None;
    };
    let cols = query_columns(query, known, &HashMap::new())?;
    // DuckDB renames or rejects duplicate names: not something to predict.
    let mut seen = std::collections::HashSet::new();
    cols.iter()
        .all(|c| seen.insert(c.name.to_lowercase()))
        .then_some(cols)
}

type Ctes = HashMap<String, Option<Arc<Vec<ColumnType>>>>;

fn query_columns(query: &Query, known: &KnownRelations, outer: &Ctes) -> Option<Vec<ColumnType>> {
    let mut ctes = outer.clone();
    if let Some(with) = &query.with {
        for cte in &with.cte_tables {
            let mut cols = query_columns(&cte.query, known, &ctes);
            if let (Some(c), false) = (&mut cols, cte.alias.columns.is_empty()) {
                rename(c, &cte.alias.columns);
            }
            let cols =
                cols.filter(|c| cte.alias.columns.is_empty() || c.len() == cte.alias.columns.len());
            ctes.insert(cte.alias.name.value.to_lowercase(), cols.map(Arc::new));
        }
    }
    set_columns(&query.body, known, &ctes)
}

fn rename(cols: &mut [ColumnType], names: &[sqlparser::ast::TableAliasColumnDef]) {
    for (c, n) in cols.iter_mut().zip(names) {
        c.name = n.name.value.clone();
    }
}

fn set_columns(body: &SetExpr, known: &KnownRelations, ctes: &Ctes) -> Option<Vec<ColumnType>> {
    match body {
        SetExpr::Select(select) => {
            // Each FROM relation by alias, with its columns when certain.
            let mut from: Vec<(String, Option<Arc<Vec<ColumnType>>>)> = Vec::new();
            let mut merging_join = false;
            for twj in &select.from {
                from.push(factor(&twj.relation, known, ctes));
                for join in &twj.joins {
                    from.push(factor(&join.relation, known, ctes));
                    let text = join.to_string().to_uppercase();
                    merging_join |= text.contains("NATURAL") || text.contains(" USING");
                }
            }
            let mut out = Vec::new();
            for item in &select.projection {
                match item {
                    SelectItem::UnnamedExpr(e @ Expr::Identifier(i)) => {
                        out.push(ColumnType::new(i.value.clone(), expr_type(e, &from)));
                    }
                    SelectItem::UnnamedExpr(e @ Expr::CompoundIdentifier(parts)) => {
                        let name = parts.last()?.value.clone();
                        out.push(ColumnType::new(name, expr_type(e, &from)));
                    }
                    // DuckDB names other expressions itself (`count_star()`).
                    SelectItem::UnnamedExpr(_) => return None,
                    SelectItem::ExprWithAlias { expr, alias } => {
                        out.push(ColumnType::new(alias.value.clone(), expr_type(expr, &from)));
                    }
                    SelectItem::Wildcard(opts) => {
                        if merging_join || from.is_empty() {
                            return None;
                        }
                        for (_, cols) in &from {
                            out.extend(star(cols.as_deref()?, opts, &from)?);
                        }
                    }
                    SelectItem::QualifiedWildcard(kind, opts) => {
                        let SelectItemQualifiedWildcardKind::ObjectName(name) = kind else {
                            return None;
                        };
                        let q = name.0.last()?.as_ident()?.value.to_lowercase();
                        let matching: Vec<_> = from.iter().filter(|(a, _)| *a == q).collect();
                        let [(_, cols)] = matching.as_slice() else {
                            return None;
                        };
                        out.extend(star(cols.as_deref()?, opts, &from)?);
                    }
                }
            }
            Some(out)
        }
        SetExpr::Query(q) => query_columns(q, known, ctes),
        // Columns pair by position and take the left side's names; the
        // types are coerced across sides, so none is certain.
        SetExpr::SetOperation {
            set_quantifier,
            left,
            right,
            ..
        } => {
            if matches!(
                set_quantifier,
                SetQuantifier::ByName | SetQuantifier::AllByName | SetQuantifier::DistinctByName
            ) {
                return None;
            }
            let left = set_columns(left, known, ctes)?;
            // The right side must have as many columns, or DuckDB errors.
            let right = set_columns(right, known, ctes)?;
            (left.len() == right.len()).then(|| {
                left.into_iter()
                    .map(|c| ColumnType::new(c.name, None))
                    .collect()
            })
        }
        _ => None,
    }
}

/// A FROM relation: its alias (lowercased) and its columns when certain.
fn factor(
    factor: &TableFactor,
    known: &KnownRelations,
    ctes: &Ctes,
) -> (String, Option<Arc<Vec<ColumnType>>>) {
    match factor {
        TableFactor::Table {
            name,
            alias,
            args: None,
            ..
        } => {
            let parts: Option<Vec<String>> = name
                .0
                .iter()
                .map(|p| p.as_ident().map(|i| i.value.clone()))
                .collect();
            let Some(parts) = parts else {
                return (String::new(), None);
            };
            let last = parts.last().cloned().unwrap_or_default().to_lowercase();
            let mut cols = match (parts.len(), ctes.get(&last)) {
                (1, Some(cte)) => cte.clone(),
                _ => known.get(&parts),
            };
            let alias_name = match alias {
                Some(a) => {
                    if let (Some(c), false) = (&mut cols, a.columns.is_empty()) {
                        if c.len() != a.columns.len() {
                            cols = None;
                        } else {
                            let mut renamed = (**c).clone();
                            rename(&mut renamed, &a.columns);
                            cols = Some(Arc::new(renamed));
                        }
                    }
                    a.name.value.to_lowercase()
                }
                None => last,
            };
            (alias_name, cols)
        }
        TableFactor::Derived {
            lateral: false,
            subquery,
            alias,
        } => {
            let mut cols = query_columns(subquery, known, ctes);
            let name = alias
                .as_ref()
                .map(|a| a.name.value.to_lowercase())
                .unwrap_or_default();
            if let Some(a) = alias.as_ref().filter(|a| !a.columns.is_empty()) {
                cols = cols.filter(|c| c.len() == a.columns.len()).map(|mut c| {
                    rename(&mut c, &a.columns);
                    c
                });
            }
            (name, cols.map(Arc::new))
        }
        _ => (String::new(), None),
    }
}

/// The columns `*` yields from `cols`, with `EXCLUDE` and `REPLACE`; other
/// modifiers (`ILIKE`, `RENAME`, `EXCEPT`) give `None`.
fn star(
    cols: &[ColumnType],
    opts: &WildcardAdditionalOptions,
    from: &[(String, Option<Arc<Vec<ColumnType>>>)],
) -> Option<Vec<ColumnType>> {
    if opts.opt_ilike.is_some() || opts.opt_rename.is_some() || opts.opt_except.is_some() {
        return None;
    }
    let excluded: Vec<String> = match &opts.opt_exclude {
        None => Vec::new(),
        Some(ExcludeSelectItem::Single(i)) => vec![i.value.to_lowercase()],
        Some(ExcludeSelectItem::Multiple(is)) => {
            is.iter().map(|i| i.value.to_lowercase()).collect()
        }
    };
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
    Some(
        cols.iter()
            .filter(|c| !excluded.contains(&c.name.to_lowercase()))
            .map(|c| match replaced.get(&c.name.to_lowercase()) {
                Some(e) => ColumnType::new(c.name.clone(), expr_type(e, from)),
                None => c.clone(),
            })
            .collect(),
    )
}

/// The type of `expr` when certain: an explicit cast, or a bare reference
/// to a column whose type is certain and which no other relation in scope
/// could hold.
fn expr_type(expr: &Expr, from: &[(String, Option<Arc<Vec<ColumnType>>>)]) -> Option<String> {
    match expr {
        Expr::Cast { data_type, .. } => normalize(&data_type.to_string()),
        Expr::Value(v) => literal_type(&v.value),
        Expr::Nested(e) => expr_type(e, from),
        Expr::Identifier(i) => column_type(None, &i.value, from),
        Expr::CompoundIdentifier(parts) if parts.len() == 2 => {
            column_type(Some(&parts[0].value), &parts[1].value, from)
        }
        _ => None,
    }
}

/// A literal's type as DuckDB gives it: text is `VARCHAR`, `true`/`false`
/// `BOOLEAN`, a whole number `INTEGER` or `BIGINT` by size; other literals
/// (decimals, `NULL`, ...) are not guessed.
fn literal_type(value: &sqlparser::ast::Value) -> Option<String> {
    use sqlparser::ast::Value;
    match value {
        Value::SingleQuotedString(_) => Some("VARCHAR".to_owned()),
        Value::Boolean(_) => Some("BOOLEAN".to_owned()),
        Value::Number(n, false) if n.chars().all(|c| c.is_ascii_digit()) => {
            if n.parse::<i32>().is_ok() {
                Some("INTEGER".to_owned())
            } else if n.parse::<i64>().is_ok() {
                Some("BIGINT".to_owned())
            } else {
                None
            }
        }
        _ => None,
    }
}

fn column_type(
    qualifier: Option<&str>,
    column: &str,
    from: &[(String, Option<Arc<Vec<ColumnType>>>)],
) -> Option<String> {
    let candidates: Vec<_> = from
        .iter()
        .filter(|(alias, _)| qualifier.is_none_or(|q| alias.eq_ignore_ascii_case(q)))
        .collect();
    let mut found = None;
    for (_, cols) in candidates {
        // A relation of unknown columns might hold it: no certainty.
        let cols = cols.as_ref()?;
        if let Some(c) = cols.iter().find(|c| c.name.eq_ignore_ascii_case(column)) {
            if found.is_some() {
                return None;
            }
            found = Some(c.data_type.clone());
        }
    }
    found.flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(sql: &str) -> Vec<Statement> {
        sqlparser::parser::Parser::parse_sql(&sqlparser::dialect::DuckDbDialect {}, sql).unwrap()
    }

    fn known() -> KnownRelations {
        let mut k = KnownRelations::default();
        k.insert(
            &["db", "main", "seed"],
            vec![
                ColumnType::new("id", Some("INTEGER".into())),
                ColumnType::new("name", None),
            ],
        );
        k
    }

    fn infer(sql: &str) -> Option<Vec<(String, Option<String>)>> {
        output_columns(&parse(sql), &known())
            .map(|cs| cs.into_iter().map(|c| (c.name, c.data_type)).collect())
    }

    fn col(n: &str, t: Option<&str>) -> (String, Option<String>) {
        (n.to_owned(), t.map(str::to_owned))
    }

    #[test]
    fn names_and_casts_are_certain() {
        assert_eq!(
            infer("select id, name as n, cast(x as int4) as c, y::text as d from unknown_table"),
            Some(vec![
                col("id", None),
                col("n", None),
                col("c", Some("INTEGER")),
                col("d", Some("VARCHAR")),
            ])
        );
    }

    #[test]
    fn stars_expand_only_over_known_columns() {
        assert_eq!(
            infer("select * from main.seed"),
            Some(vec![col("id", Some("INTEGER")), col("name", None)])
        );
        assert_eq!(
            infer("with s as (select * exclude (name) from seed) select s.* from s"),
            Some(vec![col("id", Some("INTEGER"))])
        );
        assert_eq!(infer("select * from unknown_table"), None);
        assert_eq!(infer("select * from seed a join seed b using (id)"), None);
    }

    #[test]
    fn a_name_two_relations_share_is_not_known() {
        let mut k = known();
        k.insert(&["db", "other", "seed"], vec![ColumnType::new("x", None)]);
        let infer = |sql: &str| output_columns(&parse(sql), &k).map(|c| c.len());
        assert_eq!(infer("select * from seed"), None);
        assert_eq!(infer("select * from main.seed"), Some(2));
        assert_eq!(infer("select * from other.seed"), Some(1));
    }

    #[test]
    fn what_duckdb_names_or_coerces_is_not_guessed() {
        assert_eq!(infer("select count(*) from seed"), None);
        assert_eq!(infer("select id, id from seed"), None);
        assert_eq!(
            infer("select id from seed union all select 1 as id"),
            Some(vec![col("id", None)])
        );
        assert_eq!(
            infer("select id from seed union by name select 1 as x"),
            None
        );
        // A column two relations could hold has no certain type.
        assert_eq!(
            infer("select id from seed, unknown_table"),
            Some(vec![col("id", None)])
        );
    }
}
