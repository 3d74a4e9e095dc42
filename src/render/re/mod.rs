//! `modules.re`: Python's `re` module as dbt macros call it, on the
//! `fancy-regex` crate (which adds what Python has and the `regex` crate
//! lacks: look-behind, look-ahead and back-references).
//!
//! Covered: `search`, `match`, `fullmatch`, `findall`, `finditer`, `sub`,
//! `split`, `escape`, `compile` (a pattern object with the same methods and
//! `.pattern`/`.flags`), the flags (`re.I`/`IGNORECASE`, `M`/`MULTILINE`,
//! `S`/`DOTALL`, `X`/`VERBOSE`, `A`/`ASCII`, `U`/`UNICODE`) given as the
//! `flags` argument or inline (`(?ix)`), and match objects with `group()`
//! (by number or name), `groups()`, `groupdict()`, `start()`, `end()`,
//! `span()`. As Python: `match` is anchored at the start and `fullmatch` at
//! both ends (not "the first match happens to start at 0"), `findall` gives
//! the group when there is one and tuples when there are several, `split`
//! keeps the groups, and `sub`'s replacement takes `\1`, `\g<1>`,
//! `\g<name>` and the escapes `\n`, `\t`, `\\`. Python's `$` also matching
//! before a final newline is not reproduced.
//!
//! A compiled pattern is in `pattern`, a match object in `match_object`,
//! a `sub` replacement in `replacement`, the call arguments in `args`.

mod args;
mod match_object;
mod pattern;
mod replacement;

use std::sync::Arc;

use minijinja::value::Object;
use minijinja::{Error, ErrorKind, State, Value};

use crate::render::re::args::Args;
use crate::render::re::pattern::Pattern;

/// Python's flag values (`re.IGNORECASE == 2`, ...), by attribute name.
const FLAGS: &[(&str, i64)] = &[
    ("I", 2),
    ("IGNORECASE", 2),
    ("L", 4),
    ("LOCALE", 4),
    ("M", 8),
    ("MULTILINE", 8),
    ("S", 16),
    ("DOTALL", 16),
    ("U", 32),
    ("UNICODE", 32),
    ("X", 64),
    ("VERBOSE", 64),
    ("A", 256),
    ("ASCII", 256),
];

/// The `modules.re` object.
#[derive(Debug)]
pub struct ReModule;

impl Object for ReModule {
    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        let key = key.as_str()?;
        FLAGS
            .iter()
            .find(|(name, _)| *name == key)
            .map(|(_, v)| Value::from(*v))
    }

    fn call_method(
        self: &Arc<Self>,
        _state: &State<'_, '_>,
        method: &str,
        args: &[Value],
    ) -> Result<Value, Error> {
        let args = Args::new(method, args)?;
        match method {
            "escape" => Ok(Value::from(escape(&args.text(0, "pattern")?))),
            "compile" => {
                let flags = args.int(1, "flags")?.unwrap_or(0);
                Ok(Value::from_object(Pattern::new(
                    &args.text(0, "pattern")?,
                    flags,
                )?))
            }
            "search" | "match" | "fullmatch" | "findall" | "finditer" | "split" | "sub" => {
                let flags_at = match method {
                    "split" | "sub" => 3,
                    _ => 2,
                };
                let flags = args.int(flags_at, "flags")?.unwrap_or(0);
                let pattern = Pattern::new(&args.text(0, "pattern")?, flags)?;
                pattern.run(method, &args.shifted())
            }
            _ => Err(Error::new(
                ErrorKind::UnknownMethod,
                format!("re has no function `{method}`"),
            )),
        }
    }
}

/// Python's `re.escape` (3.7+): a backslash before each character that is
/// special in a pattern.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if "()[]{}?*+-|^$\\.&~# \t\n\r\x0b\x0c".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(src: &str) -> String {
        let mut env = minijinja::Environment::new();
        env.add_global("re", Value::from_object(ReModule));
        env.render_str(src, ())
            .unwrap_or_else(|e| format!("error: {e}"))
    }

    #[test]
    fn look_behind_and_verbose_patterns_work_as_in_python() {
        // dbt_project_evaluator's hard-coded-reference patterns use both.
        let src = r#"{{ re.findall('(?ix)
            # not after "distinct "
            (?<!distinct\s)
            (from|join)\s+([a-z_]+)  # a table name', 'select distinct from x from orders join items') }}"#;
        assert_eq!(render(src), r#"[["from", "orders"], ["join", "items"]]"#);
    }

    #[test]
    fn flags_come_as_argument_constant_or_inline() {
        assert_eq!(
            render("{{ re.IGNORECASE }} {{ re.I }} {{ re.X }}"),
            "2 2 64"
        );
        assert_eq!(
            render("{{ re.findall('\\\\bselect[ (]', 'SELECT (1) select 2', re.IGNORECASE) | length }}"),
            "2"
        );
        assert_eq!(
            render("{{ re.search('ab', 'xAB', flags=re.I).group() }}"),
            "AB"
        );
        assert_eq!(render("{{ re.search('(?i)ab', 'xAB').group() }}"), "AB");
    }

    #[test]
    fn match_and_fullmatch_are_anchored_not_first_match_checks() {
        // Python: re.fullmatch('a|ab', 'ab') matches 'ab'; the leftmost-first
        // match is 'a', which a "first match spans it all" check would reject.
        assert_eq!(render("{{ re.fullmatch('a|ab', 'ab').group() }}"), "ab");
        assert_eq!(render("{{ re.match('b', 'ab') is none }}"), "True");
        assert_eq!(render("{{ re.match('a', 'ab').span() }}"), "[0, 1]");
    }

    #[test]
    fn sub_takes_python_replacement_syntax() {
        assert_eq!(
            render(r#"{{ re.sub('(a)(b)', '\\2\\1', 'xaby') }}"#),
            "xbay"
        );
        assert_eq!(
            render(r#"{{ re.sub('(?P<first>a)', '<\\g<first>|\\g<1>>', 'ba') }}"#),
            "b<a|a>"
        );
        // `$` is plain text in a Python replacement (it is special to the regex crate).
        assert_eq!(render("{{ re.sub('a', '$1', 'a') }}"), "$1");
        assert_eq!(render("{{ re.sub('a', 'b', 'aaa', 2) }}"), "bba");
        assert!(render(r#"{{ re.sub('a', '\\q', 'a') }}"#).contains("bad escape"));
    }

    #[test]
    fn split_keeps_groups_and_findall_shapes_follow_the_groups() {
        assert_eq!(render("{{ re.split('(,)', 'a,b') }}"), r#"["a", ",", "b"]"#);
        assert_eq!(render("{{ re.split(',', 'a,b,c', 1) }}"), r#"["a", "b,c"]"#);
        assert_eq!(
            render("{{ re.findall('[0-9]+', 'a1b22') }}"),
            r#"["1", "22"]"#
        );
        assert_eq!(
            render("{{ re.findall('v(\\\\d)', 'v1 v2') }}"),
            r#"["1", "2"]"#
        );
    }

    #[test]
    fn compiled_patterns_and_match_objects() {
        let src = "{% set p = re.compile('(?P<k>[a-z]+)=(?P<v>[0-9]+)') %}{% set m = p.search('x: ab=12') %}\
                   {{ m.group('k') }} {{ m.group(2) }} {{ m.groupdict()['v'] }} {{ m.start() }} {{ p.pattern }}";
        assert_eq!(render(src), "ab 12 12 3 (?P<k>[a-z]+)=(?P<v>[0-9]+)");
        assert_eq!(render("{{ re.escape('a.b*c') }}"), "a\\.b\\*c");
    }

    #[test]
    fn bad_patterns_are_errors_naming_the_pattern() {
        assert!(render("{{ re.search('(', 'x') }}").contains("bad pattern `(`"));
    }
}
