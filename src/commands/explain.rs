//! `sluice explain model.column` (sluice's extension): how a number is
//! computed, from the sources to the column. For each model on the path
//! (by column lineage), the expression at each step of its SQL with the
//! step's joins, filters, grouping and dedupes; then one composed query
//! that computes the column from seeds, sources and snapshots alone (each
//! model on the path inlined as a CTE), and with `--rows` the value and
//! the input rows behind it.

use std::collections::{BTreeSet, HashMap, VecDeque};

use serde_json::json;

use crate::cli::{GlobalArgs, LineageOutput};
use crate::commands::invocation::{InvocationArgs, Outcome};
use crate::commands::session::Session;
use crate::error::{Error, ErrorKind, Result};
use crate::execute::output::Printer;
use crate::lineage::{column_steps, ColumnLineage, LineageKind, Step};
use crate::manifest::{slash, ResourceType};

/// What is explained of one model on the path.
struct ModelSteps {
    position: usize,
    column: String,
    steps: Vec<Step>,
}

/// `sluice explain model.column [--output json] [--rows PREDICATE]`:
/// compiles the project with column lineage, walks the column's upstream
/// columns through every model, and prints each model's steps and the
/// composed query; with `rows`, runs the composed query filtered by the
/// predicate (a SQL condition on the model's columns) and each input on
/// the path whose columns the predicate's columns are copied from.
///
/// Errors: [`ErrorKind::Usage`] for an argument that is not
/// `model.column` or names no model (with a "did you mean") or no column
/// of it; database errors of `--rows`.
pub fn explain(
    g: &GlobalArgs,
    target: &str,
    output: LineageOutput,
    rows: Option<&str>,
) -> Result<Outcome> {
    let printer = Printer::new(true);
    let p = Session::open(g, InvocationArgs::command("explain", g), printer)?;
    let Some((model_name, column)) = target.rsplit_once('.') else {
        return Err(Error::new(
            ErrorKind::Usage,
            format!("`{target}` is not `model.column`"),
        )
        .with_hint("name a column as `customers.lifetime_value`"));
    };
    let models = p
        .manifest
        .nodes
        .iter()
        .filter(|n| n.resource_type == ResourceType::Model);
    let Some(start) = p.manifest.nodes.iter().position(|n| {
        n.resource_type == ResourceType::Model && n.name.eq_ignore_ascii_case(model_name)
    }) else {
        let err = Error::new(
            ErrorKind::Usage,
            format!("no model is named `{model_name}`"),
        );
        return Err(
            match crate::error::did_you_mean(model_name, models.map(|n| n.name.as_str())) {
                Some(s) => err.with_hint(format!("did you mean `{s}`?")),
                None => err.with_hint("`sluice ls --resource-type model` lists the models"),
            },
        );
    };
    let compiled = p.compile_everything();
    let lineage_of = |i: usize| -> &[ColumnLineage] {
        compiled
            .get(&i)
            .and_then(|c| c.as_ref().ok())
            .and_then(|c| c.columns_lineage.as_deref())
            .unwrap_or(&[])
    };
    let dialect = crate::adapter::sql_dialect(&p.project.target);
    let known = lineage_of(start)
        .iter()
        .any(|l| l.name.eq_ignore_ascii_case(column));
    if !known {
        let names: Vec<&str> = lineage_of(start).iter().map(|l| l.name.as_str()).collect();
        let err = Error::new(
            ErrorKind::Usage,
            format!("model `{model_name}` has no column `{column}` that sluice can trace"),
        );
        return Err(
            match crate::error::did_you_mean(column, names.iter().copied()) {
                Some(s) => err.with_hint(format!("did you mean `{model_name}.{s}`?")),
                None => err.with_hint(format!("its columns: {}", names.join(", "))),
            },
        );
    }
    // Breadth-first over the column's upstream columns: models get their
    // steps; seeds, sources and snapshots are where it starts.
    let mut explained: Vec<ModelSteps> = Vec::new();
    let mut inputs: BTreeSet<(usize, String)> = BTreeSet::new();
    let mut seen: BTreeSet<(usize, String)> = BTreeSet::new();
    let mut queue = VecDeque::from([(start, column.to_lowercase())]);
    while let Some((i, col)) = queue.pop_front() {
        if !seen.insert((i, col.clone())) {
            continue;
        }
        let node = &p.manifest.nodes[i];
        if node.resource_type != ResourceType::Model {
            inputs.insert((i, col));
            continue;
        }
        let code = compiled
            .get(&i)
            .and_then(|c| c.as_ref().ok())
            .map(|c| c.code.as_str())
            .unwrap_or_default();
        let steps = match crate::sql::parse(code, dialect) {
            crate::sql::Parsed::Statements(s) => column_steps(&s, &col),
            _ => Vec::new(),
        };
        explained.push(ModelSteps {
            position: i,
            column: col.clone(),
            steps,
        });
        if let Some(l) = lineage_of(i)
            .iter()
            .find(|l| l.name.eq_ignore_ascii_case(&col))
        {
            for s in &l.sources {
                if let Some(up) = p.manifest.position(&s.node) {
                    queue.push_back((up, s.column.to_lowercase()));
                }
            }
        }
    }
    let composed = composed_query(&p, &compiled, start, column, &explained);
    if output == LineageOutput::Json {
        let models: Vec<_> = explained
            .iter()
            .map(|m| {
                let node = &p.manifest.nodes[m.position];
                json!({"node": node.unique_id, "column": m.column, "path": slash(&node.original_file_path), "steps": m.steps})
            })
            .collect();
        let inputs: Vec<_> = inputs
            .iter()
            .map(|(i, c)| json!({"node": p.manifest.nodes[*i].unique_id, "column": c}))
            .collect();
        println!(
            "{}",
            serde_json::to_string_pretty(&json!({
                "column": format!("{model_name}.{column}"),
                "models": models,
                "inputs": inputs,
                "composed_sql": composed,
            }))
            .unwrap_or_default()
        );
    } else {
        for m in &explained {
            let node = &p.manifest.nodes[m.position];
            println!(
                "{}.{}  ({})",
                node.name,
                m.column,
                slash(&node.original_file_path)
            );
            for s in &m.steps {
                let name = if s.relation == "select" {
                    s.column.clone()
                } else {
                    format!("{}.{}", s.relation, s.column)
                };
                println!("  {name} = {}", s.expression);
                println!("      from {}", s.from);
                for (word, clause) in [
                    ("where", &s.filter),
                    ("group by", &s.group_by),
                    ("having", &s.having),
                    ("qualify", &s.qualify),
                ] {
                    if let Some(c) = clause {
                        println!("      {word} {c}");
                    }
                }
            }
            println!();
        }
        let list: Vec<String> = inputs
            .iter()
            .map(|(i, c)| {
                let n = &p.manifest.nodes[*i];
                format!("{} {}.{}", n.resource_type.as_str(), n.name, c)
            })
            .collect();
        println!("Inputs: {}", list.join(", "));
        println!();
        println!("Composed query (from the inputs alone):");
        println!("{composed}");
    }
    if let Some(predicate) = rows {
        show_rows(
            &p, &compiled, start, predicate, &composed, &explained, &inputs,
        )?;
    }
    Ok(Outcome::Success)
}

/// One query computing `column` of the model at `start` (with the
/// model's key columns, when its grain has one) from seeds, sources and
/// snapshots alone: each model on the path is inlined as a CTE
/// `__explain_<name>`, dependencies first.
fn composed_query(
    p: &Session,
    compiled: &HashMap<usize, Result<crate::compile::Compiled>>,
    start: usize,
    column: &str,
    explained: &[ModelSteps],
) -> String {
    let on_path: BTreeSet<usize> = explained.iter().map(|m| m.position).collect();
    // Models on the path read models not on it too (a join used to
    // filter): those are inlined as well, so nothing built is read.
    let mut models: BTreeSet<usize> = on_path;
    let mut todo: Vec<usize> = models.iter().copied().collect();
    while let Some(i) = todo.pop() {
        for dep in &p.manifest.nodes[i].depends_on {
            if let Some(d) = p.manifest.position(dep) {
                let node = &p.manifest.nodes[d];
                if node.resource_type == ResourceType::Model
                    && !node.config.is_ephemeral()
                    && models.insert(d)
                {
                    todo.push(d);
                }
            }
        }
    }
    // Dependencies first.
    let mut order: Vec<usize> = Vec::new();
    fn visit(p: &Session, i: usize, models: &BTreeSet<usize>, order: &mut Vec<usize>) {
        if order.contains(&i) {
            return;
        }
        for dep in &p.manifest.nodes[i].depends_on {
            if let Some(d) = p.manifest.position(dep).filter(|d| models.contains(d)) {
                visit(p, d, models, order);
            }
        }
        order.push(i);
    }
    for &i in &models {
        visit(p, i, &models, &mut order);
    }
    let cte = |i: usize| format!("__explain_{}", p.manifest.nodes[i].name);
    let replacements: Vec<(String, String)> = order
        .iter()
        .filter_map(|&i| {
            let rel = p.manifest.nodes[i].relation.as_ref()?;
            Some((rel.to_string(), cte(i)))
        })
        .collect();
    let mut ctes = Vec::new();
    for &i in &order {
        let code = compiled
            .get(&i)
            .and_then(|c| c.as_ref().ok())
            .map(|c| crate::sql::strip_trailing_semicolons(&c.code).to_owned())
            .unwrap_or_default();
        let mut code = code;
        for (relation, name) in &replacements {
            code = code.replace(relation.as_str(), name);
        }
        ctes.push(format!("{} as (\n{}\n)", cte(i), code.trim()));
    }
    let keys = compiled
        .get(&start)
        .and_then(|c| c.as_ref().ok())
        .and_then(|c| c.grain.as_ref())
        .and_then(|g| g.keys.iter().find(|k| !k.columns.is_empty()))
        .map(|k| k.columns.clone())
        .unwrap_or_default();
    let mut selected: Vec<String> = keys
        .into_iter()
        .filter(|k| !k.eq_ignore_ascii_case(column))
        .collect();
    selected.push(column.to_owned());
    format!(
        "with {}\nselect {} from {}",
        ctes.join(",\n"),
        selected.join(", "),
        cte(start)
    )
}

/// `--rows`: the composed query's rows where `predicate` holds, then the
/// rows of each input (and model) on the path whose columns the
/// predicate's columns are copied or renamed from, with the predicate
/// rewritten to their names.
fn show_rows(
    p: &Session,
    compiled: &HashMap<usize, Result<crate::compile::Compiled>>,
    start: usize,
    predicate: &str,
    composed: &str,
    explained: &[ModelSteps],
    inputs: &BTreeSet<(usize, String)>,
) -> Result<()> {
    let db = crate::adapter::open_read_only(&p.project.target)?;
    let conn = db.connect()?;
    let print = |title: &str, sql: &str| -> Result<()> {
        let table = conn.query_table(sql)?;
        println!();
        println!("{title} ({} rows):", table.rows.len());
        println!("  {}", table.columns.join(" | "));
        for row in table.rows.iter().take(20) {
            let cells: Vec<String> = row
                .iter()
                .map(|v| match v {
                    serde_json::Value::String(s) => s.clone(),
                    other => other.to_string(),
                })
                .collect();
            println!("  {}", cells.join(" | "));
        }
        Ok(())
    };
    print(
        &format!("The value where {predicate}"),
        &format!("select * from (\n{composed}\n) explained where {predicate}"),
    )
    .map_err(|e| {
        e.with_hint(
            "`--rows` takes a SQL condition on the model's columns, e.g. `customer_id = 42`",
        )
    })?;
    // The predicate's columns, followed upstream where they are copied.
    let words: Vec<String> = predicate
        .split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .filter(|w| !w.is_empty() && !w.chars().next().is_some_and(|c| c.is_ascii_digit()))
        .map(str::to_lowercase)
        .collect();
    let start_columns: BTreeSet<String> = compiled
        .get(&start)
        .and_then(|c| c.as_ref().ok())
        .and_then(|c| c.columns_lineage.as_ref())
        .map(|l| l.iter().map(|c| c.name.to_lowercase()).collect())
        .unwrap_or_default();
    let columns: Vec<String> = words
        .into_iter()
        .filter(|w| start_columns.contains(w))
        .collect();
    let mut names: HashMap<usize, HashMap<String, String>> = HashMap::new();
    for c in &columns {
        let mut frontier = vec![(start, c.clone())];
        while let Some((i, col)) = frontier.pop() {
            names.entry(i).or_default().insert(c.clone(), col.clone());
            let lineage = compiled
                .get(&i)
                .and_then(|r| r.as_ref().ok())
                .and_then(|r| r.columns_lineage.as_ref());
            let Some(l) =
                lineage.and_then(|l| l.iter().find(|l| l.name.eq_ignore_ascii_case(&col)))
            else {
                continue;
            };
            if l.kind == LineageKind::Transformation {
                continue;
            }
            for s in &l.sources {
                if let Some(up) = p.manifest.position(&s.node) {
                    frontier.push((up, s.column.to_lowercase()));
                }
            }
        }
    }
    let path: BTreeSet<usize> = explained
        .iter()
        .map(|m| m.position)
        .chain(inputs.iter().map(|(i, _)| *i))
        .filter(|&i| i != start)
        .collect();
    for i in path {
        // Where lineage does not carry the predicate's columns here (a
        // join key is not a column's lineage), the same names are tried.
        let same = HashMap::new();
        let (map, by_name) = match names.get(&i).filter(|m| m.len() == columns.len()) {
            Some(map) => (map, false),
            None => (&same, true),
        };
        let node = &p.manifest.nodes[i];
        let Some(relation) = node.relation.as_ref() else {
            continue;
        };
        let mut rewritten = String::new();
        let mut word = String::new();
        for ch in predicate.chars().chain(std::iter::once(' ')) {
            if ch.is_alphanumeric() || ch == '_' {
                word.push(ch);
                continue;
            }
            let lower = word.to_lowercase();
            rewritten.push_str(map.get(&lower).map_or(word.as_str(), |s| s.as_str()));
            word.clear();
            rewritten.push(ch);
        }
        let shown = print(
            &format!(
                "{} {} where {}",
                node.resource_type.as_str(),
                node.name,
                rewritten.trim_end()
            ),
            &format!("select * from {relation} where {}", rewritten.trim_end()),
        );
        match shown {
            // A relation without those columns is not behind the value by them.
            Err(_) if by_name => {}
            other => other?,
        }
    }
    Ok(())
}
