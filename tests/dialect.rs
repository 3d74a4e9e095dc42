//! Dialect output (`sluice compile --dialect`). Each fixture in
//! tests/fixtures/dialect/*.sql is translated for every target, and each
//! translation must survive a round trip in the target's own sqlparser
//! dialect (parse -> print -> parse -> print gives the same text, as
//! sqlparser's `verified_stmt`); all translations are an insta snapshot,
//! untranslatable constructs as their errors. A few translations are also
//! pinned exactly here.

use sluice::dialect::{translate, Dialect};
use sqlparser::dialect::{
    BigQueryDialect, Dialect as ParserDialect, DuckDbDialect, PostgreSqlDialect, SnowflakeDialect,
};
use sqlparser::parser::{Parser, ParserOptions};

const TARGETS: [Dialect; 4] = [
    Dialect::DuckDb,
    Dialect::Postgres,
    Dialect::Snowflake,
    Dialect::BigQuery,
];

/// The target's own sqlparser dialect.
fn parser_dialect(target: Dialect) -> Box<dyn ParserDialect> {
    match target {
        Dialect::DuckDb => Box::new(DuckDbDialect {}),
        Dialect::Postgres => Box::new(PostgreSqlDialect {}),
        Dialect::Snowflake => Box::new(SnowflakeDialect {}),
        Dialect::BigQuery => Box::new(BigQueryDialect {}),
    }
}

/// `sql` parsed as `target` and printed again, as `translate` prints
/// (pretty, statements joined by `;\n`).
fn reprint(sql: &str, target: Dialect) -> Result<String, String> {
    // Literals are kept as written (no unescaping), so a string is printed
    // back exactly as the translation wrote it for the target.
    let dialect = parser_dialect(target);
    let statements = Parser::new(dialect.as_ref())
        .with_options(ParserOptions::new().with_unescape(false))
        .try_with_sql(sql)
        .and_then(|mut p| p.parse_statements())
        .map_err(|e| format!("does not parse as {}: {e}\n{sql}", target.name()))?;
    Ok(statements
        .iter()
        .map(|s| format!("{s:#}"))
        .collect::<Vec<_>>()
        .join(";\n"))
}

/// Whether `printed` (a translation for `target`) is a fixed point of
/// parse -> print in the target's dialect, twice over; else how it is not.
fn round_trip(printed: &str, target: Dialect) -> Result<(), String> {
    let second = reprint(printed, target)?;
    if second != printed {
        return Err(format!(
            "the {} output changes when parsed and printed again:\n{printed}\n-- became --\n{second}",
            target.name()
        ));
    }
    let third = reprint(&second, target)?;
    if third != second {
        return Err(format!(
            "printing {} twice differs:\n{second}\n-- became --\n{third}",
            target.name()
        ));
    }
    Ok(())
}

#[test]
fn dialect_fixtures_round_trip() {
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path("../snapshots");
    settings.set_prepend_module_to_snapshot(false);
    let mut failures = Vec::new();
    settings.bind(|| {
        insta::glob!("fixtures/dialect/*.sql", |path| {
            let sql = std::fs::read_to_string(path).unwrap();
            let mut out = String::new();
            for target in TARGETS {
                out.push_str(&format!("-- {}\n", target.name()));
                match translate(&sql, target) {
                    Ok(text) => {
                        if let Err(why) = round_trip(&text, target) {
                            let name = path.file_name().unwrap().to_string_lossy();
                            failures.push(format!("{name}: {why}"));
                        }
                        out.push_str(&text);
                        out.push_str("\n\n");
                    }
                    Err(e) => {
                        out.push_str(&format!("error at {}:{}: {}\n\n", e.line, e.col, e.message))
                    }
                }
            }
            insta::assert_snapshot!(out);
        });
    });
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// Translations pinned exactly, one construct of the module's table each.
#[test]
fn translations_print_exactly() {
    let cases: &[(&str, Dialect, &str)] = &[
        // A DuckDB string has no backslash escapes; Snowflake's and BigQuery's do.
        (
            r"select '\d\.x' as p",
            Dialect::Snowflake,
            "SELECT\n  '\\\\d\\\\.x' AS p",
        ),
        (
            r"select '\d' as p",
            Dialect::Postgres,
            "SELECT\n  '\\d' AS p",
        ),
        (
            "select x::hugeint as n from t",
            Dialect::BigQuery,
            "SELECT\n  CAST(x AS BIGNUMERIC) AS n\nFROM\n  t",
        ),
        (
            "select x::hugeint as n from t",
            Dialect::Postgres,
            "SELECT\n  CAST(x AS NUMERIC(38)) AS n\nFROM\n  t",
        ),
        (
            "select \"a b\" from \"s\".\"t\" where name ilike 'a%'",
            Dialect::BigQuery,
            "SELECT\n  `a b`\nFROM\n  `s`.`t`\nWHERE\n  LOWER(name) LIKE LOWER('a%')",
        ),
        (
            "select regexp_matches(email, '@x$') as m from t",
            Dialect::Postgres,
            "SELECT\n  (email ~ '@x$') AS m\nFROM\n  t",
        ),
        (
            "select regexp_matches(email, '@x$') as m from t",
            Dialect::Snowflake,
            "SELECT\n  REGEXP_LIKE(email, '@x$') AS m\nFROM\n  t",
        ),
        (
            "select date_trunc('month', d) as m, list(id) as ids from t group by 1",
            Dialect::BigQuery,
            "SELECT\n  DATE_TRUNC(d, MONTH) AS m,\n  ARRAY_AGG(id) AS ids\nFROM\n  t\nGROUP BY\n  1",
        ),
        (
            "select * exclude (note) from t",
            Dialect::BigQuery,
            "SELECT\n  * EXCEPT (note)\nFROM\n  t",
        ),
    ];
    for &(sql, target, expected) in cases {
        let printed =
            translate(sql, target).unwrap_or_else(|e| panic!("{sql} for {}: {e:?}", target.name()));
        assert_eq!(printed, expected, "{sql} for {}", target.name());
        round_trip(&printed, target).unwrap_or_else(|why| panic!("{sql}: {why}"));
    }
}

/// A construct the target lacks is an error at its line and column, never
/// SQL that would mean something else.
#[test]
fn untranslatable_constructs_are_located_errors() {
    let err = translate(
        "select *\nfrom t\nqualify row_number() over () = 1",
        Dialect::Postgres,
    )
    .unwrap_err();
    assert_eq!(
        (err.line, err.col, err.message.as_str()),
        (3, 9, "QUALIFY has no postgres translation")
    );
}
