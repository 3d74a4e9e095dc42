//! Files outside the database, as dbt-duckdb reads and writes them: sources
//! with an `external_location`, and the `external` materialization's
//! location, `COPY` options and read-back location.
//!
//! Pure functions over strings; the order of operations of the
//! materialization is in [`crate::materialize::external`].

use std::collections::BTreeMap;

/// The file formats the `external` materialization writes, as dbt-duckdb.
pub const FORMATS: &[&str] = &["parquet", "csv", "json"];

/// How a source's `external_location` template is filled in: dbt-duckdb's
/// `formatter` source config.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Formatter {
    /// Python's `str.format_map`: `{name}`, `{{` for a literal brace (the default).
    NewStyle,
    /// Python's `%` operator with a mapping: `%(name)s`, `%%`.
    OldStyle,
    /// Python's `string.Template.substitute`: `$name`, `${name}`, `$$`.
    Template,
}

impl Formatter {
    /// Parses dbt-duckdb's `formatter` value (`newstyle`, `oldstyle`, `template`).
    ///
    /// Errors: the message dbt-duckdb gives for any other value.
    pub fn parse(name: &str) -> Result<Formatter, String> {
        match name {
            "newstyle" => Ok(Formatter::NewStyle),
            "oldstyle" => Ok(Formatter::OldStyle),
            "template" => Ok(Formatter::Template),
            other => Err(format!(
                "formatter `{other}` not recognized; must be one of 'newstyle', 'oldstyle', or 'template'"
            )),
        }
    }
}

/// Fills `template` (a source's `external_location`) from `fields` (the
/// source table's `name`, `identifier`, `schema`, `database` and its
/// meta/config keys) and quotes the result unless it is a function call or
/// already quoted, as dbt-duckdb's `DuckDBRelation.create_from`.
///
/// Returns the SQL the source renders as: `'data/orders.parquet'` or
/// `read_csv('x.csv', ...)`.
///
/// Errors: a placeholder naming no field (dbt-duckdb's `KeyError`), or an
/// unbalanced brace, as a message.
pub fn source_location(
    template: &str,
    formatter: Formatter,
    fields: &BTreeMap<String, String>,
) -> Result<String, String> {
    let location = match formatter {
        Formatter::NewStyle => format_new_style(template, fields)?,
        Formatter::OldStyle => format_old_style(template, fields)?,
        Formatter::Template => format_template(template, fields)?,
    };
    if location.contains('(') || location.starts_with('\'') {
        Ok(location)
    } else {
        Ok(format!("'{location}'"))
    }
}

fn missing(key: &str) -> String {
    format!("`{{{key}}}` names no field of the source (known: name, identifier, schema, database, and the source's meta/config keys)")
}

/// Python's `str.format_map` for plain `{key}` fields (no format specs).
fn format_new_style(template: &str, fields: &BTreeMap<String, String>) -> Result<String, String> {
    let mut out = String::with_capacity(template.len());
    let mut chars = template.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '{' if chars.peek() == Some(&'{') => {
                chars.next();
                out.push('{');
            }
            '}' if chars.peek() == Some(&'}') => {
                chars.next();
                out.push('}');
            }
            '{' => {
                let mut key = String::new();
                loop {
                    match chars.next() {
                        Some('}') => break,
                        Some(k) => key.push(k),
                        None => return Err("a `{` in external_location is never closed (write `{{` for a literal brace, or set `formatter: oldstyle`)".into()),
                    }
                }
                let name = key.split([':', '!']).next().unwrap_or_default().trim();
                out.push_str(fields.get(name).ok_or_else(|| missing(name))?);
            }
            '}' => return Err("a single `}` in external_location (write `}}` for a literal brace, or set `formatter: oldstyle`)".into()),
            c => out.push(c),
        }
    }
    Ok(out)
}

/// Python's `template % mapping` for `%(key)s` and `%%`.
fn format_old_style(template: &str, fields: &BTreeMap<String, String>) -> Result<String, String> {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(at) = rest.find('%') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        if let Some(tail) = after.strip_prefix('%') {
            out.push('%');
            rest = tail;
        } else if let Some(tail) = after.strip_prefix('(') {
            let close = tail
                .find(')')
                .ok_or("a `%(` in external_location is never closed")?;
            let key = &tail[..close];
            let conv = tail[close + 1..]
                .chars()
                .next()
                .ok_or("`%(key)` needs a conversion such as `s`")?;
            out.push_str(fields.get(key).ok_or_else(|| missing(key))?);
            rest = &tail[close + 1 + conv.len_utf8()..];
        } else {
            return Err(
                "`%` in external_location must be `%(key)s` or `%%` with formatter oldstyle".into(),
            );
        }
    }
    out.push_str(rest);
    Ok(out)
}

/// Python's `string.Template.substitute`: `$key`, `${key}`, `$$`.
fn format_template(template: &str, fields: &BTreeMap<String, String>) -> Result<String, String> {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        if let Some(tail) = after.strip_prefix('$') {
            out.push('$');
            rest = tail;
            continue;
        }
        let (key, tail) = if let Some(braced) = after.strip_prefix('{') {
            let close = braced
                .find('}')
                .ok_or("a `${` in external_location is never closed")?;
            (&braced[..close], &braced[close + 1..])
        } else {
            let end = after
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(after.len());
            (&after[..end], &after[end..])
        };
        if key.is_empty() {
            return Err(
                "a `$` in external_location names no field (write `$$` for a literal `$`)".into(),
            );
        }
        out.push_str(fields.get(key).ok_or_else(|| missing(key))?);
        rest = tail;
    }
    out.push_str(rest);
    Ok(out)
}

/// The `external` materialization's write settings for one model, as
/// dbt-duckdb's `render_write_options` + `external_write_options`.
#[derive(Debug, Clone, PartialEq)]
pub struct WriteOptions {
    /// `parquet`, `csv` or `json`.
    pub format: String,
    /// `COPY ... TO` options in order, `key value` each (format first).
    pub options: Vec<(String, String)>,
    /// How many `partition_by` columns the output is split on (0: none);
    /// a partitioned output is a directory read back through a glob.
    pub partitioned: usize,
    /// Whether `per_thread_output` is set.
    pub per_thread: bool,
}

impl WriteOptions {
    /// Builds the options from the model's `format`, `delimiter` and
    /// `options` configs and its `location`: the format is the configured
    /// one, else the location's file extension, else `csv` when a delimiter
    /// is set, else `parquet`; CSV gets `header 1`; a comma-separated
    /// `partition_by` is parenthesised; delimiter/quote/escape/null values
    /// are quoted.
    ///
    /// Errors: a format other than parquet, csv or json (dbt-duckdb's
    /// "Invalid format" compiler error).
    pub fn new(
        location: &str,
        format: Option<&str>,
        delimiter: Option<&str>,
        options: &[(String, String)],
    ) -> Result<WriteOptions, String> {
        let mut opts: Vec<(String, String)> = options.to_vec();
        let set = |key: &str, value: String, opts: &mut Vec<(String, String)>| match opts
            .iter_mut()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
        {
            Some(entry) => entry.1 = value,
            None => opts.push((key.to_owned(), value)),
        };
        if let Some(f) = format {
            set("format", f.to_owned(), &mut opts);
        }
        if let Some(d) = delimiter {
            set("delimiter", d.to_owned(), &mut opts);
        }
        let given = opts
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("format"))
            .map(|(_, v)| v.to_ascii_lowercase());
        let format = match given {
            Some(f) => f,
            None => {
                let ext = std::path::Path::new(location)
                    .extension()
                    .map(|e| e.to_string_lossy().to_ascii_lowercase());
                match ext {
                    Some(ext) => ext,
                    None if opts
                        .iter()
                        .any(|(k, _)| k.eq_ignore_ascii_case("delimiter")) =>
                    {
                        "csv".into()
                    }
                    None => "parquet".into(),
                }
            }
        };
        if !FORMATS.contains(&format.as_str()) {
            return Err(format!(
                "Invalid format: {format}. Allowed formats are: {}",
                FORMATS.join(", ")
            ));
        }
        opts.retain(|(k, _)| !k.eq_ignore_ascii_case("format"));
        opts.insert(0, ("format".into(), format.clone()));
        if format == "csv" && !opts.iter().any(|(k, _)| k.eq_ignore_ascii_case("header")) {
            opts.push(("header".into(), "1".into()));
        }
        let mut partitioned = 0;
        let mut per_thread = false;
        for (k, v) in opts.iter_mut() {
            let key = k.to_ascii_lowercase();
            if key == "partition_by" {
                let inner = v.trim().trim_start_matches('(').trim_end_matches(')');
                partitioned = inner.split(',').count();
                if v.contains(',') && !v.starts_with('(') {
                    *v = format!("({v})");
                }
            }
            if key == "per_thread_output"
                && !matches!(v.to_ascii_lowercase().as_str(), "false" | "0")
            {
                per_thread = true;
            }
            if matches!(key.as_str(), "delimiter" | "quote" | "escape" | "null")
                && !v.starts_with('\'')
            {
                *v = format!("'{}'", v.replace('\'', "''"));
            }
        }
        Ok(WriteOptions {
            format,
            options: opts,
            partitioned,
            per_thread,
        })
    }

    /// The `(...)` clause of `COPY ... TO 'location' (...)`.
    pub fn copy_clause(&self) -> String {
        self.options
            .iter()
            .map(|(k, v)| format!("{k} {v}"))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// Where the written data is read back from: `location` itself, or a
    /// glob over its files when partitioned, as dbt-duckdb's
    /// `external_read_location` (`loc/*/*.parquet` for one partition column).
    pub fn read_location(&self, location: &str) -> String {
        if self.partitioned == 0 && !self.per_thread {
            return location.to_owned();
        }
        let mut globs = vec![location.to_owned(), "*".to_owned()];
        globs.extend(std::iter::repeat_n("*".to_owned(), self.partitioned));
        format!("{}.{}", globs.join("/"), self.format)
    }

    /// Whether the output is a directory rather than one file.
    pub fn is_directory(&self) -> bool {
        self.partitioned > 0 || self.per_thread
    }

    /// The DuckDB table function that reads the format back, with
    /// dbt-duckdb's default read options.
    pub fn reader(&self) -> &'static str {
        match self.format.as_str() {
            "csv" => "read_csv",
            "json" => "read_json",
            _ => "read_parquet",
        }
    }
}

/// `path` joined to `root` unless it is absolute or a URL (`s3://...`),
/// without `./` parts: how sluice anchors `external_root`, an external
/// model's `location` and a source's quoted file path at the project
/// directory (dbt-duckdb leaves them to the working directory).
pub fn anchor(root: &std::path::Path, path: &str) -> String {
    if path.contains("://") || std::path::Path::new(path).is_absolute() {
        return path.to_owned();
    }
    let joined: std::path::PathBuf = root
        .join(path)
        .components()
        .filter(|c| !matches!(c, std::path::Component::CurDir))
        .collect();
    joined.to_string_lossy().into_owned()
}

/// The default location of an `external` model: `<external_root>/<identifier>.<format>`,
/// or `<external_root>/<identifier>` when partitioned (a directory), as
/// dbt-duckdb's `external_location` macro.
pub fn default_location(
    external_root: &str,
    identifier: &str,
    format: &str,
    partitioned: bool,
) -> String {
    let root = external_root.trim_end_matches('/');
    if partitioned {
        format!("{root}/{identifier}")
    } else {
        format!("{root}/{identifier}.{format}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields() -> BTreeMap<String, String> {
        [("name", "orders"), ("schema", "raw"), ("root", "s3://b")]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect()
    }

    #[test]
    fn new_style_fills_and_quotes() {
        let loc = source_location("{root}/{name}.parquet", Formatter::NewStyle, &fields()).unwrap();
        assert_eq!(loc, "'s3://b/orders.parquet'");
        let call = source_location(
            "read_parquet('{name}.parquet')",
            Formatter::NewStyle,
            &fields(),
        )
        .unwrap();
        assert_eq!(call, "read_parquet('orders.parquet')");
        assert!(source_location("{nope}", Formatter::NewStyle, &fields())
            .unwrap_err()
            .contains("nope"));
        assert_eq!(
            source_location("{{x}}", Formatter::NewStyle, &fields()).unwrap(),
            "'{x}'"
        );
    }

    #[test]
    fn old_style_and_template() {
        // dbt-duckdb's example: braces of a struct literal survive oldstyle.
        let loc = source_location(
            "read_csv('%(name)s.csv', types={'d': 'DATE'})",
            Formatter::OldStyle,
            &fields(),
        )
        .unwrap();
        assert_eq!(loc, "read_csv('orders.csv', types={'d': 'DATE'})");
        let t = source_location("${root}/$name.csv", Formatter::Template, &fields()).unwrap();
        assert_eq!(t, "'s3://b/orders.csv'");
    }

    #[test]
    fn write_options_as_dbt_duckdb() {
        let w = WriteOptions::new("out/x.csv", None, Some("|"), &[]).unwrap();
        assert_eq!(w.copy_clause(), "format csv, delimiter '|', header 1");
        let p = WriteOptions::new(
            "out/x",
            None,
            None,
            &[("partition_by".into(), "a, b".into())],
        )
        .unwrap();
        assert_eq!(p.copy_clause(), "format parquet, partition_by (a, b)");
        assert_eq!(p.read_location("out/x"), "out/x/*/*/*.parquet");
        assert!(WriteOptions::new("x.txt", Some("xlsx"), None, &[])
            .unwrap_err()
            .contains("Invalid format"));
        // The extension gives the format when none is configured.
        assert_eq!(
            WriteOptions::new("x.json", None, None, &[]).unwrap().format,
            "json"
        );
    }
}
