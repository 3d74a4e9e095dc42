//! The layering of src/, checked from its text: every import between files
//! must point down [`LAYERS`] (or stay in its layer), no files may import
//! each other in a cycle, and every imported module must have a layer.
//! Issue 18 drew the layers; this test keeps them without review.
//!
//! An import is a `use` tree (`use crate::a::{b, c::d}`, multi-line too),
//! an inline path anywhere in code (`crate::a::f(..)`), a `super::` or
//! `self::` path, or a path through a child module (`use scope::Scope` in
//! `render/mod.rs`); comments, doc comments and string literals are not
//! code. `mod x;` declares, it does not import. `src/lib.rs` is exempt;
//! `src/main.rs` is the top layer and imports the library as `sluice::`.
//! A cycle through an upward import is reported as that import (fixing it
//! breaks the cycle), so the cycles listed are those inside a layer.
//!
//! Pure std, nothing from sluice, so it compiles in a moment.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::path::Path;

/// The layers, bottom to top. A module may import modules of its own layer
/// (never in a cycle) and of the layers below, never above.
const LAYERS: &[&[&str]] = &[
    // 1. Foundation: diagnostics, SQL dialect names, what any warehouse is
    //    (relations, the connection trait), stage timings.
    &["error", "dialect", "warehouse", "timing"],
    // 2. Files, YAML, profiles, packages on disk; no rendering.
    &["project"],
    // 3. The minijinja environment with dbt's context.
    &["render"],
    // 4. Parsing every node into the manifest (the first render).
    &["manifest"],
    // 5. Order, DAG levels, selection, state comparison.
    &["graph", "selector", "state"],
    // 6. SQL parsing, lineage, contracts, the second render.
    &["sql", "lineage", "grain", "contract", "compile"],
    // 7. The scheduler.
    &["execute"],
    // 8. Warehouse engines, running one node, and what runs on them.
    &[
        "adapter",
        "runner",
        "materialize",
        "data_tests",
        "unit_tests",
        "show",
        "freshness",
    ],
    // 9. Artifacts, the docs site, package installation.
    &["docs", "deps"],
    // 10. The command-line grammar.
    &["cli"],
    // 11. One module per command.
    &["commands"],
    // 12. The binary.
    &["main"],
];

/// 1-based layer of a top-level module, if it has one.
fn layer_of(module: &str) -> Option<usize> {
    LAYERS
        .iter()
        .position(|layer| layer.contains(&module))
        .map(|i| i + 1)
}

/// One import found in a file: the path as written, the crate-absolute
/// path it names (segments after `crate::`), and its 1-based line.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Import {
    line: usize,
    written: String,
    absolute: Vec<String>,
}

// ---------------------------------------------------------------------------
// Reading Rust text: blank out comments and literals, then tokenize.

/// `text` with every comment, string, byte string and char literal replaced
/// by spaces (newlines kept, so lines still count).
fn strip_comments_and_literals(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let blank = |out: &mut String, span: &[char]| {
        for &c in span {
            out.push(if c == '\n' { '\n' } else { ' ' });
        }
    };
    let is_ident = |c: char| c.is_alphanumeric() || c == '_';
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        let after_ident = i > 0 && is_ident(chars[i - 1]);
        if c == '/' && next == Some('/') {
            let end = chars[i..]
                .iter()
                .position(|&c| c == '\n')
                .map_or(chars.len(), |p| i + p);
            blank(&mut out, &chars[i..end]);
            i = end;
        } else if c == '/' && next == Some('*') {
            let (mut j, mut depth) = (i + 2, 1);
            while j < chars.len() && depth > 0 {
                if chars[j] == '/' && chars.get(j + 1) == Some(&'*') {
                    depth += 1;
                    j += 2;
                } else if chars[j] == '*' && chars.get(j + 1) == Some(&'/') {
                    depth -= 1;
                    j += 2;
                } else {
                    j += 1;
                }
            }
            blank(&mut out, &chars[i..j]);
            i = j;
        } else if let Some(end) = (!after_ident).then(|| raw_string_end(&chars, i)).flatten() {
            blank(&mut out, &chars[i..end]);
            i = end;
        } else if c == '"' || (!after_ident && matches!(c, 'b' | 'c') && next == Some('"')) {
            let mut j = if c == '"' { i + 1 } else { i + 2 };
            while j < chars.len() && chars[j] != '"' {
                j += if chars[j] == '\\' { 2 } else { 1 };
            }
            let end = (j + 1).min(chars.len());
            blank(&mut out, &chars[i..end]);
            i = end;
        } else if c == '\'' || (!after_ident && c == 'b' && next == Some('\'')) {
            let q = if c == '\'' { i } else { i + 1 };
            match char_literal_end(&chars, q) {
                Some(end) => {
                    blank(&mut out, &chars[i..end]);
                    i = end;
                }
                // A lifetime or a loop label.
                None => {
                    out.push(c);
                    i += 1;
                }
            }
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

/// End (exclusive) of a raw string starting at `i` (`r"`, `r#"`, `br##"`,
/// `cr"`), if one starts there.
/// `code` (already without comments and literals) with every
/// `#[cfg(test)] mod name { ... }` blanked out, newlines kept. A unit test
/// may wire layers together (a template test on a real DuckDB connection,
/// a project test with the real renderer); it is not part of the
/// structure, so its imports are not checked.
fn strip_test_modules(code: &str) -> String {
    let mut out: Vec<char> = code.chars().collect();
    let text: String = out.iter().collect();
    let mut from = 0;
    while let Some(at) = text[from..].find("#[cfg(test)]") {
        let start = from + at;
        let after = &text[start + "#[cfg(test)]".len()..];
        let rest = after.trim_start();
        let is_mod = rest.starts_with("mod ") || rest.starts_with("pub mod ");
        let open = text[start..].find('{').map(|o| start + o);
        let (true, Some(open)) = (is_mod, open) else {
            from = start + 1;
            continue;
        };
        // Byte offsets equal char offsets here only for ASCII; map through chars.
        let chars_before = text[..open].chars().count();
        let mut depth = 0usize;
        let mut end = out.len();
        for (k, c) in out.iter().enumerate().skip(chars_before) {
            match c {
                '{' => depth += 1,
                '}' => {
                    depth -= 1;
                    if depth == 0 {
                        end = k + 1;
                        break;
                    }
                }
                _ => {}
            }
        }
        let first = text[..start].chars().count();
        for c in &mut out[first..end] {
            if *c != '\n' {
                *c = ' ';
            }
        }
        from = open + 1;
    }
    out.into_iter().collect()
}

fn raw_string_end(chars: &[char], i: usize) -> Option<usize> {
    let mut j = i;
    if matches!(chars.get(j), Some('b' | 'c')) {
        j += 1;
    }
    if chars.get(j) != Some(&'r') {
        return None;
    }
    j += 1;
    let hashes = chars[j..].iter().take_while(|&&c| c == '#').count();
    j += hashes;
    if chars.get(j) != Some(&'"') {
        return None;
    }
    j += 1;
    while j < chars.len() {
        if chars[j] == '"'
            && chars[j + 1..]
                .iter()
                .take(hashes)
                .filter(|&&c| c == '#')
                .count()
                == hashes
        {
            return Some(j + 1 + hashes);
        }
        j += 1;
    }
    Some(chars.len())
}

/// End (exclusive) of a char literal whose opening quote is at `q`, or
/// `None` for a lifetime (`'a`, `'static`) or label.
fn char_literal_end(chars: &[char], q: usize) -> Option<usize> {
    match chars.get(q + 1) {
        Some('\\') => {
            let mut j = q + 3;
            while j < chars.len() && chars[j] != '\'' {
                j += 1;
            }
            Some((j + 1).min(chars.len()))
        }
        Some(_) if chars.get(q + 2) == Some(&'\'') => Some(q + 3),
        _ => None,
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
    Ident(String),
    /// `::`
    PathSep,
    Punct(char),
    /// A number or a lifetime: nothing an import is made of.
    Other,
}

/// Tokens of stripped text, each with its 1-based line.
fn tokenize(text: &str) -> Vec<(Tok, usize)> {
    let chars: Vec<char> = text.chars().collect();
    let mut tokens = Vec::new();
    let (mut i, mut line) = (0, 1);
    let is_ident = |c: char| c.is_alphanumeric() || c == '_';
    while i < chars.len() {
        let c = chars[i];
        if c == '\n' {
            line += 1;
            i += 1;
        } else if c.is_whitespace() {
            i += 1;
        } else if c == '\'' || c.is_ascii_digit() {
            // A lifetime, a label or a number (suffix included).
            i += 1;
            while i < chars.len() && is_ident(chars[i]) {
                i += 1;
            }
            tokens.push((Tok::Other, line));
        } else if is_ident(c) {
            let start = i;
            while i < chars.len() && is_ident(chars[i]) {
                i += 1;
            }
            let mut word: String = chars[start..i].iter().collect();
            // A raw identifier: `r#type` is `type`.
            if word == "r" && chars.get(i) == Some(&'#') {
                let rest = i + 1;
                let mut end = rest;
                while end < chars.len() && is_ident(chars[end]) {
                    end += 1;
                }
                word = chars[rest..end].iter().collect();
                i = end;
            }
            tokens.push((Tok::Ident(word), line));
        } else if c == ':' && chars.get(i + 1) == Some(&':') {
            tokens.push((Tok::PathSep, line));
            i += 2;
        } else {
            tokens.push((Tok::Punct(c), line));
            i += 1;
        }
    }
    tokens
}

// ---------------------------------------------------------------------------
// Files, modules and paths.

/// The module path of a file: `src/a/b.rs` and `src/a/b/mod.rs` are
/// `["a", "b"]`, `src/lib.rs` and `src/main.rs` the crate root.
fn module_path(file: &str) -> Vec<String> {
    let rel = file.strip_prefix("src/").unwrap_or(file);
    let rel = rel.strip_suffix(".rs").unwrap_or(rel);
    let mut segments: Vec<String> = rel.split('/').map(str::to_owned).collect();
    if matches!(
        segments.last().map(String::as_str),
        Some("mod" | "lib" | "main")
    ) {
        segments.pop();
    }
    segments
}

/// The top-level module a file belongs to (`main` for src/main.rs).
fn top_module(file: &str) -> String {
    if file == "src/main.rs" {
        return "main".into();
    }
    module_path(file).first().cloned().unwrap_or_default()
}

/// The file that defines the module at `segments`, if there is one.
fn module_file(files: &BTreeSet<String>, segments: &[String]) -> Option<String> {
    if segments.is_empty() {
        return Some("src/lib.rs".into());
    }
    let base = format!("src/{}", segments.join("/"));
    [format!("{base}.rs"), format!("{base}/mod.rs")]
        .into_iter()
        .find(|f| files.contains(f))
}

/// The file an absolute path points at: the deepest existing file among its
/// prefixes (`crate::a::b::Name` is src/a/b.rs, else src/a/b/mod.rs, else
/// src/a.rs, ...), so a name re-exported by a mod.rs points at the mod.rs.
fn resolve_file(files: &BTreeSet<String>, absolute: &[String]) -> Option<String> {
    (1..=absolute.len())
        .rev()
        .find_map(|k| module_file(files, &absolute[..k]))
}

/// What `src/lib.rs` re-exports at the crate root (`pub use error::Error`
/// makes `crate::Error` mean `crate::error::Error`): name -> absolute path.
fn root_reexports(lib: &str) -> BTreeMap<String, Vec<String>> {
    let tokens = tokenize(&strip_comments_and_literals(lib));
    let mut out = BTreeMap::new();
    for (i, (tok, _)) in tokens.iter().enumerate() {
        if *tok == Tok::Ident("use".into()) && i > 0 && tokens[i - 1].0 == Tok::Ident("pub".into())
        {
            let mut leaves = Vec::new();
            let mut j = i + 1;
            use_tree(&tokens, &mut j, &[], &mut leaves);
            for leaf in leaves {
                let mut path: Vec<String> = leaf.segments.iter().map(|(s, _)| s.clone()).collect();
                if path.first().map(String::as_str) == Some("crate") {
                    path.remove(0);
                }
                let name = leaf.alias.clone().or_else(|| path.last().cloned());
                if let (Some(name), false) = (name, leaf.glob) {
                    out.insert(name, path);
                }
            }
        }
    }
    out
}

/// One leaf of a `use` tree.
#[derive(Debug, Clone)]
struct UseLeaf {
    /// Each segment with its line (`self` in a group already folded in).
    segments: Vec<(String, usize)>,
    /// Ends in `*`.
    glob: bool,
    /// `as name`.
    alias: Option<String>,
    /// The line of the leaf's last token.
    line: usize,
}

/// Parses the use tree at `tokens[*i]` (after `use`) under `prefix`,
/// pushing its leaves; leaves `*i` after the tree.
fn use_tree(
    tokens: &[(Tok, usize)],
    i: &mut usize,
    prefix: &[(String, usize)],
    leaves: &mut Vec<UseLeaf>,
) {
    let mut path = prefix.to_vec();
    while let Some((tok, line)) = tokens.get(*i) {
        match tok {
            Tok::PathSep => *i += 1,
            Tok::Ident(name) => {
                *i += 1;
                if name == "self" && !path.is_empty() {
                    // `a::{self, ..}` is `a` itself.
                } else {
                    path.push((name.clone(), *line));
                }
                if tokens.get(*i).map(|t| &t.0) == Some(&Tok::PathSep) {
                    continue;
                }
                let mut alias = None;
                if tokens.get(*i).map(|t| &t.0) == Some(&Tok::Ident("as".into())) {
                    if let Some((Tok::Ident(a), _)) = tokens.get(*i + 1) {
                        alias = Some(a.clone());
                    }
                    *i += 2;
                }
                leaves.push(UseLeaf {
                    segments: path,
                    glob: false,
                    alias,
                    line: *line,
                });
                return;
            }
            Tok::Punct('*') => {
                *i += 1;
                leaves.push(UseLeaf {
                    segments: path,
                    glob: true,
                    alias: None,
                    line: *line,
                });
                return;
            }
            Tok::Punct('{') => {
                *i += 1;
                while let Some((tok, _)) = tokens.get(*i) {
                    match tok {
                        Tok::Punct('}') => {
                            *i += 1;
                            return;
                        }
                        Tok::Punct(',') => *i += 1,
                        _ => {
                            let before = *i;
                            use_tree(tokens, i, &path, leaves);
                            if *i == before {
                                *i += 1;
                            }
                        }
                    }
                }
                return;
            }
            _ => return,
        }
    }
}

/// Every import of one file, in order. `files` is every file of the crate
/// (to tell a child module `x::` from an external crate `x::`), `reexports`
/// the crate root's re-exports.
fn imports_of(
    file: &str,
    text: &str,
    files: &BTreeSet<String>,
    reexports: &BTreeMap<String, Vec<String>>,
) -> Vec<Import> {
    let tokens = tokenize(&strip_test_modules(&strip_comments_and_literals(text)));
    let is_main = file == "src/main.rs";
    let file_module = if is_main { vec![] } else { module_path(file) };
    // Child modules that exist as files: `use scope::Scope` in render/mod.rs.
    let children: BTreeSet<String> = if is_main {
        BTreeSet::new()
    } else {
        files
            .iter()
            .filter_map(|f| {
                let m = module_path(f);
                (m.len() == file_module.len() + 1 && m.starts_with(&file_module))
                    .then(|| m[file_module.len()].clone())
            })
            .collect()
    };
    // Absolute path of a path written in a module nested `inline` deep in the file.
    let absolute = |written: &[String], inline: &[String]| -> Option<Vec<String>> {
        let mut here: Vec<String> = file_module.iter().chain(inline).cloned().collect();
        let (first, rest) = written.split_first()?;
        let mut path = match first.as_str() {
            // In main.rs, `crate`, `self` and `super` are the binary's own items.
            "sluice" if is_main => rest.to_vec(),
            _ if is_main => return None,
            "crate" => rest.to_vec(),
            "self" => here.iter().chain(rest).cloned().collect(),
            "super" => {
                let mut rest = rest;
                here.pop()?;
                while let Some(("super", tail)) = rest.split_first().map(|(h, t)| (h.as_str(), t)) {
                    here.pop()?;
                    rest = tail;
                }
                here.iter().chain(rest).cloned().collect()
            }
            name if children.contains(name) => file_module.iter().chain(written).cloned().collect(),
            _ => return None,
        };
        if let Some(target) = path.first().and_then(|first| reexports.get(first)) {
            path.splice(0..1, target.iter().cloned());
        }
        // A name defined in src/lib.rs itself, which is exempt.
        module_file(files, path.get(..1)?)?;
        Some(path)
    };
    let mut out = Vec::new();
    let mut depth = 0usize;
    // Inline modules (`mod tests { .. }`) around the current token, with
    // the brace depth each opened at.
    let mut inline: Vec<(String, usize)> = Vec::new();
    let mut i = 0;
    while i < tokens.len() {
        let (tok, line) = &tokens[i];
        let inline_names: Vec<String> = inline.iter().map(|(n, _)| n.clone()).collect();
        match tok {
            Tok::Punct('{') => {
                depth += 1;
                i += 1;
            }
            Tok::Punct('}') => {
                depth = depth.saturating_sub(1);
                if inline.last().is_some_and(|&(_, d)| d == depth) {
                    inline.pop();
                }
                i += 1;
            }
            Tok::Ident(w) if w == "mod" => {
                if let (Some((Tok::Ident(name), _)), Some((Tok::Punct('{'), _))) =
                    (tokens.get(i + 1), tokens.get(i + 2))
                {
                    inline.push((name.clone(), depth));
                    depth += 1;
                    i += 3;
                } else {
                    i += 1;
                }
            }
            Tok::Ident(w) if w == "use" => {
                i += 1;
                let mut leaves = Vec::new();
                use_tree(&tokens, &mut i, &[], &mut leaves);
                for leaf in leaves {
                    let written: Vec<String> =
                        leaf.segments.iter().map(|(s, _)| s.clone()).collect();
                    if let Some(absolute) = absolute(&written, &inline_names) {
                        let mut text = written.join("::");
                        if leaf.glob {
                            text.push_str("::*");
                        }
                        out.push(Import {
                            line: leaf.line,
                            written: text,
                            absolute,
                        });
                    }
                }
            }
            Tok::Ident(first) => {
                // An inline path starts here unless it continues one (`a::first`)
                // or is a visibility (`pub(in crate::a)`).
                let continues = i > 0 && tokens[i - 1].0 == Tok::PathSep;
                let visibility = i > 1
                    && tokens[i - 1].0 == Tok::Ident("in".into())
                    && tokens[i - 2].0 == Tok::Punct('(');
                let mut j = i;
                let mut written = vec![first.clone()];
                while let (Some((Tok::PathSep, _)), Some((Tok::Ident(next), _))) =
                    (tokens.get(j + 1), tokens.get(j + 2))
                {
                    written.push(next.clone());
                    j += 2;
                }
                if !continues && !visibility && written.len() > 1 {
                    if let Some(absolute) = absolute(&written, &inline_names) {
                        out.push(Import {
                            line: *line,
                            written: written.join("::"),
                            absolute,
                        });
                    }
                }
                i = j + 1;
            }
            _ => i += 1,
        }
    }
    out
}

// ---------------------------------------------------------------------------
// The checks.

/// An import between two files, with the line it is on.
#[derive(Debug, Clone)]
struct Edge {
    from: String,
    to: String,
    line: usize,
}

/// Whether an import from top-level module `from` of `to` points up the
/// layer list (a module without a layer points nowhere).
fn points_up(from: &str, to: &str) -> bool {
    matches!((layer_of(from), layer_of(to)), (Some(a), Some(b)) if b > a)
}

/// Violations of the layer list: imports that point up it, imports of (and
/// files in) modules it lacks. One line per file, line and imported module,
/// sorted by file and line.
fn layer_violations(files: &BTreeMap<String, String>) -> Vec<String> {
    let names: BTreeSet<String> = files.keys().cloned().collect();
    let reexports = files
        .get("src/lib.rs")
        .map(|t| root_reexports(t))
        .unwrap_or_default();
    let mut out = Vec::new();
    for (file, text) in files {
        if file == "src/lib.rs" {
            continue;
        }
        let from = top_module(file);
        let imports = imports_of(file, text, &names, &reexports);
        if layer_of(&from).is_none() && !imports.is_empty() {
            out.push(format!("{file}: module `{from}` is not in the layer list"));
        }
        // (line, imported module) -> the paths written there.
        let mut bad: BTreeMap<(usize, String), Vec<String>> = BTreeMap::new();
        for import in imports {
            let to = &import.absolute[0];
            if *to != from && (layer_of(to).is_none() || points_up(&from, to)) {
                let written = bad.entry((import.line, to.clone())).or_default();
                if !written.contains(&import.written) {
                    written.push(import.written);
                }
            }
        }
        for ((line, to), written) in bad {
            let written = format!("`{}`", written.join("`, `"));
            out.push(match (layer_of(&from), layer_of(&to)) {
                (Some(a), Some(b)) => format!(
                    "{file}:{line}: `{from}` (layer {a}) imports `{to}` (layer {b}) above it: {written}"
                ),
                _ => format!("{file}:{line}: module `{to}` is not in the layer list: {written}"),
            });
        }
    }
    out
}

/// Every import between two different files that does not point up the
/// layer list, in file and line order.
fn level_edges(files: &BTreeMap<String, String>) -> Vec<Edge> {
    let names: BTreeSet<String> = files.keys().cloned().collect();
    let reexports = files
        .get("src/lib.rs")
        .map(|t| root_reexports(t))
        .unwrap_or_default();
    let mut edges = Vec::new();
    for (file, text) in files {
        if file == "src/lib.rs" {
            continue;
        }
        for import in imports_of(file, text, &names, &reexports) {
            if points_up(&top_module(file), &import.absolute[0]) {
                continue;
            }
            match resolve_file(&names, &import.absolute) {
                Some(to) if &to != file && to != "src/lib.rs" => edges.push(Edge {
                    from: file.clone(),
                    to,
                    line: import.line,
                }),
                _ => {}
            }
        }
    }
    edges
}

/// Import cycles between files. A cycle through an upward import is that
/// import's report (fixing it breaks the cycle), so only imports that stay
/// in their layer or point down are followed here: in a layered crate they
/// form cycles only inside a layer (a parent mod.rs and its child, two
/// modules of one layer). For every such import on a cycle, the shortest
/// cycle through it, each cycle once: its files from the least one in
/// sorted order, then `file:line -> file` for each import edge (with the
/// edge's other lines, if it has several).
fn cycles(files: &BTreeMap<String, String>) -> Vec<String> {
    let edges = level_edges(files);
    // from -> to -> lines
    let mut graph: BTreeMap<&str, BTreeMap<&str, Vec<usize>>> = BTreeMap::new();
    for e in &edges {
        let lines = graph.entry(&e.from).or_default().entry(&e.to).or_default();
        if !lines.contains(&e.line) {
            lines.push(e.line);
        }
    }
    let shortest_path = |from: &str, to: &str| -> Option<Vec<String>> {
        let mut previous: BTreeMap<&str, &str> = BTreeMap::new();
        let mut queue = VecDeque::from([from]);
        while let Some(node) = queue.pop_front() {
            if node == to {
                let mut path = vec![to.to_owned()];
                let mut at = to;
                while at != from {
                    at = previous[at];
                    path.push(at.to_owned());
                }
                path.reverse();
                return Some(path);
            }
            for &next in graph.get(node).into_iter().flat_map(|m| m.keys()) {
                if next != from && !previous.contains_key(next) {
                    previous.insert(next, node);
                    queue.push_back(next);
                }
            }
        }
        None
    };
    let mut found: BTreeSet<(usize, Vec<String>)> = BTreeSet::new();
    for (&from, targets) in &graph {
        for &to in targets.keys() {
            if let Some(back) = shortest_path(to, from) {
                // from -> to -> ... -> from, rotated to start at its least file.
                let mut cycle: Vec<String> = std::iter::once(from.to_owned()).chain(back).collect();
                cycle.pop();
                let start = (0..cycle.len()).min_by_key(|&k| &cycle[k]).unwrap();
                cycle.rotate_left(start);
                found.insert((cycle.len(), cycle));
            }
        }
    }
    found
        .into_iter()
        .map(|(_, cycle)| {
            let ring: Vec<&String> = cycle.iter().chain(cycle.first()).collect();
            let names: Vec<&str> = ring.iter().map(|f| f.as_str()).collect();
            let mut report = format!("import cycle: {}", names.join(" -> "));
            for pair in names.windows(2) {
                let lines = &graph[pair[0]][pair[1]];
                report.push_str(&format!("\n    {}:{} -> {}", pair[0], lines[0], pair[1]));
                if lines.len() > 1 {
                    let more: Vec<String> = lines[1..].iter().map(usize::to_string).collect();
                    report.push_str(&format!(" (also lines {})", more.join(", ")));
                }
            }
            report
        })
        .collect()
}

/// Every .rs file under `dir`, keyed by its path relative to `root`, with `/`.
fn read_sources(root: &Path, dir: &Path, out: &mut BTreeMap<String, String>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("read {}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            read_sources(root, &path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            let rel = path.strip_prefix(root).unwrap();
            let key = rel
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect::<Vec<_>>()
                .join("/");
            out.insert(key, std::fs::read_to_string(&path).unwrap());
        }
    }
}

#[test]
fn src_imports_follow_the_layers_without_cycles() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = BTreeMap::new();
    read_sources(root, &root.join("src"), &mut files);
    assert!(
        files.contains_key("src/lib.rs"),
        "no src/lib.rs under {}",
        root.display()
    );
    let mut violations = layer_violations(&files);
    violations.extend(cycles(&files));
    assert!(
        violations.is_empty(),
        "{} violation(s) of the layering (tests/architecture.rs has the layer list):\n{}",
        violations.len(),
        violations.join("\n")
    );
}

// ---------------------------------------------------------------------------
// The checker on small in-memory crates: it must be able to fail.

fn crate_of(files: &[(&str, &str)]) -> BTreeMap<String, String> {
    files
        .iter()
        .map(|(path, text)| (path.to_string(), text.to_string()))
        .collect()
}

#[test]
fn an_upward_import_is_reported_with_file_and_line() {
    let files = crate_of(&[
        (
            "src/lib.rs",
            "pub mod error;\npub mod render;\npub mod commands;\npub use error::Error;\n",
        ),
        ("src/error.rs", "pub struct Error;\n"),
        ("src/commands.rs", "pub fn stage() {}\n"),
        (
            "src/render/mod.rs",
            // Upward through an inline path and a multi-line group, not
            // through a comment or a string; `crate::Error` is `error`'s.
            "mod scope;
use crate::Error;

/// Not code: crate::commands::stage()
fn f() {
    let s = \"crate::commands::stage\";
    crate::commands::stage();
}
use crate::{
    error::Error as E,
    commands::{
        self,
        stage,
    },
};
",
        ),
        (
            "src/render/scope.rs",
            "use super::super::commands::stage;\npub struct Scope;\n",
        ),
    ]);
    assert_eq!(
        layer_violations(&files),
        [
            "src/render/mod.rs:7: `render` (layer 3) imports `commands` (layer 11) above it: `crate::commands::stage`",
            "src/render/mod.rs:12: `render` (layer 3) imports `commands` (layer 11) above it: `crate::commands`",
            "src/render/mod.rs:13: `render` (layer 3) imports `commands` (layer 11) above it: `crate::commands::stage`",
            "src/render/scope.rs:1: `render` (layer 3) imports `commands` (layer 11) above it: `super::super::commands::stage`",
        ]
    );
    assert_eq!(cycles(&files), Vec::<String>::new());
}

#[test]
fn a_module_missing_from_the_layer_list_is_reported() {
    let files = crate_of(&[
        ("src/lib.rs", "pub mod run;\npub mod graph;\n"),
        ("src/run.rs", "use crate::graph::order;\n"),
        (
            "src/graph.rs",
            "pub fn order() { crate::run::go(); crate::run::stop(); }\n",
        ),
    ]);
    assert_eq!(
        layer_violations(&files),
        [
            "src/graph.rs:1: module `run` is not in the layer list: `crate::run::go`, `crate::run::stop`",
            "src/run.rs: module `run` is not in the layer list",
        ]
    );
}

#[test]
fn a_two_file_cycle_is_reported_with_each_edge() {
    // One layer, so no import points up: only the cycle fails.
    let files = crate_of(&[
        ("src/lib.rs", "pub mod graph;\npub mod selector;\n"),
        (
            "src/graph.rs",
            "//! The DAG.\n\nuse crate::selector::select;\n\npub struct Graph;\nfn f() { crate::selector::select(); }\n",
        ),
        (
            "src/selector.rs",
            "\nuse crate::graph::Graph;\npub fn select() {}\n",
        ),
    ]);
    assert_eq!(layer_violations(&files), Vec::<String>::new());
    assert_eq!(
        cycles(&files),
        [
            "import cycle: src/graph.rs -> src/selector.rs -> src/graph.rs
    src/graph.rs:3 -> src/selector.rs (also lines 6)
    src/selector.rs:2 -> src/graph.rs"
        ]
    );
}

#[test]
fn a_cycle_through_an_upward_import_is_reported_as_that_import() {
    let files = crate_of(&[
        ("src/lib.rs", "pub mod manifest;\npub mod data_tests;\n"),
        ("src/manifest.rs", "use crate::data_tests::TestMetadata;\n"),
        ("src/data_tests.rs", "use crate::manifest::Manifest;\n"),
    ]);
    assert_eq!(
        layer_violations(&files),
        ["src/manifest.rs:1: `manifest` (layer 4) imports `data_tests` (layer 8) above it: `crate::data_tests::TestMetadata`"]
    );
    assert_eq!(cycles(&files), Vec::<String>::new());
}

#[test]
fn a_child_importing_through_its_parents_reexport_is_a_cycle() {
    let files = crate_of(&[
        ("src/lib.rs", "pub mod render;\n"),
        (
            "src/render/mod.rs",
            "mod scope;\npub use scope::Scope;\npub struct Renderer;\n",
        ),
        (
            "src/render/scope.rs",
            "use crate::render::Renderer;
pub struct Scope;

#[cfg(test)]
mod tests {
    use super::*;
    use super::super::Renderer as R;
}
",
        ),
    ]);
    assert_eq!(layer_violations(&files), Vec::<String>::new());
    assert_eq!(
        cycles(&files),
        [
            "import cycle: src/render/mod.rs -> src/render/scope.rs -> src/render/mod.rs
    src/render/mod.rs:2 -> src/render/scope.rs
    src/render/scope.rs:1 -> src/render/mod.rs"
        ]
    );
}

#[test]
fn declarations_comments_strings_and_lifetimes_are_not_imports() {
    let text = r###"pub mod commands;
mod x;
// use crate::commands;
/* crate::commands::f /* nested */ crate::commands::g */
const S: &str = r#"crate::commands::h "quoted""#;
const C: char = '\'';
const D: char = '"';
fn f<'a>(x: &'a str) -> &'a str { let _ = b"crate::commands"; x }
pub(crate) fn g() {}
pub(in crate::error) fn h() {}
"###;
    let names = BTreeSet::from([
        "src/lib.rs".to_owned(),
        "src/commands.rs".to_owned(),
        "src/error.rs".to_owned(),
    ]);
    assert_eq!(
        imports_of("src/error.rs", text, &names, &BTreeMap::new()),
        []
    );
}

#[test]
fn unit_test_modules_are_not_checked() {
    let files = crate_of(&[
        ("src/error.rs", "pub struct Error;\n"),
        (
            "src/project/mod.rs",
            "use crate::error::Error;\n#[cfg(test)]\nmod tests {\n    use crate::render::X;\n    fn f() { let _ = crate::render::y(); }\n}\nfn g() { let _ = crate::render::z(); }\n",
        ),
        ("src/render/mod.rs", "pub struct X;\n"),
    ]);
    assert_eq!(
        layer_violations(&files),
        vec!["src/project/mod.rs:7: `project` (layer 2) imports `render` (layer 3) above it: `crate::render::z`".to_owned()]
    );
}

#[test]
fn inline_paths_after_keywords_are_imports() {
    let text = "fn f(x: u8) {\n    for a in crate::commands::all() {}\n    match x {\n        crate::commands::ONE => {}\n        _ => {}\n    }\n}\n";
    let names = BTreeSet::from(["src/lib.rs".to_owned(), "src/commands.rs".to_owned()]);
    let lines: Vec<(usize, String)> = imports_of("src/error.rs", text, &names, &BTreeMap::new())
        .into_iter()
        .map(|i| (i.line, i.written))
        .collect();
    assert_eq!(
        lines,
        [
            (2, "crate::commands::all".to_owned()),
            (4, "crate::commands::ONE".to_owned())
        ]
    );
}

#[test]
fn main_imports_the_library_as_sluice() {
    let names = BTreeSet::from(["src/lib.rs".to_owned(), "src/cli.rs".to_owned()]);
    let text = "use clap::Parser;
const N: i32 = 1;
fn main() {
    let cli = sluice::cli::Cli::parse();
}
mod tests {
    fn t() { assert_eq!(super::N, crate::N); }
}
";
    assert_eq!(
        imports_of("src/main.rs", text, &names, &BTreeMap::new()),
        [Import {
            line: 4,
            written: "sluice::cli::Cli::parse".into(),
            absolute: vec!["cli".into(), "Cli".into(), "parse".into()],
        }]
    );
}
