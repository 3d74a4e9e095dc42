//! The relation object `ref()`, `source()`, `this` and `api.Relation.create`
//! return in templates, as dbt-duckdb's `DuckDBRelation` (dbt-adapters'
//! `BaseRelation`): a path of database, schema and identifier, an optional
//! type (`table`, `view`, `cte`, ...), and include and quote policies that
//! decide how it renders.
//!
//! A part that dbt holds as `None` is an empty string here: it is left out
//! when rendering and reads as none from templates (`rel.identifier is none`
//! after `without_identifier()`).

use std::cmp::Ordering;
use std::fmt;
use std::sync::Arc;

use minijinja::value::{DynObject, Enumerator, Kwargs, Object, ObjectRepr};
use minijinja::{Error, ErrorKind, State, Value};

use crate::warehouse::relation::{Policy, Relation, RelationKind};

impl Policy {
    /// The policy as the dict templates see (`{'database': True, ...}`).
    fn value(self) -> Value {
        Value::from_iter([
            ("database", Value::from(self.database)),
            ("schema", Value::from(self.schema)),
            ("identifier", Value::from(self.identifier)),
        ])
    }

    /// The policy with the parts `kwargs` (or a dict) set to a bool changed;
    /// none leaves a part as it is, as dbt's `Policy.replace_dict`.
    ///
    /// Errors: a value that is not a bool or none.
    fn replaced(self, get: impl Fn(&str) -> Option<Value>) -> Result<Policy, Error> {
        let part = |name: &str, old: bool| -> Result<bool, Error> {
            match get(name) {
                None => Ok(old),
                Some(v) if v.is_none() || v.is_undefined() => Ok(old),
                Some(v) => bool::try_from(v.clone()).map_err(|_| {
                    Error::new(
                        ErrorKind::InvalidOperation,
                        format!("`{name}` must be true or false, got `{v}`"),
                    )
                }),
            }
        };
        Ok(Policy {
            database: part("database", self.database)?,
            schema: part("schema", self.schema)?,
            identifier: part("identifier", self.identifier)?,
        })
    }
}

impl RelationKind {
    /// The class attribute that names the kind (`api.Relation.Table`).
    fn class_attribute(name: &str) -> Option<RelationKind> {
        Some(match name {
            "Table" => RelationKind::Table,
            "View" => RelationKind::View,
            "CTE" => RelationKind::Cte,
            "MaterializedView" => RelationKind::MaterializedView,
            "External" => RelationKind::External,
            "PointerTable" => RelationKind::PointerTable,
            "Function" => RelationKind::Function,
            _ => return None,
        })
    }
}

impl Relation {
    /// dbt's `to_dict()`, as templates see it.
    fn to_dict(&self) -> Value {
        Value::from_iter([
            ("path", self.path()),
            ("type", self.kind_value()),
            ("quote_character", Value::from("\"")),
            ("include_policy", self.include.value()),
            ("quote_policy", self.quote.value()),
            ("dbt_created", Value::from(false)),
            ("limit", self.limit()),
            ("event_time_filter", self.event_time_filter_value()),
            ("require_alias", Value::from(false)),
            ("catalog", Value::from(())),
            ("renameable_relations", Value::from(Vec::<Value>::new())),
            ("replaceable_relations", Value::from(Vec::<Value>::new())),
            ("external", Value::from(self.external.clone())),
        ])
    }

    /// dbt's `event_time_filter`: `{field_name, start, end}` (ISO
    /// timestamps, UTC) while a microbatch batch or `--sample` reads the
    /// relation through a window, else none.
    fn event_time_filter_value(&self) -> Value {
        let Some(filter) = &self.event_time_filter else {
            return Value::from(());
        };
        let iso = |t: &Option<chrono::NaiveDateTime>| Value::from(t.map(super::scope::utc_text));
        Value::from_iter([
            ("field_name", Value::from(filter.field_name.clone())),
            ("start", iso(&filter.start)),
            ("end", iso(&filter.end)),
        ])
    }

    fn path(&self) -> Value {
        Value::from_iter([
            ("database", part_value(&self.database)),
            ("schema", part_value(&self.schema)),
            ("identifier", part_value(&self.identifier)),
        ])
    }

    fn kind_value(&self) -> Value {
        self.kind
            .map_or(Value::from(()), |k| Value::from(k.as_str()))
    }

    fn limit(&self) -> Value {
        if self.empty {
            Value::from(0)
        } else {
            Value::from(())
        }
    }

    /// The relation with the path parts in `get` replaced (none or a
    /// missing part leaves it as it is when `merge`, else unsets it), as
    /// dbt's `replace_path` (merge) and `replace(path=...)` (no merge).
    fn with_path(&self, get: impl Fn(&str) -> Option<Value>, merge: bool) -> Relation {
        let part = |name: &str, old: &str| match get(name) {
            Some(v) if v.is_none() || v.is_undefined() => String::new(),
            Some(v) => v.as_str().map_or_else(|| v.to_string(), str::to_owned),
            None if merge => old.to_owned(),
            None => String::new(),
        };
        Relation {
            database: part("database", &self.database),
            schema: part("schema", &self.schema),
            identifier: part("identifier", &self.identifier),
            ..self.clone()
        }
    }

    /// dbt's `incorporate(**kwargs)` (merge) and `replace(**kwargs)`: a copy
    /// with `path`, `type`, `include_policy`, `quote_policy` or `limit` changed.
    ///
    /// Errors: any other key, or a value of the wrong kind.
    fn updated(&self, kwargs: &Kwargs, merge: bool) -> Result<Relation, Error> {
        let mut rel = self.clone();
        for key in kwargs.args() {
            let v: Value = kwargs.get(key)?;
            let dict = |v: &Value| {
                let v = v.clone();
                move |k: &str| {
                    v.get_item(&Value::from(k))
                        .ok()
                        .filter(|x| !x.is_undefined())
                }
            };
            match key {
                "path" => rel = rel.with_path(dict(&v), merge),
                "type" => rel.kind = kind_arg(&v)?,
                "include_policy" => rel.include = rel.include.replaced(dict(&v))?,
                "quote_policy" => rel.quote = rel.quote.replaced(dict(&v))?,
                "limit" => rel.empty = v.as_i64() == Some(0),
                other => {
                    return Err(Error::new(
                        ErrorKind::InvalidOperation,
                        format!("a relation has no field `{other}` to change"),
                    ))
                }
            }
        }
        Ok(rel)
    }

    /// dbt's `matches(database=, schema=, identifier=)`: whether every given
    /// part equals this relation's.
    ///
    /// Errors: no part given; a part that matches only ignoring case, as
    /// dbt's `ApproximateMatchError`.
    fn matches(&self, kwargs: &Kwargs) -> Result<bool, Error> {
        let mut search = Vec::new();
        for (name, mine) in [
            ("database", &self.database),
            ("schema", &self.schema),
            ("identifier", &self.identifier),
        ] {
            if let Some(v) = kwargs.get::<Option<String>>(name)? {
                search.push((name, mine, v));
            }
        }
        if search.is_empty() {
            return Err(Error::new(
                ErrorKind::MissingArgument,
                "tried to match a relation, but no database, schema or identifier was passed",
            ));
        }
        let exact = search.iter().all(|(_, mine, v)| *mine == v);
        let approximate = search
            .iter()
            .all(|(_, mine, v)| mine.eq_ignore_ascii_case(v));
        if approximate && !exact {
            return Err(Error::new(
                ErrorKind::InvalidOperation,
                format!("when searching for a relation, dbt found an approximate match: `{self}` differs only in case"),
            ));
        }
        Ok(exact)
    }

    /// dbt's `information_schema(view_name)`: `"db".INFORMATION_SCHEMA`,
    /// followed by the view name when given.
    fn information_schema(&self, view: Option<String>) -> Relation {
        let identifier = match view {
            Some(v) => format!("INFORMATION_SCHEMA.{v}"),
            None => "INFORMATION_SCHEMA".to_owned(),
        };
        Relation {
            schema: String::new(),
            identifier,
            kind: Some(RelationKind::View),
            include: Policy {
                database: !self.database.is_empty(),
                schema: false,
                identifier: true,
            },
            quote: Policy {
                identifier: false,
                ..self.quote
            },
            empty: false,
            ..self.clone()
        }
    }
}

/// A path part as templates see it: none when unset.
fn part_value(part: &str) -> Value {
    if part.is_empty() {
        Value::from(())
    } else {
        Value::from(part.to_owned())
    }
}

/// A relation type argument: none, or one of dbt's type names.
///
/// Errors: an unknown type name.
fn kind_arg(v: &Value) -> Result<Option<RelationKind>, Error> {
    if v.is_none() || v.is_undefined() {
        return Ok(None);
    }
    let name = v.to_string();
    RelationKind::parse(&name).map(Some).ok_or_else(|| {
        Error::new(
            ErrorKind::InvalidOperation,
            format!(
                "`{name}` is not a relation type; use one of {}",
                RelationKind::ALL
                    .map(|k| format!("`{}`", k.as_str()))
                    .join(", ")
            ),
        )
    })
}

/// Keyword argument `key` when it was passed (none included).
fn passed(kwargs: &Kwargs, key: &str) -> Option<Value> {
    if kwargs.has(key) {
        kwargs.get::<Value>(key).ok()
    } else {
        None
    }
}

/// The keyword arguments of a call (empty when there are none).
fn kwargs_of(args: &[Value]) -> Kwargs {
    match args.last().map(|v| Kwargs::try_from(v.clone())) {
        Some(Ok(k)) => k,
        _ => Kwargs::from_iter(std::iter::empty::<(String, Value)>()),
    }
}

/// Positional arguments of a call (those before any keyword arguments).
fn positional(args: &[Value]) -> &[Value] {
    match args.last() {
        Some(v) if Kwargs::try_from(v.clone()).is_ok() => &args[..args.len() - 1],
        _ => args,
    }
}

/// `kwargs` with the positional `args` bound to `names` in order.
fn bind(args: &[Value], names: &[&str]) -> Kwargs {
    let kwargs = kwargs_of(args);
    let mut all: Vec<(String, Value)> = positional(args)
        .iter()
        .zip(names)
        .map(|(v, n)| ((*n).to_owned(), v.clone()))
        .collect();
    for key in kwargs.args() {
        if let Ok(v) = kwargs.get::<Value>(key) {
            all.push((key.to_owned(), v));
        }
    }
    Kwargs::from_iter(all)
}

/// dbt's `Relation.create(database, schema, identifier, type, **kwargs)`.
///
/// Errors: an unknown type or keyword.
fn create(args: &[Value]) -> Result<Value, Error> {
    let kwargs = bind(args, &["database", "schema", "identifier", "type"]);
    let text = |name: &str| -> Result<String, Error> {
        Ok(match kwargs.get::<Option<Value>>(name)? {
            Some(v) if !v.is_none() && !v.is_undefined() => {
                v.as_str().map_or_else(|| v.to_string(), str::to_owned)
            }
            _ => String::new(),
        })
    };
    let mut rel = Relation::new(&text("database")?, &text("schema")?, &text("identifier")?);
    if let Some(t) = kwargs.get::<Option<Value>>("type")? {
        rel.kind = kind_arg(&t)?;
    }
    let rest: Vec<(String, Value)> = kwargs
        .args()
        .filter(|k| !matches!(*k, "database" | "schema" | "identifier" | "type"))
        .filter_map(|k| kwargs.get::<Value>(k).ok().map(|v| (k.to_owned(), v)))
        .collect();
    let rel = rel.updated(&Kwargs::from_iter(rest), true)?;
    Ok(Value::from_object(rel))
}

/// The class-level members shared by `api.Relation` and relation objects:
/// `create`, `add_ephemeral_prefix`, the default policies, `scd_args`.
fn class_method(method: &str, args: &[Value]) -> Option<Result<Value, Error>> {
    Some(match method {
        "create" => create(args),
        "add_ephemeral_prefix" => Ok(Value::from(format!(
            "__dbt__cte__{}",
            positional(args)
                .first()
                .map(ToString::to_string)
                .unwrap_or_default()
        ))),
        "get_default_quote_policy" | "get_default_include_policy" => Ok(Policy::default().value()),
        "scd_args" => {
            let kwargs = bind(args, &["primary_key", "updated_at"]);
            (|| {
                let key: Value = kwargs.get("primary_key")?;
                let updated: Value = kwargs.get("updated_at")?;
                let mut out: Vec<Value> = match key.try_iter() {
                    Ok(it) if key.as_str().is_none() => it.collect(),
                    _ => vec![key],
                };
                out.push(updated);
                Ok(Value::from(out))
            })()
        }
        _ => return None,
    })
}

/// Class attributes shared by `api.Relation` and relation objects:
/// `Table`, `View`, `CTE`, ... and `get_relation_type`.
fn class_attribute(name: &str) -> Option<Value> {
    if name == "get_relation_type" {
        return Some(Value::from_iter(
            RelationKind::ALL.map(|k| (k.as_str().to_owned(), Value::from(k.as_str()))),
        ));
    }
    RelationKind::class_attribute(name).map(|k| Value::from(k.as_str()))
}

impl Object for Relation {
    /// A mapping, as dbt's relations are (`FakeAPIObject` is a `Mapping`):
    /// dbt_utils' `_is_relation` checks `obj is mapping` and
    /// `obj.get('metadata', {}).get('type', '')`.
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Map
    }

    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        let is = |k: RelationKind| Some(Value::from(self.kind == Some(k)));
        match key.as_str()? {
            "database" => Some(part_value(&self.database)),
            "schema" => Some(part_value(&self.schema)),
            "identifier" | "name" | "table" => Some(part_value(&self.identifier)),
            "type" => Some(self.kind_value()),
            "path" => Some(self.path()),
            "is_table" => is(RelationKind::Table),
            "is_view" => is(RelationKind::View),
            "is_cte" => is(RelationKind::Cte),
            "is_materialized_view" => is(RelationKind::MaterializedView),
            "is_pointer" => is(RelationKind::PointerTable),
            "is_function" => is(RelationKind::Function),
            "include_policy" => Some(self.include.value()),
            "quote_policy" => Some(self.quote.value()),
            "quote_character" => Some(Value::from("\"")),
            "limit" => Some(self.limit()),
            "dbt_created" | "require_alias" | "can_be_renamed" | "can_be_replaced" => {
                Some(Value::from(false))
            }
            "external" => Some(Value::from(self.external.clone())),
            "event_time_filter" => Some(self.event_time_filter_value()),
            "catalog" => Some(Value::from(())),
            "renameable_relations" | "replaceable_relations" => {
                Some(Value::from(Vec::<Value>::new()))
            }
            other => class_attribute(other),
        }
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        Enumerator::Str(&["database", "schema", "identifier"])
    }

    fn custom_cmp(self: &Arc<Self>, other: &DynObject) -> Option<Ordering> {
        // As dbt's `__eq__`: equal when every field is (type and policies too).
        let other = other.downcast_ref::<Relation>()?;
        if **self == *other {
            return Some(Ordering::Equal);
        }
        Some(match self.rendered().cmp(&other.rendered()) {
            Ordering::Equal => Ordering::Less,
            unequal => unequal,
        })
    }

    fn call_method(
        self: &Arc<Self>,
        _state: &State<'_, '_>,
        method: &str,
        args: &[Value],
    ) -> Result<Value, Error> {
        let obj = |rel: Relation| Ok(Value::from_object(rel));
        match method {
            "render" => Ok(Value::from(self.rendered())),
            "render_limited" => Ok(Value::from(self.to_string())),
            "include" => {
                let kwargs = bind(args, &["database", "schema", "identifier"]);
                let include = self.include.replaced(|k| passed(&kwargs, k))?;
                obj(Relation {
                    include,
                    ..(**self).clone()
                })
            }
            "quote" => {
                let kwargs = bind(args, &["database", "schema", "identifier"]);
                let quote = self.quote.replaced(|k| passed(&kwargs, k))?;
                obj(Relation {
                    quote,
                    ..(**self).clone()
                })
            }
            "replace_path" => {
                let kwargs = bind(args, &["database", "schema", "identifier"]);
                obj(self.with_path(|k| passed(&kwargs, k), true))
            }
            "incorporate" => obj(self.updated(&kwargs_of(args), true)?),
            "replace" => obj(self.updated(&kwargs_of(args), false)?),
            "without_identifier" => obj(self.without_identifier()),
            "matches" => Ok(Value::from(
                self.matches(&bind(args, &["database", "schema", "identifier"]))?,
            )),
            "to_dict" => Ok(self.to_dict()),
            "get" => {
                let key = positional(args).first().map(ToString::to_string);
                let default = positional(args).get(1).cloned().unwrap_or(Value::from(()));
                Ok(match key.as_deref() {
                    Some("metadata") => Value::from_iter([("type", "DuckDBRelation")]),
                    Some(k) => self
                        .to_dict()
                        .get_attr(k)
                        .ok()
                        .filter(|v| !v.is_undefined())
                        .unwrap_or(default),
                    None => default,
                })
            }
            "information_schema" => {
                let view = positional(args)
                    .first()
                    .and_then(|v| v.as_str().map(str::to_owned));
                obj(self.information_schema(view))
            }
            "quoted" => Ok(Value::from(format!(
                "\"{}\"",
                positional(args)
                    .first()
                    .map(ToString::to_string)
                    .unwrap_or_default()
            ))),
            _ => class_method(method, args).unwrap_or_else(|| {
                Err(Error::new(
                    ErrorKind::UnknownMethod,
                    format!("relation has no method `{method}`"),
                ))
            }),
        }
    }

    fn render(self: &Arc<Self>, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// `api.Relation`: dbt-duckdb's relation class, with `create(...)`,
/// `add_ephemeral_prefix(name)`, the type constants (`api.Relation.Table`,
/// ...) and the default policies.
#[derive(Debug)]
pub struct RelationClass;

impl fmt::Display for RelationClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<class 'dbt.adapters.duckdb.relation.DuckDBRelation'>")
    }
}

impl Object for RelationClass {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Plain
    }

    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        class_attribute(key.as_str()?)
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
                format!("api.Relation has no method `{method}`"),
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(src: &str) -> String {
        let mut env = minijinja::Environment::new();
        env.add_global("Relation", Value::from_object(RelationClass));
        env.add_global(
            "this",
            Value::from_object(Relation::new("shop", "main", "orders")),
        );
        env.render_str(src, ()).unwrap()
    }

    /// Pins dbt's `api.Relation.create`, `include`, `incorporate`, `quote`,
    /// `replace_path` and the type flags (as printed by dbt-core 1.12 + dbt-duckdb).
    #[test]
    fn api_relation_as_dbt() {
        assert_eq!(
            render("{% set r = Relation.create(database='d', schema='s', identifier='t', type='table') %}{{ r }}|{{ r.include(database=false) }}|{{ r.include(schema=false) }}|{{ r.render() }}|{{ r.type }}|{{ r.is_table }}{{ r.is_view }}{{ r.is_cte }}"),
            r#""d"."s"."t"|"s"."t"|"d"."t"|"d"."s"."t"|table|TrueFalseFalse"#
        );
        assert_eq!(
            render("{% set r = Relation.create(database='d', schema='s', identifier='t', type='table') %}{{ r.incorporate(path={'identifier': 'u'}, type='view') }} {{ r.incorporate(type='view').type }} {{ r.quote(identifier=false) }} {{ r.replace_path(identifier='zz') }} {{ r.without_identifier() }} {{ r.path.identifier }} {{ r.table }}"),
            r#""d"."s"."u" view "d"."s".t "d"."s"."zz" "d"."s" t t"#
        );
        assert_eq!(
            render("{{ Relation.create(identifier='only') }}|{{ Relation.create(schema='s', identifier='t') }}|{{ Relation.add_ephemeral_prefix('x') }}|{{ Relation.create('d', 's', 't', 'view').is_view }}|{{ Relation.Table }}|{{ Relation.create(schema='s').identifier is none }}"),
            r#""only"|"s"."t"|__dbt__cte__x|True|table|True"#
        );
    }

    /// Pins dbt's relation equality: every field counts, the type too.
    #[test]
    fn equality_includes_the_type() {
        assert_eq!(
            render("{{ Relation.create('d', 's', 't') == Relation.create('d', 's', 't') }} {{ Relation.create('d', 's', 't', 'table') == Relation.create('d', 's', 't') }} {{ this == Relation.create('shop', 'main', 'orders') }}"),
            "True False True"
        );
    }

    #[test]
    fn matches_and_information_schema_as_dbt() {
        assert_eq!(
            render("{{ this.matches(schema='main', identifier='orders') }} {{ this.matches(identifier='other') }} {{ this.information_schema() }} {{ this.information_schema('tables') }}"),
            r#"True False "shop".INFORMATION_SCHEMA "shop".INFORMATION_SCHEMA.tables"#
        );
        let mut env = minijinja::Environment::new();
        env.add_global(
            "this",
            Value::from_object(Relation::new("shop", "main", "orders")),
        );
        assert!(env
            .render_str("{{ this.matches(identifier='ORDERS') }}", ())
            .is_err());
        assert!(env
            .render_str("{{ this.incorporate(nope=1) }}", ())
            .is_err());
        assert!(env
            .render_str("{{ this.incorporate(type='bogus') }}", ())
            .is_err());
    }
}
