//! Jinja errors as users read them: minijinja's error turned into a
//! located sluice [`Error`] with the chain of macro calls from the model,
//! a hint chosen by the kind of mistake (the filter meant, a macro's
//! signature, a ref's arity), and an unclosed block reported where it
//! opens rather than at the end of the file.

use std::path::Path;

use crate::error::{Error, ErrorKind, Location};
use crate::render::macros;

/// Converts a minijinja error into a located sluice error.
///
/// The template name is the file path (a macro's is `path#macro`); `source`
/// is the template text when the caller has it, for the caret line.
pub fn jinja_error(err: &minijinja::Error, source: Option<&str>) -> Error {
    // A failing macro call is wrapped once per call level (see
    // macros::MacroFn): the innermost error says what went wrong and where;
    // each wrapper says where the call was made, model line outermost.
    let mut frames = Vec::new();
    let mut inner_err = err;
    while let Some(next) = macros::called_error(inner_err) {
        frames.push(inner_err);
        inner_err = next;
    }
    let mut out = located_jinja_error(inner_err, source.filter(|_| frames.is_empty()));
    for frame in frames.iter().rev() {
        if let (Some(name), Some(line)) = (frame.name(), frame.line()) {
            let path = name.split('#').next().unwrap_or(name);
            if !path.starts_with('<') {
                out = out.with_note(format!("called from {path}:{line}"));
            }
        }
    }
    out
}

/// Filters a dbt template can use, for "did you mean" on an unknown one:
/// Jinja's built-ins and dbt's additions.
const KNOWN_FILTERS: &[&str] = &[
    "abs",
    "as_bool",
    "as_native",
    "as_number",
    "as_text",
    "attr",
    "batch",
    "capitalize",
    "center",
    "count",
    "d",
    "default",
    "dictsort",
    "e",
    "escape",
    "first",
    "float",
    "format",
    "groupby",
    "indent",
    "int",
    "items",
    "join",
    "last",
    "length",
    "list",
    "lower",
    "map",
    "max",
    "min",
    "pprint",
    "reject",
    "rejectattr",
    "replace",
    "reverse",
    "round",
    "safe",
    "select",
    "selectattr",
    "slice",
    "sort",
    "split",
    "string",
    "striptags",
    "sum",
    "title",
    "tojson",
    "trim",
    "truncate",
    "unique",
    "upper",
    "urlencode",
    "wordcount",
    "zip",
];

/// Filter names from other languages and the Jinja filter that does it.
const FILTER_ALIASES: &[(&str, &str)] = &[
    ("upcase", "upper"),
    ("uppercase", "upper"),
    ("downcase", "lower"),
    ("lowercase", "lower"),
    ("len", "length"),
    ("size", "length"),
    ("strip", "trim"),
    ("to_json", "tojson"),
    ("json", "tojson"),
    ("distinct", "unique"),
    ("concat", "join"),
];

/// Where the block that is never closed opens in `text`: the innermost
/// `{% for %}`/`{% if %}`/... without its end tag, an unclosed `{#` or an
/// unclosed `{{` (byte offset and what it is), for a syntax error that
/// minijinja reports at the end of the file.
fn unclosed_opening(text: &str) -> Option<(usize, String)> {
    static TAG: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(r"\{%-?\s*(\w+)([^%]*)").expect("valid regex")
    });
    const BLOCKS: &[&str] = &[
        "for",
        "if",
        "macro",
        "call",
        "filter",
        "with",
        "block",
        "raw",
        "materialization",
        "test",
        "snapshot",
        "docs",
        "set",
    ];
    let mut stack: Vec<(usize, String)> = Vec::new();
    let mut pos = 0;
    while pos < text.len() {
        let rest = &text[pos..];
        let Some(open) = rest.find('{') else { break };
        let at = pos + open;
        let after = &text[at..];
        if after.starts_with("{#") {
            match after.find("#}") {
                Some(end) => pos = at + end + 2,
                None => return Some((at, "comment `{#`".to_owned())),
            }
        } else if after.starts_with("{{") {
            match after.find("}}") {
                Some(end) => pos = at + end + 2,
                None => return Some((at, "expression `{{`".to_owned())),
            }
        } else if let Some(c) = TAG
            .captures(after)
            .filter(|c| c.get(0).is_some_and(|m| m.start() == 0))
        {
            let name = c[1].to_owned();
            let assigns = c[2].contains('=');
            if let Some(closed) = name.strip_prefix("end") {
                while let Some((_, open)) = stack.pop() {
                    if open == closed {
                        break;
                    }
                }
            } else if BLOCKS.contains(&name.as_str()) && !(name == "set" && assigns) {
                stack.push((at, name));
            }
            pos = at + c.get(0).map_or(2, |m| m.end());
        } else {
            pos = at + 1;
        }
    }
    stack
        .pop()
        .map(|(at, name)| (at, format!("`{{% {name} %}}`")))
}

/// What to do about a Jinja error minijinja raised, by its kind: the
/// closing tag to write, the filter meant, the call's signature.
fn jinja_hint(err: &minijinja::Error, detail: &str, source: Option<&str>) -> Option<String> {
    use minijinja::ErrorKind as K;
    let text = err.template_source().or(source);
    let span = text
        .zip(err.range())
        .and_then(|(t, r)| t.get(r))
        .unwrap_or("")
        .trim();
    let callee = span.split('(').next().unwrap_or("").trim();
    Some(match err.kind() {
        K::SyntaxError => "check that every `{% if %}`, `{% for %}` and `{% macro %}` is closed and every `{{` has its `}}`".to_owned(),
        K::UnknownFilter => {
            let name = detail
                .strip_prefix("filter ")
                .and_then(|d| d.strip_suffix(" is unknown"))
                .unwrap_or("");
            // Names from other languages first (Ruby's upcase, Python's strip).
            let alias = FILTER_ALIASES.iter().find(|(a, _)| *a == name).map(|(_, f)| *f);
            match alias.or_else(|| crate::error::did_you_mean(name, KNOWN_FILTERS.iter().copied())) {
                Some(close) => format!("did you mean `{close}`?"),
                None => "a filter is applied as `value | upper`; a macro is called as `my_macro(value)`".to_owned(),
            }
        }
        K::TooManyArguments if callee == "ref" => "ref() takes a model's name, optionally after its package's: `ref('orders')` or `ref('package', 'orders')`".to_owned(),
        K::TooManyArguments if callee == "source" => "source() takes the source's name and the table's: `source('shop', 'orders')`".to_owned(),
        K::MissingArgument if callee == "ref" => "name the model: `ref('orders')`".to_owned(),
        K::MissingArgument if callee == "source" => "source() takes the source's name and the table's: `source('shop', 'orders')`".to_owned(),
        K::TooManyArguments if !callee.is_empty() => format!("`{callee}` is given more arguments than its signature takes: check its `{{% macro %}}` line"),
        K::MissingArgument if !callee.is_empty() => format!("`{callee}` needs an argument that is not given: check its `{{% macro %}}` line"),
        K::TooManyArguments | K::MissingArgument => "check the arguments against the macro's `{% macro %}` line".to_owned(),
        K::InvalidOperation if detail.contains("not callable") && !callee.is_empty() => format!(
            "`{callee}` is not a macro here: define it in one of the project's macro-paths, or check its spelling (a package's macro is called as `package.{callee}`)"
        ),
        K::InvalidOperation if detail.contains("undefined is not callable") => "a macro called here does not exist: define it in one of the project's macro-paths, or check its spelling (a package's macro is called as `package.macro`)".to_owned(),
        K::UnknownMethod if detail.starts_with("undefined has no method") => {
            let namespace = callee.split('.').next().unwrap_or(callee);
            format!("`{namespace}` is not an installed package or a variable here: check its spelling, or install the package (packages.yml, then `sluice deps`)")
        }
        K::InvalidOperation if detail.contains("recursion limit") => "a macro calls itself without end, or templates nest thousands of levels deep: check the macro's stopping condition".to_owned(),
        K::UndefinedError => "the value is not defined here: check its spelling, or set it (`{% set %}`, a var, a macro argument)".to_owned(),
        _ if detail.contains("unknown keyword argument") || detail.contains("unexpected keyword") => {
            "check the argument names against the macro's `{% macro %}` line".to_owned()
        }
        _ => return None,
    })
}

fn located_jinja_error(err: &minijinja::Error, source: Option<&str>) -> Error {
    // An error a sluice function raised keeps its own kind, message and hint.
    let inner = std::error::Error::source(err).and_then(|s| s.downcast_ref::<Error>());
    let detail = err
        .detail()
        .map(str::to_owned)
        .unwrap_or_else(|| err.kind().to_string());
    let mut out = match inner {
        Some(e) => e.duplicate(),
        None => match (err.kind(), detail.strip_suffix(" is unknown")) {
            (minijinja::ErrorKind::UnknownFunction, Some(name)) => Error::new(
                ErrorKind::Jinja,
                format!("unknown macro or function `{name}`"),
            )
            .with_hint(
                "define it as a macro in one of the project's macro-paths, or check the spelling",
            ),
            _ => {
                let what = match err.kind() {
                    minijinja::ErrorKind::SyntaxError => "Jinja syntax error",
                    minijinja::ErrorKind::UnknownFilter => "unknown filter",
                    minijinja::ErrorKind::UnknownTest => "unknown Jinja test",
                    minijinja::ErrorKind::UndefinedError => "undefined value",
                    _ => "Jinja error",
                };
                let out = Error::new(ErrorKind::Jinja, format!("{what}: {detail}"));
                match jinja_hint(err, &detail, source) {
                    Some(hint) => out.with_hint(hint),
                    None => out,
                }
            }
        },
    };
    if let (Some(name), Some(line)) = (err.name(), err.line()) {
        let path = name.split('#').next().unwrap_or(name);
        if !path.starts_with('<') {
            let text = err.template_source().or(source);
            let col = match (err.range(), text) {
                (Some(range), Some(text)) if range.start <= text.len() => {
                    let before = &text[..range.start];
                    before
                        .rfind('\n')
                        .map_or(before.chars().count(), |i| before[i + 1..].chars().count())
                        + 1
                }
                _ => 1,
            };
            // A block never closed is reported by minijinja at the end of
            // the file; the mistake is where the block opens.
            let syntax = err.kind() == minijinja::ErrorKind::SyntaxError;
            let opening = text.and_then(|t| {
                if syntax && (detail.contains("end of input") || detail.contains("end of comment"))
                {
                    unclosed_opening(t).map(|o| (t, o))
                } else if syntax && detail.contains("expected end of variable block") {
                    // The parser gave up past the `{{` that lacks its `}}`.
                    let upto = err.range().map_or(t.len(), |r| r.start.min(t.len()));
                    t[..upto]
                        .rfind("{{")
                        .map(|at| (t, (at, "expression `{{`".to_owned())))
                } else {
                    None
                }
            });
            out = match opening {
                Some((t, (at, what))) if out.location().is_none() => out
                    .with_location(Location::from_offset(Path::new(path), t, at))
                    .with_note(format!("this {what} is never closed")),
                _ => out.or_location(|| Some(Location::new(Path::new(path), line, col, text))),
            };
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_unclosed_block_is_found_where_it_opens() {
        let text = "{% if a %}x{% endif %}\n{% for r in rows %}\n{% if r %}y{% endif %}\n";
        assert_eq!(unclosed_opening(text), Some((23, "`{% for %}`".to_owned())));
        let (at, what) = unclosed_opening("a {# b\n c").unwrap();
        assert_eq!((at, what.as_str()), (2, "comment `{#`"));
        assert_eq!(unclosed_opening("{% set x = 1 %}{{ x }}"), None);
        assert_eq!(
            unclosed_opening("{% set x %}1"),
            Some((0, "`{% set %}`".to_owned()))
        );
    }
}
