//! Documented why, kept honest (sluice's extension): a `-- why: ...`
//! comment in a model's SQL, or a column's YAML `meta.why`, is attached to
//! one expression (a selected column, a join condition, a `where`,
//! `having` or `qualify` condition, a `group by` expression) and pinned to
//! the hash of that expression's syntax tree. When the expression changes
//! and the note does not, `sluice compile` warns that the note may be stale,
//! until the note is edited.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use sqlparser::ast::{
    Expr, GroupByExpr, JoinConstraint, Query, Select, SelectItem, SetExpr, Spanned, Statement,
    TableFactor,
};

/// A note and the expression it explains.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WhyNote {
    /// The note's text.
    pub note: String,
    /// The expression it is attached to, as SQL.
    pub expression: String,
    /// Hash (sha256 hex, first 16 digits) of the expression's syntax tree
    /// as sqlparser prints it: formatting and comments do not change it.
    pub hash: String,
    /// 1-based line of the expression in the model's rendered SQL (0 for a
    /// YAML note whose column is not found).
    pub line: usize,
    /// Set when the expression changed since the note was written: the
    /// expression it was written for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stale_since: Option<String>,
}

/// The hash a note is pinned to.
fn hash(expression: &str) -> String {
    crate::manifest::sha256(expression)[..16].to_owned()
}

/// An expression a note can explain: where it starts and its SQL.
struct Candidate {
    line: usize,
    column: usize,
    text: String,
}

fn candidates(statements: &[Statement]) -> Vec<Candidate> {
    fn push(out: &mut Vec<Candidate>, e: &Expr) {
        let span = e.span();
        if span.start.line > 0 {
            out.push(Candidate {
                line: span.start.line as usize,
                column: span.start.column as usize,
                text: e.to_string(),
            });
        }
    }
    fn query(q: &Query, out: &mut Vec<Candidate>) {
        if let Some(with) = &q.with {
            for cte in &with.cte_tables {
                query(&cte.query, out);
            }
        }
        set(&q.body, out);
    }
    fn set(body: &SetExpr, out: &mut Vec<Candidate>) {
        match body {
            SetExpr::Select(s) => select(s, out),
            SetExpr::Query(q) => query(q, out),
            SetExpr::SetOperation { left, right, .. } => {
                set(left, out);
                set(right, out);
            }
            _ => {}
        }
    }
    fn factor(f: &TableFactor, out: &mut Vec<Candidate>) {
        if let TableFactor::Derived { subquery, .. } = f {
            query(subquery, out);
        }
    }
    fn select(s: &Select, out: &mut Vec<Candidate>) {
        for item in &s.projection {
            match item {
                SelectItem::UnnamedExpr(e) | SelectItem::ExprWithAlias { expr: e, .. } => {
                    push(out, e)
                }
                _ => {}
            }
        }
        for twj in &s.from {
            factor(&twj.relation, out);
            for join in &twj.joins {
                factor(&join.relation, out);
                let constraint = crate::sql::join_constraint(&join.join_operator);
                if let Some(JoinConstraint::On(on)) = constraint {
                    push(out, on);
                }
            }
        }
        for e in [&s.selection, &s.having, &s.qualify].into_iter().flatten() {
            push(out, e);
        }
        if let GroupByExpr::Expressions(exprs, _) = &s.group_by {
            for e in exprs {
                push(out, e);
            }
        }
    }
    let mut out = Vec::new();
    if let Some(Statement::Query(q)) = statements.last() {
        query(q, &mut out);
    }
    out.sort_by_key(|c| (c.line, c.column));
    out
}

/// The notes of a model: each `-- why: text` comment of `sql` (its
/// rendered SQL, whose syntax tree is `statements`) attached to the
/// expression that starts on the comment's line before it (a trailing
/// comment) or else the first one after it; and each `(column, note)` of
/// `yaml` (columns' `meta.why`) attached to the column's expression in the
/// model's output.
pub fn why_notes(sql: &str, statements: &[Statement], yaml: &[(String, String)]) -> Vec<WhyNote> {
    let candidates = candidates(statements);
    let mut out = Vec::new();
    for (k, line) in sql.lines().enumerate() {
        let number = k + 1;
        let Some(at) = line.find("-- why:") else {
            continue;
        };
        let note = line[at + "-- why:".len()..].trim().to_owned();
        let trailing = candidates
            .iter()
            .rfind(|c| c.line == number && c.column <= at + 1);
        let next = || candidates.iter().find(|c| c.line > number);
        if let Some(c) = trailing.or_else(next) {
            out.push(WhyNote {
                note,
                expression: c.text.clone(),
                hash: hash(&c.text),
                line: c.line,
                stale_since: None,
            });
        }
    }
    for (column, note) in yaml {
        let steps = crate::lineage::explain::column_steps(statements, column);
        let expression = steps
            .first()
            .map(|s| s.expression.clone())
            .unwrap_or_else(|| column.clone());
        let line = candidates
            .iter()
            .find(|c| c.text == expression)
            .map_or(0, |c| c.line);
        out.push(WhyNote {
            note: note.clone(),
            hash: hash(&expression),
            expression,
            line,
            stale_since: None,
        });
    }
    out
}

/// A note as pinned in the project's `why-notes.lock.yml`: the text and
/// the expression it was written for (no line: moving the expression does
/// not touch the file).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pin {
    /// The note's text.
    pub note: String,
    /// The expression it was written for, as SQL.
    pub expression: String,
    /// That expression's hash (as [`WhyNote::hash`]).
    pub hash: String,
}

/// The pinned notes of every node, by unique_id, sorted (so the file diffs
/// cleanly): the contents of `why-notes.lock.yml`.
pub type PinnedNotes = BTreeMap<String, Vec<Pin>>;

/// The file, in the project root, that keeps the pins: beside the code,
/// so `sluice clean` does not forget them and a team shares them.
pub const PINS_FILE: &str = "why-notes.lock.yml";

/// Marks `notes` (of one node) stale where `pinned` (the node's pins) has
/// the same note text pinned to another expression hash, and keeps that
/// older pin (the note stays stale until its text changes). Returns the
/// pins to keep from now on: the older pin for a stale note, a new pin for
/// a new or edited note; pins of notes that are gone are dropped.
pub fn check_pins(notes: &mut [WhyNote], pinned: Option<&Vec<Pin>>) -> Vec<Pin> {
    let mut keep = Vec::with_capacity(notes.len());
    for note in notes.iter_mut() {
        let old = pinned.and_then(|p| p.iter().find(|o| o.note == note.note));
        match old {
            Some(old) if old.hash != note.hash => {
                note.stale_since = Some(old.expression.clone());
                keep.push(old.clone());
            }
            _ => keep.push(Pin {
                note: note.note.clone(),
                expression: note.expression.clone(),
                hash: note.hash.clone(),
            }),
        }
    }
    keep
}

#[cfg(test)]
mod tests {
    use super::{check_pins, why_notes};
    use sqlparser::dialect::DuckDbDialect;
    use sqlparser::parser::Parser;

    fn notes(sql: &str) -> Vec<super::WhyNote> {
        let statements = Parser::parse_sql(&DuckDbDialect {}, sql).unwrap();
        why_notes(
            sql,
            &statements,
            &[("total".into(), "net of refunds".into())],
        )
    }

    #[test]
    fn notes_attach_to_the_expression_after_or_before_them() {
        let sql = "select\n  -- why: cents to dollars\n  amount / 100 as dollars,\n  sum(x) - sum(r) as total\nfrom t\nwhere status <> 'test' -- why: test orders are fake\ngroup by 1";
        let n = notes(sql);
        assert_eq!(n.len(), 3);
        assert_eq!(
            (n[0].note.as_str(), n[0].expression.as_str()),
            ("cents to dollars", "amount / 100")
        );
        assert_eq!(n[1].expression, "status <> 'test'");
        assert_eq!(
            (n[2].note.as_str(), n[2].expression.as_str()),
            ("net of refunds", "sum(x) - sum(r)")
        );
    }

    #[test]
    fn formatting_keeps_the_pin_and_a_changed_expression_makes_the_note_stale() {
        let before = notes("select\n  -- why: cents to dollars\n  amount / 100 as dollars\nfrom t");
        let reformatted =
            notes("select\n  -- why: cents to dollars\n  amount   /   100 as dollars from t");
        assert_eq!(before[0].hash, reformatted[0].hash);
        let mut changed =
            notes("select\n  -- why: cents to dollars\n  amount / 1000 as dollars\nfrom t");
        let pins = check_pins(&mut before.clone(), None);
        let kept = check_pins(&mut changed, Some(&pins));
        assert_eq!(changed[0].stale_since.as_deref(), Some("amount / 100"));
        // The old pin is kept: the warning stays until the note changes.
        assert_eq!(kept[0].hash, before[0].hash);
        let mut edited = notes(
            "select\n  -- why: tenths of cents to dollars\n  amount / 1000 as dollars\nfrom t",
        );
        check_pins(&mut edited, Some(&kept));
        assert!(edited[0].stale_since.is_none());
    }
}
