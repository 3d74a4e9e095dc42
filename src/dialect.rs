//! Compiled SQL for another engine: `sluice compile --dialect`.
//!
//! The compiled DuckDB SQL is parsed with sqlparser, rewritten on the AST, and
//! printed (pretty) for the target. What cannot be translated is an error
//! naming the construct and its line, never silently wrong SQL.
//!
//! | DuckDB | postgres | snowflake | bigquery |
//! |---|---|---|---|
//! | `x::T` | `CAST(x AS T)` | `CAST(x AS T)` | `CAST(x AS T)` |
//! | `VARCHAR` / `TEXT` | `TEXT` | `VARCHAR` | `STRING` |
//! | `HUGEINT` | `NUMERIC(38)` | `NUMBER(38,0)` | `BIGNUMERIC` |
//! | `DOUBLE` | `DOUBLE PRECISION` | `DOUBLE` | `FLOAT64` |
//! | `BIGINT` / `INTEGER` | same | same | `INT64` |
//! | `BOOLEAN` | same | same | `BOOL` |
//! | `date_trunc('month', x)` | same | same | `DATE_TRUNC(x, MONTH)` |
//! | `a ILIKE b` | same | same | `LOWER(a) LIKE LOWER(b)` |
//! | `list(x)` (aggregate) | `array_agg(x)` | `array_agg(x)` | `ARRAY_AGG(x)` |
//! | `regexp_matches(a, p)` | `a ~ p` | `REGEXP_LIKE(a, p)` | `REGEXP_CONTAINS(a, p)` |
//! | `"quoted"` identifiers | same | same | `` `quoted` `` |
//! | `* EXCLUDE (a)` | error | same | `* EXCEPT (a)` |
//! | `* REPLACE (e AS a)` | error | same | same |
//! | `QUALIFY` | error | same | same |

use std::ops::ControlFlow;

use sqlparser::ast::{
    BinaryOperator, CastKind, DataType, ExactNumberInfo, ExceptSelectItem, ExcludeSelectItem, Expr,
    FunctionArg, FunctionArgExpr, FunctionArguments, Ident, ObjectName, ObjectNamePart, Query,
    SelectItem, SetExpr, Spanned, Value, VisitMut, VisitorMut,
};
use sqlparser::dialect::DuckDbDialect;
use sqlparser::parser::Parser;

/// An engine the compiled SQL can be printed for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// DuckDB (the SQL as compiled, pretty-printed).
    DuckDb,
    /// PostgreSQL.
    Postgres,
    /// Snowflake.
    Snowflake,
    /// BigQuery.
    BigQuery,
}

impl Dialect {
    /// Parses a `--dialect` value.
    pub fn parse(name: &str) -> Option<Dialect> {
        Some(match name {
            "duckdb" => Dialect::DuckDb,
            "postgres" | "postgresql" => Dialect::Postgres,
            "snowflake" => Dialect::Snowflake,
            "bigquery" => Dialect::BigQuery,
            _ => return None,
        })
    }

    /// The name used on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Dialect::DuckDb => "duckdb",
            Dialect::Postgres => "postgres",
            Dialect::Snowflake => "snowflake",
            Dialect::BigQuery => "bigquery",
        }
    }
}

/// A construct with no translation: what and where (1-based line and
/// column in the compiled SQL).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Untranslatable {
    /// What cannot be translated, for people.
    pub message: String,
    /// 1-based line in the compiled SQL.
    pub line: usize,
    /// 1-based column in the compiled SQL.
    pub col: usize,
}

/// `sql` (compiled DuckDB SQL) printed for `target`.
///
/// Errors: [`Untranslatable`] for SQL sqlparser cannot parse or a construct
/// the target lacks.
pub fn translate(sql: &str, target: Dialect) -> Result<String, Untranslatable> {
    let mut statements = Parser::parse_sql(&DuckDbDialect {}, sql).map_err(|e| Untranslatable {
        message: format!("sqlparser cannot parse this SQL, so it cannot be translated: {e}"),
        line: 1,
        col: 1,
    })?;
    let mut rewriter = Rewriter {
        target,
        error: None,
    };
    for statement in &mut statements {
        let _ = statement.visit(&mut rewriter);
    }
    if let Some(e) = rewriter.error {
        return Err(e);
    }
    Ok(statements
        .iter()
        .map(|s| format!("{s:#}"))
        .collect::<Vec<_>>()
        .join(";\n"))
}

struct Rewriter {
    target: Dialect,
    error: Option<Untranslatable>,
}

impl Rewriter {
    fn fail(&mut self, what: &str, at: sqlparser::tokenizer::Span) -> ControlFlow<()> {
        self.error = Some(Untranslatable {
            message: format!("{what} has no {} translation", self.target.name()),
            line: at.start.line.max(1) as usize,
            col: at.start.column.max(1) as usize,
        });
        ControlFlow::Break(())
    }

    fn data_type(&self, t: &DataType) -> Option<DataType> {
        use Dialect::*;
        Some(match (self.target, t) {
            (Postgres, DataType::Varchar(_) | DataType::String(_)) => DataType::Text,
            (Snowflake, DataType::Text | DataType::String(_)) => DataType::Varchar(None),
            (BigQuery, DataType::Varchar(_) | DataType::Text) => DataType::String(None),
            (Postgres, DataType::HugeInt) => DataType::Numeric(ExactNumberInfo::Precision(38)),
            (Snowflake, DataType::HugeInt) => {
                DataType::Custom(ObjectName::from(vec![Ident::new("NUMBER(38, 0)")]), vec![])
            }
            (BigQuery, DataType::HugeInt) => DataType::BigNumeric(ExactNumberInfo::None),
            (Postgres, DataType::Double(_)) => DataType::DoublePrecision,
            (BigQuery, DataType::Double(_) | DataType::DoublePrecision) => DataType::Float64,
            (BigQuery, DataType::BigInt(_) | DataType::Int(_) | DataType::Integer(_)) => {
                DataType::Int64
            }
            (BigQuery, DataType::Boolean) => DataType::Bool,
            _ => return None,
        })
    }
}

fn function_name(name: &ObjectName) -> String {
    name.0
        .last()
        .and_then(ObjectNamePart::as_ident)
        .map(|i| i.value.to_lowercase())
        .unwrap_or_default()
}

fn plain_args(args: &FunctionArguments) -> Vec<Expr> {
    match args {
        FunctionArguments::List(list) => list
            .args
            .iter()
            .filter_map(|a| match a {
                FunctionArg::Unnamed(FunctionArgExpr::Expr(e)) => Some(e.clone()),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    }
}

fn call(name: &str, args: Vec<Expr>) -> Expr {
    let list: Vec<String> = args.iter().map(ToString::to_string).collect();
    Parser::new(&DuckDbDialect {})
        .try_with_sql(&format!("{name}({})", list.join(", ")))
        .and_then(|mut p| p.parse_expr())
        .unwrap_or_else(|_| Expr::Identifier(Ident::new(name)))
}

impl VisitorMut for Rewriter {
    type Break = ();

    fn pre_visit_query(&mut self, query: &mut Query) -> ControlFlow<()> {
        let target = self.target;
        let mut selects = Vec::new();
        collect_selects(&mut query.body, &mut selects);
        for select in selects {
            if let Some(q) = &select.qualify {
                if target == Dialect::Postgres {
                    let span = q.span();
                    return self.fail("QUALIFY", span);
                }
            }
            for item in &mut select.projection {
                let opts = match item {
                    SelectItem::Wildcard(o) => o,
                    SelectItem::QualifiedWildcard(_, o) => o,
                    _ => continue,
                };
                if let Some(exclude) = opts.opt_exclude.take() {
                    match target {
                        Dialect::Postgres => {
                            let span = opts.wildcard_token.0.span;
                            return self.fail("SELECT * EXCLUDE", span);
                        }
                        Dialect::BigQuery => {
                            let cols = match exclude {
                                ExcludeSelectItem::Single(i) => vec![i],
                                ExcludeSelectItem::Multiple(is) => is,
                            };
                            if let Some((first, rest)) = cols.split_first() {
                                opts.opt_except = Some(ExceptSelectItem {
                                    first_element: first.clone(),
                                    additional_elements: rest.to_vec(),
                                });
                            }
                        }
                        _ => opts.opt_exclude = Some(exclude),
                    }
                }
                if opts.opt_replace.is_some() && target == Dialect::Postgres {
                    let span = opts.wildcard_token.0.span;
                    return self.fail("SELECT * REPLACE", span);
                }
            }
        }
        ControlFlow::Continue(())
    }

    fn post_visit_value(&mut self, value: &mut Value) -> ControlFlow<()> {
        // DuckDB's strings have no backslash escapes; Snowflake's and
        // BigQuery's do. A backslash is written twice there, so that
        // `'@example\.com$'` keeps escaping the dot of its regex.
        if matches!(self.target, Dialect::Snowflake | Dialect::BigQuery) {
            if let Value::SingleQuotedString(text) = value {
                if text.contains('\\') {
                    *text = text.replace('\\', "\\\\");
                }
            }
        }
        ControlFlow::Continue(())
    }

    fn post_visit_expr(&mut self, expr: &mut Expr) -> ControlFlow<()> {
        let target = self.target;
        if target == Dialect::DuckDb {
            return ControlFlow::Continue(());
        }
        match expr {
            Expr::Cast {
                kind, data_type, ..
            } => {
                if *kind == CastKind::DoubleColon {
                    *kind = CastKind::Cast;
                }
                if let Some(t) = self.data_type(data_type) {
                    *data_type = t;
                }
            }
            Expr::ILike {
                negated,
                expr: inner,
                pattern,
                escape_char,
                ..
            } if target == Dialect::BigQuery => {
                *expr = Expr::Like {
                    negated: *negated,
                    any: false,
                    expr: Box::new(call("LOWER", vec![(**inner).clone()])),
                    pattern: Box::new(call("LOWER", vec![(**pattern).clone()])),
                    escape_char: escape_char.clone(),
                };
            }
            Expr::Identifier(ident)
                if target == Dialect::BigQuery && ident.quote_style == Some('"') =>
            {
                ident.quote_style = Some('`');
            }
            Expr::CompoundIdentifier(parts) if target == Dialect::BigQuery => {
                for p in parts {
                    if p.quote_style == Some('"') {
                        p.quote_style = Some('`');
                    }
                }
            }
            Expr::Function(f) => {
                let name = function_name(&f.name);
                let args = plain_args(&f.args);
                match (name.as_str(), target) {
                    ("date_trunc", Dialect::BigQuery) if args.len() == 2 => {
                        let part = args[0].to_string().trim_matches('\'').to_uppercase();
                        let rewritten = call(
                            "DATE_TRUNC",
                            vec![args[1].clone(), Expr::Identifier(Ident::new(part))],
                        );
                        *expr = rewritten;
                    }
                    ("list", _) => {
                        f.name =
                            ObjectName::from(vec![Ident::new(if target == Dialect::BigQuery {
                                "ARRAY_AGG"
                            } else {
                                "array_agg"
                            })]);
                    }
                    ("regexp_matches", Dialect::Postgres) if args.len() == 2 => {
                        *expr = Expr::Nested(Box::new(Expr::BinaryOp {
                            left: Box::new(args[0].clone()),
                            op: BinaryOperator::PGRegexMatch,
                            right: Box::new(args[1].clone()),
                        }));
                    }
                    ("regexp_matches", Dialect::Snowflake) => {
                        f.name = ObjectName::from(vec![Ident::new("REGEXP_LIKE")]);
                    }
                    ("regexp_matches", Dialect::BigQuery) => {
                        f.name = ObjectName::from(vec![Ident::new("REGEXP_CONTAINS")]);
                    }
                    _ => {}
                }
            }
            _ => {}
        }
        ControlFlow::Continue(())
    }

    fn post_visit_relation(&mut self, relation: &mut ObjectName) -> ControlFlow<()> {
        if self.target == Dialect::BigQuery {
            for part in &mut relation.0 {
                if let ObjectNamePart::Identifier(i) = part {
                    if i.quote_style == Some('"') {
                        i.quote_style = Some('`');
                    }
                }
            }
        }
        ControlFlow::Continue(())
    }
}

fn collect_selects<'a>(body: &'a mut SetExpr, out: &mut Vec<&'a mut sqlparser::ast::Select>) {
    match body {
        SetExpr::Select(s) => out.push(s),
        SetExpr::SetOperation { left, right, .. } => {
            collect_selects(left, out);
            collect_selects(right, out);
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn casts_types_and_quoting_per_target() {
        let sql = r#"select "id"::varchar as id, cast(n as hugeint) as n from "db"."main"."t""#;
        let pg = translate(sql, Dialect::Postgres).unwrap();
        assert!(pg.contains("CAST(\"id\" AS TEXT)"), "{pg}");
        assert!(pg.contains("NUMERIC(38)"), "{pg}");
        let bq = translate(sql, Dialect::BigQuery).unwrap();
        assert!(bq.contains("CAST(`id` AS STRING)"), "{bq}");
        assert!(bq.contains("`db`.`main`.`t`"), "{bq}");
        assert!(bq.contains("BIGNUMERIC"), "{bq}");
    }

    #[test]
    fn untranslatable_constructs_are_errors_with_a_position() {
        let err = translate("select * exclude (a)\nfrom t", Dialect::Postgres).unwrap_err();
        assert!(
            err.message
                .contains("SELECT * EXCLUDE has no postgres translation"),
            "{err:?}"
        );
        assert_eq!(err.line, 1);
        let bq = translate("select * exclude (a) from t", Dialect::BigQuery).unwrap();
        assert!(bq.contains("EXCEPT (a)"), "{bq}");
    }
}
