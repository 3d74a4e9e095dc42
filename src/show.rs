//! `sluice show`'s preview: the query that runs a node's compiled SQL with
//! a row limit, and the two ways its result is printed, both as dbt's
//! `show` prints them (dbt-core `task/show.py`, `ShowNode` in
//! `events/types.py`): a text table drawn the way agate's `print_table`
//! draws one, and JSON as agate's `to_json` inside `{"node", "show"}`.
//! Nothing here runs a query: [`crate::commands`] does, on a read-only
//! connection, and hands the [`CellTable`] here.

use crate::error::Result;
use crate::render::pycompat::python_json_string;
use crate::render::Renderer;
use crate::warehouse::connection::{Cell, CellTable};

/// dbt's default `--limit`: rows a preview fetches.
pub const DEFAULT_LIMIT: i64 = 5;

/// Columns a text preview prints before one `...` column: agate's
/// `print_table` default `max_columns`, which dbt's show keeps.
pub const MAX_COLUMNS: usize = 6;

/// Characters a value or column name keeps in a text preview before it is
/// cut to 17 and `...` (agate's `max_column_width`, kept by dbt's show).
pub const MAX_COLUMN_WIDTH: usize = 20;

/// Decimal places a number column prints at most; a column that has more is
/// rounded to these and marked `…` (agate's `max_precision`).
pub const MAX_PRECISION: usize = 3;

/// The row limit for `--limit n`: `None` (every row) for a negative `n`,
/// as dbt's show (`--limit -1`).
pub fn row_limit(limit: i64) -> Option<u64> {
    u64::try_from(limit).ok()
}

/// The query that previews `compiled` (a node's compiled SQL, without a
/// trailing `;`): the `get_show_sql` macro (built in, as dbt's, in
/// templates/macros/show.sql; a project macro of that name wins), which
/// wraps it in `select * from (...) limit n` unless `limit` is `None`.
///
/// Errors: Jinja errors from a project override of the macro.
pub fn show_sql(renderer: &Renderer, compiled: &str, limit: Option<u64>) -> Result<String> {
    let limit = limit.map_or(minijinja::Value::from(()), minijinja::Value::from);
    let sql = renderer.call_macro(
        "get_show_sql",
        &[
            minijinja::Value::from(compiled.to_owned()),
            minijinja::Value::from(()),
            limit,
        ],
    )?;
    Ok(sql.to_string())
}

/// What a preview is of: a node (by name) or the `--inline` query.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Previewed<'a> {
    /// A selected node, by name.
    Node(&'a str),
    /// The SQL given with `--inline`.
    Inline,
}

/// The line above a text preview, as dbt's `ShowNode` message:
/// `Previewing node 'orders':` or `Previewing inline node:`.
pub fn heading(what: Previewed) -> String {
    match what {
        Previewed::Node(name) => format!("Previewing node '{name}':"),
        Previewed::Inline => "Previewing inline node:".to_owned(),
    }
}

/// How agate types a column, from its values (dbt-common's type tester
/// tries Integer, Number, Date, DateTime, Boolean, then Text; a column of
/// NULLs only is an Integer column).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Integer,
    Number,
    Date,
    DateTime,
    Boolean,
    Text,
}

fn column_kind(table: &CellTable, j: usize) -> Kind {
    let mut kind = None;
    for row in &table.rows {
        let k = match row.get(j) {
            None | Some(Cell::Null) => continue,
            Some(Cell::Integer(_)) => Kind::Integer,
            Some(Cell::Number(_)) => Kind::Number,
            Some(Cell::Date(_)) => Kind::Date,
            Some(Cell::DateTime(_)) => Kind::DateTime,
            Some(Cell::Boolean(_)) => Kind::Boolean,
            Some(Cell::Text(_)) => return Kind::Text,
        };
        kind = match (kind, k) {
            (None, k) => Some(k),
            (Some(a), b) if a == b => Some(a),
            (Some(Kind::Integer | Kind::Number), Kind::Integer | Kind::Number) => {
                Some(Kind::Number)
            }
            (Some(Kind::Date | Kind::DateTime), Kind::Date | Kind::DateTime) => {
                Some(Kind::DateTime)
            }
            _ => return Kind::Text,
        };
    }
    kind.unwrap_or(Kind::Integer)
}

/// `text` cut to [`MAX_COLUMN_WIDTH`] characters, the last three `...`.
fn truncate(text: &str) -> String {
    if text.chars().count() > MAX_COLUMN_WIDTH {
        let kept: String = text.chars().take(MAX_COLUMN_WIDTH - 3).collect();
        format!("{kept}...")
    } else {
        text.to_owned()
    }
}

/// A number's decimal text split into sign, integer digits and fraction
/// digits (trailing zeros of the fraction dropped, as `Decimal.normalize`).
/// `None` for NaN and infinities.
fn split_decimal(text: &str) -> Option<(bool, String, String)> {
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
    if int.is_empty() && frac.is_empty()
        || !int.chars().chain(frac.chars()).all(|c| c.is_ascii_digit())
    {
        return None;
    }
    let int = int.trim_start_matches('0');
    let int = if int.is_empty() { "0" } else { int };
    Some((
        negative,
        int.to_owned(),
        frac.trim_end_matches('0').to_owned(),
    ))
}

/// `int.frac` rounded half to even (Python's `Decimal.quantize`) to
/// `places` fraction digits: the new integer and fraction digits.
fn round_half_even(int: &str, frac: &str, places: usize) -> (String, String) {
    if frac.len() <= places {
        return (int.to_owned(), format!("{frac:0<places$}"));
    }
    let mut digits: Vec<u8> = int.bytes().chain(frac.bytes().take(places)).collect();
    let next = frac.as_bytes()[places];
    let rest_nonzero = frac.as_bytes()[places + 1..].iter().any(|&d| d != b'0');
    let last_odd = digits.last().is_some_and(|d| (d - b'0') % 2 == 1);
    let up = next > b'5' || (next == b'5' && (rest_nonzero || last_odd));
    if up {
        let mut k = digits.len();
        loop {
            if k == 0 {
                digits.insert(0, b'1');
                break;
            }
            k -= 1;
            if digits[k] == b'9' {
                digits[k] = b'0';
            } else {
                digits[k] += 1;
                break;
            }
        }
    }
    let split = digits.len() - places;
    let text = String::from_utf8(digits).unwrap_or_default();
    (text[..split].to_owned(), text[split..].to_owned())
}

/// `digits` with a `,` between each group of three, as babel's `#,##0`.
fn group_thousands(digits: &str) -> String {
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (k, c) in digits.chars().enumerate() {
        if k > 0 && (digits.len() - k) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A number as agate prints it in a Number column: babel's pattern
/// `#,##0.` with `places` decimals, and `…` after it when the column's
/// precision was cut to [`MAX_PRECISION`].
fn format_number(text: &str, places: usize, ellipsis: bool) -> String {
    let Some((negative, int, frac)) = split_decimal(text) else {
        return match text {
            "inf" | "Infinity" => "Infinity".to_owned(),
            "-inf" | "-Infinity" => "-Infinity".to_owned(),
            _ => "NaN".to_owned(),
        };
    };
    let (int, frac) = round_half_even(&int, &frac, places);
    let mut out = String::new();
    if negative {
        out.push('-');
    }
    out.push_str(&group_thousands(&int));
    if places > 0 {
        out.push('.');
        out.push_str(&frac);
    }
    if ellipsis {
        out.push('…');
    }
    out
}

/// The rows of `table` as a text table, as agate's `print_table` (dbt's
/// show calls it with no row limit): a header row, a `| --- |` separator
/// and one line per row, each cell padded between `|`s; text columns
/// left-aligned, the others right-aligned; NULL as an empty cell; numbers
/// with thousands separators and at most [`MAX_PRECISION`] decimals;
/// newlines as `↵`; values and names over [`MAX_COLUMN_WIDTH`] characters
/// cut; the first [`MAX_COLUMNS`] columns, then a `...` column. Every line
/// ends with `\n`. GitHub Markdown renders it as a table.
pub fn render_text(table: &CellTable) -> String {
    let kinds: Vec<Kind> = (0..table.columns.len())
        .map(|j| column_kind(table, j))
        .collect();
    let shown = table.columns.len().min(MAX_COLUMNS);
    let mut header: Vec<String> = table.columns[..shown].iter().map(|c| truncate(c)).collect();
    if table.columns.len() > MAX_COLUMNS {
        header.push("...".to_owned());
    }
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    // Each Number column's decimals: the most any of its values has.
    let places: Vec<Option<(usize, bool)>> = (0..shown)
        .map(|j| {
            (kinds[j] == Kind::Number).then(|| {
                let most = table
                    .rows
                    .iter()
                    .filter_map(|r| match r.get(j) {
                        Some(Cell::Number(n)) => split_decimal(n).map(|(_, _, f)| f.len()),
                        _ => None,
                    })
                    .max()
                    .unwrap_or(0);
                (most.min(MAX_PRECISION), most > MAX_PRECISION)
            })
        })
        .collect();
    let mut lines: Vec<Vec<String>> = Vec::with_capacity(table.rows.len());
    for row in &table.rows {
        let mut line = Vec::with_capacity(header.len());
        for (j, cell) in row.iter().enumerate() {
            let text = if j >= MAX_COLUMNS {
                "...".to_owned()
            } else {
                match (cell, places[j]) {
                    (Cell::Null, _) => String::new(),
                    (Cell::Number(n), Some((p, ellipsis))) => format_number(n, p, ellipsis),
                    (cell, _) => display(cell).replace('\n', "↵"),
                }
            };
            let text = truncate(&text);
            widths[j] = widths[j].max(text.chars().count());
            line.push(text);
            if j >= MAX_COLUMNS {
                break;
            }
        }
        lines.push(line);
    }
    let write_row = |cells: &[String]| -> String {
        let padded: Vec<String> = cells
            .iter()
            .enumerate()
            .map(|(j, d)| {
                let w = widths[j];
                if kinds.get(j) == Some(&Kind::Text) {
                    format!(" {d:<w$} ")
                } else {
                    format!(" {d:>w$} ")
                }
            })
            .collect();
        format!("|{}|\n", padded.join("|"))
    };
    let mut out = write_row(&header);
    let dashes: Vec<String> = widths.iter().map(|&w| "-".repeat(w)).collect();
    out.push_str(&format!("| {} |\n", dashes.join(" | ")));
    for line in &lines {
        out.push_str(&write_row(line));
    }
    out
}

/// A value as Python's `str()` prints what the DuckDB driver returns.
fn display(cell: &Cell) -> String {
    match cell {
        Cell::Null => String::new(),
        Cell::Boolean(true) => "True".to_owned(),
        Cell::Boolean(false) => "False".to_owned(),
        Cell::Integer(i) => i.to_string(),
        Cell::Number(s) | Cell::Date(s) | Cell::DateTime(s) | Cell::Text(s) => s.clone(),
    }
}

/// The preview as dbt's `show --output json` prints it: Python's
/// `json.dumps(..., indent=2)` of `{"node": name, "show": rows}` (no
/// `node` for `--inline`), each row an object in column order with values
/// as agate's `to_json` gives them: integers and booleans as themselves,
/// other numbers as floats (Python's `repr`), dates and timestamps in ISO
/// 8601, NULL as `null`; non-ASCII characters escaped (`\u00e9`), as
/// Python's `ensure_ascii`. Ends without a newline.
pub fn render_json(what: Previewed, table: &CellTable) -> String {
    let mut out = String::from("{\n");
    if let Previewed::Node(name) = what {
        out.push_str(&format!("  \"node\": {},\n", json_string(name)));
    }
    if table.rows.is_empty() {
        out.push_str("  \"show\": []\n}");
        return out;
    }
    out.push_str("  \"show\": [\n");
    for (k, row) in table.rows.iter().enumerate() {
        out.push_str("    {\n");
        let fields: Vec<String> = table
            .columns
            .iter()
            .zip(row)
            .map(|(c, v)| format!("      {}: {}", json_string(c), json_value(v)))
            .collect();
        out.push_str(&fields.join(",\n"));
        out.push_str(if k + 1 == table.rows.len() {
            "\n    }\n"
        } else {
            "\n    },\n"
        });
    }
    out.push_str("  ]\n}");
    out
}

/// A value as agate's `jsonify` and Python's `json.dumps` write it.
fn json_value(cell: &Cell) -> String {
    match cell {
        Cell::Null => "null".to_owned(),
        Cell::Boolean(b) => b.to_string(),
        Cell::Integer(i) => i.to_string(),
        Cell::Number(n) => python_float(n.parse::<f64>().unwrap_or(f64::NAN)),
        Cell::Date(d) => json_string(d),
        Cell::DateTime(t) => json_string(&t.replacen(' ', "T", 1)),
        Cell::Text(s) => json_string(s),
    }
}

/// Python's `repr(float)` (as `json.dumps` writes floats): the shortest
/// digits that round-trip, positional from 1e-4 up to 1e16, else
/// `1.5e+20` / `1e-07`; `NaN`, `Infinity` and `-Infinity` as Python writes them.
fn python_float(f: f64) -> String {
    if f.is_nan() {
        return "NaN".to_owned();
    }
    if f.is_infinite() {
        return if f > 0.0 { "Infinity" } else { "-Infinity" }.to_owned();
    }
    let sci = format!("{f:e}");
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    if (-4..16).contains(&exp) {
        let text = f.to_string();
        if text.contains('.') {
            text
        } else {
            format!("{text}.0")
        }
    } else {
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{mantissa}e{sign}{:02}", exp.abs())
    }
}

/// A JSON string as Python's `json.dumps` writes it (see
/// [`python_json_string`]).
fn json_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    python_json_string(s, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(columns: &[&str], rows: Vec<Vec<Cell>>) -> CellTable {
        CellTable {
            columns: columns.iter().map(|c| (*c).to_owned()).collect(),
            rows,
        }
    }

    #[test]
    fn text_table_aligns_as_agate() {
        // agate: text left, everything else right, NULL empty, numbers with
        // a comma per thousand and the column's most decimals.
        let t = table(
            &["id", "name", "amount", "day"],
            vec![
                vec![
                    Cell::Integer(1),
                    Cell::Text("Ann".into()),
                    Cell::Number("1234.5".into()),
                    Cell::Date("2024-01-02".into()),
                ],
                vec![
                    Cell::Integer(10),
                    Cell::Null,
                    Cell::Number("-2.25".into()),
                    Cell::Null,
                ],
            ],
        );
        assert_eq!(
            render_text(&t),
            "| id | name |   amount |        day |\n\
             | -- | ---- | -------- | ---------- |\n\
             |  1 | Ann  | 1,234.50 | 2024-01-02 |\n\
             | 10 |      |    -2.25 |            |\n"
        );
    }

    #[test]
    fn wide_tables_are_cut_as_agate() {
        let columns: Vec<String> = (1..=8).map(|k| format!("c{k}")).collect();
        let cols: Vec<&str> = columns.iter().map(String::as_str).collect();
        let t = table(
            &cols,
            vec![(1..=8)
                .map(|k| {
                    if k == 1 {
                        Cell::Text("a value well over twenty characters\nlong".into())
                    } else {
                        Cell::Integer(k)
                    }
                })
                .collect()],
        );
        assert_eq!(
            render_text(&t),
            "| c1                   | c2 | c3 | c4 | c5 | c6 | ... |\n\
             | -------------------- | -- | -- | -- | -- | -- | --- |\n\
             | a value well over... |  2 |  3 |  4 |  5 |  6 | ... |\n"
        );
    }

    #[test]
    fn numbers_round_half_even_to_three_places() {
        assert_eq!(format_number("0.12345", 3, true), "0.123…");
        assert_eq!(format_number("0.1235", 3, true), "0.124…");
        assert_eq!(format_number("0.1225", 3, true), "0.122…");
        assert_eq!(format_number("999.9996", 3, true), "1,000.000…");
        assert_eq!(format_number("1234567", 0, false), "1,234,567");
        assert_eq!(format_number("inf", 0, false), "Infinity");
    }

    #[test]
    fn json_as_python_dumps_it() {
        let t = table(
            &["id", "price", "at", "name"],
            vec![vec![
                Cell::Integer(1),
                Cell::Number("12.50".into()),
                Cell::DateTime("2024-01-02 03:04:05".into()),
                Cell::Text("café \"x\"".into()),
            ]],
        );
        assert_eq!(
            render_json(Previewed::Node("m"), &t),
            "{\n  \"node\": \"m\",\n  \"show\": [\n    {\n      \"id\": 1,\n      \"price\": 12.5,\n      \"at\": \"2024-01-02T03:04:05\",\n      \"name\": \"caf\\u00e9 \\\"x\\\"\"\n    }\n  ]\n}"
        );
        assert_eq!(
            render_json(Previewed::Inline, &table(&["a"], vec![])),
            "{\n  \"show\": []\n}"
        );
        assert_eq!(python_float(1e20), "1e+20");
        assert_eq!(python_float(1.5e-7), "1.5e-07");
        assert_eq!(python_float(3.0), "3.0");
        assert_eq!(python_float(0.1), "0.1");
    }

    #[test]
    fn negative_limits_mean_every_row() {
        assert_eq!(row_limit(-1), None);
        assert_eq!(row_limit(5), Some(5));
    }
}
