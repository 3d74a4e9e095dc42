//! Dependency resolution: every ref, source and macro call of a node
//! resolved to unique_ids, an unknown one a located error with a did-you-mean.

use std::collections::{BTreeMap, HashMap};

use crate::error::{did_you_mean, Error, ErrorKind, Location, Result};
use crate::manifest::node::{slash, Node, ResourceType};
use crate::manifest::patches::Patches;
use crate::project::Project;
use crate::render::RefCall;
use crate::warehouse::relation::Relation;

/// Adds `ref(package, name)` to a node's refs unless it is there.
pub(crate) fn push_ref(node: &mut Node, package: Option<String>, name: String) {
    if !node
        .refs
        .iter()
        .any(|r| r.name == name && r.package == package)
    {
        node.refs.push(RefCall {
            package,
            name,
            version: None,
        });
    }
}

/// Macro names to their unique_ids (several when packages define the same
/// name), for finding which macros a file calls.
#[derive(Debug, Default)]
pub struct MacroNames(HashMap<String, Vec<String>>);

impl MacroNames {
    /// Indexes `(name, unique_id)` pairs.
    pub fn new<'a>(macros: impl IntoIterator<Item = (&'a str, &'a str)>) -> MacroNames {
        let mut by_name: HashMap<String, Vec<String>> = HashMap::new();
        for (name, id) in macros {
            by_name
                .entry(name.to_owned())
                .or_default()
                .push(id.to_owned());
        }
        MacroNames(by_name)
    }

    /// The unique_id of macro `name` as a call from a node of `package`
    /// finds it, in dbt's order: `namespace.name` in that namespace only;
    /// unqualified, the node's package, then the root project, then dbt's
    /// global macros, then any package that defines it.
    pub fn resolve(
        &self,
        name: &str,
        namespace: Option<&str>,
        package: &str,
        root: &str,
    ) -> Option<String> {
        let ids = self.0.get(name)?;
        let in_package = |pkg: &str| {
            let id = format!("macro.{pkg}.{name}");
            ids.contains(&id).then_some(id)
        };
        match namespace {
            Some(ns) => in_package(ns),
            None => in_package(package)
                .or_else(|| in_package(root))
                .or_else(|| in_package("dbt"))
                .or_else(|| ids.iter().min().cloned()),
        }
    }

    /// unique_ids of the macros that the Jinja of `raw` (a file of
    /// `package`, in a project named `root`) calls, sorted: each
    /// `name(` or `namespace.name(` inside `{{ }}` or `{% %}` (SQL outside
    /// the tags, such as `cast(`, is not a call), resolved as
    /// [`MacroNames::resolve`]. A method call on something that is not a
    /// macro namespace (`adapter.dispatch(`, `cols.append(`) names no macro.
    /// Empty when `raw` has no Jinja.
    pub fn called_in(&self, raw: &str, package: &str, root: &str) -> Vec<String> {
        if !raw.contains("{{") && !raw.contains("{%") {
            return Vec::new();
        }
        let is_ident = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
        let mut out: Vec<String> = Vec::new();
        for span in jinja_spans(raw) {
            let bytes = span.as_bytes();
            let mut i = 0;
            while i < bytes.len() {
                if !is_ident(bytes[i]) {
                    i += 1;
                    continue;
                }
                let start = i;
                while i < bytes.len() && is_ident(bytes[i]) {
                    i += 1;
                }
                let name = &span[start..i];
                if !self.0.contains_key(name) || !span[i..].trim_start().starts_with('(') {
                    continue;
                }
                let namespace = span[..start].strip_suffix('.').map(|before| {
                    let ns_start = before
                        .bytes()
                        .rposition(|b| !is_ident(b))
                        .map_or(0, |p| p + 1);
                    &before[ns_start..]
                });
                if let Some(id) = self.resolve(name, namespace, package, root) {
                    out.push(id);
                }
            }
        }
        out.sort();
        out.dedup();
        out
    }
}

/// The insides of the `{{ ... }}` and `{% ... %}` tags of `raw` (not of
/// `{# ... #}` comments), in order. An unclosed tag runs to the end.
fn jinja_spans(raw: &str) -> Vec<&str> {
    let mut spans = Vec::new();
    let mut rest = raw;
    while let Some(open) = rest.find('{') {
        let after = &rest[open + 1..];
        let close = match after.as_bytes().first() {
            Some(b'{') => "}}",
            Some(b'%') => "%}",
            Some(b'#') => "#}",
            _ => {
                rest = after;
                continue;
            }
        };
        let body = &after[1..];
        let end = body.find(close).unwrap_or(body.len());
        if close != "#}" {
            spans.push(&body[..end]);
        }
        rest = &body[(end + close.len()).min(body.len())..];
    }
    spans
}

/// Resolves every node's refs and sources to unique_ids.
pub(crate) fn resolve_dependencies(
    project: &Project,
    patches: &Patches,
    nodes: &mut [Node],
    disabled: &[Node],
) -> Result<()> {
    let mut by_name: HashMap<String, String> = HashMap::new();
    let mut sources: BTreeMap<(String, String), String> = BTreeMap::new();
    // sluice extension: a source that names a seed's table depends on that
    // seed, so `build` loads the seed before models read the source.
    let seed_relations: HashMap<Relation, String> = nodes
        .iter()
        .filter(|n| n.resource_type == ResourceType::Seed)
        .filter_map(|n| n.relation.clone().map(|r| (r, n.unique_id.clone())))
        .collect();
    for node in nodes.iter() {
        match node.resource_type {
            ResourceType::Model | ResourceType::Seed | ResourceType::Snapshot => {
                by_name.insert(node.name.clone(), node.unique_id.clone());
            }
            ResourceType::Source => {
                if let Some(info) = &node.source {
                    sources.insert(
                        (info.source_name.clone(), node.name.clone()),
                        node.unique_id.clone(),
                    );
                }
            }
            _ => {}
        }
    }
    for node in nodes.iter_mut() {
        // A unit test depends on its model, set when it was built.
        let mut deps = if node.resource_type == ResourceType::UnitTest {
            node.depends_on.clone()
        } else {
            Vec::new()
        };
        for call in &node.refs {
            match by_name.get(&call.name) {
                // dbt reports a node that refs itself as a cycle; the rows
                // it would read are its own previous build, `{{ this }}`.
                Some(id) if id == &node.unique_id => {
                    return Err(Error::new(
                        ErrorKind::Cycle,
                        format!(
                            "{} `{}` refers to itself with ref('{}')",
                            node.resource_type.as_str(),
                            node.name,
                            call.name
                        ),
                    )
                    .with_hint("a model cannot read itself through ref(); to read the rows it built last time, make it incremental and use `{{ this }}` inside `{% if is_incremental() %}`")
                    .or_location(|| locate_call(node, "ref", &call.name)));
                }
                Some(id) => deps.push(id.clone()),
                None => {
                    return Err(unknown_ref(
                        project, patches, node, call, &by_name, disabled,
                    ))
                }
            }
        }
        for key in &node.sources {
            match sources.get(key) {
                Some(id) => deps.push(id.clone()),
                None => {
                    let known: Vec<String> =
                        sources.keys().map(|(s, t)| format!("{s}.{t}")).collect();
                    let wanted = format!("{}.{}", key.0, key.1);
                    let mut err = Error::new(
                        ErrorKind::UnknownSource,
                        format!(
                            "{} `{}` refers to source `{wanted}`, which does not exist",
                            node.resource_type.as_str(),
                            node.name
                        ),
                    )
                    .or_location(|| locate_call(node, "source", &key.0));
                    err = match did_you_mean(&wanted, known.iter().map(String::as_str)) {
                        Some(s) => err.with_hint(format!("did you mean `{s}`?")),
                        None => err.with_hint("declare it under `sources:` in a schema YAML file"),
                    };
                    return Err(err);
                }
            }
        }
        if node.resource_type == ResourceType::Source {
            if let Some(seed) = node.relation.as_ref().and_then(|r| seed_relations.get(r)) {
                deps.push(seed.clone());
            }
        }
        if let Some(meta) = &node.test_metadata {
            if let Some(attached) = &meta.attached_node {
                deps.push(attached.clone());
            }
        }
        deps.sort();
        deps.dedup();
        deps.retain(|d| d != &node.unique_id);
        node.depends_on = deps;
    }
    Ok(())
}

pub(crate) fn unknown_ref(
    project: &Project,
    patches: &Patches,
    node: &Node,
    call: &RefCall,
    by_name: &HashMap<String, String>,
    disabled: &[Node],
) -> Error {
    let what = node.resource_type.as_str();
    let location = || locate_call(node, "ref", &call.name);
    if let Some(d) = disabled.iter().find(|d| d.name == call.name) {
        return Error::new(
            ErrorKind::UnknownRef,
            format!(
                "{what} `{}` refers to `{}`, which is disabled",
                node.name, call.name
            ),
        )
        .or_location(location)
        .with_hint(format!(
            "enable `{}` (`enabled: true`) or remove the ref",
            slash(&d.original_file_path)
        ));
    }
    if let Some((yml, _)) = patches
        .seeds
        .iter()
        .find(|((_, name), _)| *name == call.name)
        .map(|(_, v)| v)
    {
        let expected = project
            .config
            .seed_paths
            .first()
            .map(|d| format!("{d}/{}.csv", call.name))
            .unwrap_or_default();
        return Error::new(
            ErrorKind::MissingFile,
            format!(
                "{what} `{}` refers to seed `{}`, which `{}` describes, but its CSV file `{expected}` does not exist",
                node.name,
                call.name,
                slash(yml)
            ),
        )
        .or_location(location)
        .with_hint(format!("add `{expected}` (a CSV file with a header row) or remove the ref"));
    }
    let err = Error::new(
        ErrorKind::UnknownRef,
        format!(
            "{what} `{}` refers to `{}`, which does not exist",
            node.name, call.name
        ),
    )
    .or_location(location);
    match did_you_mean(&call.name, by_name.keys().map(String::as_str)) {
        Some(s) => err.with_hint(format!("did you mean `{s}`?")),
        None => err.with_hint("create a model or seed with that name, or fix the spelling"),
    }
}

/// The location of `func('arg'` in the node's file, if it is written there.
pub(crate) fn locate_call(node: &Node, func: &str, arg: &str) -> Option<Location> {
    let raw = &node.raw_code;
    for quote in ['\'', '"'] {
        let needle = format!("{quote}{arg}{quote}");
        let mut from = 0;
        while let Some(i) = raw[from..].find(&needle) {
            let at = from + i;
            let before = raw[..at].trim_end();
            let before = before
                .strip_suffix(',')
                .map(str::trim_end)
                .unwrap_or(before);
            let before = before.strip_suffix('(').map(str::trim_end);
            if let Some(b) = before {
                if b.ends_with(func) || (func == "ref" && b.contains("ref(")) {
                    let start = b.len() - func.len().min(b.len());
                    let call_start = raw[..at].rfind(func).unwrap_or(start);
                    return Some(Location::from_offset(
                        &node.original_file_path,
                        raw,
                        call_start,
                    ));
                }
            }
            from = at + needle.len();
        }
    }
    None
}
