//! dbt's compile phase: each selected model, test and analysis is rendered
//! again with `execute` true and every ref resolved, in parallel, and
//! written to `target/compiled/<project>/<path>`. Models with an enforced
//! contract are checked against the columns their SQL provably produces
//! (`compile/contract.rs`, sluice's extension).

mod contract;

pub use contract::locate_mismatch;

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rayon::prelude::*;

use crate::error::{Error, ErrorKind, Location, Result};
use crate::lineage::{Lineage, Schemas};
use crate::manifest::{slash, Manifest, Node, ResourceType};
use crate::render::{Introspection, NodeScope, Phase, Renderer, Resolver};

/// A node's compiled SQL and where it was written.
#[derive(Debug)]
pub struct Compiled {
    /// The SQL that runs.
    pub code: String,
    /// Path of the written file, relative to the project root.
    pub path: PathBuf,
    /// Rendered `pre-hook` statements, in run order.
    pub pre_hooks: Vec<String>,
    /// Rendered `post-hook` statements, in run order.
    pub post_hooks: Vec<String>,
    /// Whether the node (or an ephemeral it inlines) asked the warehouse
    /// something while compiling (`run_query`, `statement`, adapter
    /// lookups): compiled ahead of a run, such a node is compiled again
    /// right before it runs, when its parents exist (see [`compile_one`]).
    pub introspective: bool,
    /// Warnings about the node, as diagnostics (printed with
    /// [`crate::error::Severity::Warning`]): tables read without `ref()` or
    /// `source()`, contract columns that lose precision, constraints that
    /// are not enforced.
    pub warnings: Vec<Error>,
    /// Column lineage of the node's output (models and snapshots whose SQL
    /// sqlparser parsed), when [`compile_all`] was asked for it.
    pub columns_lineage: Option<Vec<crate::lineage::ColumnLineage>>,
}

/// Where a node's compiled SQL goes, relative to the project root:
/// `<target-path>/compiled/<project>/<original path>`, and for generic tests
/// `<target-path>/compiled/<project>/<yml path>/<test alias>.sql`, as dbt.
pub fn compiled_path(target_path: &str, node: &Node) -> PathBuf {
    let base = Path::new(target_path)
        .join("compiled")
        .join(&node.package_name);
    if let Some(unit) = &node.unit_test {
        return base
            .join(&node.original_file_path)
            .join(&unit.model)
            .join(format!("{}.sql", node.name));
    }
    match &node.test_metadata {
        Some(_) => {
            let alias = node
                .config
                .get_str("alias")
                .unwrap_or_else(|| node.name.clone());
            base.join(&node.original_file_path)
                .join(format!("{alias}.sql"))
        }
        None => base.join(&node.original_file_path),
    }
}

/// Writes `text` to `path` unless the file already holds exactly that text:
/// rewriting thousands of unchanged files (truncate + write) dominates
/// `compile` on large projects.
fn write_if_changed(path: &Path, text: &str) -> std::io::Result<()> {
    match std::fs::read(path) {
        Ok(old) if old == text.as_bytes() => Ok(()),
        _ => std::fs::write(path, text),
    }
}

/// Renders one node for execution, with warehouse statements deferred
/// (they return empty results; see [`Introspection::Deferred`]).
///
/// Errors: Jinja errors located in the node's file (or macro).
pub fn compile_node(renderer: &Renderer, resolver: &Arc<Resolver>, node: &Node) -> Result<String> {
    render_node(renderer, resolver, node, &Introspection::Deferred).0
}

/// Renders one node for execution with `introspection` for warehouse
/// statements; returns the SQL (or the Jinja error located in the node's
/// file or macro) and whether the render asked the warehouse anything.
fn render_node(
    renderer: &Renderer,
    resolver: &Arc<Resolver>,
    node: &Node,
    introspection: &Introspection,
) -> (Result<String>, bool) {
    let scope = Arc::new(
        NodeScope::new(
            Phase::Compile,
            &node.unique_id,
            node.config.clone(),
            resolver.clone(),
        )
        .with_introspection(introspection.clone()),
    );
    let code = (|| {
        let mut vars = node.vars();
        if node.test_metadata.is_some() {
            vars.test_kwargs = Some(crate::manifest::generic_tests::render_kwargs(
                renderer, node, &scope, &vars,
            )?);
        }
        let name = if node.test_metadata.is_some() {
            node.unique_id.clone()
        } else {
            slash(&node.original_file_path)
        };
        renderer.render(&name, &node.raw_code, &scope, &vars)
    })();
    (code, scope.captured().introspective)
}

/// What [`compile_all`] and [`compile_one`] need besides the node.
#[derive(Clone, Copy)]
pub struct CompileContext<'a> {
    /// The project's Jinja environment.
    pub renderer: &'a Renderer,
    /// Every node.
    pub manifest: &'a Manifest,
    /// How refs and sources resolve.
    pub resolver: &'a Arc<Resolver>,
    /// Where compiled files are written under: the project root.
    pub project_root: &'a Path,
    /// The project's `target-path`.
    pub target_path: &'a str,
    /// The engine's own parser, for SQL that sqlparser rejects.
    pub engine_parser: crate::sql::EngineParser,
}

/// Compiles the nodes at `positions` (models, tests, analyses; others are
/// skipped) in parallel and writes each to its compiled path under
/// `cx.project_root`. Ephemeral models they ref are compiled too and injected
/// as `__dbt__cte__<name>` CTEs, nested ephemerals first, as dbt does.
/// Warehouse statements are deferred ([`Compiled::introspective`]). With
/// [`Lineage::Compute`], every compiled model and snapshot also gets its
/// [`Compiled::columns_lineage`].
/// Returns one result per compiled node, in position order.
pub fn compile_all(
    cx: &CompileContext,
    positions: &BTreeSet<usize>,
    lineage: Lineage,
) -> Vec<(usize, Result<Compiled>)> {
    let (manifest, renderer, resolver) = (cx.manifest, cx.renderer, cx.resolver);
    let (project_root, target_path) = (cx.project_root, cx.target_path);
    let mut todo: BTreeSet<usize> = positions
        .iter()
        .copied()
        .filter(|&i| compilable(manifest, i))
        .collect();
    let ephemerals: BTreeMap<usize, Vec<usize>> = todo
        .par_iter()
        .map(|&i| (i, ephemeral_ancestors(manifest, i)))
        .collect::<Vec<_>>()
        .into_iter()
        .collect();
    todo.extend(ephemerals.values().flatten().copied());
    let rendered: HashMap<usize, (Result<String>, bool)> = todo
        .par_iter()
        .map(|&i| {
            let node = &manifest.nodes[i];
            (
                i,
                render_node(renderer, resolver, node, &Introspection::Deferred),
            )
        })
        .collect();
    let mut order: Vec<usize> = todo.into_iter().filter(|i| positions.contains(i)).collect();
    order.sort_unstable();
    // The compiled files' folders, created once each rather than once per
    // file (a few hundred folders for tens of thousands of files). A folder
    // that cannot be created here is tried again, and reported, per file.
    let folders: BTreeSet<PathBuf> = order
        .par_iter()
        .filter_map(|&i| {
            let path = project_root.join(compiled_path(target_path, &manifest.nodes[i]));
            path.parent().map(Path::to_path_buf)
        })
        .collect::<Vec<_>>()
        .into_iter()
        .collect();
    let ready: HashSet<PathBuf> = folders
        .into_iter()
        .filter(|dir| std::fs::create_dir_all(dir).is_ok())
        .collect();
    let finish_one = |i: usize| finish(cx, &rendered, i, &ephemerals[&i], &ready);
    let lineage = if skip_sql_for_bench() {
        Lineage::Skip
    } else {
        lineage
    };
    let Lineage::Compute { warehouse } = lineage else {
        return order
            .par_iter()
            .map(|&i| (i, finish_one(i).map(|(c, _)| c)))
            .collect();
    };
    // Lineage reads its parents' output columns, so models and snapshots
    // are finished level by level (each level in parallel), each lineage
    // computed from the syntax tree the SQL check built and the tree
    // dropped at once: one parse per model, and no trees kept alive
    // (~60 KB a model). Tests and analyses need no lineage: they are
    // finished alongside, filling the cores while a level waits for its
    // last node.
    let wanted: HashSet<usize> = order.iter().copied().collect();
    let levels: Vec<Vec<usize>> = crate::lineage::levels(manifest)
        .into_iter()
        .map(|level| level.into_iter().filter(|i| wanted.contains(i)).collect())
        .collect();
    let in_levels: HashSet<usize> = levels.iter().flatten().copied().collect();
    let rest: Vec<usize> = order
        .iter()
        .copied()
        .filter(|i| !in_levels.contains(i))
        .collect();
    let finish_levels = || {
        let mut schemas = Schemas::new(manifest, project_root, warehouse, |i| {
            in_levels.contains(&i)
        });
        let mut contracts = contract::ContractCheck::new(manifest, project_root, warehouse, |i| {
            in_levels.contains(&i)
        });
        let mut out = Vec::with_capacity(in_levels.len());
        for level in &levels {
            let done: Vec<(usize, Result<Compiled>, Option<Vec<_>>)> = level
                .par_iter()
                .map(|&i| {
                    let mut inferred = None;
                    let compiled = finish_one(i).and_then(|(mut c, statements)| {
                        if let Some(s) = &statements {
                            inferred = contracts.infer(s);
                            contracts.check(&manifest.nodes[i], inferred.as_deref(), &c.path)?;
                        }
                        c.columns_lineage = statements.map(|s| schemas.lineage(&s));
                        Ok(c)
                    });
                    (i, compiled, inferred)
                })
                .collect();
            for (i, c, inferred) in done {
                let lin = c.as_ref().ok().and_then(|c| c.columns_lineage.as_deref());
                schemas.record(i, lin);
                contracts.record(&manifest.nodes[i], inferred);
                out.push((i, c));
            }
        }
        out
    };
    let finish_rest = || -> Vec<(usize, Result<Compiled>)> {
        rest.par_iter()
            .map(|&i| (i, finish_one(i).map(|(c, _)| c)))
            .collect()
    };
    let (mut out, others) = rayon::join(finish_levels, finish_rest);
    out.extend(others);
    out.sort_unstable_by_key(|(i, _)| *i);
    out
}

/// Whether `SLUICE_BENCH_SKIP_SQL` is set: a benchmark-only switch
/// (bench/compile.py `--overhead`) that leaves out the sqlparser check and
/// column lineage, to measure what they add to `compile`. Not for use:
/// without it, SQL errors are found only by the warehouse.
fn skip_sql_for_bench() -> bool {
    static SKIP: std::sync::LazyLock<bool> =
        std::sync::LazyLock::new(|| std::env::var_os("SLUICE_BENCH_SKIP_SQL").is_some());
    *SKIP
}

/// Compiles node `i` alone with `introspection` (a live connection, right
/// before it runs, for a node that [`Compiled::introspective`] marked), and
/// writes it over its compiled file.
///
/// Errors: as [`compile_all`]'s results, plus warehouse errors of its statements.
pub fn compile_one(
    cx: &CompileContext,
    i: usize,
    introspection: &Introspection,
) -> Result<Compiled> {
    let ancestors = ephemeral_ancestors(cx.manifest, i);
    let rendered = render_family(cx, i, &ancestors, None, introspection);
    finish(cx, &rendered, i, &ancestors, &HashSet::new()).map(|(c, _)| c)
}

/// Node `i`'s SQL with its ephemeral ancestors injected, not written
/// anywhere; `this` replaces the node's own relation (a unit test's
/// `input: this`).
///
/// Errors: Jinja errors of the node or an ephemeral ancestor.
pub fn render_with_ephemerals(
    cx: &CompileContext,
    i: usize,
    this: Option<crate::warehouse::relation::Relation>,
    introspection: &Introspection,
) -> Result<String> {
    let ancestors = ephemeral_ancestors(cx.manifest, i);
    let rendered = render_family(cx, i, &ancestors, this, introspection);
    inject_ephemerals(cx.manifest, &rendered, i, &ancestors)
}

/// Renders node `i` and its ephemeral `ancestors`.
fn render_family(
    cx: &CompileContext,
    i: usize,
    ancestors: &[usize],
    this: Option<crate::warehouse::relation::Relation>,
    introspection: &Introspection,
) -> HashMap<usize, (Result<String>, bool)> {
    ancestors
        .iter()
        .map(|&a| {
            let node = &cx.manifest.nodes[a];
            (
                a,
                render_node(cx.renderer, cx.resolver, node, introspection),
            )
        })
        .chain(std::iter::once({
            let node = &cx.manifest.nodes[i];
            let rendered = match this {
                Some(rel) => {
                    let mut node = node.clone();
                    node.relation = Some(rel);
                    node.template = None;
                    render_node(cx.renderer, cx.resolver, &node, introspection)
                }
                None => render_node(cx.renderer, cx.resolver, node, introspection),
            };
            (i, rendered)
        }))
        .collect()
}

/// Whether node `i` is compiled: models, tests and analyses.
fn compilable(manifest: &Manifest, i: usize) -> bool {
    matches!(
        manifest.nodes[i].resource_type,
        ResourceType::Model | ResourceType::Test | ResourceType::Analysis | ResourceType::Snapshot
    )
}

/// Node `i`'s compiled form from the renders of it and its ephemeral
/// `ancestors`: CTEs injected, hooks rendered, the file written (its
/// folder created unless it is in `ready`), with sqlparser's statements of
/// its own SQL when the syntax check parsed them.
fn finish(
    cx: &CompileContext,
    rendered: &HashMap<usize, (Result<String>, bool)>,
    i: usize,
    ancestors: &[usize],
    ready: &HashSet<PathBuf>,
) -> Result<(Compiled, Option<Vec<sqlparser::ast::Statement>>)> {
    let node = &cx.manifest.nodes[i];
    let introspective = ancestors
        .iter()
        .chain([&i])
        .any(|a| rendered.get(a).is_some_and(|(_, asked)| *asked));
    let code = match inject_ephemerals(cx.manifest, rendered, i, ancestors) {
        Ok(code) => code,
        // Compiled ahead, a render that asked the warehouse can fail on its
        // empty results (`run_query(...).columns[0]`): it is compiled again,
        // live, before it runs, and only that render's error counts.
        Err(_) if introspective => {
            "-- compiled again against the warehouse before running (run_query)\n".to_owned()
        }
        Err(e) => return Err(e),
    };
    let path = compiled_path(cx.target_path, node);
    let abs = cx.project_root.join(&path);
    if let Some(dir) = abs.parent().filter(|dir| !ready.contains(*dir)) {
        std::fs::create_dir_all(dir).map_err(|e| Error::io("create", dir, e))?;
    }
    write_if_changed(&abs, &code).map_err(|e| Error::io("write", &path, e))?;
    let mut warnings = contract_warnings(cx.project_root, node);
    let mut statements = None;
    if !introspective && !skip_sql_for_bench() {
        if let Some(Ok(own)) = rendered.get(&i).map(|(r, _)| r) {
            if let Some(parsed) =
                check_sql(node, own, &path, cx.renderer.macros(), cx.engine_parser)?
            {
                warnings.extend(undeclared_reads(cx, node, &parsed));
                statements = Some(parsed);
            }
        }
    }
    let compiled = Compiled {
        code,
        path,
        pre_hooks: render_hooks(cx.renderer, cx.resolver, node, "pre-hook")?,
        post_hooks: render_hooks(cx.renderer, cx.resolver, node, "post-hook")?,
        introspective,
        warnings,
        columns_lineage: None,
    };
    Ok((compiled, statements))
}

/// Checks the syntax of `own`, node's rendered SQL (before ephemeral CTEs
/// are injected), for models, snapshots and singular tests written in `.sql`
/// files, and reports an error at the line of the template that produced it.
///
/// Returns sqlparser's statements when the node was checked and parsed.
///
/// Errors: [`ErrorKind::Sql`] located in the node's file, with the compiled
/// line (`compiled`: the compiled file's path) in a note.
fn check_sql(
    node: &Node,
    own: &str,
    compiled: &Path,
    macros: &[crate::render::MacroDef],
    engine_parser: crate::sql::EngineParser,
) -> Result<Option<Vec<sqlparser::ast::Statement>>> {
    if node.resource_type == ResourceType::Test && node.test_metadata.is_some() {
        return check_generic_test(node, own, compiled, macros, engine_parser).map(|()| None);
    }
    let checked = matches!(
        node.resource_type,
        ResourceType::Model | ResourceType::Snapshot | ResourceType::Test
    );
    let from_sql_file = node
        .original_file_path
        .extension()
        .is_some_and(|e| e == "sql");
    if !checked || !from_sql_file {
        return Ok(None);
    }
    let err = match crate::sql::parse(own, engine_parser) {
        crate::sql::Parsed::Statements(s) => return Ok(Some(s)),
        crate::sql::Parsed::DuckDbOnly => return Ok(None),
        crate::sql::Parsed::Invalid(err) => err,
    };
    let (line, col) = crate::sql::map_to_template(&node.raw_code, own, err.line, err.col);
    let error = Error::new(
        ErrorKind::Sql,
        format!(
            "SQL syntax error in {} `{}`: {}",
            node.resource_type.as_str(),
            node.name,
            err.message
        ),
    )
    .with_location(Location::new(
        &node.original_file_path,
        line,
        col,
        Some(&node.raw_code),
    ));
    Err(compiled_notes(error, own, &err, compiled, None)
        .with_hint("found before running anything: the SQL does not parse as DuckDB SQL"))
}

/// Adds the notes every compile-time SQL error carries: the compiled line
/// sqlparser stopped at, the declaring file when it is not the located one
/// (`declared_in`), and where the compiled code is.
fn compiled_notes(
    error: Error,
    own: &str,
    err: &crate::sql::SyntaxError,
    compiled: &Path,
    declared_in: Option<&Path>,
) -> Error {
    let compiled_line = own
        .lines()
        .nth(err.line.saturating_sub(1))
        .unwrap_or("")
        .trim();
    let mut error = error.with_note(format!(
        "in the compiled SQL (line {}, column {}): {compiled_line}",
        err.line, err.col
    ));
    if let Some(file) = declared_in {
        error = error.with_note(format!("the test is declared in {}", slash(file)));
    }
    error.with_note(format!("compiled code at {}", slash(compiled)))
}

/// Checks a generic test's SQL, which its test macro (`test_<name>`, built
/// in or the project's) wrote: an error is reported in the macro's file, at
/// the line the rendered position maps to, with the test and the YAML that
/// declares it in notes.
///
/// Errors: [`ErrorKind::Sql`].
fn check_generic_test(
    node: &Node,
    own: &str,
    compiled: &Path,
    macros: &[crate::render::MacroDef],
    engine_parser: crate::sql::EngineParser,
) -> Result<()> {
    let err = match crate::sql::parse(own, engine_parser) {
        crate::sql::Parsed::Statements(_) | crate::sql::Parsed::DuckDbOnly => return Ok(()),
        crate::sql::Parsed::Invalid(err) => err,
    };
    let test = node.test_metadata.as_ref().map_or("", |m| m.name.as_str());
    let name = format!("test_{test}");
    // The project's definition wins over a built-in one of the same name.
    let def = macros
        .iter()
        .filter(|m| m.name == name)
        .min_by_key(|m| m.path.starts_with("templates/"));
    let mut error = Error::new(
        ErrorKind::Sql,
        format!(
            "SQL syntax error in generic test `{}` (`{test}` on {}): {}",
            node.name,
            node.test_metadata
                .as_ref()
                .and_then(|m| m.attached_node.as_deref())
                .unwrap_or("its model"),
            err.message
        ),
    );
    if let Some(def) = def {
        let (line, col) = crate::sql::map_to_template(&def.source, own, err.line, err.col);
        error = error.with_location(Location::new(&def.path, line, col, Some(&def.source)));
    }
    Err(
        compiled_notes(error, own, &err, compiled, Some(&node.original_file_path)).with_hint(
            "check the test macro, and the arguments and `where` config the YAML gives it",
        ),
    )
}

/// Warnings about a contracted model's YAML, each at its line: constraints
/// that will not be enforced (on a view, or with nothing to write into the
/// DDL), as dbt's `ConstraintNotSupported`, and `numeric`/`decimal` types
/// without precision and scale, as dbt's `get_empty_schema_sql` warns.
/// Constraints of a model without an enforced contract are ignored without
/// a word, as in dbt.
fn contract_warnings(root: &Path, node: &Node) -> Vec<Error> {
    if node.resource_type != ResourceType::Model
        || !crate::project::config::Contract::of(&node.config).enforced
    {
        return Vec::new();
    }
    let naked = node.columns.iter().filter(|c| {
        c.data_type.as_deref().is_some_and(|t| {
            matches!(
                t.trim().to_ascii_lowercase().as_str(),
                "numeric" | "decimal" | "number"
            )
        })
    });
    let mut out: Vec<Error> = naked
        .map(|c| {
            let mut err = Error::new(
                ErrorKind::Contract,
                format!(
                    "column `{}` of model `{}` is `{}` without precision and scale, which DuckDB makes DECIMAL(18,3): values can be rounded",
                    c.name,
                    node.name,
                    c.data_type.as_deref().unwrap_or_default().trim()
                ),
            )
            .with_note("dbt: Detected columns with numeric type and unspecified precision/scale, this can lead to unintended rounding")
            .with_hint("give the precision and scale, e.g. `data_type: decimal(18,2)`");
            if let Some(loc) = node.yaml_location(root, Some(&c.name), Some("data_type")) {
                err = err.with_location(loc);
            }
            err
        })
        .collect();
    let unenforced = crate::contract::constraints::unenforced(
        &node.config.materialization(),
        &node.columns,
        &node.constraints,
    )
    .into_iter()
    .map(|u| {
        let on = match &u.column {
            Some(c) => format!("column `{c}` of model `{}`", node.name),
            None => format!("model `{}`", node.name),
        };
        let mut err = Error::new(
            ErrorKind::Contract,
            format!(
                "the `{}` constraint on {on} is not enforced: {}",
                u.kind.as_str(),
                u.why
            ),
        )
        .with_hint("materialize the model as a table, fix the constraint, or set `warn_unsupported: false` on it");
        if let Some(loc) = node.yaml_location(root, u.column.as_deref(), None) {
            err = err.with_location(loc);
        }
        err
    });
    out.extend(unenforced);
    out
}

/// Tables a model or snapshot reads that are neither its refs nor its
/// sources (a hard-coded `main.orders`): sluice cannot order the build by
/// them or trace their lineage. Each warning names the node that builds the
/// table, when one does.
fn undeclared_reads(
    cx: &CompileContext,
    node: &Node,
    statements: &[sqlparser::ast::Statement],
) -> Vec<Error> {
    if !matches!(
        node.resource_type,
        ResourceType::Model | ResourceType::Snapshot
    ) {
        return Vec::new();
    }
    let tables = crate::sql::read_relations_of(statements);
    let resolver = cx.resolver;
    let declared: Vec<&crate::warehouse::relation::Relation> = node
        .refs
        .iter()
        .filter_map(|r| match &r.package {
            Some(p) => resolver.package_refs.get(&(p.clone(), r.name.clone())),
            None => resolver.refs.get(&r.name),
        })
        .chain(node.sources.iter().filter_map(|k| resolver.sources.get(k)))
        .collect();
    let same = |rel: &crate::warehouse::relation::Relation, parts: &[String]| {
        let want = [&rel.database, &rel.schema, &rel.identifier];
        match parts {
            [t] => {
                t.eq_ignore_ascii_case(&rel.identifier)
                    && rel.schema.eq_ignore_ascii_case(&resolver.schema)
            }
            _ if parts.len() <= 3 => parts
                .iter()
                .rev()
                .zip(want.iter().rev())
                .all(|(a, b)| a.eq_ignore_ascii_case(b)),
            _ => false,
        }
    };
    let mut out = Vec::new();
    for parts in tables {
        if parts.len() == 1 && parts[0].starts_with("__dbt__cte__") {
            continue;
        }
        if declared.iter().any(|r| same(r, &parts)) {
            continue;
        }
        let name = parts.join(".");
        let owner = cx.manifest.nodes.iter().find(|n| {
            n.relation
                .as_ref()
                .is_some_and(|r| !r.is_cte() && same(r, &parts))
                && n.unique_id != node.unique_id
        });
        let (msg, hint) = match owner {
            Some(o) => (
                format!(
                    "{} `{}` reads `{name}` directly: that is the table of {} `{}`",
                    node.resource_type.as_str(),
                    node.name,
                    o.resource_type.as_str(),
                    o.name
                ),
                format!("write {{{{ ref('{}') }}}} so the build runs `{}` first and lineage sees the dependency", o.name, o.name),
            ),
            None => (
                format!(
                    "{} `{}` reads `{name}`, which is neither a ref() nor a source()",
                    node.resource_type.as_str(),
                    node.name
                ),
                "declare the table as a source in a schema YAML file and read it with {{ source('...', '...') }}".to_owned(),
            ),
        };
        let last = parts.last().map(String::as_str).unwrap_or_default();
        let at = node.raw_code.to_lowercase().find(&last.to_lowercase());
        let mut err = Error::new(ErrorKind::Sql, msg).with_hint(hint);
        if let Some(offset) = at {
            err = err.with_location(Location::from_offset(
                &node.original_file_path,
                &node.raw_code,
                offset,
            ));
        }
        out.push(err);
    }
    out
}

/// The insta-format `.snap` file of a compiled model: a YAML header naming
/// the model's file and unique_id, then the SQL.
fn snapshot_text(node: &Node, code: &str) -> String {
    format!(
        "---\nsource: {}\nexpression: compiled SQL of {}\n---\n{}\n",
        slash(&node.original_file_path),
        node.unique_id,
        code.trim_end()
    )
}

/// The `.snap` file name of a model: insta's `<prefix>__<name>.snap`.
fn snapshot_file(node: &Node) -> String {
    format!("compiled__{}__{}.snap", node.package_name, node.name)
}

/// `compile --snapshot`: writes each of `models`' compiled SQL to
/// `dir/compiled__<package>__<model>.snap` (insta's format); returns how
/// many files were written or changed.
///
/// Errors: [`ErrorKind::Io`] when `dir` or a file cannot be written.
pub fn write_snapshots(dir: &Path, models: &[(&Node, &Compiled)]) -> Result<usize> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io("create", dir, e))?;
    let mut written = 0;
    for (node, c) in models {
        let path = dir.join(snapshot_file(node));
        let text = snapshot_text(node, &c.code);
        if std::fs::read_to_string(&path).ok().as_deref() != Some(text.as_str()) {
            write_if_changed(&path, &text).map_err(|e| Error::io("write", &path, e))?;
            written += 1;
        }
    }
    Ok(written)
}

/// `compile --check`: for each of `models` whose compiled SQL differs from
/// its `.snap` file in `dir` (or has none), a unified diff for people.
pub fn check_snapshots(dir: &Path, models: &[(&Node, &Compiled)]) -> Vec<String> {
    let mut out = Vec::new();
    for (node, c) in models {
        let path = dir.join(snapshot_file(node));
        let want = snapshot_text(node, &c.code);
        match std::fs::read_to_string(&path) {
            Ok(have) if have.trim_end() == want.trim_end() => {}
            Ok(have) => {
                let body = |t: &str| t.splitn(3, "---\n").nth(2).unwrap_or(t).to_owned();
                let (old, new) = (body(&have), body(&want));
                let diff = similar::TextDiff::from_lines(&old, &new)
                    .unified_diff()
                    .context_radius(3)
                    .header(
                        &format!("snapshots/compiled/{}", snapshot_file(node)),
                        &format!("compiled {}", slash(&node.original_file_path)),
                    )
                    .to_string();
                out.push(format!(
                    "compiled SQL of `{}` changed:\n{diff}\n",
                    node.name
                ));
            }
            Err(_) => out.push(format!(
                "compiled SQL of `{}` has no snapshot (snapshots/compiled/{})\n",
                node.name,
                snapshot_file(node)
            )),
        }
    }
    out
}

/// Renders a model's `pre-hook` / `post-hook` statements in its compile context.
///
/// Errors: Jinja errors in a hook.
fn render_hooks(
    renderer: &Renderer,
    resolver: &Arc<Resolver>,
    node: &Node,
    key: &str,
) -> Result<Vec<String>> {
    let hooks = node.config.hooks(key);
    if hooks.is_empty() {
        return Ok(hooks);
    }
    let scope = Arc::new(NodeScope::new(
        Phase::Compile,
        &node.unique_id,
        node.config.clone(),
        resolver.clone(),
    ));
    let vars = node.vars();
    let name = format!("<{key} of {}>", node.name);
    hooks
        .iter()
        .map(|h| {
            renderer
                .render(&name, h, &scope, &vars)
                .map_err(|e| e.with_note(format!("in a `{key}` of `{}`", node.name)))
        })
        .collect()
}

/// Whether a node is an ephemeral model.
fn is_ephemeral(manifest: &Manifest, i: usize) -> bool {
    let node = &manifest.nodes[i];
    node.resource_type == ResourceType::Model && node.config.is_ephemeral()
}

/// The ephemeral models node `i` reads, directly or through other
/// ephemerals, dependencies first.
pub fn ephemeral_ancestors(manifest: &Manifest, i: usize) -> Vec<usize> {
    fn visit(manifest: &Manifest, i: usize, out: &mut Vec<usize>) {
        for dep in &manifest.nodes[i].depends_on {
            if let Some(d) = manifest.position(dep) {
                if is_ephemeral(manifest, d) && !out.contains(&d) {
                    visit(manifest, d, out);
                    out.push(d);
                }
            }
        }
    }
    let mut out = Vec::new();
    visit(manifest, i, &mut out);
    out
}

/// Node `i`'s rendered SQL with its ephemeral ancestors injected as CTEs.
fn inject_ephemerals(
    manifest: &Manifest,
    rendered: &HashMap<usize, (Result<String>, bool)>,
    i: usize,
    ancestors: &[usize],
) -> Result<String> {
    let own = rendered[&i].0.as_ref().map_err(Error::duplicate)?;
    if ancestors.is_empty() {
        return Ok(own.clone());
    }
    let mut ctes = Vec::with_capacity(ancestors.len());
    for &a in ancestors {
        let body = rendered[&a].0.as_ref().map_err(Error::duplicate)?;
        let name = format!("__dbt__cte__{}", manifest.nodes[a].name);
        ctes.push(format!(
            "{name} as (\n{}\n)",
            crate::sql::strip_trailing_semicolons(body)
        ));
    }
    Ok(prepend_ctes(own, &ctes.join(",\n")))
}

/// Puts `ctes` (`name as (...)`, comma-separated) in front of `sql`: into
/// its own leading `with` (after `recursive`) when it has one, else as a new
/// `with` clause. Leading comments stay in front.
pub fn prepend_ctes(sql: &str, ctes: &str) -> String {
    let mut pos = 0;
    let bytes = sql.as_bytes();
    loop {
        while pos < bytes.len() && bytes[pos].is_ascii_whitespace() {
            pos += 1;
        }
        if sql[pos..].starts_with("--") {
            pos = sql[pos..].find('\n').map_or(sql.len(), |n| pos + n + 1);
        } else if sql[pos..].starts_with("/*") {
            pos = sql[pos..].find("*/").map_or(sql.len(), |n| pos + n + 2);
        } else {
            break;
        }
    }
    let word_at = |at: usize, word: &str| {
        sql.len() >= at + word.len()
            && sql[at..at + word.len()].eq_ignore_ascii_case(word)
            && sql[at + word.len()..]
                .chars()
                .next()
                .is_none_or(|c| !c.is_alphanumeric() && c != '_')
    };
    if word_at(pos, "with") {
        let mut after = pos + 4;
        let rest = &sql[after..];
        let skipped = rest.len() - rest.trim_start().len();
        if word_at(after + skipped, "recursive") {
            after += skipped + "recursive".len();
        }
        format!("{} {ctes},{}", &sql[..after], &sql[after..])
    } else {
        format!("{}with {ctes}\n{}", &sql[..pos], &sql[pos..])
    }
}

#[cfg(test)]
mod tests {
    use super::prepend_ctes;

    #[test]
    fn ctes_join_an_existing_with_or_start_one() {
        let ctes = "__dbt__cte__a as (\nselect 1\n)";
        assert_eq!(
            prepend_ctes("select * from __dbt__cte__a", ctes),
            "with __dbt__cte__a as (\nselect 1\n)\nselect * from __dbt__cte__a"
        );
        assert_eq!(
            prepend_ctes("-- note\nWITH x as (select 2) select * from x", ctes),
            "-- note\nWITH __dbt__cte__a as (\nselect 1\n), x as (select 2) select * from x"
        );
        assert_eq!(
            prepend_ctes("with recursive r as (select 1) select 1", "c as (select 1)"),
            "with recursive c as (select 1), r as (select 1) select 1"
        );
        // `without_x` is not the keyword `with`.
        assert_eq!(
            prepend_ctes("withdrawals", "c as (x)"),
            "with c as (x)\nwithdrawals"
        );
    }
}
