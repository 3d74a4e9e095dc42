//! Calling the materialization macros (templates/materializations/) from
//! Rust: what every materialization shares, below all of them.

use minijinja::Value;

use crate::error::Result;
use crate::render::Renderer;
use crate::warehouse::relation::Relation;

/// Calls macro `name` and returns its text, trimmed.
pub(crate) fn call(renderer: &Renderer, name: &str, args: &[Value]) -> Result<String> {
    Ok(renderer
        .call_macro(name, args)?
        .to_string()
        .trim()
        .to_owned())
}

/// `r` as the relation object templates receive.
pub(crate) fn rel(r: &Relation) -> Value {
    Value::from_object(r.clone())
}
