//! Checks a seed CSV before DuckDB reads it: DuckDB's reader sniffs the
//! dialect and, on a malformed file, answers with a page about sniffing
//! (a ragged row), loads something nobody asked for (a zero-byte file as a
//! `column0` table, a repeated header column renamed), or names no line.
//! These checks find the line and say what to change.

use std::path::Path;

use crate::error::{Error, ErrorKind, Location, Result};

/// Checks the seed CSV `bytes` (the file at `rel`, relative to the project)
/// read with `delimiter`: it has a header, the header names each column
/// once (compared case-insensitively, as DuckDB's identifiers), every row
/// has as many fields as the header, and the text is UTF-8.
///
/// dbt reads seeds with agate, which fails on a long row (`Row 2 has 5
/// values, but Table only has 4 columns`) and a missing header; it pads a
/// short row and renames a repeated column, which sluice refuses too: a
/// malformed row is a mistake to fix, not data.
///
/// Errors: [`ErrorKind::Config`] located at the line (and field) at fault,
/// with a hint.
pub fn check(rel: &Path, bytes: &[u8], delimiter: u8) -> Result<()> {
    let text = String::from_utf8_lossy(bytes);
    let at = |line: u64, col: usize| Location::new(rel, line as usize, col, Some(&text));
    let seed = rel
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    if text.trim().is_empty() {
        return Err(Error::new(
            ErrorKind::Config,
            format!("seed `{seed}` is empty: a seed needs a header line"),
        )
        .with_location(at(1, 1))
        .with_hint("start the file with a header naming the columns, e.g. `id,name`"));
    }
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .has_headers(false)
        .flexible(true)
        .from_reader(bytes);
    let mut header: Option<csv::ByteRecord> = None;
    let mut record = csv::ByteRecord::new();
    loop {
        let line = reader.position().line();
        match reader.read_byte_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => {
                let line = e.position().map_or(line, |p| p.line());
                return Err(Error::new(
                    ErrorKind::Config,
                    format!("seed `{seed}` is not valid CSV: {e}"),
                )
                .with_location(at(line, 1))
                .with_hint("check the quoting on this line: a value with the delimiter or a quote in it is written in double quotes, with inner quotes doubled"));
            }
        }
        let line = record.position().map_or(line, |p| p.line());
        if let Some(bad) = record.iter().position(|f| std::str::from_utf8(f).is_err()) {
            return Err(Error::new(
                ErrorKind::Config,
                format!("seed `{seed}` is not UTF-8: field {} of line {line} has bytes UTF-8 does not allow", bad + 1),
            )
            .with_location(at(line, 1))
            .with_hint("save the file as UTF-8 (spreadsheet programs often export Latin-1 or Windows-1252)"));
        }
        match &header {
            None => {
                let mut seen: Vec<String> = Vec::new();
                for field in record.iter() {
                    let name = String::from_utf8_lossy(field).trim().to_lowercase();
                    if seen.contains(&name) {
                        return Err(Error::new(
                            ErrorKind::Config,
                            format!("seed `{seed}` names column `{name}` twice in its header"),
                        )
                        .with_location(at(line, 1))
                        .with_hint("give each column its own name: a table cannot have two columns of one name"));
                    }
                    seen.push(name);
                }
                header = Some(record.clone());
            }
            Some(h) if record.len() != h.len() && !(record.len() == 1 && record[0].is_empty()) => {
                return Err(Error::new(
                    ErrorKind::Config,
                    format!(
                        "seed `{seed}`: line {line} has {} field{}, the header has {}",
                        record.len(),
                        if record.len() == 1 { "" } else { "s" },
                        h.len()
                    ),
                )
                .with_location(at(line, 1))
                .with_hint(if record.len() > h.len() {
                    "a value that contains the delimiter must be in double quotes, e.g. `\"late, lost\"`"
                } else {
                    "fill in the missing fields; leave a field empty (`a,,c`) for a null"
                }));
            }
            Some(_) => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(text: &[u8]) -> (String, usize, String) {
        let e = check(Path::new("seeds/s.csv"), text, b',').unwrap_err();
        let loc = e.location().expect("located");
        (
            e.message().to_owned(),
            loc.line,
            e.hint().unwrap_or_default().to_owned(),
        )
    }

    #[test]
    fn well_formed_files_pass() {
        for ok in [
            &b"id,name\n1,a\n2,b\n"[..],
            b"id,name\n",
            b"id,name\n1,\"a, b \"\"c\"\"\"\n",
            b"id,name\r\n1,a\r\n",
            b"id,name\n1,a\n\n",
            "id,name\n1,café\n".as_bytes(),
        ] {
            assert!(check(Path::new("s.csv"), ok, b',').is_ok(), "{ok:?}");
        }
        assert!(check(Path::new("s.csv"), b"id;name\n1;a\n", b';').is_ok());
    }

    #[test]
    fn ragged_rows_are_located_at_their_line() {
        let (msg, line, hint) = err(b"id,reason,amount\n1,x,5\n2,late, lost,7\n");
        assert_eq!(line, 3);
        assert!(
            msg.contains("line 3 has 4 fields, the header has 3"),
            "{msg}"
        );
        assert!(hint.contains("double quotes"), "{hint}");
        let (msg, line, hint) = err(b"id,reason,amount\n1,x,5\n2,7\n");
        assert_eq!(line, 3);
        assert!(msg.contains("has 2 fields"), "{msg}");
        assert!(hint.contains("missing fields"), "{hint}");
    }

    #[test]
    fn empty_files_duplicate_columns_and_latin1_are_refused() {
        let (msg, line, _) = err(b"");
        assert!(msg.contains("is empty"), "{msg}");
        assert_eq!(line, 1);
        let (msg, line, _) = err(b"id,order_id,ID\n1,2,3\n");
        assert!(msg.contains("names column `id` twice"), "{msg}");
        assert_eq!(line, 1);
        let (msg, line, hint) = err(b"id,reason\n1,ok\n2,caf\xe9\n");
        assert!(msg.contains("not UTF-8"), "{msg}");
        assert_eq!(line, 3);
        assert!(hint.contains("UTF-8"), "{hint}");
    }
}
