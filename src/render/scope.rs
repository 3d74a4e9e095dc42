//! Per-node rendering state: what a node's template can resolve, and what
//! its `ref()`, `source()` and `config()` calls reveal.
//!
//! A node is rendered twice, as in dbt: once to *parse* (with `execute`
//! false, refs resolving to placeholders, calls captured) and once to
//! *compile* (with `execute` true and every ref resolved to its real
//! relation, which depends on the referenced node's config).

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};

use minijinja::value::{Object, ObjectRepr};

use crate::project::config::Config;
use crate::warehouse::connection::Connection;
use crate::warehouse::relation::Relation;

/// Which of the two renders is running.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// First render: discover refs, sources and config; `execute` is false.
    Parse,
    /// Second render: produce the SQL that runs; `execute` is true.
    Compile,
}

/// One `ref()` call: optional package and the referenced name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize)]
pub struct RefCall {
    /// Package (first argument of two-argument `ref`).
    pub package: Option<String>,
    /// Referenced node name (a versioned model's version: `dim_v2`).
    pub name: String,
    /// For a versioned model: the model's name and the version pinned
    /// (`v=`; none for the latest), as manifest.json's `refs` write them.
    pub version: Option<(String, Option<String>)>,
}

/// What one render of a node found.
#[derive(Debug, Clone, Default)]
pub struct Captured {
    /// `ref()` calls, in call order, deduplicated.
    pub refs: Vec<RefCall>,
    /// `source()` calls as `(source, table)`, deduplicated.
    pub sources: Vec<(String, String)>,
    /// `config(...)` calls merged into one layer.
    pub config: Config,
    /// Whether the render asked the warehouse something (`run_query`,
    /// `statement`, `adapter.get_columns_in_relation`, ...) while compiling
    /// under [`Introspection::Deferred`].
    pub introspective: bool,
}

/// What `run_query`, `statement` blocks and adapter lookups do in a render.
#[derive(Clone, Default)]
pub enum Introspection {
    /// Nothing runs and results are empty, as dbt with `execute` false (the parse render).
    #[default]
    Off,
    /// Compiling ahead of a run: nothing runs yet, results are empty, and
    /// the render is marked [`Captured::introspective`] so the node is
    /// compiled again, live, right before it runs (when its parents are built).
    Deferred,
    /// Statements run on this connection.
    Live(Arc<Mutex<Box<dyn Connection>>>),
}

impl fmt::Debug for Introspection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Introspection::Off => "Off",
            Introspection::Deferred => "Deferred",
            Introspection::Live(_) => "Live",
        })
    }
}

/// Relations `ref()` and `source()` resolve to.
#[derive(Debug, Default, Clone)]
pub struct Resolver {
    /// Target database, for placeholder relations during parse.
    pub database: String,
    /// Target schema, for placeholder relations during parse.
    pub schema: String,
    /// Node name -> relation (models, seeds, snapshots), filled after parse.
    pub refs: HashMap<String, Relation>,
    /// `(package, name)` -> relation, for two-argument `ref`.
    pub package_refs: HashMap<(String, String), Relation>,
    /// `(source, table)` -> relation.
    pub sources: HashMap<(String, String), Relation>,
    /// unique_ids of incremental models whose table exists and is not being
    /// fully refreshed: there `is_incremental()` is true, as dbt.
    pub incremental: std::collections::HashSet<String>,
    /// `--empty`: refs and sources render as zero-row subqueries when compiling.
    pub empty: bool,
    /// Vars that win over the project's (a unit test's `overrides.vars`).
    pub var_overrides: HashMap<String, serde_json::Value>,
    /// Macros whose calls return a fixed value (a unit test's
    /// `overrides.macros`), by name or `namespace.name`.
    pub macro_overrides: HashMap<String, serde_json::Value>,
    /// Environment variables that win over the process's (a unit test's `overrides.env_vars`).
    pub env_overrides: HashMap<String, String>,
    /// The `event_time` column of each relation whose node sets it
    /// (models, seeds, snapshots, sources), as refs and sources resolve
    /// them: a microbatch batch or `--sample` reads these through a window.
    pub event_times: HashMap<Relation, String>,
    /// Versioned models (dbt 1.5): model name -> the name of its latest
    /// version's node (`dim_customers` -> `dim_customers_v2`), which
    /// `ref('dim_customers')` resolves to; `ref(.., v=1)` names `<model>_v1`.
    pub versions: HashMap<String, String>,
    /// `--sample`: the window models read their `event_time` inputs
    /// through, as dbt 1.10's sample mode.
    pub sample: Option<EventTimeWindow>,
}

impl Resolver {
    /// `relation` as a compiled `ref()`/`source()` renders it (zero rows under `--empty`).
    pub fn compiled(&self, relation: &Relation) -> Relation {
        Relation {
            empty: self.empty && !relation.is_cte(),
            ..relation.clone()
        }
    }
}

/// A UTC time as dbt's templates print a UTC datetime (Python's `str()`):
/// `2024-01-01 00:00:00+00:00` (`model.batch`, `event_time_filter`).
pub fn utc_text(t: chrono::NaiveDateTime) -> String {
    t.format("%Y-%m-%d %H:%M:%S+00:00").to_string()
}

/// A `[start, end)` window of event time (UTC; a bound may be open).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct EventTimeWindow {
    /// Inclusive lower bound.
    pub start: Option<chrono::NaiveDateTime>,
    /// Exclusive upper bound.
    pub end: Option<chrono::NaiveDateTime>,
}

/// The batch a microbatch model is rendered for, as dbt's `model.batch`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchScope {
    /// dbt's batch id: the start as `YYYYMMDD` (`YYYYMMDDTHH` for hourly batches).
    pub id: String,
    /// Inclusive start.
    pub start: chrono::NaiveDateTime,
    /// Exclusive end.
    pub end: chrono::NaiveDateTime,
    /// Whether the batch adds to an existing table (`is_incremental()`),
    /// as every batch but the first of a new or fully refreshed table.
    pub incremental: bool,
}

/// The `__sluice` template variable: the node being rendered.
#[derive(Debug)]
pub struct NodeScope {
    /// Which render this is.
    pub phase: Phase,
    /// unique_id of the node (`model.shop.orders`).
    pub unique_id: String,
    /// Config from dbt_project.yml and schema YAML (and, when compiling, the file's own `config()`).
    pub config: Config,
    /// Calls seen during this render.
    pub captured: Mutex<Captured>,
    /// Relation lookup.
    pub resolver: Arc<Resolver>,
    /// What warehouse statements do in this render.
    pub introspection: Introspection,
    /// Results stored by `statement` blocks, for `load_result(name)`.
    pub results: Mutex<HashMap<String, minijinja::Value>>,
    /// The microbatch batch this render is for, if any.
    pub batch: Option<BatchScope>,
}

impl NodeScope {
    /// A scope for rendering `unique_id` in `phase`.
    pub fn new(
        phase: Phase,
        unique_id: &str,
        config: Config,
        resolver: Arc<Resolver>,
    ) -> NodeScope {
        NodeScope {
            phase,
            unique_id: unique_id.to_owned(),
            config,
            captured: Mutex::default(),
            resolver,
            introspection: Introspection::Off,
            results: Mutex::default(),
            batch: None,
        }
    }

    /// The same scope rendering for `batch`.
    pub fn with_batch(mut self, batch: Option<BatchScope>) -> NodeScope {
        self.batch = batch;
        self
    }

    /// `relation` as this render's `ref()`/`source()` gives it: zero rows
    /// under `--empty`; read through the batch's window (a microbatch
    /// model) or the `--sample` window (any model) when its node sets
    /// `event_time`, as dbt filters event-time inputs.
    pub fn compiled(&self, relation: &Relation) -> Relation {
        let mut rel = self.resolver.compiled(relation);
        let window = match &self.batch {
            Some(b) => Some(EventTimeWindow {
                start: Some(b.start),
                end: Some(b.end),
            }),
            None if self.unique_id.starts_with("model.") => self.resolver.sample,
            None => None,
        };
        if let Some(window) = window {
            if let Some(field) = self.resolver.event_times.get(relation) {
                rel.event_time_filter = Some(crate::warehouse::relation::EventTimeFilter {
                    field_name: field.clone(),
                    start: window.start,
                    end: window.end,
                });
            }
        }
        rel
    }

    /// The same scope with `introspection` for warehouse statements.
    pub fn with_introspection(mut self, introspection: Introspection) -> NodeScope {
        self.introspection = introspection;
        self
    }

    /// One config value as `config.get(key)` sees it: the base layers'
    /// value with the captured `config()` calls merged on top, by the rules
    /// of [`Config::merge`] applied to that key alone (the whole config is
    /// not copied: `config.get` is called many times per render).
    pub fn config_value(&self, key: &str) -> Option<serde_json::Value> {
        let captured = self.captured.lock().ok();
        let layer = captured.as_ref().and_then(|c| c.config.0.get(key));
        let Some(layer) = layer else {
            return self.config.get(key).cloned();
        };
        let mut base = Config::default();
        if let Some(v) = self.config.get(key) {
            base.0.insert(key.to_owned(), v.clone());
        }
        let mut top = Config::default();
        top.0.insert(key.to_owned(), layer.clone());
        base.merge(&top);
        base.0.remove(key)
    }

    /// A copy of what has been captured so far.
    pub fn captured(&self) -> Captured {
        self.captured.lock().map(|c| c.clone()).unwrap_or_default()
    }

    /// Runs `f` on the captured calls.
    pub fn capture(&self, f: impl FnOnce(&mut Captured)) {
        if let Ok(mut c) = self.captured.lock() {
            f(&mut c);
        }
    }
}

impl fmt::Display for NodeScope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<node {}>", self.unique_id)
    }
}

impl Object for NodeScope {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Plain
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// `config.get(key)` must see what merging the captured `config()` calls
    /// over the whole config gives (dbt: tags appended, meta merged by key,
    /// other keys replaced), for keys set in either layer or neither.
    #[test]
    fn config_value_is_the_whole_merge_of_one_key() {
        let mut base = Config::default();
        base.set("tags", json!(["a"]));
        base.set("meta", json!({"x": 1, "y": 2}));
        base.set("materialized", json!("view"));
        base.set("schema", json!("s"));
        let mut layer = Config::default();
        layer.set("tags", json!(["b", "a"]));
        layer.set("meta", json!({"y": 3}));
        layer.set("materialized", json!("table"));
        layer.set("alias", json!("z"));
        let scope = NodeScope::new(
            Phase::Compile,
            "model.p.m",
            base.clone(),
            Arc::new(Resolver::default()),
        );
        scope.capture(|c| c.config.merge(&layer));
        let mut whole = base;
        whole.merge(&layer);
        for key in ["tags", "meta", "materialized", "schema", "alias", "absent"] {
            assert_eq!(scope.config_value(key).as_ref(), whole.get(key), "{key}");
        }
        assert_eq!(scope.config_value("tags"), Some(json!(["a", "b"])));
    }
}
