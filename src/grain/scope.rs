//! The scope of the grain walk: the joined rows of one `select`
//! ([`Joined`]) and how a column reference resolves in them, the walk's
//! state ([`Walk`]), and the small AST helpers the walk and the lint share.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::rc::Rc;

use sqlparser::ast::{Expr, Value, WindowType};

use crate::grain::shape::Shape;
use crate::grain::types::{FanOut, Finding};
use crate::lineage::Tables;

/// A column of the joined rows: (index of its relation in `FROM`, name).
pub(crate) type QCol = (usize, String);

#[derive(Debug, Clone)]
pub(crate) struct QKey {
    pub(crate) columns: BTreeSet<QCol>,
    pub(crate) with_nulls: bool,
    pub(crate) reason: String,
}

/// The rows of one `select`'s `FROM` after its joins and `WHERE`.
#[derive(Debug, Default)]
pub(crate) struct Joined {
    /// The relations by alias (lowercased), in `FROM` order.
    pub(crate) rels: Vec<(String, Shape)>,
    pub(crate) keys: Vec<QKey>,
    pub(crate) not_null: BTreeMap<QCol, String>,
    pub(crate) constants: BTreeMap<QCol, String>,
    /// Relation index -> the outer join that can make its columns NULL,
    /// and where it is.
    pub(crate) null_side: BTreeMap<usize, (String, (usize, usize))>,
    /// Columns a `where` made not null, the NULL side of an outer join included.
    pub(crate) filtered: BTreeSet<QCol>,
    /// Set when the rows went through a step the walk does not model.
    pub(crate) unknown: bool,
}

impl Joined {
    /// The column `parts` (`c`, `t.c`, `s.t.c`) refers to, when it names
    /// one relation's column without doubt.
    pub(crate) fn resolve(&self, parts: &[String]) -> Option<QCol> {
        match parts {
            [] => None,
            [column] => {
                let column = column.to_lowercase();
                if self.rels.len() == 1 {
                    return Some((0, column));
                }
                let holding: Vec<usize> = (0..self.rels.len())
                    .filter(|&i| {
                        self.rels[i]
                            .1
                            .columns
                            .as_ref()
                            .is_some_and(|cols| cols.contains(&column))
                    })
                    .collect();
                let unknown = self.rels.iter().any(|(_, s)| s.columns.is_none());
                match holding.as_slice() {
                    [one] if !unknown => Some((*one, column)),
                    _ => None,
                }
            }
            [.., qualifier, column] => {
                let q = qualifier.to_lowercase();
                let found: Vec<usize> = (0..self.rels.len())
                    .filter(|&i| self.rels[i].0 == q)
                    .collect();
                match found.as_slice() {
                    [one] => Some((*one, column.to_lowercase())),
                    _ => None,
                }
            }
        }
    }

    /// The column `expr` is a plain reference to, if it is one.
    pub(crate) fn column_of(&self, expr: &Expr) -> Option<QCol> {
        match expr {
            Expr::Nested(inner) => self.column_of(inner),
            other => self.resolve(&column_parts(other)?),
        }
    }

    /// Whether the columns `covered` contain a key of the joined rows
    /// (constants count as covered).
    pub(crate) fn covers_key(&self, covered: &BTreeSet<QCol>) -> bool {
        !self.unknown
            && self.keys.iter().any(|k| {
                k.columns
                    .iter()
                    .all(|c| covered.contains(c) || self.constants.contains_key(c))
            })
    }

    /// Drops columns that hold one value out of the keys (`where c = 'x'`
    /// leaves the rest of a key containing `c` unique).
    pub(crate) fn drop_constants(&mut self) {
        for key in &mut self.keys {
            let constant: Vec<QCol> = key
                .columns
                .iter()
                .filter(|c| self.constants.contains_key(*c))
                .cloned()
                .collect();
            for c in constant {
                key.columns.remove(&c);
                key.reason = format!("{}; `{}` holds one value", key.reason, c.1);
            }
        }
    }

    /// Whether no key of the joined rows is known.
    pub(crate) fn keys_unknown(&self) -> bool {
        self.unknown || self.keys.is_empty()
    }

    /// The first known key of the joined rows, as `a.x, b.y (reason)`.
    pub(crate) fn key_text(&self) -> String {
        match self.keys.first() {
            Some(k) => {
                let cols: Vec<String> = k
                    .columns
                    .iter()
                    .map(|(i, c)| match self.rels[*i].0.as_str() {
                        "" => c.clone(),
                        alias => format!("{alias}.{c}"),
                    })
                    .collect();
                format!("`{}` ({})", cols.join(", "), k.reason)
            }
            None => "a key of the rows".to_owned(),
        }
    }

    pub(crate) fn start(&mut self, alias: String, shape: Shape) {
        let q = |c: &String| (0usize, c.clone());
        self.keys = shape
            .keys
            .iter()
            .map(|k| QKey {
                columns: k.columns.iter().map(q).collect(),
                with_nulls: k.with_nulls,
                reason: k.reason.clone(),
            })
            .collect();
        self.not_null = shape
            .not_null
            .iter()
            .map(|(c, r)| (q(c), r.clone()))
            .collect();
        self.constants = shape
            .constants
            .iter()
            .map(|(c, v)| (q(c), v.clone()))
            .collect();
        self.rels.push((alias, shape));
    }

    pub(crate) fn left_names(&self) -> String {
        self.rels
            .iter()
            .map(|(a, _)| format!("`{a}`"))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// The column name parts of a plain column reference.
pub(crate) fn column_parts(expr: &Expr) -> Option<Vec<String>> {
    match expr {
        Expr::Identifier(i) => Some(vec![i.value.clone()]),
        Expr::CompoundIdentifier(parts) => Some(parts.iter().map(|p| p.value.clone()).collect()),
        _ => None,
    }
}

/// A literal's SQL text, when `expr` is a non-NULL literal.
pub(crate) fn literal(expr: &Expr) -> Option<String> {
    match expr {
        Expr::Value(v) if !matches!(v.value, Value::Null) => Some(v.value.to_string()),
        Expr::TypedString { .. } => Some(expr.to_string()),
        Expr::Nested(inner) => literal(inner),
        Expr::Cast { expr, .. } => literal(expr).map(|_| expr.to_string()),
        _ => None,
    }
}

/// Line and column (1-based) where `expr` starts, or (1, 1) when unknown.
pub(crate) fn position(span: sqlparser::tokenizer::Span) -> (usize, usize) {
    if span.start.line == 0 {
        (1, 1)
    } else {
        (span.start.line as usize, span.start.column as usize)
    }
}

/// CTEs in scope, by lowercased name.
pub(crate) type Ctes = HashMap<String, Rc<Shape>>;

/// The walk over one statement: what it reads, and what it found.
pub(crate) struct Walk<'a> {
    pub(crate) tables: &'a Tables<Shape>,
    /// Whether the model is incremental: `now()` in a `where` is then its
    /// incremental filter, not nondeterminism.
    pub(crate) incremental: bool,
    pub(crate) fan_outs: Vec<FanOut>,
    pub(crate) findings: Vec<Finding>,
}

/// The lowercased last part of a function's name.
pub(crate) fn function_name(f: &sqlparser::ast::Function) -> String {
    f.name
        .0
        .last()
        .and_then(|p| p.as_ident())
        .map(|i| i.value.to_lowercase())
        .unwrap_or_default()
}

/// `row_number() over (partition by p ...)`: the partition's columns.
pub(crate) fn row_number_partition(expr: &Expr) -> Option<&[Expr]> {
    let Expr::Function(f) = expr else {
        return None;
    };
    if function_name(f) != "row_number" {
        return None;
    }
    match &f.over {
        Some(WindowType::WindowSpec(spec)) => Some(&spec.partition_by),
        _ => None,
    }
}
