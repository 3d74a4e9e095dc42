//! The dependency graph (petgraph): topological order, cycle reports,
//! ancestors and descendants for selectors, and dbt build's test edges.

use std::collections::{BTreeSet, HashMap, HashSet, VecDeque};

use petgraph::algo::tarjan_scc;
use petgraph::graph::{DiGraph, NodeIndex};
use petgraph::Direction;

use crate::error::{Error, ErrorKind, Location, Result};
use crate::manifest::{slash, Manifest, ResourceType};

/// Edges point from a node to the nodes that depend on it (parent -> child).
/// Graph indices are positions in [`Manifest::nodes`].
#[derive(Debug)]
pub struct Graph {
    dag: DiGraph<usize, ()>,
}

impl Graph {
    /// Builds the graph of `manifest` and checks it has no cycle.
    ///
    /// Errors: [`ErrorKind::Cycle`] naming the cycle (`a -> b -> c -> a`) and
    /// each node's file.
    pub fn build(manifest: &Manifest) -> Result<Graph> {
        let mut dag = DiGraph::with_capacity(manifest.nodes.len(), manifest.nodes.len() * 2);
        for i in 0..manifest.nodes.len() {
            dag.add_node(i);
        }
        for (i, node) in manifest.nodes.iter().enumerate() {
            for dep in &node.depends_on {
                if let Some(p) = manifest.position(dep) {
                    dag.add_edge(NodeIndex::new(p), NodeIndex::new(i), ());
                }
            }
        }
        let graph = Graph { dag };
        graph.check_cycles(manifest)?;
        Ok(graph)
    }

    fn check_cycles(&self, manifest: &Manifest) -> Result<()> {
        for scc in tarjan_scc(&self.dag) {
            let self_loop = scc.len() == 1 && self.dag.contains_edge(scc[0], scc[0]);
            if scc.len() < 2 && !self_loop {
                continue;
            }
            let members: HashSet<NodeIndex> = scc.iter().copied().collect();
            // Walk the cycle from its smallest member for a stable message.
            let start = *scc
                .iter()
                .min_by_key(|ix| &manifest.nodes[ix.index()].unique_id)
                .expect("non-empty");
            let mut path = vec![start];
            let mut current = start;
            loop {
                // Follow "depends on" edges, so the message reads in ref order.
                let next = self
                    .dag
                    .neighbors_directed(current, Direction::Incoming)
                    .filter(|n| members.contains(n))
                    .min_by_key(|n| {
                        if *n == start {
                            String::new()
                        } else {
                            manifest.nodes[n.index()].unique_id.clone()
                        }
                    })
                    .expect("cycle member has a successor in the cycle");
                if next == start || path.contains(&next) {
                    path.push(next);
                    break;
                }
                path.push(next);
                current = next;
            }
            let names: Vec<&str> = path
                .iter()
                .map(|ix| manifest.nodes[ix.index()].name.as_str())
                .collect();
            let mut err = Error::new(
                ErrorKind::Cycle,
                format!(
                    "dependency cycle: {} (each refers to the next)",
                    names.join(" -> ")
                ),
            )
            .with_hint(
                "a model cannot depend on itself through its refs; remove one of these refs",
            );
            // Located at the first ref of the cycle: where `names[0]`
            // refers to `names[1]` (or the top of its file).
            let first = &manifest.nodes[path[0].index()];
            let offset = [format!("'{}'", names[1]), format!("\"{}\"", names[1])]
                .iter()
                .filter_map(|quoted| first.raw_code.find(quoted.as_str()))
                .min();
            err = err.with_location(match offset {
                Some(offset) => {
                    Location::from_offset(&first.original_file_path, &first.raw_code, offset)
                }
                None => Location::new(&first.original_file_path, 1, 1, Some(&first.raw_code)),
            });
            for ix in &path[..path.len() - 1] {
                let node = &manifest.nodes[ix.index()];
                err = err.with_note(format!(
                    "`{}` is defined in `{}`",
                    node.name,
                    slash(&node.original_file_path)
                ));
            }
            return Err(err);
        }
        Ok(())
    }

    /// Direct parents of node `i`.
    pub fn parents(&self, i: usize) -> impl Iterator<Item = usize> + '_ {
        self.dag
            .neighbors_directed(NodeIndex::new(i), Direction::Incoming)
            .map(|n| n.index())
    }

    /// Direct children of node `i`.
    pub fn children(&self, i: usize) -> impl Iterator<Item = usize> + '_ {
        self.dag
            .neighbors_directed(NodeIndex::new(i), Direction::Outgoing)
            .map(|n| n.index())
    }

    /// Nodes reachable from `start` going `dir`, up to `depth` steps (None:
    /// unlimited), not including `start` itself.
    pub fn reach(&self, start: usize, dir: Direction, depth: Option<usize>) -> BTreeSet<usize> {
        let mut seen = BTreeSet::new();
        let mut queue = VecDeque::from([(start, 0usize)]);
        while let Some((n, d)) = queue.pop_front() {
            if depth.is_some_and(|max| d >= max) {
                continue;
            }
            for m in self.dag.neighbors_directed(NodeIndex::new(n), dir) {
                if seen.insert(m.index()) {
                    queue.push_back((m.index(), d + 1));
                }
            }
        }
        seen.remove(&start);
        seen
    }

    /// Extra dependencies `dbt build` adds so that a failing test skips what
    /// is downstream of the node it tests: each test becomes a parent of
    /// every child of its parents, when all of the test's parents are
    /// ancestors of (or are) that child, as dbt's `add_test_edges`.
    /// Returns `(test, child)` pairs among `selected` nodes.
    pub fn build_test_edges(
        &self,
        manifest: &Manifest,
        selected: &BTreeSet<usize>,
    ) -> Vec<(usize, usize)> {
        let mut edges = Vec::new();
        for &t in selected {
            if manifest.nodes[t].resource_type != ResourceType::Test {
                continue;
            }
            let parents: Vec<usize> = self.parents(t).collect();
            let mut candidates = BTreeSet::new();
            for &p in &parents {
                for c in self.children(p) {
                    if c != t
                        && selected.contains(&c)
                        && !matches!(
                            manifest.nodes[c].resource_type,
                            ResourceType::Test | ResourceType::UnitTest
                        )
                    {
                        candidates.insert(c);
                    }
                }
            }
            for c in candidates {
                if parents.len() == 1 {
                    edges.push((t, c));
                    continue;
                }
                let ancestors = self.reach(c, Direction::Incoming, None);
                if parents.iter().all(|p| ancestors.contains(p)) {
                    edges.push((t, c));
                }
            }
        }
        edges
    }
}

/// Models and snapshots grouped by depth: every node's parents are in
/// earlier groups (compile's contract checks and column lineage go level by
/// level). Positions into `manifest.nodes`.
pub fn levels(manifest: &Manifest) -> Vec<Vec<usize>> {
    let order = topological(manifest);
    let mut depth: HashMap<usize, usize> = HashMap::new();
    let mut out: Vec<Vec<usize>> = Vec::new();
    for i in order {
        let d = manifest.nodes[i]
            .depends_on
            .iter()
            .filter_map(|dep| manifest.position(dep))
            .filter_map(|p| depth.get(&p).map(|d| d + 1))
            .max()
            .unwrap_or(0);
        depth.insert(i, d);
        if out.len() <= d {
            out.resize_with(d + 1, Vec::new);
        }
        out[d].push(i);
    }
    out
}

/// Models and snapshots, parents first: a depth-first post-order over
/// `depends_on`, walked with an explicit stack so a chain of thousands of
/// models cannot overflow the thread's stack.
fn topological(manifest: &Manifest) -> Vec<usize> {
    let n = manifest.nodes.len();
    let mut seen = vec![false; n];
    let mut out = Vec::with_capacity(n);
    // (node, index of the next dependency to visit)
    let mut stack: Vec<(usize, usize)> = Vec::new();
    for root in 0..n {
        if seen[root] {
            continue;
        }
        seen[root] = true;
        stack.push((root, 0));
        while let Some((i, next)) = stack.last_mut() {
            let (i, k) = (*i, *next);
            match manifest.nodes[i].depends_on.get(k) {
                Some(dep) => {
                    *next += 1;
                    if let Some(d) = manifest.position(dep) {
                        if !seen[d] {
                            seen[d] = true;
                            stack.push((d, 0));
                        }
                    }
                }
                None => {
                    out.push(i);
                    stack.pop();
                }
            }
        }
    }
    out.retain(|&i| {
        matches!(
            manifest.nodes[i].resource_type,
            ResourceType::Model | ResourceType::Snapshot
        )
    });
    out
}

/// The dependency graph of the nodes at `selected` (positions in
/// `manifest`) as a left-to-right Mermaid flowchart, or Graphviz DOT when
/// `dot`: one vertex per node labelled with its name and shaped by resource
/// type, one edge per `depends_on` between selected nodes. Names are escaped
/// for each format.
pub fn render_dag(manifest: &Manifest, selected: &BTreeSet<usize>, dot: bool) -> String {
    let id = |i: usize| format!("n{i}");
    // Sources by `source.table`: a source may share its table's name with a seed.
    let name = |i: usize| {
        let node = &manifest.nodes[i];
        match &node.source {
            Some(info) => format!("{}.{}", info.source_name, node.name),
            None => node.name.clone(),
        }
    };
    let mut out = String::new();
    if dot {
        out.push_str("digraph sluice {\n  rankdir=LR;\n  node [fontname=\"Helvetica\"];\n");
        for &i in selected {
            let node = &manifest.nodes[i];
            let shape = match node.resource_type {
                ResourceType::Seed => "cylinder",
                ResourceType::Source => "cylinder",
                ResourceType::Snapshot => "folder",
                _ => "box",
            };
            let label = name(i).replace('\\', "\\\\").replace('"', "\\\"");
            out.push_str(&format!(
                "  {} [label=\"{label}\", shape={shape}, tooltip=\"{}\"];\n",
                id(i),
                node.unique_id.replace('"', "\\\"")
            ));
        }
    } else {
        out.push_str("flowchart LR\n");
        for &i in selected {
            let node = &manifest.nodes[i];
            let label: String = name(i)
                .chars()
                .map(|c| match c {
                    '"' => "#quot;".to_owned(),
                    '<' => "#lt;".to_owned(),
                    '>' => "#gt;".to_owned(),
                    c => c.to_string(),
                })
                .collect();
            let (open, close) = match node.resource_type {
                ResourceType::Seed | ResourceType::Source => ("[(", ")]"),
                ResourceType::Snapshot => ("[[", "]]"),
                _ => ("[", "]"),
            };
            out.push_str(&format!("  {}{open}\"{label}\"{close}\n", id(i)));
        }
    }
    for &i in selected {
        let mut parents: Vec<usize> = manifest.nodes[i]
            .depends_on
            .iter()
            .filter_map(|d| manifest.position(d))
            .filter(|p| selected.contains(p))
            .collect();
        parents.sort_unstable();
        for p in parents {
            out.push_str(&format!(
                "  {} {} {}{}\n",
                id(p),
                if dot { "->" } else { "-->" },
                id(i),
                if dot { ";" } else { "" }
            ));
        }
    }
    if dot {
        out.push_str("}\n");
    } else {
        // Colours by resource type, as the docs site draws them.
        out.push_str("  classDef seed fill:#e8f5e9,stroke:#2e7d32\n  classDef source fill:#e3f2fd,stroke:#1565c0\n  classDef snapshot fill:#fff3e0,stroke:#ef6c00\n");
        for (class, kind) in [
            ("seed", ResourceType::Seed),
            ("source", ResourceType::Source),
            ("snapshot", ResourceType::Snapshot),
        ] {
            let members: Vec<String> = selected
                .iter()
                .filter(|&&i| manifest.nodes[i].resource_type == kind)
                .map(|&i| id(i))
                .collect();
            if !members.is_empty() {
                out.push_str(&format!("  class {} {class}\n", members.join(",")));
            }
        }
    }
    out
}
