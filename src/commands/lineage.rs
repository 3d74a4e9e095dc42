//! `lineage node.column`: a column's upstream and downstream columns.

use std::collections::HashMap;

use serde_json::json;

use crate::cli::GlobalArgs;
use crate::commands::invocation::{InvocationArgs, Outcome};
use crate::commands::session::Session;
use crate::error::{Error, ErrorKind, Result};
use crate::execute::output::Printer;
use crate::manifest::ResourceType;

/// `sluice lineage node.column`: compiles the project, computes column
/// lineage, and prints the column's upstream and downstream columns as
/// trees (or JSON).
///
/// Errors: [`ErrorKind::Usage`] for an argument that is not `node.column`
/// or names no node (with a "did you mean").
pub fn lineage(g: &GlobalArgs, column: &str, output: crate::cli::LineageOutput) -> Result<Outcome> {
    use crate::lineage::{ColumnLineage, LineageKind};
    let printer = Printer::new(true);
    let p = Session::open(g, InvocationArgs::command("lineage", g), printer)?;
    let Some((node_name, col)) = column.rsplit_once('.') else {
        return Err(
            Error::new(ErrorKind::Usage, format!("`{column}` is not `node.column`"))
                .with_hint("name a column as `orders.customer_id`"),
        );
    };
    let node = p
        .manifest
        .nodes
        .iter()
        .find(|n| {
            n.name == node_name
                && n.resource_type != ResourceType::Test
                && n.resource_type != ResourceType::UnitTest
        })
        .ok_or_else(|| {
            let err = Error::new(
                ErrorKind::Usage,
                format!("no model, seed, source or snapshot is named `{node_name}`"),
            );
            match crate::error::did_you_mean(
                node_name,
                p.manifest.nodes.iter().map(|n| n.name.as_str()),
            ) {
                Some(s) => err.with_hint(format!("did you mean `{s}`?")),
                None => err,
            }
        })?;
    let compiled = p.compile_everything();
    let mut by_column: HashMap<(String, String), ColumnLineage> = HashMap::new();
    let mut downstream: HashMap<(String, String), Vec<(String, String)>> = HashMap::new();
    for (&i, c) in &compiled {
        let Ok(c) = c else { continue };
        let uid = &p.manifest.nodes[i].unique_id;
        for l in c.columns_lineage.iter().flatten() {
            let key = (uid.clone(), l.name.to_lowercase());
            for s in &l.sources {
                downstream
                    .entry((s.node.clone(), s.column.to_lowercase()))
                    .or_default()
                    .push((uid.clone(), l.name.clone()));
            }
            by_column.insert(key, l.clone());
        }
    }
    let name_of = |uid: &str| {
        p.manifest
            .get(uid)
            .map_or_else(|| uid.to_owned(), |n| n.name.clone())
    };
    let kind_of = |uid: &str, col: &str| {
        by_column
            .get(&(uid.to_owned(), col.to_lowercase()))
            .map(|l| match l.kind {
                LineageKind::Copy => "copy",
                LineageKind::Rename => "rename",
                LineageKind::Transformation => "transformation",
            })
            .unwrap_or_else(|| {
                p.manifest
                    .get(uid)
                    .map_or("table", |n| n.resource_type.as_str())
            })
    };
    type Step<'a> = &'a dyn Fn(&(String, String)) -> Vec<(String, String)>;
    fn tree(
        key: &(String, String),
        next: Step,
        label: &dyn Fn(&(String, String)) -> serde_json::Value,
        seen: &mut std::collections::BTreeSet<(String, String)>,
    ) -> serde_json::Value {
        let mut children = Vec::new();
        if seen.insert((key.0.clone(), key.1.to_lowercase())) {
            let mut nexts = next(key);
            nexts.sort();
            nexts.dedup();
            for n in nexts {
                children.push(tree(&n, next, label, seen));
            }
        }
        let mut v = label(key);
        v["children"] = serde_json::Value::Array(children);
        v
    }
    let label = |k: &(String, String)| json!({"node": k.0, "name": format!("{}.{}", name_of(&k.0), k.1), "kind": kind_of(&k.0, &k.1)});
    let up = |k: &(String, String)| -> Vec<(String, String)> {
        by_column
            .get(&(k.0.clone(), k.1.to_lowercase()))
            .map(|l| {
                l.sources
                    .iter()
                    .map(|s| (s.node.clone(), s.column.clone()))
                    .collect()
            })
            .unwrap_or_default()
    };
    let down = |k: &(String, String)| -> Vec<(String, String)> {
        downstream
            .get(&(k.0.clone(), k.1.to_lowercase()))
            .cloned()
            .unwrap_or_default()
    };
    let start = (node.unique_id.clone(), col.to_owned());
    let upstream = tree(&start, &up, &label, &mut Default::default());
    let downstream_tree = tree(&start, &down, &label, &mut Default::default());
    match output {
        crate::cli::LineageOutput::Json => {
            println!(
                "{}",
                serde_json::to_string_pretty(&json!({
                    "column": label(&start),
                    "upstream": upstream["children"],
                    "downstream": downstream_tree["children"],
                }))
                .unwrap_or_default()
            );
        }
        crate::cli::LineageOutput::Text => {
            fn print(v: &serde_json::Value, prefix: &str) {
                let children = v["children"].as_array().cloned().unwrap_or_default();
                for (k, c) in children.iter().enumerate() {
                    let last = k + 1 == children.len();
                    println!(
                        "{prefix}{} {} ({})",
                        if last { "└──" } else { "├──" },
                        c["name"].as_str().unwrap_or_default(),
                        c["kind"].as_str().unwrap_or_default()
                    );
                    print(
                        c,
                        &format!("{prefix}{}", if last { "    " } else { "│   " }),
                    );
                }
            }
            println!("{}.{} ({})", node.name, col, kind_of(&node.unique_id, col));
            println!("upstream:");
            print(&upstream, "  ");
            println!("downstream:");
            print(&downstream_tree, "  ");
        }
    }
    Ok(Outcome::Success)
}
