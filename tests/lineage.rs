//! Column lineage fixtures (tests/fixtures/lineage/*.sql): each starts with
//! `-- schema: table(col, ...); ...` giving the tables' columns; the computed
//! lineage of the select is an insta snapshot.

use sluice::lineage::{lineage, Table, Tables};
use sqlparser::dialect::DuckDbDialect;
use sqlparser::parser::Parser;

fn tables(header: &str) -> Tables {
    let mut tables = Tables::default();
    let spec = header
        .trim_start_matches("--")
        .trim()
        .trim_start_matches("schema:");
    for t in spec.split(';') {
        let t = t.trim();
        let Some((name, cols)) = t.split_once('(') else {
            continue;
        };
        let columns = cols
            .trim_end_matches(')')
            .split(',')
            .map(|c| c.trim().to_owned())
            .collect();
        tables.insert(
            &[name.trim()],
            Table {
                node: name.trim().to_owned(),
                columns,
            },
        );
    }
    tables
}

#[test]
fn lineage_fixtures() {
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path("../snapshots");
    settings.set_prepend_module_to_snapshot(false);
    settings.bind(|| {
        insta::glob!("fixtures/lineage/*.sql", |path| {
            let text = std::fs::read_to_string(path).unwrap();
            let header = text.lines().next().unwrap();
            let statements = Parser::parse_sql(&DuckDbDialect {}, &text).unwrap();
            let out = lineage(&statements, &tables(header));
            let mut rendered = String::new();
            for col in out {
                let sources: Vec<String> = col
                    .sources
                    .iter()
                    .map(|s| format!("{}.{}", s.node, s.column))
                    .collect();
                rendered.push_str(&format!(
                    "{} ({:?}) <- {}\n",
                    col.name,
                    col.kind,
                    sources.join(", ")
                ));
            }
            insta::assert_snapshot!(rendered);
        });
    });
}
