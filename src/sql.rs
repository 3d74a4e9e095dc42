//! Understanding the compiled SQL: syntax checks at compile time, and a
//! source map from rendered SQL back to the Jinja template, so an error
//! points at the line the user wrote.
//!
//! Every compiled model, snapshot and singular test is parsed with
//! sqlparser's dialect for the target ([`SqlDialect`]: DuckDB's, PostgreSQL's,
//! or Hive's for Spark). sqlparser does not know all of DuckDB's grammar, so
//! a statement it rejects is also given to DuckDB's own parser
//! (`json_serialize_sql`, in an in-memory database, parsing only): only SQL
//! both reject is reported, and never a false alarm on valid DuckDB.

use std::sync::LazyLock;

use regex::Regex;
use similar::{Algorithm, DiffOp, TextDiff};
use sqlparser::dialect::{Dialect, DuckDbDialect};
use sqlparser::parser::Parser;

/// A syntax error in a compiled SQL text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError {
    /// The parser's message, without its position.
    pub message: String,
    /// 1-based line in the compiled text.
    pub line: usize,
    /// 1-based column (characters) in the compiled text.
    pub col: usize,
}

/// A compiled SQL text, parsed.
#[derive(Debug)]
pub enum Parsed {
    /// sqlparser's AST.
    Statements(Vec<sqlparser::ast::Statement>),
    /// Valid DuckDB SQL that sqlparser does not parse: no AST.
    DuckDbOnly,
    /// Both parsers reject it.
    Invalid(SyntaxError),
}

/// Whether the warehouse's own parser accepts `sql` that sqlparser
/// rejects (DuckDB: `crate::adapter::duckdb::parser_accepts`). Given by the
/// caller, so SQL checks need no engine of their own.
pub type EngineParser = fn(&str) -> bool;

/// How a target's SQL is read at compile time: sqlparser's dialect for its
/// warehouse (for syntax checks, column lineage and contract inference), and
/// the judge of SQL that dialect rejects. Chosen per adapter by
/// `crate::adapter::sql_dialect`.
#[derive(Clone, Copy)]
pub struct SqlDialect {
    /// sqlparser's dialect: DuckDB's, PostgreSQL's, or Hive's (Spark SQL).
    pub parser: &'static (dyn Dialect + Sync),
    /// The engine's own parser, for SQL the dialect rejects; `|_| true`
    /// leaves such SQL to the warehouse.
    pub engine: EngineParser,
}

impl SqlDialect {
    /// DuckDB's: sqlparser's DuckDB dialect, judged by `engine` (DuckDB's
    /// own parser) where sqlparser falls short.
    pub fn duckdb(engine: EngineParser) -> Self {
        SqlDialect {
            parser: &DuckDbDialect {},
            engine,
        }
    }
}

impl std::fmt::Debug for SqlDialect {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqlDialect")
            .field("parser", &self.parser.dialect())
            .finish_non_exhaustive()
    }
}

/// Parses `sql` with `dialect`'s sqlparser dialect and, when that fails,
/// with the engine's own parser; an error is reported only when both
/// reject it (with sqlparser's message and position, which say what was
/// expected).
pub fn parse(sql: &str, dialect: SqlDialect) -> Parsed {
    match parse_statements_in(dialect.parser, sql) {
        Ok(statements) => Parsed::Statements(statements),
        Err(_) if (dialect.engine)(sql) => Parsed::DuckDbOnly,
        Err(e) => Parsed::Invalid(syntax_error(&e, sql)),
    }
}

/// sqlparser's error as a message and a 1-based position in `sql`. An
/// error that sqlparser gives no position (`found: EOF`) is placed just
/// after the last word of `sql`, where the missing part belongs.
/// How deep sqlparser may nest expressions and subqueries (its default is
/// 50, which 100 nested function calls exceed; DuckDB allows 1,000). Safe
/// on sluice's worker threads, whose stacks are 1 GiB (reserved, not committed).
const SQL_RECURSION_LIMIT: usize = 1000;

/// `sql` parsed by sqlparser's DuckDB dialect, nesting up to
/// [`SQL_RECURSION_LIMIT`] levels.
///
/// Errors: sqlparser's error, with its position.
pub fn parse_statements(
    sql: &str,
) -> Result<Vec<sqlparser::ast::Statement>, sqlparser::parser::ParserError> {
    parse_statements_in(&DuckDbDialect {}, sql)
}

/// `sql` parsed by sqlparser's `dialect`, nesting up to
/// [`SQL_RECURSION_LIMIT`] levels.
///
/// Errors: sqlparser's error, with its position.
pub fn parse_statements_in(
    dialect: &dyn Dialect,
    sql: &str,
) -> Result<Vec<sqlparser::ast::Statement>, sqlparser::parser::ParserError> {
    Parser::new(dialect)
        .with_recursion_limit(SQL_RECURSION_LIMIT)
        .try_with_sql(sql)?
        .parse_statements()
}

fn syntax_error(err: &sqlparser::parser::ParserError, sql: &str) -> SyntaxError {
    static AT: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"\s*at Line: (\d+), Column: (\d+)\s*$").expect("valid regex"));
    let text = err.to_string();
    let text = text.strip_prefix("sql parser error: ").unwrap_or(&text);
    let (message, line, col) = match AT.captures(text) {
        Some(c) => (
            text[..c.get(0).expect("match").start()].to_owned(),
            c[1].parse().unwrap_or(1),
            c[2].parse().unwrap_or(1),
        ),
        None if text.contains("EOF") => {
            let end = sql.trim_end();
            let line = end.matches('\n').count() + 1;
            let col = end.rsplit('\n').next().unwrap_or("").chars().count() + 1;
            (text.to_owned(), line, col)
        }
        None => (text.to_owned(), 1, 1),
    };
    SyntaxError { message, line, col }
}

/// The conjuncts of `expr`: `a and (b and c)` gives `[a, b, c]`; any
/// other expression is its own single conjunct.
pub fn conjuncts(expr: &sqlparser::ast::Expr) -> Vec<&sqlparser::ast::Expr> {
    use sqlparser::ast::{BinaryOperator, Expr};
    match expr {
        Expr::BinaryOp {
            left,
            op: BinaryOperator::And,
            right,
        } => {
            let mut out = conjuncts(left);
            out.extend(conjuncts(right));
            out
        }
        Expr::Nested(inner) => conjuncts(inner),
        other => vec![other],
    }
}

/// The `on`/`using` constraint of a join that has one: inner, outer,
/// semi and anti joins; `None` for cross joins, `apply`, `asof` and the
/// rest.
pub fn join_constraint(
    operator: &sqlparser::ast::JoinOperator,
) -> Option<&sqlparser::ast::JoinConstraint> {
    use sqlparser::ast::JoinOperator as J;
    match operator {
        J::Join(c)
        | J::Inner(c)
        | J::Left(c)
        | J::LeftOuter(c)
        | J::Right(c)
        | J::RightOuter(c)
        | J::FullOuter(c)
        | J::Semi(c)
        | J::LeftSemi(c)
        | J::RightSemi(c)
        | J::Anti(c)
        | J::LeftAnti(c)
        | J::RightAnti(c)
        | J::StraightJoin(c) => Some(c),
        _ => None,
    }
}

/// `sql` without trailing semicolons and whitespace, which would break
/// `create ... as (<sql>)` and every wrapper around a node's SQL.
pub fn strip_trailing_semicolons(sql: &str) -> &str {
    let mut s = sql.trim_end();
    while let Some(rest) = s.strip_suffix(';') {
        s = rest.trim_end();
    }
    s
}

/// Maps `line:col` (1-based) in `rendered` back to `template`, the Jinja it
/// was rendered from: text copied from the template maps to itself; text a
/// Jinja tag produced (an expression, a macro call, a loop) maps to the start
/// of that tag. The map is a character diff of the two texts, built only
/// when an error needs it.
pub fn map_to_template(template: &str, rendered: &str, line: usize, col: usize) -> (usize, usize) {
    let target = char_offset(rendered, line, col);
    let diff = TextDiff::configure()
        .algorithm(Algorithm::Myers)
        .timeout(std::time::Duration::from_millis(500))
        .diff_chars(template, rendered);
    let mut old = 0;
    for op in diff.ops() {
        match *op {
            DiffOp::Equal {
                old_index,
                new_index,
                len,
            } => {
                if target < new_index + len {
                    old = old_index + target.saturating_sub(new_index);
                    break;
                }
                old = old_index + len;
            }
            DiffOp::Insert {
                old_index,
                new_index,
                new_len,
            }
            | DiffOp::Replace {
                old_index,
                new_index,
                new_len,
                ..
            } => {
                if target < new_index + new_len {
                    old = old_index;
                    break;
                }
            }
            DiffOp::Delete { .. } => {}
        }
    }
    // A position inside a tag points at the tag's start: the `{{`/`{%`.
    let old = tag_start(template, old).unwrap_or(old);
    line_col(template, old)
}

/// The character offset of `line:col` (1-based) in `text`.
fn char_offset(text: &str, line: usize, col: usize) -> usize {
    let mut offset = 0;
    for (i, l) in text.split_inclusive('\n').enumerate() {
        if i + 1 == line {
            return offset + (col.saturating_sub(1)).min(l.chars().count());
        }
        offset += l.chars().count();
    }
    offset
}

/// 1-based line and column of character `offset` in `text`.
fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let mut line = 1;
    let mut col = 1;
    for c in text.chars().take(offset) {
        if c == '\n' {
            line += 1;
            col = 1;
        } else {
            col += 1;
        }
    }
    (line, col)
}

/// When character `offset` of `template` lies inside a `{{ }}` / `{% %}`
/// tag, the offset of the tag's start.
fn tag_start(template: &str, offset: usize) -> Option<usize> {
    let chars: Vec<char> = template.chars().collect();
    let mut i = offset.min(chars.len());
    while i >= 2 {
        let pair = (chars[i - 2], chars[i - 1]);
        if pair == ('}', '}') || pair == ('%', '}') {
            return None;
        }
        if pair == ('{', '{') || pair == ('{', '%') {
            return Some(i - 2);
        }
        i -= 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check_syntax(sql: &str) -> Option<SyntaxError> {
        match parse(sql, SqlDialect::duckdb(|_| false)) {
            Parsed::Invalid(e) => Some(e),
            _ => None,
        }
    }

    /// Each adapter's SQL is read with its own grammar: Spark SQL's
    /// backquoted names and `explode` in Hive's dialect, PostgreSQL's `::`
    /// casts and dollar quoting in PostgreSQL's; with no engine to ask,
    /// what the dialect rejects is an error.
    #[test]
    fn each_dialect_reads_its_warehouses_sql() {
        use sqlparser::dialect::{HiveDialect, PostgreSqlDialect};
        let hive = SqlDialect {
            parser: &HiveDialect {},
            engine: |_| false,
        };
        let pg = SqlDialect {
            parser: &PostgreSqlDialect {},
            engine: |_| false,
        };
        let spark_sql = "select `id`, explode(sequence(1, 3)) as n from `db`.`t`";
        assert!(matches!(parse(spark_sql, hive), Parsed::Statements(_)));
        assert!(matches!(parse(spark_sql, pg), Parsed::Invalid(_)));
        let pg_sql = "select $$it's$$ as s, id::text from t";
        assert!(matches!(parse(pg_sql, pg), Parsed::Statements(_)));
        assert!(matches!(
            parse("select from from", hive),
            Parsed::Invalid(_)
        ));
    }

    #[test]
    fn an_error_at_the_end_points_after_the_last_word() {
        let e = check_syntax("select *\nfrom t\nwhere\n\n").expect("invalid");
        assert!(e.message.contains("EOF"), "{}", e.message);
        assert_eq!((e.line, e.col), (3, 6));
    }

    #[test]
    fn sql_the_engine_accepts_is_not_an_error() {
        // Whatever sqlparser rejects is left to the engine's parser.
        let sql = "select a,\n  b frm t where";
        assert!(matches!(
            parse(sql, SqlDialect::duckdb(|_| true)),
            Parsed::DuckDbOnly
        ));
        assert!(matches!(
            parse(sql, SqlDialect::duckdb(|_| false)),
            Parsed::Invalid(_)
        ));
    }

    #[test]
    fn strips_semicolons() {
        assert_eq!(strip_trailing_semicolons("select 1;\n ;  \n"), "select 1");
        assert_eq!(strip_trailing_semicolons("select ';'"), "select ';'");
    }

    #[test]
    fn a_real_syntax_error_has_the_parsers_position() {
        let err = check_syntax("select a,\n  b frm t where").unwrap();
        assert_eq!((err.line, err.col), (2, 9), "{err:?}");
        assert!(err.message.contains("found: t"), "{}", err.message);
    }

    #[test]
    fn positions_map_back_through_expressions_and_loops() {
        let template =
            "select\n  {{ cols }},\n{% for x in xs %}  {{ x }},\n{% endfor %}  oops frm t\n";
        let rendered = "select\n  a, b,\n  x1,\n  x2,\n  oops frm t\n";
        // `frm` on rendered line 5 is template line 4.
        assert_eq!(map_to_template(template, rendered, 5, 8), (4, 20));
        // Text an expression produced points at the expression.
        assert_eq!(map_to_template(template, rendered, 2, 6), (2, 3));
    }
}

/// Where in `compiled` the statement DuckDB rejected went wrong, from the
/// `LINE n: <text>` and caret lines of its error `message`: the quoted text
/// is looked up in `compiled` (the statement DuckDB saw wraps it, so its own
/// line numbers do not apply). Returns a 1-based line and column of
/// `compiled`, or `None` when the message has no position or the text is
/// not found exactly once.
pub fn locate_engine_error(message: &str, compiled: &str) -> Option<(usize, usize)> {
    static LINE: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"(?m)^LINE \d+: ?(.*)$").expect("valid regex"));
    let caps = LINE.captures(message)?;
    let whole = caps.get(0).expect("match");
    let snippet = caps.get(1).expect("group").as_str();
    let prefix_len = whole.as_str().len() - snippet.len();
    let caret_line = message[whole.end()..].lines().nth(1)?;
    let caret = caret_line.find('^')?;
    let offset_in_snippet = caret.checked_sub(prefix_len)?;
    // DuckDB trims long lines around the error with "..."; match the part
    // without the ellipsis.
    let core = snippet.trim_start_matches("...").trim_end_matches("...");
    let skipped = snippet.len() - snippet.trim_start_matches("...").len();
    let core = core.trim_end();
    if core.trim().len() < 3 {
        return None;
    }
    let mut found = compiled.match_indices(core);
    let (at, _) = found.next()?;
    if found.next().is_some() {
        return None;
    }
    let byte = at + offset_in_snippet.saturating_sub(skipped);
    let byte = byte.min(compiled.len());
    let before = &compiled[..byte];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    Some((line, col))
}

#[cfg(test)]
mod engine_error_tests {
    use super::locate_engine_error;

    #[test]
    fn duckdb_positions_are_found_in_the_compiled_sql() {
        let compiled = "select\n    orders.order_id,\n    orders.no_such_column\nfrom orders";
        let message = "Binder Error: Referenced column \"no_such_column\" not found in FROM clause!\n\nLINE 4:     orders.no_such_column\n                   ^";
        assert_eq!(locate_engine_error(message, compiled), Some((3, 12)));
        assert_eq!(locate_engine_error("Catalog Error: nope", compiled), None);
    }
}

/// The tables `statements` read: every table name in a `FROM` or `JOIN`
/// that is not a table function and not one of the statements' CTEs, as its
/// name parts (unquoted, in written case).
pub fn read_relations_of(statements: &[sqlparser::ast::Statement]) -> Vec<Vec<String>> {
    use sqlparser::ast::{Query, TableFactor, Visit, Visitor};
    use std::ops::ControlFlow;

    #[derive(Default)]
    struct Reads {
        ctes: std::collections::HashSet<String>,
        tables: Vec<Vec<String>>,
    }
    impl Visitor for Reads {
        type Break = ();
        fn pre_visit_query(&mut self, query: &Query) -> ControlFlow<()> {
            if let Some(with) = &query.with {
                for cte in &with.cte_tables {
                    self.ctes.insert(cte.alias.name.value.to_lowercase());
                }
            }
            ControlFlow::Continue(())
        }
        fn pre_visit_table_factor(&mut self, factor: &TableFactor) -> ControlFlow<()> {
            if let TableFactor::Table {
                name, args: None, ..
            } = factor
            {
                let parts: Vec<String> = name
                    .0
                    .iter()
                    .filter_map(|p| p.as_ident().map(|i| i.value.clone()))
                    .collect();
                if !parts.is_empty() && !self.tables.contains(&parts) {
                    self.tables.push(parts);
                }
            }
            ControlFlow::Continue(())
        }
    }
    let mut reads = Reads::default();
    for statement in statements {
        let _ = statement.visit(&mut reads);
    }
    let ctes = reads.ctes;
    reads
        .tables
        .into_iter()
        .filter(|t| !(t.len() == 1 && ctes.contains(&t[0].to_lowercase())))
        .collect()
}

/// What a plain `select` tells: `sql` is one `select` from one table (no
/// joins, `WITH`, grouping, `DISTINCT`, window functions, subqueries,
/// `LIMIT` or random functions), a query that costs no more to run again
/// than to read from a copy and gives the same rows each time within a
/// transaction. Snapshots stage such a select as a view instead of copying
/// it (see templates/materializations/snapshot.sql).
#[derive(Debug, PartialEq)]
pub struct PlainSelect {
    /// The table's name parts (`["raw", "src"]`, unquoted) when the select
    /// is `select * from <table> [where ...]`: its rows are a subset of the
    /// table's with all its columns, unrenamed, so a key the table declares
    /// unique is unique in the result too. `None` for any other projection,
    /// including `select *` with `EXCLUDE`/`REPLACE`.
    pub star_of: Option<Vec<String>>,
}

/// Parses `sql` once and says whether it is a plain select ([`PlainSelect`]);
/// `None` when it is not (or does not parse).
pub fn plain_select(sql: &str) -> Option<PlainSelect> {
    use sqlparser::ast::{
        Expr, GroupByExpr, SelectItem, SetExpr, Statement, TableFactor, Visit, Visitor,
        WildcardAdditionalOptions,
    };
    use std::ops::ControlFlow;

    struct Costly;
    impl Visitor for Costly {
        type Break = ();
        fn pre_visit_expr(&mut self, expr: &Expr) -> ControlFlow<()> {
            match expr {
                Expr::Subquery(_) | Expr::Exists { .. } | Expr::InSubquery { .. } => {
                    ControlFlow::Break(())
                }
                Expr::Function(f) => {
                    let name = f.name.to_string().to_lowercase();
                    let random = ["random", "uuid", "gen_random_uuid", "nextval", "setseed"]
                        .contains(&name.as_str());
                    if f.over.is_some() || random {
                        ControlFlow::Break(())
                    } else {
                        ControlFlow::Continue(())
                    }
                }
                _ => ControlFlow::Continue(()),
            }
        }
    }

    let statements = parse_statements(sql).ok()?;
    let [Statement::Query(query)] = statements.as_slice() else {
        return None;
    };
    if query.with.is_some() || query.order_by.is_some() || query.limit_clause.is_some() {
        return None;
    }
    let SetExpr::Select(select) = query.body.as_ref() else {
        return None;
    };
    let [from] = select.from.as_slice() else {
        return None;
    };
    let TableFactor::Table {
        name, args: None, ..
    } = &from.relation
    else {
        return None;
    };
    let grouped = match &select.group_by {
        GroupByExpr::All(_) => true,
        GroupByExpr::Expressions(e, _) => !e.is_empty(),
    };
    let plain = from.joins.is_empty()
        && !grouped
        && select.having.is_none()
        && select.qualify.is_none()
        && select.distinct.is_none()
        && select.named_window.is_empty()
        && query.visit(&mut Costly).is_continue();
    if !plain {
        return None;
    }
    let bare_star = match select.projection.as_slice() {
        [SelectItem::Wildcard(options)] => {
            *options
                == WildcardAdditionalOptions {
                    wildcard_token: options.wildcard_token.clone(),
                    ..Default::default()
                }
        }
        _ => false,
    };
    let star_of = bare_star
        .then(|| {
            name.0
                .iter()
                .map(|p| p.as_ident().map(|i| i.value.clone()))
                .collect::<Option<Vec<String>>>()
        })
        .flatten();
    Some(PlainSelect { star_of })
}

#[cfg(test)]
mod plain_select_tests {
    use super::plain_select;

    fn is_plain_select(sql: &str) -> bool {
        plain_select(sql).is_some()
    }

    fn star_select_table(sql: &str) -> Option<Vec<String>> {
        plain_select(sql)?.star_of
    }

    #[test]
    fn plain_selects_are_single_table_reads() {
        assert!(is_plain_select("select * from raw.src"));
        assert!(is_plain_select(
            "select id, upper(name) as name, updated_at from \"db\".\"raw\".\"src\" where id > 3"
        ));
        for costly in [
            "select * from a join b using (id)",
            "select id, count(*) from a group by id",
            "select distinct * from a",
            "select *, row_number() over () from a",
            "select * from a where id in (select id from b)",
            "with x as (select 1) select * from x",
            "select * from a limit 10",
            "select *, random() from a",
            "select * from read_csv('x.csv')",
            "select 1; select 2",
            "not sql",
        ] {
            assert!(!is_plain_select(costly), "{costly}");
        }
    }

    #[test]
    fn star_selects_name_their_table() {
        let parts = |v: &[&str]| Some(v.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        assert_eq!(
            star_select_table(r#"select * from "db"."Raw".src where id > 3"#),
            parts(&["db", "Raw", "src"])
        );
        assert_eq!(star_select_table("select * from src"), parts(&["src"]));
        for other in [
            "select id from raw.src",
            "select *, 1 as x from raw.src",
            "select * exclude (id) from raw.src",
            "select * replace (1 as id) from raw.src",
            "select * from raw.src join b using (id)",
            "select distinct * from raw.src",
        ] {
            assert_eq!(star_select_table(other), None, "{other}");
        }
    }
}

#[cfg(test)]
mod relation_tests {
    use super::*;

    fn read_relations(sql: &str) -> Option<Vec<Vec<String>>> {
        Parser::parse_sql(&DuckDbDialect {}, sql)
            .ok()
            .map(|s| read_relations_of(&s))
    }

    #[test]
    fn tables_read_exclude_ctes_and_table_functions() {
        let sql = "with a as (select * from \"db\".\"main\".\"orders\") select * from a join main.customers c on true, read_csv('x.csv')";
        assert_eq!(
            read_relations(sql).unwrap(),
            vec![
                vec!["db".to_owned(), "main".to_owned(), "orders".to_owned()],
                vec!["main".to_owned(), "customers".to_owned()]
            ]
        );
    }
}
