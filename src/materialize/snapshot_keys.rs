//! Whether a snapshot's source already guarantees its unique key (a
//! primary key DuckDB enforces), so the duplicate-key scan can be skipped.

use serde_json::Value as Json;

use crate::error::Result;
use crate::warehouse::connection::Connection;
use crate::warehouse::relation::literal;

/// Whether the snapshot's select is `select * from <db>.<schema>.<table>
/// [where ...]` (`star_of`: the table's name parts, see
/// [`crate::sql::PlainSelect`]) and that table has a PRIMARY KEY on some of the
/// `unique_key` columns (a column name or a list of them): then DuckDB
/// guarantees the source has no NULL and no repeated key, and the
/// duplicate-key scan (a sort of every key) can be skipped. Anything else,
/// including a key expression or a one- or two-part table name (resolved by
/// DuckDB's search path), answers `false`, so the scan runs.
///
/// Other engines answer `false`: the scan runs there.
///
/// Errors: [`crate::ErrorKind::Database`] if DuckDB's constraint list cannot be read.
pub(super) fn key_is_primary(
    conn: &dyn Connection,
    star_of: Option<&[String]>,
    unique_key: Option<&Json>,
) -> Result<bool> {
    if conn.adapter_type() != "duckdb" {
        return Ok(false);
    }
    let Some([db, schema, table]) = star_of else {
        return Ok(false);
    };
    let key: Vec<&str> = match unique_key {
        Some(Json::String(k)) => vec![k.as_str()],
        Some(Json::Array(ks)) => ks.iter().filter_map(Json::as_str).collect(),
        _ => return Ok(false),
    };
    let plain =
        |k: &&str| !k.is_empty() && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if key.is_empty() || !key.iter().all(plain) {
        return Ok(false);
    }
    let columns = key
        .iter()
        .map(|k| literal(&k.to_lowercase()))
        .collect::<Vec<_>>()
        .join(", ");
    let rows = conn.query(&format!(
        "select count(*) from duckdb_constraints() \
         where database_name = {} and schema_name = {} and table_name = {} and constraint_type = 'PRIMARY KEY' \
           and list_has_all([{columns}], list_transform(constraint_column_names, lambda c: lower(c)))",
        literal(db),
        literal(schema),
        literal(table)
    ))?;
    Ok(cell(&rows) > 0)
}

/// The first cell of `rows` as a count (0 when missing).
pub(super) fn cell(rows: &[Vec<Option<String>>]) -> i64 {
    rows.first()
        .and_then(|r| r.first().cloned().flatten())
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::key_is_primary;
    use crate::adapter::duckdb::Database;
    use crate::project::Target;
    use serde_json::json;

    #[test]
    fn only_a_declared_primary_key_skips_the_duplicate_scan() {
        let target = Target {
            path: ":memory:".into(),
            database: "memory".into(),
            ..Target::embedded(std::path::Path::new("."), "t")
        };
        let db = Database::open(&target).unwrap();
        let conn = db.connect().unwrap();
        use crate::warehouse::connection::Connection;
        conn.execute(
            "create table pk (id int primary key, region varchar, v int); \
             create table uq (id int unique, v int); \
             create table plain (id int, v int)",
        )
        .unwrap();
        let pk = r#"select * from "memory"."main"."pk""#;
        let yes = |sql: &str, key| {
            let plain = crate::sql::plain_select(sql);
            let star_of = plain.as_ref().and_then(|p| p.star_of.as_deref());
            key_is_primary(&conn, star_of, Some(&key)).unwrap()
        };
        assert!(yes(pk, json!("id")));
        assert!(
            yes(pk, json!("ID")),
            "DuckDB column names are case-insensitive"
        );
        assert!(yes(&format!("{pk} where v > 1"), json!("id")));
        assert!(
            yes(pk, json!(["region", "id"])),
            "a key containing the primary key"
        );
        assert!(!yes(pk, json!("region")));
        assert!(!yes(pk, json!("id || ''")), "an expression");
        assert!(
            !yes(r#"select id, v from "memory"."main"."pk""#, json!("id")),
            "not select *"
        );
        assert!(!yes(
            r#"select * exclude (v) from "memory"."main"."pk""#,
            json!("id")
        ));
        assert!(
            !yes("select * from main.pk", json!("id")),
            "a name DuckDB resolves by search path"
        );
        // UNIQUE allows several NULL keys.
        assert!(!yes(r#"select * from "memory"."main"."uq""#, json!("id")));
        assert!(!yes(
            r#"select * from "memory"."main"."plain""#,
            json!("id")
        ));
    }
}
