//! dbt's docs blocks: `{% docs name %}...{% enddocs %}` in the project's
//! Markdown files, and the `doc(name)` function that returns a block's text.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use minijinja::{Environment, Value};

use crate::error::{did_you_mean, Error, ErrorKind, Location, Result};
use crate::render::{call, macros};

/// Every docs block of `files`, as name to `(file, text)`.
///
/// Errors: [`ErrorKind::DuplicateNode`], located, for two blocks of the same name.
pub(super) fn parse(
    files: &[crate::project::SourceFile],
) -> Result<BTreeMap<String, (String, String)>> {
    static BLOCK: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(
            r"(?s)\{%-?\s*docs\s+([A-Za-z_][A-Za-z0-9_]*)\s*-?%\}(.*?)\{%-?\s*enddocs\s*-?%\}",
        )
        .expect("valid regex")
    });
    let mut docs: BTreeMap<String, (String, String)> = BTreeMap::new();
    for file in files {
        let path = macros::display_path(&file.path);
        for cap in BLOCK.captures_iter(&file.text) {
            let name = cap[1].to_owned();
            if let Some((prev, _)) = docs.get(&name) {
                let offset = cap.get(0).map_or(0, |m| m.start());
                return Err(Error::new(
                    ErrorKind::DuplicateNode,
                    format!("docs block `{name}` is defined twice: in `{prev}` and `{path}`"),
                )
                .with_location(Location::from_offset(Path::new(&path), &file.text, offset))
                .with_hint("rename or delete one of them"));
            }
            docs.insert(name, (path.clone(), cap[2].trim().to_owned()));
        }
    }
    Ok(docs)
}

/// Adds `doc('name')` (or `doc('package', 'name')`) to `env`, answering
/// from `docs`; an unknown name is an error with a did-you-mean.
pub(super) fn register_doc(
    env: &mut Environment<'static>,
    docs: &BTreeMap<String, (String, String)>,
) {
    let texts: Arc<BTreeMap<String, String>> = Arc::new(
        docs.iter()
            .map(|(k, (_, t))| (k.clone(), t.clone()))
            .collect(),
    );
    env.add_function(
        "doc",
        move |first: String, second: Option<String>| -> std::result::Result<Value, minijinja::Error> {
            let name = second.unwrap_or(first);
            match texts.get(&name) {
                Some(text) => Ok(Value::from(text.clone())),
                None => {
                    let err = Error::new(ErrorKind::Config, format!("docs block `{name}` is not defined"));
                    let err = match did_you_mean(&name, texts.keys().map(String::as_str)) {
                        Some(s) => err.with_hint(format!("did you mean `{s}`?")),
                        None => err.with_hint(
                            "define it with `{% docs name %}...{% enddocs %}` in a .md file under the model paths",
                        ),
                    };
                    Err(call::wrap(err))
                }
            }
        },
    );
}
