//! DuckDB values as sluice needs them: JSON for templates, agate-like
//! [`Cell`]s for tables macros inspect, and text for results and fixtures.

use crate::warehouse::connection::Cell;

/// A DuckDB value as JSON for templates: integers and floats as numbers
/// (decimals too, as agate does), dates and timestamps as ISO 8601 text,
/// anything else as its text.
pub fn value_to_json(v: duckdb::types::Value) -> serde_json::Value {
    use duckdb::types::Value as V;
    use serde_json::Value as J;
    let epoch = chrono::DateTime::UNIX_EPOCH.naive_utc();
    match v {
        V::Null => J::Null,
        V::Boolean(b) => J::Bool(b),
        V::TinyInt(i) => J::from(i),
        V::SmallInt(i) => J::from(i),
        V::Int(i) => J::from(i),
        V::BigInt(i) => J::from(i),
        V::UTinyInt(i) => J::from(i),
        V::USmallInt(i) => J::from(i),
        V::UInt(i) => J::from(i),
        V::UBigInt(i) => J::from(i),
        V::HugeInt(i) => i64::try_from(i).map_or_else(|_| J::from(i.to_string()), J::from),
        V::Float(f) => J::from(f64::from(f)),
        V::Double(f) => J::from(f),
        V::Decimal(d) => d
            .to_string()
            .parse::<f64>()
            .map_or_else(|_| J::from(d.to_string()), J::from),
        V::Text(s) => J::from(s),
        V::Date32(days) => J::from(
            (epoch.date() + chrono::Duration::days(i64::from(days)))
                .format("%Y-%m-%d")
                .to_string(),
        ),
        V::Timestamp(unit, t) => J::from(
            (epoch + chrono::Duration::microseconds(unit.to_micros(t)))
                .format("%Y-%m-%dT%H:%M:%S%.f")
                .to_string(),
        ),
        other => value_to_string(other).map_or(J::Null, J::from),
    }
}

/// A DuckDB value as the [`Cell`] dbt's agate type tester makes of what
/// the DuckDB Python driver returns: integers as `Integer`, decimals and
/// floats as `Number`, dates, timestamps (Python's `str(datetime)`) and
/// booleans as themselves, lists, arrays, structs and maps as JSON text (as
/// dbt-common's `table_from_data_flat`), anything else as its text.
pub fn value_to_cell(v: duckdb::types::Value) -> Cell {
    use duckdb::types::Value as V;
    let epoch = chrono::DateTime::UNIX_EPOCH.naive_utc();
    match v {
        V::Null => Cell::Null,
        V::Boolean(b) => Cell::Boolean(b),
        V::TinyInt(i) => Cell::Integer(i.into()),
        V::SmallInt(i) => Cell::Integer(i.into()),
        V::Int(i) => Cell::Integer(i.into()),
        V::BigInt(i) => Cell::Integer(i.into()),
        V::HugeInt(i) => Cell::Integer(i),
        V::UTinyInt(i) => Cell::Integer(i.into()),
        V::USmallInt(i) => Cell::Integer(i.into()),
        V::UInt(i) => Cell::Integer(i.into()),
        V::UBigInt(i) => Cell::Integer(i.into()),
        V::UHugeInt(i) => {
            i128::try_from(i).map_or_else(|_| Cell::Text(i.to_string()), Cell::Integer)
        }
        V::Float(f) => Cell::Number(f.to_string()),
        V::Double(f) => Cell::Number(f.to_string()),
        V::Decimal(d) => Cell::Number(d.to_string()),
        V::Date32(days) => Cell::Date(
            (epoch.date() + chrono::Duration::days(i64::from(days)))
                .format("%Y-%m-%d")
                .to_string(),
        ),
        V::Timestamp(unit, t) => {
            let at = epoch + chrono::Duration::microseconds(unit.to_micros(t));
            // Python's str(datetime): microseconds only when there are any.
            let format = if at.and_utc().timestamp_subsec_micros() == 0 {
                "%Y-%m-%d %H:%M:%S"
            } else {
                "%Y-%m-%d %H:%M:%S%.6f"
            };
            Cell::DateTime(at.format(format).to_string())
        }
        V::Time64(unit, t) => {
            let micros = unit.to_micros(t);
            let at = chrono::NaiveTime::MIN + chrono::Duration::microseconds(micros);
            let format = if micros % 1_000_000 == 0 {
                "%H:%M:%S"
            } else {
                "%H:%M:%S%.6f"
            };
            Cell::Text(at.format(format).to_string())
        }
        V::Text(s) | V::Enum(s) => Cell::Text(s),
        v @ (V::List(_) | V::Array(_) | V::Struct(_) | V::Map(_) | V::Union(_)) => {
            Cell::Text(value_to_json_deep(v).to_string())
        }
        other => value_to_string(other).map_or(Cell::Null, Cell::Text),
    }
}

/// A DuckDB value as JSON with lists, arrays, structs and maps kept as JSON
/// arrays and objects (map keys as their text).
fn value_to_json_deep(v: duckdb::types::Value) -> serde_json::Value {
    use duckdb::types::Value as V;
    match v {
        V::List(items) | V::Array(items) => {
            serde_json::Value::Array(items.into_iter().map(value_to_json_deep).collect())
        }
        V::Struct(fields) => serde_json::Value::Object(
            fields
                .iter()
                .map(|(k, v)| (k.clone(), value_to_json_deep(v.clone())))
                .collect(),
        ),
        V::Map(entries) => serde_json::Value::Object(
            entries
                .iter()
                .map(|(k, v)| {
                    let key = match value_to_json_deep(k.clone()) {
                        serde_json::Value::String(s) => s,
                        other => other.to_string(),
                    };
                    (key, value_to_json_deep(v.clone()))
                })
                .collect(),
        ),
        V::Union(inner) => value_to_json_deep(*inner),
        other => value_to_json(other),
    }
}

/// A DuckDB value as text (NULL as `None`), for results and test fixtures.
pub fn value_to_string(v: duckdb::types::Value) -> Option<String> {
    use duckdb::types::Value as V;
    Some(match v {
        V::Null => return None,
        V::Boolean(b) => b.to_string(),
        V::TinyInt(i) => i.to_string(),
        V::SmallInt(i) => i.to_string(),
        V::Int(i) => i.to_string(),
        V::BigInt(i) => i.to_string(),
        V::HugeInt(i) => i.to_string(),
        V::UTinyInt(i) => i.to_string(),
        V::USmallInt(i) => i.to_string(),
        V::UInt(i) => i.to_string(),
        V::UBigInt(i) => i.to_string(),
        V::Float(f) => f.to_string(),
        V::Double(f) => f.to_string(),
        V::Text(s) => s,
        V::Decimal(d) => d.to_string(),
        other => format!("{other:?}"),
    })
}
