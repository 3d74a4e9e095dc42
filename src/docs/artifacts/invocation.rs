//! What every artifact carries: the command's [`Invocation`] (id and start
//! time) and the `metadata` block built from it.

use chrono::{DateTime, Utc};
use serde_json::{json, Value as Json};

use crate::project::installed::DBT_VERSION_COMPAT;

/// Metadata common to both artifacts.
#[derive(Debug, Clone)]
pub struct Invocation {
    /// A fresh UUID per command.
    pub invocation_id: String,
    /// When the command started.
    pub generated_at: DateTime<Utc>,
}

impl Invocation {
    /// A new invocation starting now.
    pub fn new() -> Invocation {
        Invocation {
            invocation_id: uuid::Uuid::new_v4().to_string(),
            generated_at: Utc::now(),
        }
    }
}

impl Default for Invocation {
    fn default() -> Self {
        Invocation::new()
    }
}

/// The `metadata` block of an artifact: dbt's schema URL, versions, time,
/// invocation and, for project artifacts, `(project name, adapter type)`.
pub fn metadata(inv: &Invocation, schema: &str, project: Option<(&str, &str)>) -> Json {
    let mut m = json!({
        "dbt_schema_version": schema,
        "dbt_version": DBT_VERSION_COMPAT,
        "generated_at": inv.generated_at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
        "invocation_id": inv.invocation_id,
        "env": {},
        "generator": format!("sluice {}", env!("CARGO_PKG_VERSION")),
    });
    if let Some((name, adapter_type)) = project {
        m["project_name"] = json!(name);
        m["adapter_type"] = json!(adapter_type);
    }
    m
}
