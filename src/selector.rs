//! Node selection: dbt's `--select` / `--exclude` grammar.
//!
//! Space-separated terms are a union, comma-separated atoms inside a term
//! an intersection. An atom is `[@][N+]method:value[+N]`: methods `tag`,
//! `path`, `file`, `fqn`, `source`, `resource_type`, `package`,
//! `config.<key>`, `test_type`, `test_name`, `version` (`latest`,
//! `prerelease`, `old`, `none`); without a method, a value with
//! `/` or a file extension is a path, anything else an fqn (which matches a
//! node name, or a dotted folder path such as `staging` or `marts.finance`).
//! `*` is a wildcard. `+x` adds ancestors, `x+` descendants, `2+x` / `x+1`
//! limit the depth, `@x` adds descendants and all their ancestors.
//! With `--state`, `state:modified` / `state:new` and `result:<status>`
//! compare with a previous run (see [`crate::state`]). Tests
//! are then selected indirectly when any of their parents is ("eager", as dbt).

use std::collections::BTreeSet;

use petgraph::Direction;

use crate::error::{Error, ErrorKind, Result};
use crate::graph::Graph;
use crate::manifest::{slash, Manifest, Node, ResourceType};
use crate::state::PreviousState;

/// One parsed atom.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Atom {
    method: String,
    value: String,
    parents: Option<Option<usize>>,
    children: Option<Option<usize>>,
    at: bool,
}

fn parse_atom(raw: &str) -> Result<Atom> {
    let bad = |why: &str| {
        Error::new(ErrorKind::Selector, format!("invalid selector `{raw}`: {why}"))
            .with_hint("use e.g. `orders`, `+orders`, `orders+2`, `tag:nightly`, `path:models/staging`, `source:raw.orders`")
    };
    let mut s = raw;
    let at = s.starts_with('@');
    if at {
        s = &s[1..];
    }
    let mut parents = None;
    if let Some(plus) = s.find('+') {
        let head = &s[..plus];
        if head.chars().all(|c| c.is_ascii_digit()) {
            parents = Some(if head.is_empty() {
                None
            } else {
                Some(head.parse().map_err(|_| bad("bad depth"))?)
            });
            s = &s[plus + 1..];
        }
    }
    let mut children = None;
    if let Some(plus) = s.rfind('+') {
        let tail = &s[plus + 1..];
        if tail.chars().all(|c| c.is_ascii_digit()) {
            children = Some(if tail.is_empty() {
                None
            } else {
                Some(tail.parse().map_err(|_| bad("bad depth"))?)
            });
            s = &s[..plus];
        }
    }
    if at && (parents.is_some() || children.is_some()) {
        return Err(bad("`@` cannot be combined with `+`"));
    }
    if s.is_empty() {
        return Err(bad("nothing to select"));
    }
    let (method, value) = match s.split_once(':') {
        Some((m, v)) => (m.to_owned(), v.to_owned()),
        None if s.contains('/')
            || s.ends_with(".sql")
            || s.ends_with(".csv")
            || s.ends_with(".yml") =>
        {
            ("path".to_owned(), s.to_owned())
        }
        None => ("fqn".to_owned(), s.to_owned()),
    };
    const METHODS: &[&str] = &[
        "tag",
        "path",
        "file",
        "fqn",
        "source",
        "resource_type",
        "package",
        "test_type",
        "test_name",
        "state",
        "result",
        "source_status",
        "exposure",
        "unique_id",
        "version",
    ];
    if !METHODS.contains(&method.as_str()) && !method.starts_with("config.") {
        return Err(bad(&format!("unknown method `{method}`")));
    }
    if value.is_empty() {
        return Err(bad("empty value"));
    }
    Ok(Atom {
        method,
        value,
        parents,
        children,
        at,
    })
}

/// `*` wildcard match (`*` matches any run of characters).
fn glob(pattern: &str, text: &str) -> bool {
    if !pattern.contains('*') {
        return pattern == text;
    }
    let parts: Vec<&str> = pattern.split('*').collect();
    let mut rest = text;
    for (i, part) in parts.iter().enumerate() {
        if i == 0 {
            match rest.strip_prefix(part) {
                Some(r) => rest = r,
                None => return false,
            }
        } else if i == parts.len() - 1 {
            return rest.ends_with(part);
        } else {
            match rest.find(part) {
                Some(pos) => rest = &rest[pos + part.len()..],
                None => return false,
            }
        }
    }
    true
}

fn matches(atom: &Atom, node: &Node, project: &str, state: Option<&PreviousState>) -> bool {
    let v = atom.value.as_str();
    match atom.method.as_str() {
        "tag" => node.config.tags().iter().any(|t| glob(v, t)),
        "state" => state.is_some_and(|s| s.matches_state(v, node)),
        "result" => state.is_some_and(|s| s.matches_result(v, node)),
        "source_status" => {
            node.resource_type == ResourceType::Source
                && state.is_some_and(|s| s.matches_source_status(v, node).unwrap_or(false))
        }
        "unique_id" => node.unique_id == v,
        // dbt's `version:` method: how a model version stands to its latest.
        "version" => {
            let order = node
                .version
                .as_ref()
                .map(|mv| crate::project::versions::version_order(&mv.v, &mv.latest));
            match v {
                "latest" => order == Some(std::cmp::Ordering::Equal),
                "prerelease" => order == Some(std::cmp::Ordering::Greater),
                "old" => order == Some(std::cmp::Ordering::Less),
                "none" => order.is_none() && node.resource_type == ResourceType::Model,
                _ => false,
            }
        }
        "path" | "file" => {
            let path = slash(&node.original_file_path);
            let v = v.trim_end_matches('/');
            if atom.method == "file" {
                return glob(v, path.rsplit('/').next().unwrap_or(&path)) || glob(v, &path);
            }
            glob(v, &path) || path.starts_with(&format!("{v}/")) || (v == "." || v.is_empty())
        }
        "fqn" => fqn_matches(v, node, project),
        "source" => {
            let Some(info) = &node.source else {
                return false;
            };
            let parts: Vec<&str> = v.split('.').collect();
            let parts = if parts.len() == 3 && parts[0] == project {
                &parts[1..]
            } else {
                &parts[..]
            };
            match parts {
                [s] => glob(s, &info.source_name),
                [s, t] => glob(s, &info.source_name) && glob(t, &node.name),
                _ => false,
            }
        }
        "resource_type" => node.resource_type.as_str() == v,
        "package" => glob(v, &node.package_name),
        "test_type" => match v {
            "generic" => node.resource_type == ResourceType::Test && node.test_metadata.is_some(),
            "singular" => node.resource_type == ResourceType::Test && node.test_metadata.is_none(),
            "data" => node.resource_type == ResourceType::Test,
            "unit" => node.resource_type == ResourceType::UnitTest,
            _ => false,
        },
        "test_name" => node
            .test_metadata
            .as_ref()
            .is_some_and(|m| glob(v, &m.name)),
        m => {
            let key = m.trim_start_matches("config.");
            match node.config.get(key) {
                Some(serde_json::Value::Array(items)) => {
                    items.iter().any(|i| i.as_str().is_some_and(|s| glob(v, s)))
                }
                Some(serde_json::Value::String(s)) => glob(v, s),
                Some(other) => {
                    *other == serde_json::from_str::<serde_json::Value>(v).unwrap_or_default()
                }
                None => false,
            }
        }
    }
}

/// dbt's fqn method: a bare name matches the node name; a dotted value
/// matches a prefix of the fqn, with or without the package.
fn fqn_matches(value: &str, node: &Node, project: &str) -> bool {
    if node.resource_type == ResourceType::Source {
        return false;
    }
    if glob(value, &node.name) {
        return true;
    }
    let parts: Vec<&str> = value.split('.').collect();
    let fqn: Vec<&str> = node.fqn.iter().map(String::as_str).collect();
    let prefix_match =
        |fqn: &[&str]| parts.len() <= fqn.len() && parts.iter().zip(fqn).all(|(p, f)| glob(p, f));
    prefix_match(&fqn) || (fqn.first() == Some(&project) && prefix_match(&fqn[1..]))
}

/// Evaluates a list of selector terms (already split on whitespace or
/// given as separate arguments) to node positions, including graph
/// operators but not indirect test selection.
fn evaluate(
    terms: &[String],
    manifest: &Manifest,
    graph: &Graph,
    state: Option<&PreviousState>,
) -> Result<BTreeSet<usize>> {
    let mut union = BTreeSet::new();
    for term in terms.iter().flat_map(|t| t.split_whitespace()) {
        let mut intersection: Option<BTreeSet<usize>> = None;
        for raw in term.split(',') {
            let atom = parse_atom(raw)?;
            if matches!(atom.method.as_str(), "state" | "result" | "source_status")
                && state.is_none()
            {
                return Err(Error::new(ErrorKind::Selector, format!("selector `{raw}` needs a previous run's artifacts"))
                    .with_hint("pass --state <dir> with the manifest.json / run_results.json of an earlier run"));
            }
            if atom.method == "source_status" {
                if let (Some(s), Some(node)) = (state, manifest.nodes.first()) {
                    // Missing sources.json or an unknown value is an error, not an empty set.
                    s.matches_source_status(&atom.value, node)?;
                }
            }
            if atom.method == "exposure" {
                // Exposures are not built: `exposure:x` selects no node,
                // `+exposure:x` (`n+exposure:x`) what it reads and above.
                let mut set = BTreeSet::new();
                if let Some(depth) = atom.parents {
                    for e in manifest
                        .exposures
                        .iter()
                        .filter(|e| glob(&atom.value, &e.name))
                    {
                        for uid in &e.depends_on {
                            let Some(d) = manifest.nodes.iter().position(|n| &n.unique_id == uid)
                            else {
                                continue;
                            };
                            set.insert(d);
                            if depth != Some(1) {
                                set.extend(graph.reach(
                                    d,
                                    Direction::Incoming,
                                    depth.map(|n| n - 1),
                                ));
                            }
                        }
                    }
                }
                intersection = Some(match intersection {
                    None => set,
                    Some(prev) => prev.intersection(&set).copied().collect(),
                });
                continue;
            }
            let mut set: BTreeSet<usize> = manifest
                .nodes
                .iter()
                .enumerate()
                .filter(|(_, n)| matches(&atom, n, &manifest.project_name, state))
                .map(|(i, _)| i)
                .collect();
            let base = set.clone();
            for &i in &base {
                if let Some(depth) = atom.parents {
                    set.extend(graph.reach(i, Direction::Incoming, depth));
                }
                if let Some(depth) = atom.children {
                    set.extend(graph.reach(i, Direction::Outgoing, depth));
                }
                if atom.at {
                    let desc = graph.reach(i, Direction::Outgoing, None);
                    for &d in &desc {
                        set.extend(graph.reach(d, Direction::Incoming, None));
                    }
                    set.extend(desc);
                }
            }
            intersection = Some(match intersection {
                None => set,
                Some(prev) => prev.intersection(&set).copied().collect(),
            });
        }
        union.extend(intersection.unwrap_or_default());
    }
    Ok(union)
}

/// Adds tests with at least one selected parent (dbt's eager indirect selection).
fn with_tests(set: &BTreeSet<usize>, manifest: &Manifest, graph: &Graph) -> BTreeSet<usize> {
    let mut out = set.clone();
    for &i in set {
        for c in graph.children(i) {
            if matches!(
                manifest.nodes[c].resource_type,
                ResourceType::Test | ResourceType::UnitTest
            ) {
                out.insert(c);
            }
        }
    }
    out
}

/// Selects nodes of `types` with `select` (all when empty) minus `exclude`.
/// Returns positions in [`Manifest::nodes`], sorted.
///
/// Errors: [`ErrorKind::Selector`] for a malformed expression.
pub fn select(
    manifest: &Manifest,
    graph: &Graph,
    select: &[String],
    exclude: &[String],
    types: &[ResourceType],
    state: Option<&PreviousState>,
) -> Result<BTreeSet<usize>> {
    let chosen = if select.is_empty() {
        (0..manifest.nodes.len()).collect()
    } else {
        with_tests(&evaluate(select, manifest, graph, state)?, manifest, graph)
    };
    let excluded = if exclude.is_empty() {
        BTreeSet::new()
    } else {
        with_tests(&evaluate(exclude, manifest, graph, state)?, manifest, graph)
    };
    Ok(chosen
        .difference(&excluded)
        .copied()
        .filter(|&i| types.contains(&manifest.nodes[i].resource_type))
        .collect())
}

/// The criteria of `terms` (`--select` or `--exclude` values, split on
/// whitespace and commas) that match no enabled node, as dbt's
/// "The selection criterion ... does not match any enabled nodes" warning,
/// each with a hint when its shape is the likely cause (`+@orders+`: the
/// `@` operator goes first). A criterion that is not valid is left to
/// [`select`]'s error.
pub fn unmatched(
    terms: &[String],
    manifest: &Manifest,
    state: Option<&PreviousState>,
) -> Vec<Error> {
    let mut out = Vec::new();
    for raw in terms
        .iter()
        .flat_map(|t| t.split_whitespace())
        .flat_map(|t| t.split(','))
    {
        let Ok(atom) = parse_atom(raw) else { continue };
        if matches!(atom.method.as_str(), "state" | "result" | "source_status") && state.is_none() {
            continue;
        }
        if atom.method == "exposure"
            && manifest
                .exposures
                .iter()
                .any(|e| glob(&atom.value, &e.name))
        {
            continue;
        }
        if manifest
            .nodes
            .iter()
            .any(|n| matches(&atom, n, &manifest.project_name, state))
        {
            continue;
        }
        let mut warning = Error::new(
            ErrorKind::Selector,
            format!("the selection criterion `{raw}` does not match any enabled nodes"),
        );
        if atom.value.contains(['@', '+']) {
            warning = warning.with_hint(
                "graph operators go around the name: `@orders` (the `@` first, alone) or `2+orders+`",
            );
        }
        out.push(warning);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_graph_operators() {
        let a = parse_atom("2+orders+").unwrap();
        assert_eq!((a.parents, a.children), (Some(Some(2)), Some(None)));
        let a = parse_atom("+tag:nightly+1").unwrap();
        assert_eq!((a.method.as_str(), a.value.as_str()), ("tag", "nightly"));
        assert_eq!((a.parents, a.children), (Some(None), Some(Some(1))));
        let a = parse_atom("models/staging").unwrap();
        assert_eq!(a.method, "path");
        assert!(parse_atom("bogus:x").is_err());
        assert!(parse_atom("@+x").is_err());
    }

    #[test]
    fn glob_wildcards() {
        assert!(glob("stg_*", "stg_orders"));
        assert!(glob("*orders", "stg_orders"));
        assert!(glob("s*_o*s", "stg_orders"));
        assert!(!glob("stg_*", "orders"));
    }
}
