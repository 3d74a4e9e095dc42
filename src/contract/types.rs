//! DuckDB type names in one spelling, so `int`, `integer` and `int4` (or
//! `text`, `string` and `varchar`) compare equal.
//!
//! At run time sluice lets DuckDB itself spell a contract's types (it
//! describes `cast(null as <data_type>)`, as dbt's `get_empty_schema_sql`
//! does); this table is for compile time, where there is no database. It
//! follows DuckDB's type aliases and answers `None` for anything it does
//! not know, so a caller can stay silent rather than guess.

/// The type `ty` as DuckDB's `describe` prints it (`INTEGER`, `VARCHAR`,
/// `DECIMAL(10,2)`, `TIMESTAMP WITH TIME ZONE`, `INTEGER[]`), or `None`
/// when `ty` is not a type this table knows (structs, maps, enums, unions,
/// user-defined types, malformed text).
///
/// Case, surrounding space, a `VARCHAR` length and `DECIMAL` defaults are
/// normalised as DuckDB does: `decimal` is `DECIMAL(18,3)`, `numeric(10)`
/// is `DECIMAL(10,0)`, `varchar(20)` is `VARCHAR`.
pub fn normalize(ty: &str) -> Option<String> {
    let text = ty.trim();
    if let Some(inner) = text.strip_suffix("[]") {
        return normalize(inner).map(|t| format!("{t}[]"));
    }
    let (base, args) = match text.find('(') {
        Some(open) => {
            let close = text.rfind(')')?;
            if close != text.len() - 1 || close < open {
                return None;
            }
            let args: Vec<&str> = text[open + 1..close].split(',').map(str::trim).collect();
            (text[..open].trim(), Some(args))
        }
        None => (text, None),
    };
    let base = base.split_whitespace().collect::<Vec<_>>().join(" ");
    let base = base.to_ascii_lowercase();
    let simple = |name: &str| -> Option<String> {
        match &args {
            None => Some(name.to_owned()),
            Some(_) => None,
        }
    };
    match base.as_str() {
        "integer" | "int" | "int4" | "int32" | "signed" => simple("INTEGER"),
        "bigint" | "int8" | "int64" | "long" => simple("BIGINT"),
        "smallint" | "int2" | "int16" | "short" => simple("SMALLINT"),
        "tinyint" | "int1" => simple("TINYINT"),
        "hugeint" | "int128" => simple("HUGEINT"),
        "ubigint" | "uint64" => simple("UBIGINT"),
        "uinteger" | "uint32" => simple("UINTEGER"),
        "usmallint" | "uint16" => simple("USMALLINT"),
        "utinyint" | "uint8" => simple("UTINYINT"),
        "uhugeint" | "uint128" => simple("UHUGEINT"),
        "double" | "float8" | "double precision" => simple("DOUBLE"),
        "float" | "float4" | "real" => simple("FLOAT"),
        "boolean" | "bool" | "logical" => simple("BOOLEAN"),
        "date" => simple("DATE"),
        "time" | "time without time zone" => simple("TIME"),
        "timetz" | "time with time zone" => simple("TIME WITH TIME ZONE"),
        "timestamp" | "datetime" | "timestamp without time zone" => simple("TIMESTAMP"),
        "timestamptz" | "timestamp with time zone" => simple("TIMESTAMP WITH TIME ZONE"),
        "timestamp_s" => simple("TIMESTAMP_S"),
        "timestamp_ms" => simple("TIMESTAMP_MS"),
        "timestamp_ns" => simple("TIMESTAMP_NS"),
        "interval" => simple("INTERVAL"),
        "uuid" => simple("UUID"),
        "blob" | "bytea" | "binary" | "varbinary" => simple("BLOB"),
        "json" => simple("JSON"),
        // DuckDB keeps no length: `varchar(20)` is `VARCHAR`.
        "varchar" | "text" | "string" | "char" | "bpchar" | "nvarchar" | "character"
        | "character varying" => match &args {
            None => Some("VARCHAR".to_owned()),
            Some(a) if a.len() == 1 && a[0].parse::<u32>().is_ok() => Some("VARCHAR".to_owned()),
            Some(_) => None,
        },
        "decimal" | "numeric" | "dec" => {
            let (p, s) = match args.as_deref() {
                None => (18, 3),
                Some([p]) => (p.parse::<u32>().ok()?, 0),
                Some([p, s]) => (p.parse::<u32>().ok()?, s.parse::<u32>().ok()?),
                Some(_) => return None,
            };
            // DuckDB's DECIMAL holds 1 to 38 digits, the scale at most the width.
            if !(1..=38).contains(&p) || s > p {
                return None;
            }
            Some(format!("DECIMAL({p},{s})"))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::normalize;

    fn n(ty: &str) -> Option<String> {
        normalize(ty)
    }

    #[test]
    fn integer_aliases_are_one_type() {
        // DuckDB's aliases: `int`, `int4`, `signed` are INTEGER; dbt compares
        // what the warehouse reports, so these must match each other.
        for ty in ["int", "INTEGER", " int4 ", "signed", "Int32"] {
            assert_eq!(n(ty).as_deref(), Some("INTEGER"), "{ty}");
        }
        assert_eq!(n("int8").as_deref(), Some("BIGINT"));
        assert_eq!(n("long").as_deref(), Some("BIGINT"));
        assert_eq!(n("int2").as_deref(), Some("SMALLINT"));
        assert_ne!(n("int"), n("bigint"));
    }

    #[test]
    fn text_aliases_are_varchar_and_lengths_drop() {
        for ty in [
            "varchar",
            "TEXT",
            "string",
            "char",
            "varchar(20)",
            "character varying",
        ] {
            assert_eq!(n(ty).as_deref(), Some("VARCHAR"), "{ty}");
        }
    }

    #[test]
    fn decimals_keep_precision_and_scale() {
        assert_eq!(n("decimal(10,2)").as_deref(), Some("DECIMAL(10,2)"));
        assert_eq!(n("NUMERIC( 10 , 2 )").as_deref(), Some("DECIMAL(10,2)"));
        assert_eq!(n("numeric(10)").as_deref(), Some("DECIMAL(10,0)"));
        assert_eq!(n("decimal").as_deref(), Some("DECIMAL(18,3)"));
        assert_ne!(n("decimal(10,2)"), n("decimal(12,2)"));
        assert_eq!(n("decimal(2,5)"), None);
        assert_eq!(n("decimal(40,2)"), None);
    }

    #[test]
    fn floats_times_and_lists() {
        assert_eq!(n("float8").as_deref(), Some("DOUBLE"));
        assert_eq!(n("double precision").as_deref(), Some("DOUBLE"));
        assert_eq!(n("real").as_deref(), Some("FLOAT"));
        assert_eq!(n("bool").as_deref(), Some("BOOLEAN"));
        assert_eq!(n("datetime").as_deref(), Some("TIMESTAMP"));
        assert_eq!(
            n("timestamptz").as_deref(),
            Some("TIMESTAMP WITH TIME ZONE")
        );
        assert_eq!(
            n("timestamp  with time zone").as_deref(),
            Some("TIMESTAMP WITH TIME ZONE")
        );
        assert_eq!(n("int[]").as_deref(), Some("INTEGER[]"));
        assert_eq!(n("text[][]").as_deref(), Some("VARCHAR[][]"));
    }

    #[test]
    fn unknown_types_are_none_never_a_guess() {
        for ty in [
            "struct(a int)",
            "map(varchar, int)",
            "my_enum",
            "int(3)",
            "",
            "decimal(a,b)",
        ] {
            assert_eq!(n(ty), None, "{ty}");
        }
    }
}
