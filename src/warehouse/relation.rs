//! A relation: a table or view's `database.schema.identifier`, its kind,
//! and the include and quote policies that decide how it renders, as
//! dbt-duckdb's `DuckDBRelation` (dbt-adapters' `BaseRelation`). The
//! template face of it (`ref()`'s object, `api.Relation`) is in
//! [`crate::render::relation`].
//!
//! A part that dbt holds as `None` is an empty string here: it is left out
//! when rendering and reads as none from templates.

use std::fmt;

/// What a relation in the warehouse is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RelationType {
    /// A base table.
    Table,
    /// A view.
    View,
}

impl RelationType {
    /// `table` or `view`, as used in DDL (`drop view ...`).
    pub fn as_str(self) -> &'static str {
        match self {
            RelationType::Table => "table",
            RelationType::View => "view",
        }
    }
}

/// Which of a relation's three parts a policy switches on, as dbt's `Policy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Policy {
    /// The database part.
    pub database: bool,
    /// The schema part.
    pub schema: bool,
    /// The identifier part.
    pub identifier: bool,
}

impl Default for Policy {
    /// All parts on: dbt's default include and quote policies (dbt-duckdb keeps both).
    fn default() -> Policy {
        Policy {
            database: true,
            schema: true,
            identifier: true,
        }
    }
}

/// What a relation is, as dbt's `RelationType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RelationKind {
    /// `table`.
    Table,
    /// `view`.
    View,
    /// `cte`: an ephemeral model's common table expression.
    Cte,
    /// `materialized_view`.
    MaterializedView,
    /// `ephemeral`.
    Ephemeral,
    /// `external`: anything dbt does not manage.
    External,
    /// `pointer_table`.
    PointerTable,
    /// `function`.
    Function,
}

impl RelationKind {
    /// Every kind, in dbt's order.
    pub const ALL: [RelationKind; 8] = [
        RelationKind::Table,
        RelationKind::View,
        RelationKind::Cte,
        RelationKind::MaterializedView,
        RelationKind::Ephemeral,
        RelationKind::External,
        RelationKind::PointerTable,
        RelationKind::Function,
    ];

    /// dbt's name for the kind (`table`, `view`, `cte`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            RelationKind::Table => "table",
            RelationKind::View => "view",
            RelationKind::Cte => "cte",
            RelationKind::MaterializedView => "materialized_view",
            RelationKind::Ephemeral => "ephemeral",
            RelationKind::External => "external",
            RelationKind::PointerTable => "pointer_table",
            RelationKind::Function => "function",
        }
    }

    /// The kind named `name` (dbt's names), if any.
    pub fn parse(name: &str) -> Option<RelationKind> {
        RelationKind::ALL.into_iter().find(|k| k.as_str() == name)
    }
}

impl From<RelationType> for RelationKind {
    fn from(t: RelationType) -> RelationKind {
        match t {
            RelationType::Table => RelationKind::Table,
            RelationType::View => RelationKind::View,
        }
    }
}

/// A table or view in the warehouse: `database.schema.identifier`.
///
/// Renders quoted, as dbt-duckdb does (`"shop"."main"."orders"`); the
/// include policy drops parts (`include(database=false)`), the quote policy
/// unquotes them (`quote(identifier=false)`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize)]
pub struct Relation {
    /// Database (DuckDB catalog) name; empty when unset.
    pub database: String,
    /// Schema name; empty when unset.
    pub schema: String,
    /// Table or view name; empty when unset.
    pub identifier: String,
    /// What the relation is, when known (dbt's `type`): set by
    /// `adapter.get_relation` and `api.Relation.create(type=...)`, none for
    /// `ref()` and `source()`, as dbt.
    #[serde(skip)]
    pub kind: Option<RelationKind>,
    /// Which parts are rendered.
    #[serde(skip)]
    pub include: Policy,
    /// Which parts are rendered quoted.
    #[serde(skip)]
    pub quote: Policy,
    /// `--empty`: rendered as a subquery that returns no rows, as dbt's
    /// `render_limited` (`(select * from x where false limit 0)`; DuckDB needs
    /// no alias, and none is added so a user's own `as x` still works).
    #[serde(skip)]
    pub empty: bool,
    /// What the relation renders as instead of its name: a source's
    /// `external_location` (`'data/orders.parquet'`,
    /// `read_csv('x.csv', ...)`), as dbt-duckdb's `DuckDBRelation.external`.
    #[serde(skip)]
    pub external: Option<String>,
    /// The `[start, end)` window of `event_time` a microbatch batch or
    /// `--sample` reads this relation through: rendered as a filtering
    /// subquery, as dbt's `EventTimeFilter`.
    #[serde(skip)]
    pub event_time_filter: Option<EventTimeFilter>,
}

/// A relation read through a window of its `event_time` column, as dbt's
/// `EventTimeFilter`: `field >= start and field < end` (UTC; either bound
/// may be open).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct EventTimeFilter {
    /// The column (or expression) the node's `event_time` config names.
    pub field_name: String,
    /// Inclusive lower bound.
    pub start: Option<chrono::NaiveDateTime>,
    /// Exclusive upper bound.
    pub end: Option<chrono::NaiveDateTime>,
}

impl EventTimeFilter {
    /// The `where` condition: each bound cast to `timestamp`, so a `date`
    /// or `timestamp` column compares alike on every warehouse (dbt's base
    /// relation compares with a bare string literal).
    pub fn condition(&self) -> String {
        let bound = timestamp_literal;
        let mut parts = Vec::new();
        if let Some(start) = &self.start {
            parts.push(format!("{} >= {}", self.field_name, bound(start)));
        }
        if let Some(end) = &self.end {
            parts.push(format!("{} < {}", self.field_name, bound(end)));
        }
        if parts.is_empty() {
            "true".to_owned()
        } else {
            parts.join(" and ")
        }
    }
}

impl Relation {
    /// A fully qualified relation of unknown type, rendered with every part quoted.
    pub fn new(database: &str, schema: &str, identifier: &str) -> Relation {
        Relation {
            database: database.to_owned(),
            schema: schema.to_owned(),
            identifier: identifier.to_owned(),
            kind: None,
            include: Policy::default(),
            quote: Policy::default(),
            empty: false,
            external: None,
            event_time_filter: None,
        }
    }

    /// The relation of an ephemeral model `name`: the CTE `__dbt__cte__<name>`,
    /// unquoted, as dbt's `create_ephemeral_from`.
    pub fn cte(name: &str) -> Relation {
        Relation {
            kind: Some(RelationKind::Cte),
            quote: Policy {
                identifier: false,
                ..Policy::default()
            },
            ..Relation::new("", "", &format!("__dbt__cte__{name}"))
        }
    }

    /// Whether this is an ephemeral model's CTE.
    pub fn is_cte(&self) -> bool {
        self.kind == Some(RelationKind::Cte)
    }

    /// The same relation with another identifier (for `__dbt_tmp` names).
    pub fn with_identifier(&self, identifier: &str) -> Relation {
        Relation {
            identifier: identifier.to_owned(),
            ..self.clone()
        }
    }

    /// The same relation of kind `kind`.
    pub fn with_kind(&self, kind: Option<RelationKind>) -> Relation {
        Relation {
            kind,
            ..self.clone()
        }
    }

    /// `"schema"."identifier"` only.
    pub fn without_database(&self) -> Relation {
        Relation {
            include: Policy {
                database: false,
                ..self.include
            },
            ..self.clone()
        }
    }

    /// dbt's `without_identifier()`: the schema the relation lives in
    /// (`"db"."schema"`), with no identifier.
    pub fn without_identifier(&self) -> Relation {
        Relation {
            identifier: String::new(),
            include: Policy {
                identifier: false,
                ..self.include
            },
            ..self.clone()
        }
    }

    /// dbt's `render()`: the included parts, quoted as the quote policy
    /// says, joined with dots; `--empty` does not apply (that is `str()`).
    /// An external source renders as its location, as dbt-duckdb's.
    pub fn rendered(&self) -> String {
        if let Some(external) = &self.external {
            return external.clone();
        }
        let parts = [
            (&self.database, self.include.database, self.quote.database),
            (&self.schema, self.include.schema, self.quote.schema),
            (
                &self.identifier,
                self.include.identifier,
                self.quote.identifier,
            ),
        ];
        parts
            .iter()
            .filter(|(part, include, _)| *include && !part.is_empty())
            .map(|(part, _, quoted)| {
                if *quoted {
                    quote(part)
                } else {
                    (*part).clone()
                }
            })
            .collect::<Vec<_>>()
            .join(".")
    }
}

/// A UTC time as a SQL timestamp: `cast('2024-01-01 00:00:00' as
/// timestamp)`, which a `date` and a `timestamp` column compare with alike
/// on DuckDB, PostgreSQL and Spark (event-time windows, microbatch bounds).
pub fn timestamp_literal(t: &chrono::NaiveDateTime) -> String {
    format!("cast('{}' as timestamp)", t.format("%Y-%m-%d %H:%M:%S"))
}

/// Quotes an identifier for DuckDB: `"name"`, doubling embedded quotes.
pub fn quote(ident: &str) -> String {
    format!("\"{}\"", ident.replace('"', "\"\""))
}

/// `text` as a SQL string literal (`'it''s'`).
pub fn literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

impl fmt::Display for Relation {
    /// dbt's `str(relation)`: [`Relation::render`], or under `--empty` the
    /// zero-row subquery (an ephemeral CTE never is one); an event-time
    /// window wraps that in its filtering subquery, as dbt's.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = if self.empty && !self.is_cte() {
            format!("(select * from {} where false limit 0)", self.rendered())
        } else {
            self.rendered()
        };
        match &self.event_time_filter {
            // Aliased as dbt's (`require_alias`): PostgreSQL before 16
            // refuses a subquery in FROM without one.
            Some(filter) => write!(
                f,
                "(select * from {inner} where {}) _dbt_et_filter_subq_{}",
                filter.condition(),
                self.identifier
            ),
            None => f.write_str(&inner),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_quoted_like_dbt_duckdb() {
        let r = Relation::new("shop", "main", "orders");
        assert_eq!(r.to_string(), r#""shop"."main"."orders""#);
        assert_eq!(r.without_database().to_string(), r#""main"."orders""#);
        assert_eq!(r.without_identifier().to_string(), r#""shop"."main""#);
        assert_eq!(quote("a\"b"), r#""a""b""#);
        assert_eq!(Relation::cte("x").to_string(), "__dbt__cte__x");
        let empty = Relation {
            empty: true,
            ..r.clone()
        };
        // `str()` applies --empty; `render()` does not, as dbt's render vs render_limited.
        assert_eq!(
            empty.to_string(),
            r#"(select * from "shop"."main"."orders" where false limit 0)"#
        );
        assert_eq!(empty.rendered(), r.to_string());
    }

    /// As dbt's `EventTimeFilter`: the window wraps the relation (and an
    /// `--empty` subquery) in `where field >= start and field < end`,
    /// aliased `_dbt_et_filter_subq_<identifier>`.
    #[test]
    fn event_time_filter_wraps_the_relation() {
        let t = |s: &str| chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S").unwrap();
        let r = Relation {
            event_time_filter: Some(EventTimeFilter {
                field_name: "ts".into(),
                start: Some(t("2024-01-01 00:00:00")),
                end: Some(t("2024-01-02 00:00:00")),
            }),
            ..Relation::new("db", "main", "events")
        };
        assert_eq!(
            r.to_string(),
            r#"(select * from "db"."main"."events" where ts >= cast('2024-01-01 00:00:00' as timestamp) and ts < cast('2024-01-02 00:00:00' as timestamp)) _dbt_et_filter_subq_events"#
        );
        assert_eq!(r.rendered(), r#""db"."main"."events""#);
    }
}
