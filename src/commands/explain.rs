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
    let lineage_of = |i: usize| lineage_of(&compiled, i);
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
    let composed = composed_query(&p, &compiled, start, column);
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
        show_rows(&p, &compiled, start, predicate, &composed)?;
    }
    Ok(Outcome::Success)
}

/// The models a node's compiled SQL reads by relation: its model
/// dependencies, with each ephemeral one (inlined as a CTE in the SQL)
/// replaced by what it reads, in `depends_on` order.
fn reads_models(p: &Session, i: usize) -> Vec<usize> {
    let mut out = Vec::new();
    for dep in &p.manifest.nodes[i].depends_on {
        let Some(d) = p.manifest.position(dep) else {
            continue;
        };
        let node = &p.manifest.nodes[d];
        if node.resource_type != ResourceType::Model {
            continue;
        }
        if node.config.is_ephemeral() {
            out.extend(reads_models(p, d));
        } else if !out.contains(&d) {
            out.push(d);
        }
    }
    out
}

/// The column lineage of the compiled node at `i`, empty when it has none.
fn lineage_of(
    compiled: &HashMap<usize, Result<crate::compile::Compiled>>,
    i: usize,
) -> &[ColumnLineage] {
    compiled
        .get(&i)
        .and_then(|c| c.as_ref().ok())
        .and_then(|c| c.columns_lineage.as_deref())
        .unwrap_or(&[])
}

/// One query computing `column` of the model at `start` (with the
/// model's key columns, when its grain has one) from seeds, sources and
/// snapshots alone: the start and every model it reads, transitively, are
/// inlined as CTEs `__explain_<name>`, dependencies first (each visited in
/// `depends_on` order from the models in manifest order), each with the
/// relations of the models it reads replaced by their CTEs. The docs
/// site's column page composes the same text in the browser
/// (`composedQuery` in templates/docs/index.html).
fn composed_query(
    p: &Session,
    compiled: &HashMap<usize, Result<crate::compile::Compiled>>,
    start: usize,
    column: &str,
) -> String {
    let mut models: BTreeSet<usize> = BTreeSet::from([start]);
    let mut todo = vec![start];
    while let Some(i) = todo.pop() {
        for d in reads_models(p, i) {
            if models.insert(d) {
                todo.push(d);
            }
        }
    }
    // Dependencies first.
    let mut order: Vec<usize> = Vec::new();
    let mut placed: BTreeSet<usize> = BTreeSet::new();
    fn visit(p: &Session, i: usize, placed: &mut BTreeSet<usize>, order: &mut Vec<usize>) {
        if !placed.insert(i) {
            return;
        }
        for d in reads_models(p, i) {
            visit(p, d, placed, order);
        }
        order.push(i);
    }
    for &i in &models {
        visit(p, i, &mut placed, &mut order);
    }
    let cte = |i: usize| format!("__explain_{}", p.manifest.nodes[i].name);
    let mut ctes = Vec::new();
    for &i in &order {
        let mut code = compiled
            .get(&i)
            .and_then(|c| c.as_ref().ok())
            .map(|c| crate::sql::strip_trailing_semicolons(&c.code).to_owned())
            .unwrap_or_default();
        for d in reads_models(p, i) {
            if let Some(rel) = &p.manifest.nodes[d].relation {
                code = code.replace(rel.to_string().as_str(), &cte(d));
            }
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
/// rows of every node the composed query reads that are behind them:
/// first the nodes whose columns the predicate's columns are copied or
/// renamed from (the predicate rewritten to their names), then, breadth
/// first, each node linked to one already shown by a join key (`on a.x =
/// b.y` in a model on the path, resolved through CTEs) or by a join-key
/// column copied from it: `select * from b where y in (select x from
/// <a's rows>)`. Nodes no link reaches are tried with the predicate as
/// written, and skipped when they lack its columns.
fn show_rows(
    p: &Session,
    compiled: &HashMap<usize, Result<crate::compile::Compiled>>,
    start: usize,
    predicate: &str,
    composed: &str,
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
        if table.rows.len() > 20 {
            println!("  ... {} more", table.rows.len() - 20);
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
    let lineage_of = |i: usize| lineage_of(compiled, i);
    // Every node the composed query reads: the start's ancestors, through
    // ephemeral models.
    let mut reads: BTreeSet<usize> = BTreeSet::new();
    let mut todo = vec![start];
    while let Some(i) = todo.pop() {
        for dep in &p.manifest.nodes[i].depends_on {
            if let Some(d) = p.manifest.position(dep) {
                if d != start && reads.insert(d) {
                    todo.push(d);
                }
            }
        }
    }
    let models: Vec<usize> = std::iter::once(start)
        .chain(reads.iter().copied())
        .filter(|&i| p.manifest.nodes[i].resource_type == ResourceType::Model)
        .collect();
    // Links between node columns: join keys of every model read, and the
    // copies of join-key and predicate columns from one node to the next.
    let mut schemas = crate::lineage::Schemas::new(&p.manifest, &p.project.root, None, |i| {
        compiled
            .get(&i)
            .and_then(|c| c.as_ref().ok())
            .is_some_and(|c| c.columns_lineage.is_some())
    });
    for &i in compiled.keys() {
        if let Some(l) = compiled[&i]
            .as_ref()
            .ok()
            .and_then(|c| c.columns_lineage.as_deref())
        {
            schemas.record(i, Some(l));
        }
    }
    let dialect = crate::adapter::sql_dialect(&p.project.target);
    let column = |node: &str, column: &str| -> Option<(usize, String)> {
        Some((p.manifest.position(node)?, column.to_lowercase()))
    };
    let mut links: Vec<((usize, String), (usize, String))> = Vec::new();
    for &m in &models {
        let code = compiled
            .get(&m)
            .and_then(|c| c.as_ref().ok())
            .map(|c| c.code.as_str())
            .unwrap_or_default();
        if let crate::sql::Parsed::Statements(statements) = crate::sql::parse(code, dialect) {
            for (a, b) in schemas.join_keys(&statements) {
                if let (Some(a), Some(b)) = (column(&a.node, &a.column), column(&b.node, &b.column))
                {
                    links.push((a, b));
                }
            }
        }
    }
    let words: Vec<String> = predicate
        .split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .filter(|w| !w.is_empty() && !w.chars().next().is_some_and(|c| c.is_ascii_digit()))
        .map(str::to_lowercase)
        .collect();
    let start_columns: BTreeSet<String> = lineage_of(start)
        .iter()
        .map(|c| c.name.to_lowercase())
        .collect();
    let columns: Vec<String> = words
        .into_iter()
        .filter(|w| start_columns.contains(w))
        .collect();
    let mut keyish: BTreeSet<String> = columns.iter().cloned().collect();
    keyish.extend(links.iter().flat_map(|(a, b)| [a.1.clone(), b.1.clone()]));
    for &m in &models {
        for l in lineage_of(m) {
            if l.kind == LineageKind::Transformation || l.sources.len() != 1 {
                continue;
            }
            let name = l.name.to_lowercase();
            let up = &l.sources[0];
            if !keyish.contains(&name) && !keyish.contains(&up.column.to_lowercase()) {
                continue;
            }
            if let Some(u) = column(&up.node, &up.column) {
                if reads.contains(&u.0) {
                    links.push(((m, name), u));
                }
            }
        }
    }
    // The predicate's columns, followed upstream where they are copied.
    let mut names: HashMap<usize, HashMap<String, String>> = HashMap::new();
    for c in &columns {
        let mut frontier = vec![(start, c.clone())];
        while let Some((i, col)) = frontier.pop() {
            names.entry(i).or_default().insert(c.clone(), col.clone());
            let Some(l) = lineage_of(i)
                .iter()
                .find(|l| l.name.eq_ignore_ascii_case(&col))
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
    let rewrite = |map: &HashMap<String, String>| -> String {
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
        rewritten.trim_end().to_owned()
    };
    let relation = |i: usize| p.manifest.nodes[i].relation.as_ref().map(|r| r.to_string());
    // The rows of each node behind the value, in the order they are found.
    let mut behind: Vec<(usize, String, String)> = Vec::new();
    let mut known: HashMap<usize, usize> = HashMap::new();
    known.insert(
        start,
        usize::MAX, // the start's rows: the predicate on its relation
    );
    let start_rows = relation(start).map(|r| format!("select * from {r} where {predicate}"));
    for &i in &reads {
        let (Some(map), Some(rel)) = (names.get(&i), relation(i)) else {
            continue;
        };
        if map.len() == columns.len() && !columns.is_empty() {
            let condition = rewrite(map);
            known.insert(i, behind.len());
            behind.push((
                i,
                condition.clone(),
                format!("select * from {rel} where {condition}"),
            ));
        }
    }
    let mut next = 0;
    let rows_of = |i: usize,
                   known: &HashMap<usize, usize>,
                   behind: &[(usize, String, String)]|
     -> Option<String> {
        match known.get(&i) {
            Some(&usize::MAX) => start_rows.clone(),
            Some(&k) => Some(behind[k].2.clone()),
            None => None,
        }
    };
    let mut frontier: Vec<usize> = vec![start];
    frontier.extend(behind.iter().map(|b| b.0));
    while next < frontier.len() {
        let a = frontier[next];
        next += 1;
        let Some(a_rows) = rows_of(a, &known, &behind) else {
            continue;
        };
        for (x, y) in links.iter().flat_map(|(x, y)| [(x, y), (y, x)]) {
            if x.0 != a || known.contains_key(&y.0) || !reads.contains(&y.0) {
                continue;
            }
            let Some(rel) = relation(y.0) else {
                continue;
            };
            let condition = format!("{} in ({}.{} above)", y.1, p.manifest.nodes[a].name, x.1);
            let sql = format!(
                "select * from {rel} where {} in (select {} from ({a_rows}) behind)",
                ident(&y.1),
                ident(&x.1)
            );
            known.insert(y.0, behind.len());
            behind.push((y.0, condition, sql));
            frontier.push(y.0);
        }
    }
    for (i, condition, sql) in &behind {
        let node = &p.manifest.nodes[*i];
        print(
            &format!(
                "{} {} where {condition}",
                node.resource_type.as_str(),
                node.name
            ),
            sql,
        )?;
    }
    // Nodes no link reaches: the predicate as written, where it applies
    // (a source over a seed's table is shown once).
    let mut shown: BTreeSet<String> = std::iter::once(start)
        .chain(behind.iter().map(|b| b.0))
        .filter_map(relation)
        .collect();
    for &i in &reads {
        if known.contains_key(&i) {
            continue;
        }
        let Some(rel) = relation(i) else {
            continue;
        };
        if !shown.insert(rel.clone()) {
            continue;
        }
        let node = &p.manifest.nodes[i];
        // A relation without the predicate's columns is not behind the value by them.
        let _ = print(
            &format!(
                "{} {} where {predicate} (by name)",
                node.resource_type.as_str(),
                node.name
            ),
            &format!("select * from {rel} where {predicate}"),
        );
    }
    Ok(())
}

/// `name` as a SQL identifier: bare when it is a plain lowercase word,
/// else double-quoted.
fn ident(name: &str) -> String {
    let plain = name
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && !name.starts_with(|c: char| c.is_ascii_digit());
    if plain {
        name.to_owned()
    } else {
        format!("\"{}\"", name.replace('"', "\"\""))
    }
}
