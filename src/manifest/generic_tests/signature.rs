//! The parameters a generic test's macro requires, read from its
//! `{% test name(...) %}` (or `{% macro test_name(...) %}`) line, so a test
//! that leaves one out is a located error while parsing, as dbt's
//! "missing 1 required positional argument", instead of SQL with a hole
//! in it failing at run time.

/// The parameters of the macro `name` (as called, `test_` prefix included)
/// defined in `source`, in order, without `model` and `column_name` (dbt
/// passes those), each with whether it is required (has no default).
/// `None` when the definition line is not found or does not parse.
pub(crate) fn params(source: &str, name: &str) -> Option<Vec<(String, bool)>> {
    let short = name.strip_prefix("test_").unwrap_or(name);
    let open = [format!("test {short}"), format!("macro {name}")]
        .iter()
        .filter_map(|head| {
            source.match_indices(head.as_str()).find_map(|(at, _)| {
                let rest = source[at + head.len()..].trim_start();
                rest.starts_with('(').then(|| source.len() - rest.len() + 1)
            })
        })
        .min()?;
    // Split the parameter list at top-level commas, skipping strings.
    let mut params = Vec::new();
    let (mut depth, mut quote, mut current) = (0usize, None::<char>, String::new());
    for c in source[open..].chars() {
        match quote {
            Some(q) => {
                if c == q {
                    quote = None;
                }
                current.push(c);
                continue;
            }
            None if c == '\'' || c == '"' => quote = Some(c),
            None => {}
        }
        match c {
            '(' | '[' | '{' => depth += 1,
            ')' | ']' | '}' if depth == 0 => {
                params.push(std::mem::take(&mut current));
                break;
            }
            ')' | ']' | '}' => depth -= 1,
            ',' if depth == 0 => {
                params.push(std::mem::take(&mut current));
                continue;
            }
            _ => {}
        }
        current.push(c);
    }
    Some(
        params
            .iter()
            .map(|p| p.trim())
            .filter(|p| !p.is_empty())
            .map(|p| match p.split_once('=') {
                Some((name, _)) => (name.trim().to_owned(), false),
                None => (p.to_owned(), true),
            })
            .filter(|(p, _)| p != "model" && p != "column_name")
            .collect(),
    )
}

/// The required ones of [`params`], by name.
#[cfg(test)]
fn required_params(source: &str, name: &str) -> Option<Vec<String>> {
    params(source, name).map(|ps| ps.into_iter().filter(|(_, r)| *r).map(|(p, _)| p).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_without_defaults_are_required() {
        let src = "{% test accepted_values(model, column_name, values, quote=True) %}\nselect 1\n{% endtest %}";
        assert_eq!(
            required_params(src, "test_accepted_values"),
            Some(vec!["values".to_owned()])
        );
        let src = "{%- macro test_relationships(model, column_name, to, field) -%}{%- endmacro %}";
        assert_eq!(
            required_params(src, "test_relationships"),
            Some(vec!["to".to_owned(), "field".to_owned()])
        );
        let src = "{% test t(model, sep=',', vals=[1, (2)], f=\"a)b\", x) %}{% endtest %}";
        assert_eq!(required_params(src, "test_t"), Some(vec!["x".to_owned()]));
        assert_eq!(required_params("{% test other(model) %}", "test_t"), None);
    }
}
