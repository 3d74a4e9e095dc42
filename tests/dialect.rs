//! Dialect output fixtures (tests/fixtures/dialect/*.sql): each is
//! translated for every target; each translation must parse again with the
//! target's sqlparser dialect (parse -> print -> parse), and all of them are
//! an insta snapshot, untranslatable constructs as their errors.

use sluice::dialect::{translate, Dialect};
use sqlparser::dialect::{BigQueryDialect, DuckDbDialect, PostgreSqlDialect, SnowflakeDialect};
use sqlparser::parser::Parser;

#[test]
fn dialect_fixtures_round_trip() {
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path("../snapshots");
    settings.set_prepend_module_to_snapshot(false);
    settings.bind(|| {
        insta::glob!("fixtures/dialect/*.sql", |path| {
            let sql = std::fs::read_to_string(path).unwrap();
            let mut out = String::new();
            for target in [
                Dialect::DuckDb,
                Dialect::Postgres,
                Dialect::Snowflake,
                Dialect::BigQuery,
            ] {
                out.push_str(&format!("-- {}\n", target.name()));
                match translate(&sql, target) {
                    Ok(text) => {
                        let parsed = match target {
                            Dialect::DuckDb => Parser::parse_sql(&DuckDbDialect {}, &text),
                            Dialect::Postgres => Parser::parse_sql(&PostgreSqlDialect {}, &text),
                            Dialect::Snowflake => Parser::parse_sql(&SnowflakeDialect {}, &text),
                            Dialect::BigQuery => Parser::parse_sql(&BigQueryDialect {}, &text),
                        };
                        assert!(
                            parsed.is_ok(),
                            "{} output does not parse as {}: {parsed:?}\n{text}",
                            path.display(),
                            target.name()
                        );
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
}
