//! The documentation site: one self-contained `target/index.html` (the page
//! in templates/docs/index.html, with the project's data embedded as JSON),
//! readable from `file://`, mailable, and with no network access at view
//! time. dbt's site is an Angular app that loads manifest.json and
//! catalog.json over HTTP; sluice embeds a compact digest of both instead,
//! so the page opens anywhere.
//!
//! Everything user-written reaches the page as data, never as markup: the
//! page inserts names, SQL and types as text, and descriptions arrive as
//! HTML rendered here from Markdown with raw HTML escaped and unsafe link
//! schemes removed.

use std::collections::HashMap;

use pulldown_cmark::{CowStr, Event, Options, Parser, Tag};
use serde_json::{json, Map, Value as Json};

use crate::compile::Compiled;
use crate::error::Result;
use crate::manifest::{Manifest, ResourceType};

/// The page, with `/*SLUICE_DATA*/` where the data goes.
const PAGE: &str = include_str!("../../templates/docs/index.html");

/// Renders a description's Markdown (CommonMark plus tables and
/// strikethrough) to HTML that is safe to insert into the page: raw HTML
/// in the text is shown as text, and links or images whose URL uses a
/// scheme other than http, https or mailto (e.g. `javascript:`) point
/// nowhere.
pub fn markdown(text: &str) -> String {
    let options = Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH;
    let events = Parser::new_ext(text, options).map(|event| match event {
        // Raw HTML, block or inline, becomes text: `<script>` is shown, not run.
        Event::Html(html) | Event::InlineHtml(html) => Event::Text(html),
        Event::Start(Tag::Link {
            link_type,
            dest_url,
            title,
            id,
        }) => Event::Start(Tag::Link {
            link_type,
            dest_url: safe_url(dest_url),
            title,
            id,
        }),
        Event::Start(Tag::Image {
            link_type,
            dest_url,
            title,
            id,
        }) => Event::Start(Tag::Image {
            link_type,
            dest_url: safe_url(dest_url),
            title,
            id,
        }),
        other => other,
    });
    let mut out = String::new();
    pulldown_cmark::html::push_html(&mut out, events);
    out
}

/// `url` when it is relative or uses http, https or mailto; else `#`.
fn safe_url(url: CowStr<'_>) -> CowStr<'_> {
    let lower = url.trim().to_ascii_lowercase();
    let scheme = lower
        .split_once(':')
        .map(|(s, _)| s)
        .filter(|s| !s.contains(['/', '?', '#']));
    match scheme {
        None | Some("http" | "https" | "mailto") => url,
        Some(_) => CowStr::Borrowed("#"),
    }
}

/// The data the page shows, built from the manifest, the compiled SQL (with
/// column lineage), catalog.json and, when a previous run left one,
/// run_results.json.
///
/// Shape: `{project, generated_at, nodes: [...]}`, one entry per model,
/// seed, snapshot, source, test, analysis and unit test, with `id`, `name`,
/// `type`, `package`, `path`, `relation`, `description` (HTML),
/// `columns` (`name`, `type`, `description` (HTML), `tests`), `config`,
/// `raw_code`, `compiled_code`, `depends_on`, `lineage` (column lineage),
/// `grain` and `proof` (sluice's inferred grain and a test's proof),
/// `steps` (each column's steps in its model, from `steps`, by position:
/// `{column: [step]}`), `stats` (row count), `run` (status, timing,
/// message) and for tests `attached` and `column`.
pub fn site_data(
    manifest: &Manifest,
    compiled: &HashMap<usize, Result<Compiled>>,
    steps: &HashMap<usize, Json>,
    catalog: &Json,
    run_results: Option<&Json>,
    generated_at: &str,
) -> Json {
    let runs: HashMap<&str, &Json> = run_results
        .and_then(|r| r["results"].as_array())
        .map(|results| {
            results
                .iter()
                .filter_map(|r| Some((r["unique_id"].as_str()?, r)))
                .collect()
        })
        .unwrap_or_default();
    // Generic tests, by the node and column they test.
    let mut tests: HashMap<(&str, &str), Vec<String>> = HashMap::new();
    for node in &manifest.nodes {
        if let Some(meta) = &node.test_metadata {
            if let (Some(attached), Some(column)) = (&meta.attached_node, &meta.column_name) {
                tests
                    .entry((attached.as_str(), column.as_str()))
                    .or_default()
                    .push(meta.name.clone());
            }
        }
    }
    let nodes: Vec<Json> = manifest
        .nodes
        .iter()
        .enumerate()
        .map(|(i, node)| {
            let code = compiled.get(&i).and_then(|c| c.as_ref().ok());
            let uid = node.unique_id.as_str();
            let entry = if node.resource_type == ResourceType::Source {
                &catalog["sources"][uid]
            } else {
                &catalog["nodes"][uid]
            };
            let mut columns: Vec<Json> = Vec::new();
            let mut seen: Vec<String> = Vec::new();
            for c in &node.columns {
                let warehouse_type = entry["columns"]
                    .as_object()
                    .and_then(|cols| {
                        cols.iter()
                            .find(|(name, _)| name.eq_ignore_ascii_case(&c.name))
                    })
                    .and_then(|(_, col)| col["type"].as_str().map(str::to_owned));
                columns.push(json!({
                    "name": c.name,
                    "type": warehouse_type.or_else(|| c.data_type.clone()),
                    "description": markdown(&c.description),
                    "tests": tests.get(&(uid, c.name.as_str())).cloned().unwrap_or_default(),
                }));
                seen.push(c.name.to_lowercase());
            }
            // Columns only the warehouse knows, in its order.
            if let Some(cols) = entry["columns"].as_object() {
                let mut rest: Vec<(&String, &Json)> = cols
                    .iter()
                    .filter(|(name, _)| !seen.contains(&name.to_lowercase()))
                    .collect();
                rest.sort_by_key(|(_, c)| c["index"].as_i64().unwrap_or(0));
                for (name, col) in rest {
                    columns.push(json!({
                        "name": name,
                        "type": col["type"],
                        "description": "",
                        "tests": tests.get(&(uid, name.as_str())).cloned().unwrap_or_default(),
                    }));
                }
            }
            let run = runs.get(uid).map(|r| {
                json!({
                    "status": r["status"],
                    "execution_time": r["execution_time"],
                    "message": r["message"],
                    "completed_at": r["timing"].as_array().and_then(|t| t.last()).map(|t| t["completed_at"].clone()),
                })
            });
            let mut n = json!({
                "id": uid,
                "name": node.name,
                "type": node.resource_type.as_str(),
                "package": node.package_name,
                "path": node.original_file_path.to_string_lossy().replace('\\', "/"),
                "relation": node.relation.as_ref().map(|r| r.to_string()),
                "description": markdown(&node.description),
                "columns": columns,
                "config": node.config.0,
                "tags": node.config.tags(),
                "raw_code": node.raw_code,
                "compiled_code": code.map(|c| c.code.as_str()),
                "depends_on": node.depends_on,
                "lineage": code.and_then(|c| c.columns_lineage.as_ref()),
                "grain": code.and_then(|c| c.grain.as_ref()),
                "steps": steps.get(&i),
                "why": code.map(|c| &c.why),
                "proof": code.and_then(|c| c.proof.as_ref()),
                "stats": entry["stats"]["row_count"]["value"],
                "table_type": entry["metadata"]["type"],
                "run": run,
            });
            if let Some(meta) = &node.test_metadata {
                n["attached"] = json!(meta.attached_node);
                n["column"] = json!(meta.column_name);
                n["test"] = json!(meta.name);
            }
            if let Some(src) = &node.source {
                n["source_name"] = json!(src.source_name);
            }
            n
        })
        .collect();
    // Exposures: pages of their own, drawn in the lineage downstream of
    // what they read.
    let mut nodes = nodes;
    nodes.extend(manifest.exposures.iter().map(|e| {
        let f = &e.fields;
        json!({
            "id": e.unique_id,
            "name": e.name,
            "type": "exposure",
            "package": e.package_name,
            "path": f["original_file_path"],
            "description": markdown(f["description"].as_str().unwrap_or_default()),
            "columns": [],
            "config": {},
            "tags": f["tags"],
            "depends_on": e.depends_on,
            "exposure_type": f["type"],
            "maturity": f["maturity"],
            "owner": f["owner"],
            "url": f["url"],
        })
    }));
    let mut doc = Map::new();
    doc.insert("project".into(), json!(manifest.project_name));
    doc.insert("generated_at".into(), json!(generated_at));
    doc.insert("nodes".into(), Json::Array(nodes));
    Json::Object(doc)
}

/// The page with `data` embedded: a `<script type="application/json">`
/// whose text cannot close the element (`<`, `>` and `&` are written as
/// JSON `\u` escapes, which JSON.parse reads back unchanged).
pub fn index_html(data: &Json) -> String {
    let json = data.to_string();
    let mut safe = String::with_capacity(json.len() + json.len() / 50);
    for ch in json.chars() {
        match ch {
            '<' => safe.push_str("\\u003c"),
            '>' => safe.push_str("\\u003e"),
            '&' => safe.push_str("\\u0026"),
            '\u{2028}' => safe.push_str("\\u2028"),
            '\u{2029}' => safe.push_str("\\u2029"),
            c => safe.push(c),
        }
    }
    PAGE.replacen("/*SLUICE_DATA*/", &safe, 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markdown_renders_text_and_escapes_raw_html() {
        let html = markdown(
            "**Revenue** in <script>alert(1)</script> dollars\n\n<img src=x onerror=alert(2)>",
        );
        assert!(html.contains("<strong>Revenue</strong>"), "{html}");
        assert!(
            html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
            "{html}"
        );
        assert!(
            html.contains("&lt;img src=x onerror=alert(2)&gt;"),
            "{html}"
        );
        assert!(
            !html.contains("<script") && !html.contains("<img"),
            "{html}"
        );
    }

    #[test]
    fn markdown_links_keep_only_safe_schemes() {
        let html = markdown("[a](javascript:alert(1)) [b](https://example.com/x) [c](other_model.html) ![i](data:image/svg+xml,x)");
        assert!(!html.contains("javascript:"), "{html}");
        assert!(!html.contains("data:"), "{html}");
        assert!(html.contains("href=\"https://example.com/x\""), "{html}");
        assert!(html.contains("href=\"other_model.html\""), "{html}");
    }

    #[test]
    fn embedded_data_cannot_close_its_script_element() {
        let data =
            json!({"nodes": [{"description": "</script><script>alert(1)</script> & \u{2028}"}]});
        let page = index_html(&data);
        let start = page.find("id=\"sluice-data\"").expect("data element");
        let body = &page[start..];
        let end = body.find("</script>").expect("element ends");
        let embedded = &body[body.find('>').unwrap() + 1..end];
        assert!(!embedded.contains('<'), "{embedded}");
        let back: Json = serde_json::from_str(embedded).expect("valid JSON");
        assert_eq!(back, data);
    }
}
