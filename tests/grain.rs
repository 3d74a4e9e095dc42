//! Grain fixtures (tests/fixtures/grain/*.sql): each starts with
//! `-- schema: table(col, ...); ...` giving the tables it reads and what
//! they declare (`col*`: a `unique` test, `col!`: a `not_null` test,
//! `key(a b)`: `unique_combination_of_columns`); the inferred keys,
//! not-null columns, fan-out joins and nondeterministic expressions are an
//! insta snapshot.

use sluice::grain::{Declared, Grains, Key, NotNull};
use sqlparser::dialect::DuckDbDialect;
use sqlparser::parser::Parser;

fn grains(header: &str) -> Grains<'static> {
    let mut grains = Grains::default();
    let spec = header
        .trim_start_matches("--")
        .trim()
        .trim_start_matches("schema:");
    for t in spec.split(';') {
        let Some((name, cols)) = t.trim().split_once('(') else {
            continue;
        };
        let name = name.trim();
        let mut declared = Declared::default();
        let mut columns = Vec::new();
        let body = cols.strip_suffix(')').unwrap_or(cols);
        let (plain, combination) = match body.split_once("key(") {
            Some((plain, key)) => (plain, Some(key.trim_end_matches(')'))),
            None => (body, None),
        };
        for token in plain.split(',').map(str::trim).filter(|t| !t.is_empty()) {
            let column = token.trim_end_matches(['*', '!']).to_owned();
            if token.contains('*') {
                declared.keys.push(Key {
                    columns: vec![column.clone()],
                    with_nulls: false,
                    reason: format!("unique test on {name}.{column}"),
                });
            }
            if token.contains('!') {
                declared.not_null.push(NotNull {
                    column: column.clone(),
                    reason: format!("not_null test on {name}.{column}"),
                });
            }
            columns.push(column);
        }
        if let Some(key) = combination {
            let mut cols: Vec<String> = key.split_whitespace().map(str::to_owned).collect();
            cols.sort();
            declared.keys.push(Key {
                reason: format!("unique_combination_of_columns test on {name}"),
                columns: cols,
                with_nulls: true,
            });
        }
        grains.declare(&[name], columns, &declared);
    }
    grains
}

#[test]
fn grain_fixtures() {
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path("../snapshots");
    settings.set_prepend_module_to_snapshot(false);
    settings.bind(|| {
        insta::glob!("fixtures/grain/*.sql", |path| {
            let text = std::fs::read_to_string(path).unwrap();
            let header = text.lines().next().unwrap();
            let statements = Parser::parse_sql(&DuckDbDialect {}, &text).unwrap();
            let inference = grains(header).infer(&statements, false);
            let mut out = String::from("keys:\n");
            for k in &inference.grain.keys {
                let nulls = if k.with_nulls {
                    ""
                } else {
                    " (among non-NULL)"
                };
                out.push_str(&format!(
                    "  ({}){nulls}: {}\n",
                    k.columns.join(", "),
                    k.reason
                ));
            }
            out.push_str("not null:\n");
            for n in &inference.grain.not_null {
                out.push_str(&format!("  {}: {}\n", n.column, n.reason));
            }
            if !inference.nullable.is_empty() {
                out.push_str("nullable:\n");
                for n in &inference.nullable {
                    out.push_str(&format!("  {}: {}\n", n.name, n.join));
                }
            }
            if !inference.fan_outs.is_empty() {
                out.push_str("fan-out joins:\n");
                for f in &inference.fan_outs {
                    out.push_str(&format!(
                        "  {}:{} `{}` (from {}) on ({}) multiplies {}\n",
                        f.line,
                        f.column,
                        f.right,
                        f.upstream.as_deref().unwrap_or("?"),
                        f.columns.join(", "),
                        f.left
                    ));
                }
            }
            if !inference.findings.is_empty() {
                out.push_str("nondeterministic:\n");
                for f in &inference.findings {
                    out.push_str(&format!(
                        "  {}:{} {}\n    hint: {}\n",
                        f.line, f.column, f.message, f.hint
                    ));
                }
            }
            insta::assert_snapshot!(out);
        });
    });
}
