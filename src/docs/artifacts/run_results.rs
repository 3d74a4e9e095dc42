//! Writing run_results.json (dbt's run-results v6 schema): one entry per
//! node result, in start order, with its timing, adapter response and
//! compiled code.

use std::collections::HashMap;
use std::path::Path;

use chrono::{DateTime, Utc};
use serde_json::{Map, Value as Json};

use crate::compile::Compiled;
use crate::docs::artifacts::invocation::{metadata, Invocation};
use crate::docs::artifacts::write::{write_chunked, write_with};
use crate::error::Result;
use crate::execute::NodeResult;
use crate::manifest::Manifest;

/// One entry of run_results.json's `results`, in dbt's key order,
/// serialized from where its data is.
#[derive(serde::Serialize)]
struct ResultEntry<'a> {
    status: crate::execute::Status,
    timing: Vec<TimingEntry<'a>>,
    thread_id: &'a str,
    execution_time: f64,
    /// `{}` unless the node succeeded.
    #[serde(serialize_with = "adapter_response_or_empty")]
    adapter_response: Option<AdapterResponse<'a>>,
    message: &'a str,
    failures: Option<i64>,
    unique_id: &'a str,
    compiled: bool,
    compiled_code: Option<&'a str>,
    relation_name: Option<String>,
    batch_results: Option<Json>,
    /// sluice's extension: a test proven by the tested model's grain,
    /// `{"reason": .., "executed": ..}`.
    #[serde(skip_serializing_if = "Option::is_none")]
    proof: Option<Json>,
}

#[derive(serde::Serialize)]
struct TimingEntry<'a> {
    name: &'static str,
    started_at: &'a str,
    completed_at: &'a str,
}

#[derive(serde::Serialize)]
struct AdapterResponse<'a> {
    #[serde(rename = "_message")]
    message: &'a str,
    code: Option<&'a str>,
    rows_affected: Option<i64>,
}

fn adapter_response_or_empty<S: serde::Serializer>(
    value: &Option<AdapterResponse>,
    serializer: S,
) -> std::result::Result<S::Ok, S::Error> {
    use serde::Serialize;
    match value {
        Some(response) => response.serialize(serializer),
        None => Map::new().serialize(serializer),
    }
}

/// Writes run_results.json (dbt's run-results v6 schema) for `results` of a
/// command that ran `elapsed` seconds to `dir`: results in start order,
/// each with its compiled code. Streamed: results are serialized in
/// parallel chunks of 1,024, never held as one document (at 28,000 nodes
/// the document is ~25 MB of compiled SQL).
///
/// Errors: [`crate::ErrorKind::Io`].
pub fn write_run_results_json(
    dir: &Path,
    manifest: &Manifest,
    results: &[NodeResult],
    compiled: &HashMap<usize, Result<Compiled>>,
    elapsed: f64,
    args: Json,
    inv: &Invocation,
) -> Result<()> {
    let mut sorted: Vec<&NodeResult> = results.iter().collect();
    sorted.sort_by_key(|r| r.started_at);
    let ts = |t: &DateTime<Utc>| t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
    let result_json = |r: &NodeResult| {
        let node = &manifest.nodes[r.index];
        let c = compiled.get(&r.index).and_then(|c| c.as_ref().ok());
        let (started, completed) = (ts(&r.started_at), ts(&r.completed_at));
        let timing = if r.status == crate::execute::Status::Skipped {
            Vec::new()
        } else {
            vec![
                TimingEntry {
                    name: "compile",
                    started_at: &started,
                    completed_at: &started,
                },
                TimingEntry {
                    name: "execute",
                    started_at: &started,
                    completed_at: &completed,
                },
            ]
        };
        let result = ResultEntry {
            status: r.status,
            timing,
            thread_id: &r.thread_id,
            execution_time: r.execution_time,
            adapter_response: (r.status == crate::execute::Status::Success).then(|| {
                AdapterResponse {
                    message: &r.message,
                    code: r.message.split_whitespace().next(),
                    rows_affected: r.rows,
                }
            }),
            message: &r.message,
            failures: r.failures,
            unique_id: &node.unique_id,
            compiled: c.is_some(),
            compiled_code: c.map(|c| c.code.as_str()),
            relation_name: node.relation.as_ref().map(|r| r.to_string()),
            batch_results: r.batch_results.as_ref().map(|b| b.to_json()),
            proof: r.proof.as_ref().map(
                |(reason, executed)| serde_json::json!({"reason": reason, "executed": executed}),
            ),
        };
        let mut bytes = Vec::with_capacity(1024);
        let _ = serde_json::to_writer(&mut bytes, &result);
        bytes
    };
    let metadata = metadata(
        inv,
        "https://schemas.getdbt.com/dbt/run-results/v6.json",
        None,
    );
    write_with(dir, "run_results.json", &mut |out| {
        out.write_all(b"{\"metadata\":")?;
        serde_json::to_writer(&mut *out, &metadata)?;
        out.write_all(b",\"results\":[")?;
        write_chunked(out, &sorted, |r| result_json(r))?;
        out.write_all(b"],\"elapsed_time\":")?;
        serde_json::to_writer(&mut *out, &elapsed)?;
        out.write_all(b",\"args\":")?;
        serde_json::to_writer(&mut *out, &args)?;
        out.write_all(b"}")
    })
}
