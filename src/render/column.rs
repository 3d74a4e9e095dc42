//! `api.Column` and the column objects `adapter.get_columns_in_relation`
//! returns, as dbt-duckdb's `DuckDBColumn` (dbt-adapters' `Column` with
//! DuckDB's integer and float type names).
//!
//! Packages read these objects' attributes and call their methods:
//! dbt_utils' `get_filtered_columns_in_relation` reads `name`,
//! dbt_expectations compares `dtype`, dbt's own materializations call
//! `data_type`, `is_string()` and `can_expand_to()`. The quirks are dbt's:
//! `data_type` of a `VARCHAR` is `character varying(256)` (no size is known
//! on DuckDB), and `DECIMAL(10,2)` is not `is_numeric()` (only the bare
//! names `numeric` and `decimal` are).

use std::fmt;
use std::sync::Arc;

use crate::render::pycompat::python_str_repr;
use minijinja::value::{Enumerator, Kwargs, Object, ObjectRepr};
use minijinja::{Error, ErrorKind, State, Value};

/// dbt's `Column.TYPE_LABELS`: labels `translate_type` and `create` map (by
/// their upper-case form) to a type; dbt-duckdb keeps dbt's one entry.
pub const TYPE_LABELS: &[(&str, &str)] = &[("STRING", "TEXT")];

/// One column of a relation: name, type and the optional sizes dbt's
/// `Column` dataclass carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Column {
    /// Column name, as the warehouse reports it.
    pub column: String,
    /// Type name, as the warehouse reports it (`VARCHAR`, `DECIMAL(10,2)`).
    pub dtype: String,
    /// Maximum length of a string type, when known.
    pub char_size: Option<i64>,
    /// Precision of a numeric type, when known.
    pub numeric_precision: Option<i64>,
    /// Scale of a numeric type, when known.
    pub numeric_scale: Option<i64>,
}

fn invalid(msg: impl Into<String>) -> Error {
    Error::new(ErrorKind::InvalidOperation, msg.into())
}

/// dbt's `Column.translate_type`: the label's type from [`TYPE_LABELS`]
/// (matched upper-cased), else the label unchanged.
pub fn translate_type(dtype: &str) -> String {
    let upper = dtype.to_uppercase();
    TYPE_LABELS
        .iter()
        .find(|(label, _)| *label == upper)
        .map_or_else(|| dtype.to_owned(), |(_, ty)| (*ty).to_owned())
}

/// dbt's `Column.string_type(size)`: `character varying(size)`.
pub fn string_type(size: i64) -> String {
    format!("character varying({size})")
}

/// dbt's `Column.numeric_type(dtype, precision, scale)`: `dtype(p,s)`, or
/// `dtype` alone when either is missing.
pub fn numeric_type(dtype: &str, precision: Option<&Value>, scale: Option<&Value>) -> String {
    match (precision, scale) {
        (Some(p), Some(s)) if !p.is_none() && !s.is_none() => format!("{dtype}({p},{s})"),
        _ => dtype.to_owned(),
    }
}

impl Column {
    /// A column with no sizes, as dbt-duckdb builds from `describe`.
    pub fn new(column: &str, dtype: &str) -> Column {
        Column {
            column: column.to_owned(),
            dtype: dtype.to_owned(),
            char_size: None,
            numeric_precision: None,
            numeric_scale: None,
        }
    }

    /// dbt's `Column.from_description(name, raw_data_type)`: a type with one
    /// size (`varchar(10)`) sets `char_size`, with two (`decimal(10,2)`)
    /// precision and scale.
    ///
    /// Errors: a size that is not an integer, as dbt.
    pub fn from_description(name: &str, raw: &str) -> Result<Column, Error> {
        let (base, sizes) = match raw.find('(') {
            Some(i) if raw.ends_with(')') => (&raw[..i], Some(&raw[i + 1..raw.len() - 1])),
            _ => (raw, None),
        };
        let mut col = Column::new(name, base);
        if let Some(sizes) = sizes {
            let parse = |s: &str| {
                s.trim().parse::<i64>().map_err(|_| {
                    invalid(format!(
                        "could not interpret data_type `{raw}`: could not convert `{s}` to an integer"
                    ))
                })
            };
            let parts: Vec<&str> = sizes.split(',').collect();
            match parts.as_slice() {
                [size] => col.char_size = Some(parse(size)?),
                [p, s] => {
                    col.numeric_precision = Some(parse(p)?);
                    col.numeric_scale = Some(parse(s)?);
                }
                _ => {}
            }
        }
        Ok(col)
    }

    fn lower(&self) -> String {
        self.dtype.to_lowercase()
    }

    /// dbt's `is_string`: `text`, `character varying`, `character`, `varchar`.
    pub fn is_string(&self) -> bool {
        matches!(
            self.lower().as_str(),
            "text" | "character varying" | "character" | "varchar"
        )
    }

    /// dbt-duckdb's `is_float`: `real`, `float`, `float4`, `float8`, `double`.
    pub fn is_float(&self) -> bool {
        matches!(
            self.lower().as_str(),
            "real" | "float" | "float4" | "float8" | "double"
        )
    }

    /// dbt-duckdb's `is_integer`: DuckDB's signed and unsigned integer types and their aliases.
    pub fn is_integer(&self) -> bool {
        matches!(
            self.lower().as_str(),
            "tinyint"
                | "smallint"
                | "integer"
                | "bigint"
                | "hugeint"
                | "utinyint"
                | "usmallint"
                | "uinteger"
                | "ubigint"
                | "int1"
                | "int2"
                | "int4"
                | "int8"
                | "short"
                | "int"
                | "signed"
                | "long"
        )
    }

    /// dbt's `is_numeric`: exactly `numeric` or `decimal` (no precision in the name).
    pub fn is_numeric(&self) -> bool {
        matches!(self.lower().as_str(), "numeric" | "decimal")
    }

    /// dbt's `is_number`: an integer, numeric or float type.
    pub fn is_number(&self) -> bool {
        self.is_integer() || self.is_numeric() || self.is_float()
    }

    /// dbt-duckdb's `is_struct`: the type starts with `struct`.
    pub fn is_struct(&self) -> bool {
        self.lower().starts_with("struct")
    }

    /// dbt's `string_size`: 256 for `text` or an unknown size, else `char_size`.
    ///
    /// Errors: the column is not a string, as dbt.
    pub fn string_size(&self) -> Result<i64, Error> {
        if !self.is_string() {
            return Err(invalid(format!(
                "called string_size() on non-string column `{}` of type `{}`",
                self.column, self.dtype
            )));
        }
        Ok(match self.char_size {
            Some(n) if self.dtype != "text" => n,
            _ => 256,
        })
    }

    /// dbt's `data_type` property: strings as `character varying(n)`,
    /// numerics with precision and scale, anything else as `dtype`.
    pub fn data_type(&self) -> String {
        if self.is_string() {
            string_type(self.string_size().unwrap_or(256))
        } else if self.is_numeric() {
            numeric_type(
                &self.dtype,
                self.numeric_precision.map(Value::from).as_ref(),
                self.numeric_scale.map(Value::from).as_ref(),
            )
        } else {
            self.dtype.clone()
        }
    }

    /// dbt's `can_expand_to`: both are strings and `other` is longer.
    pub fn can_expand_to(&self, other: &Column) -> bool {
        match (self.string_size(), other.string_size()) {
            (Ok(mine), Ok(theirs)) => theirs > mine,
            _ => false,
        }
    }

    /// dbt-duckdb's struct fields: `STRUCT(a VARCHAR, b DECIMAL(10, 2))` ->
    /// columns `a` and `b`, split at top-level commas.
    pub fn fields(&self) -> Vec<Column> {
        if !self.is_struct() {
            return Vec::new();
        }
        let (Some(open), Some(close)) = (self.dtype.find('('), self.dtype.rfind(')')) else {
            return Vec::new();
        };
        if close <= open {
            return Vec::new();
        }
        let inner = &self.dtype[open + 1..close];
        let mut fields = Vec::new();
        let (mut depth, mut start) = (0i32, 0usize);
        for (i, c) in inner.char_indices() {
            match c {
                '(' => depth += 1,
                ')' => depth -= 1,
                ',' if depth == 0 => {
                    fields.push(&inner[start..i]);
                    start = i + 1;
                }
                _ => {}
            }
        }
        fields.push(&inner[start..]);
        fields
            .into_iter()
            .filter_map(|f| {
                let (name, ty) = f.trim().split_once(' ')?;
                Some(Column::new(name, ty.trim()))
            })
            .collect()
    }

    /// dbt-duckdb's `flatten`: a struct's leaf fields as `parent.child`
    /// columns, recursively; any other column as itself.
    pub fn flatten(&self) -> Vec<Column> {
        if !self.is_struct() {
            return vec![self.clone()];
        }
        self.fields()
            .iter()
            .flat_map(|f| {
                f.flatten().into_iter().map(|leaf| {
                    Column::new(&format!("{}.{}", self.column, leaf.column), &leaf.dtype)
                })
            })
            .collect()
    }

    /// The column as a template value.
    pub fn into_value(self) -> Value {
        Value::from_object(self)
    }
}

/// Python's `repr` of an optional integer.
fn py_opt(v: Option<i64>) -> String {
    v.map_or_else(|| "None".to_owned(), |n| n.to_string())
}

impl fmt::Display for Column {
    /// As dbt-duckdb's dataclass repr: `DuckDBColumn(column='id', dtype='INTEGER', ...)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let fields: Vec<String> = self.fields().iter().map(ToString::to_string).collect();
        write!(
            f,
            "DuckDBColumn(column={}, dtype={}, char_size={}, numeric_precision={}, numeric_scale={}, fields=[{}])",
            python_str_repr(&self.column),
            python_str_repr(&self.dtype),
            py_opt(self.char_size),
            py_opt(self.numeric_precision),
            py_opt(self.numeric_scale),
            fields.join(", ")
        )
    }
}

/// A column from a template value: a [`Column`] object, or (for columns
/// built by other means) anything with `name`/`column` and `dtype`/`data_type`.
pub fn column_from_value(value: &Value) -> Option<Column> {
    if let Some(col) = value.downcast_object_ref::<Column>() {
        return Some(col.clone());
    }
    let text = |key: &str| {
        value
            .get_attr(key)
            .ok()
            .filter(|v| !v.is_undefined() && !v.is_none())
            .map(|v| v.to_string())
    };
    Some(Column::new(
        &text("column").or_else(|| text("name"))?,
        &text("dtype")
            .or_else(|| text("data_type"))
            .unwrap_or_default(),
    ))
}

/// An optional integer argument (`None` for none or missing).
///
/// Errors: a value that is neither none nor an integer.
fn opt_int(value: Option<Value>, name: &str) -> Result<Option<i64>, Error> {
    match value {
        None => Ok(None),
        Some(v) if v.is_none() || v.is_undefined() => Ok(None),
        Some(v) => i64::try_from(v.clone())
            .map(Some)
            .or_else(|_| {
                v.as_str()
                    .and_then(|s| s.trim().parse::<i64>().ok())
                    .map(Some)
                    .ok_or(())
            })
            .map_err(|()| invalid(format!("`{name}` must be an integer, got `{v}`"))),
    }
}

/// Argument `pos` (or keyword `name`) of a method call.
fn arg(args: &[Value], name: &str, pos: usize) -> Option<Value> {
    crate::render::call::kwarg(args, name, pos)
}

fn text_arg(args: &[Value], name: &str, pos: usize, method: &str) -> Result<String, Error> {
    arg(args, name, pos)
        .filter(|v| !v.is_none() && !v.is_undefined())
        .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned))
        .ok_or_else(|| {
            Error::new(
                ErrorKind::MissingArgument,
                format!("`{method}` needs `{name}`"),
            )
        })
}

/// The class methods shared by `api.Column` and column objects.
fn class_method(method: &str, args: &[Value]) -> Option<Result<Value, Error>> {
    Some(match method {
        "string_type" => opt_int(arg(args, "size", 0), "size").and_then(|size| {
            size.map(|n| Value::from(string_type(n)))
                .ok_or_else(|| Error::new(ErrorKind::MissingArgument, "`string_type` needs a size"))
        }),
        "numeric_type" => text_arg(args, "dtype", 0, method).map(|dtype| {
            Value::from(numeric_type(
                &dtype,
                arg(args, "precision", 1).as_ref(),
                arg(args, "scale", 2).as_ref(),
            ))
        }),
        "translate_type" => {
            text_arg(args, "dtype", 0, method).map(|d| Value::from(translate_type(&d)))
        }
        "create" => text_arg(args, "name", 0, method).and_then(|name| {
            text_arg(args, "label_or_dtype", 1, method)
                .map(|label| Column::new(&name, &translate_type(&label)).into_value())
        }),
        "from_description" => text_arg(args, "name", 0, method).and_then(|name| {
            text_arg(args, "raw_data_type", 1, method)
                .and_then(|raw| Column::from_description(&name, &raw).map(Column::into_value))
        }),
        _ => return None,
    })
}

fn type_labels() -> Value {
    Value::from_iter(
        TYPE_LABELS
            .iter()
            .map(|(k, v)| ((*k).to_owned(), Value::from(*v))),
    )
}

impl Object for Column {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Plain
    }

    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        let opt = |v: Option<i64>| v.map_or(Value::from(()), Value::from);
        Some(match key.as_str()? {
            "name" | "column" => Value::from(self.column.clone()),
            "quoted" => Value::from(format!("\"{}\"", self.column)),
            "dtype" => Value::from(self.dtype.clone()),
            "data_type" | "expanded_data_type" => Value::from(self.data_type()),
            "char_size" => opt(self.char_size),
            "numeric_precision" => opt(self.numeric_precision),
            "numeric_scale" => opt(self.numeric_scale),
            "fields" => Value::from(
                self.fields()
                    .into_iter()
                    .map(Column::into_value)
                    .collect::<Vec<_>>(),
            ),
            "TYPE_LABELS" => type_labels(),
            _ => return None,
        })
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        Enumerator::Str(&[
            "column",
            "dtype",
            "char_size",
            "numeric_precision",
            "numeric_scale",
        ])
    }

    fn call_method(
        self: &Arc<Self>,
        _state: &State<'_, '_>,
        method: &str,
        args: &[Value],
    ) -> Result<Value, Error> {
        match method {
            "is_string" => Ok(Value::from(self.is_string())),
            "is_number" => Ok(Value::from(self.is_number())),
            "is_integer" => Ok(Value::from(self.is_integer())),
            "is_float" => Ok(Value::from(self.is_float())),
            "is_numeric" => Ok(Value::from(self.is_numeric())),
            "is_struct" => Ok(Value::from(self.is_struct())),
            "string_size" => self.string_size().map(Value::from),
            "can_expand_to" => {
                let other = arg(args, "other_column", 0)
                    .as_ref()
                    .and_then(column_from_value)
                    .ok_or_else(|| {
                        Error::new(ErrorKind::MissingArgument, "`can_expand_to` needs a column")
                    })?;
                Ok(Value::from(self.can_expand_to(&other)))
            }
            "literal" => {
                let value = arg(args, "value", 0).ok_or_else(|| {
                    Error::new(ErrorKind::MissingArgument, "`literal` needs a value")
                })?;
                Ok(Value::from(format!("{value}::{}", self.data_type())))
            }
            "flatten" => Ok(Value::from(
                self.flatten()
                    .into_iter()
                    .map(Column::into_value)
                    .collect::<Vec<_>>(),
            )),
            _ => class_method(method, args).unwrap_or_else(|| {
                Err(Error::new(
                    ErrorKind::UnknownMethod,
                    format!("column has no method `{method}`"),
                ))
            }),
        }
    }

    fn render(self: &Arc<Self>, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// `api.Column`: called, it builds a column as dbt's dataclass
/// (`api.Column(name, dtype, char_size=None, numeric_precision=None,
/// numeric_scale=None)`); its class methods are `create`,
/// `from_description`, `string_type`, `numeric_type` and `translate_type`,
/// and `TYPE_LABELS` is its class attribute.
#[derive(Debug)]
pub struct ColumnClass;

impl fmt::Display for ColumnClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<class 'dbt.adapters.duckdb.column.DuckDBColumn'>")
    }
}

impl Object for ColumnClass {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Plain
    }

    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        (key.as_str()? == "TYPE_LABELS").then(type_labels)
    }

    fn call(self: &Arc<Self>, _state: &State<'_, '_>, args: &[Value]) -> Result<Value, Error> {
        let kwargs = args.last().and_then(|v| Kwargs::try_from(v.clone()).ok());
        let column = text_arg(args, "column", 0, "api.Column")?;
        let dtype = text_arg(args, "dtype", 1, "api.Column")?;
        let col = Column {
            char_size: opt_int(arg(args, "char_size", 2), "char_size")?,
            numeric_precision: opt_int(arg(args, "numeric_precision", 3), "numeric_precision")?,
            numeric_scale: opt_int(arg(args, "numeric_scale", 4), "numeric_scale")?,
            ..Column::new(&column, &dtype)
        };
        if let Some(kwargs) = kwargs {
            for key in [
                "column",
                "dtype",
                "char_size",
                "numeric_precision",
                "numeric_scale",
            ] {
                let _: Option<Value> = kwargs.get(key)?;
            }
            kwargs.assert_all_used()?;
        }
        Ok(col.into_value())
    }

    fn call_method(
        self: &Arc<Self>,
        _state: &State<'_, '_>,
        method: &str,
        args: &[Value],
    ) -> Result<Value, Error> {
        class_method(method, args).unwrap_or_else(|| {
            Err(Error::new(
                ErrorKind::UnknownMethod,
                format!("api.Column has no method `{method}`"),
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(src: &str) -> String {
        let mut env = minijinja::Environment::new();
        env.add_global("Column", Value::from_object(ColumnClass));
        env.render_str(src, ()).unwrap()
    }

    /// Pins dbt-duckdb's answers for the types `describe` reports (checked
    /// against dbt-core 1.12 + dbt-duckdb 1.11): `VARCHAR` is a string whose
    /// `data_type` is `character varying(256)`, `DECIMAL(10,2)` is not
    /// numeric, `HUGEINT`/`UBIGINT` are integers, `FLOAT`/`DOUBLE` floats.
    #[test]
    fn duckdb_type_predicates_match_dbt_duckdb() {
        let c = |ty: &str| Column::new("c", ty);
        assert!(c("VARCHAR").is_string());
        assert_eq!(c("VARCHAR").data_type(), "character varying(256)");
        assert!(!c("DECIMAL(10,2)").is_numeric() && !c("DECIMAL(10,2)").is_number());
        assert_eq!(c("DECIMAL(10,2)").data_type(), "DECIMAL(10,2)");
        assert!(c("HUGEINT").is_integer() && c("UBIGINT").is_number());
        assert!(
            c("FLOAT").is_float() && c("DOUBLE").is_float() && !c("DOUBLE PRECISION").is_float()
        );
        assert!(!c("TIMESTAMP WITH TIME ZONE").is_number());
        assert!(c("INTEGER").string_size().is_err());
    }

    /// Pins dbt's `api.Column` constructor, class methods and repr.
    #[test]
    fn api_column_as_dbt() {
        assert_eq!(
            render("{{ Column('x', 'varchar') }}|{{ Column('x', 'varchar').data_type }}|{{ Column('x', 'varchar').string_size() }}"),
            "DuckDBColumn(column='x', dtype='varchar', char_size=None, numeric_precision=None, numeric_scale=None, fields=[])|character varying(256)|256"
        );
        assert_eq!(
            render("{{ Column.string_type(600) }}|{{ Column.numeric_type('numeric', 10, 2) }}|{{ Column.numeric_type('numeric', none, 2) }}|{{ Column.translate_type('string') }}|{{ Column.TYPE_LABELS['STRING'] }}"),
            "character varying(600)|numeric(10,2)|numeric|TEXT|TEXT"
        );
        assert_eq!(
            render("{{ Column.create('y', 'STRING').dtype }}|{{ Column('z', 'varchar', char_size=5).can_expand_to(Column('z', 'varchar', char_size=10)) }}|{{ Column('n', 'numeric', numeric_precision=12, numeric_scale=3).data_type }}"),
            "TEXT|True|numeric(12,3)"
        );
        assert_eq!(
            render("{% set c = Column.from_description('d', 'decimal(10,2)') %}{{ c.dtype }} {{ c.numeric_precision }} {{ c.numeric_scale }} {{ c.is_numeric() }} {{ c.quoted }} {{ c.literal('1.5') }}"),
            "decimal 10 2 True \"d\" 1.5::decimal(10,2)"
        );
    }

    /// Pins dbt-duckdb's struct parsing: fields split at top-level commas, flatten to `parent.child`.
    #[test]
    fn struct_columns_flatten_as_dbt_duckdb() {
        let c = Column::new(
            "s",
            "STRUCT(a VARCHAR, b DECIMAL(10, 2), c STRUCT(d INTEGER))",
        );
        let names: Vec<String> = c.flatten().into_iter().map(|c| c.column).collect();
        assert_eq!(names, ["s.a", "s.b", "s.c.d"]);
        assert_eq!(c.fields()[1].dtype, "DECIMAL(10, 2)");
    }
}
