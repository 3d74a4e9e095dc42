//! The one error type of sluice.
//!
//! Every user mistake (bad YAML, bad Jinja, unknown ref, cycle, bad config,
//! missing file, locked database) becomes an [`Error`] with a [`ErrorKind`],
//! a message written for people, an optional `path:line:col` [`Location`]
//! with the offending source line, and an optional `hint:` that says what to
//! do. [`Error::render`] prints it the way rustc and cargo do (with their
//! renderer, annotate-snippets), with a caret under the spot.

use std::fmt;
use std::path::{Path, PathBuf};

/// What went wrong, coarse enough to match on in tests and to pick an exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// A file could not be read or written.
    Io,
    /// A YAML file (dbt_project.yml, profiles.yml, schema YAML) is malformed.
    Yaml,
    /// A config value is missing, has the wrong type or an unknown value.
    Config,
    /// profiles.yml is missing the profile or target, or names an unsupported type.
    Profile,
    /// A Jinja template failed to parse or render.
    Jinja,
    /// `ref()` names a node that does not exist.
    UnknownRef,
    /// `source()` names a source table that does not exist.
    UnknownSource,
    /// The dependency graph has a cycle.
    Cycle,
    /// Two nodes share a name where dbt requires names to be unique.
    DuplicateNode,
    /// A file the project points at is missing.
    MissingFile,
    /// A `--select`/`--exclude` expression is malformed.
    Selector,
    /// The warehouse rejected a statement or could not be opened.
    Database,
    /// Compiled SQL does not parse.
    Sql,
    /// A model's columns do not match its enforced contract.
    Contract,
    /// A join can multiply the rows of a model that declares its grain, or
    /// a test's column can be NULL or repeat by the model's structure
    /// (a compile warning; see [`crate::grain`]).
    Grain,
    /// An expression whose value changes between two runs on the same
    /// data (a compile warning; see [`crate::grain`]).
    Nondeterminism,
    /// A `-- why:` note (or `meta.why`) whose expression changed while the
    /// note did not (a compile warning; see [`crate::lineage::why_notes`]).
    StaleNote,
    /// The command line was used wrongly.
    Usage,
    /// A bug in sluice, not a mistake of the user's: rendered as an
    /// internal error with a request to report it.
    Internal,
}

/// A position in a user's file: 1-based line and column, path relative to the
/// project directory where possible, and the text of that line for the caret
/// display.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    /// File the error is in, relative to the project directory where possible.
    pub path: PathBuf,
    /// 1-based line number.
    pub line: usize,
    /// 1-based column number (in characters).
    pub col: usize,
    /// The text of line `line`, when the source was at hand.
    pub line_text: Option<String>,
}

impl Location {
    /// A location at `line:col` (both 1-based) in `path`, taking the line's
    /// text from `source` (the whole file) when it is given.
    pub fn new(path: impl Into<PathBuf>, line: usize, col: usize, source: Option<&str>) -> Self {
        let line_text =
            source.and_then(|s| s.lines().nth(line.saturating_sub(1)).map(str::to_owned));
        Location {
            path: path.into(),
            line: line.max(1),
            col: col.max(1),
            line_text,
        }
    }

    /// The location of byte `offset` in `source` (the whole text of `path`).
    pub fn from_offset(path: impl Into<PathBuf>, source: &str, offset: usize) -> Self {
        let offset = offset.min(source.len());
        let before = &source[..offset];
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let col = source[line_start..offset].chars().count() + 1;
        Location::new(path, line, col, Some(source))
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.path.display(), self.line, self.col)
    }
}

/// The error type of every fallible sluice function.
///
/// Built with [`Error::new`] and the `with_*` builders; shown to a user with
/// [`Error::render`]. Boxed, so a `Result` stays one pointer wide.
#[derive(Debug)]
pub struct Error {
    inner: Box<Inner>,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.inner.message)
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.inner
            .source
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

#[derive(Debug)]
struct Inner {
    kind: ErrorKind,
    message: String,
    location: Option<Location>,
    hint: Option<String>,
    notes: Vec<String>,
    source: Option<Box<dyn std::error::Error + Send + Sync + 'static>>,
}

/// `Result` with sluice's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// A new error of `kind` with a one-line `message` (values in backticks,
    /// no trailing period).
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error {
            inner: Box::new(Inner {
                kind,
                message: message.into(),
                location: None,
                hint: None,
                notes: Vec::new(),
                source: None,
            }),
        }
    }

    /// Attaches the place in a user's file the error is about.
    #[must_use]
    pub fn with_location(mut self, location: Location) -> Self {
        self.inner.location = Some(location);
        self
    }

    /// Attaches a location only if the error has none yet.
    #[must_use]
    pub fn or_location(mut self, location: impl FnOnce() -> Option<Location>) -> Self {
        if self.inner.location.is_none() {
            self.inner.location = location();
        }
        self
    }

    /// Attaches a `hint:` line that tells the user what to do.
    #[must_use]
    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.inner.hint = Some(hint.into());
        self
    }

    /// Adds a `note:` line with extra context (e.g. the compiled file path).
    #[must_use]
    pub fn with_note(mut self, note: impl Into<String>) -> Self {
        self.inner.notes.push(note.into());
        self
    }

    /// Attaches the underlying error (kept for `source()` chains).
    #[must_use]
    pub fn with_source(mut self, source: impl std::error::Error + Send + Sync + 'static) -> Self {
        self.inner.source = Some(Box::new(source));
        self
    }

    /// A copy of this error's kind, message, location, hint and notes (the
    /// underlying source is not cloneable and is left out). For an error
    /// that must be reported in more than one place.
    pub fn duplicate(&self) -> Error {
        Error {
            inner: Box::new(Inner {
                kind: self.inner.kind,
                message: self.inner.message.clone(),
                location: self.inner.location.clone(),
                hint: self.inner.hint.clone(),
                notes: self.inner.notes.clone(),
                source: None,
            }),
        }
    }

    /// The kind of this error.
    pub fn kind(&self) -> ErrorKind {
        self.inner.kind
    }

    /// The kind's name (`Config`, `Selector`), as `--log-format json`
    /// prints it and `--warn-error-options` matches it.
    pub fn kind_name(&self) -> &'static str {
        match self.inner.kind {
            ErrorKind::Io => "Io",
            ErrorKind::Yaml => "Yaml",
            ErrorKind::Config => "Config",
            ErrorKind::Profile => "Profile",
            ErrorKind::Jinja => "Jinja",
            ErrorKind::UnknownRef => "UnknownRef",
            ErrorKind::UnknownSource => "UnknownSource",
            ErrorKind::Cycle => "Cycle",
            ErrorKind::DuplicateNode => "DuplicateNode",
            ErrorKind::MissingFile => "MissingFile",
            ErrorKind::Selector => "Selector",
            ErrorKind::Database => "Database",
            ErrorKind::Sql => "Sql",
            ErrorKind::Contract => "Contract",
            ErrorKind::Grain => "Grain",
            ErrorKind::Nondeterminism => "Nondeterminism",
            ErrorKind::StaleNote => "StaleNote",
            ErrorKind::Usage => "Usage",
            ErrorKind::Internal => "Internal",
        }
    }

    /// dbt's event name for this diagnostic as a warning, where dbt has
    /// one (a selection that matches nothing is
    /// `NoNodesForSelectionCriteria`); else the kind's name.
    pub fn event_name(&self) -> &'static str {
        match self.inner.kind {
            ErrorKind::Selector => "NoNodesForSelectionCriteria",
            _ => self.kind_name(),
        }
    }

    /// The one-line message, without location or hint.
    pub fn message(&self) -> &str {
        &self.inner.message
    }

    /// The location, if the error is about a place in a file.
    pub fn location(&self) -> Option<&Location> {
        self.inner.location.as_ref()
    }

    /// The hint, if any.
    pub fn hint(&self) -> Option<&str> {
        self.inner.hint.as_deref()
    }

    /// The notes, in the order they were added.
    pub fn notes(&self) -> &[String] {
        &self.inner.notes
    }

    /// An I/O error on `path`, with the action that failed (`"read"`, `"write"`).
    pub fn io(action: &str, path: &Path, err: std::io::Error) -> Self {
        let kind = if err.kind() == std::io::ErrorKind::NotFound {
            ErrorKind::MissingFile
        } else {
            ErrorKind::Io
        };
        Error::new(
            kind,
            format!("could not {action} `{}`: {err}", path.display()),
        )
    }

    /// Renders the full diagnostic: `error: ...`, the `--> path:line:col`
    /// arrow, the source line with a caret, notes and the hint, drawn by
    /// annotate-snippets (the renderer of rustc and cargo). Plain text, no
    /// colour, so it can be snapshotted and written to run_results.json.
    pub fn render(&self) -> String {
        self.render_as(Severity::Error)
    }

    /// The diagnostic as [`Error::render`] prints it, headed by `severity`
    /// (`error:` or `warning:`): a warning is the same data as an error,
    /// only reported without stopping anything.
    pub fn render_as(&self, severity: Severity) -> String {
        self.draw(severity, &annotate_snippets::Renderer::plain())
    }

    /// [`Error::render_as`] with ANSI colour (red errors, yellow warnings,
    /// bold arrows), for a terminal. The caller decides whether colour is
    /// wanted (`NO_COLOR`, a pipe): sluice prints it through anstream,
    /// which strips the colour where the stream does not take it.
    pub fn render_styled(&self, severity: Severity) -> String {
        self.draw(severity, &annotate_snippets::Renderer::styled())
    }

    fn draw(&self, severity: Severity, renderer: &annotate_snippets::Renderer) -> String {
        use annotate_snippets::{AnnotationKind, Group, Level, Origin, Snippet};
        let level = match (severity, self.inner.kind) {
            (Severity::Error, ErrorKind::Internal) => Level::ERROR.with_name("internal error"),
            (Severity::Error, _) => Level::ERROR,
            (Severity::Warning, _) => Level::WARNING,
        };
        let mut group = Group::with_title(level.primary_title(self.inner.message.as_str()));
        let path;
        if let Some(loc) = &self.inner.location {
            path = loc.path.display().to_string();
            group = match &loc.line_text {
                Some(text) => {
                    // The caret's byte offset: `col` counts characters.
                    let at = text
                        .char_indices()
                        .nth(loc.col - 1)
                        .map_or(text.len(), |(i, _)| i);
                    group.element(
                        Snippet::source(text.as_str())
                            .line_start(loc.line)
                            .path(path.as_str())
                            .annotation(AnnotationKind::Primary.span(at..at)),
                    )
                }
                None => group.element(
                    Origin::path(path.as_str())
                        .line(loc.line)
                        .char_column(loc.col),
                ),
            };
        }
        for note in &self.inner.notes {
            group = group.element(Level::NOTE.message(note.as_str()));
        }
        if let Some(hint) = &self.inner.hint {
            group = group.element(Level::HELP.with_name("hint").message(hint.as_str()));
        }
        let mut out = renderer.render(&[group]);
        out.push('\n');
        out
    }
}

/// Which warnings are errors: dbt's `--warn-error` (all of them) and
/// `--warn-error-options` (`error`/`include`: `all` or names; `warn`/
/// `exclude`: names kept as warnings). A warning is named by its dbt event
/// name where dbt has one (`NoNodesForSelectionCriteria`) or by its kind
/// (`Config`, `Sql`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WarnPolicy {
    all: bool,
    error: Vec<String>,
    warn: Vec<String>,
}

impl WarnPolicy {
    /// The policy of `--warn-error` (`warn_error`) and
    /// `--warn-error-options` (`options`, YAML or JSON).
    ///
    /// Errors: [`ErrorKind::Usage`] for options that are not a mapping of
    /// `error`/`include` and `warn`/`exclude`.
    pub fn parse(warn_error: bool, options: Option<&str>) -> Result<WarnPolicy> {
        let mut policy = WarnPolicy {
            all: warn_error,
            ..WarnPolicy::default()
        };
        let Some(text) = options else {
            return Ok(policy);
        };
        let usage = |why: String| {
            Error::new(ErrorKind::Usage, format!("`--warn-error-options`: {why}"))
                .with_hint("write e.g. `--warn-error-options '{error: all, warn: [NoNodesForSelectionCriteria]}'`")
        };
        let value: serde_yaml::Value =
            serde_yaml::from_str(text).map_err(|e| usage(e.to_string()))?;
        let map = value
            .as_mapping()
            .ok_or_else(|| usage("not a mapping".to_owned()))?;
        for (key, v) in map {
            let key = key.as_str().unwrap_or("");
            let names: Vec<String> = match v {
                serde_yaml::Value::String(s) => vec![s.clone()],
                serde_yaml::Value::Sequence(items) => items
                    .iter()
                    .filter_map(|i| i.as_str().map(str::to_owned))
                    .collect(),
                _ => return Err(usage(format!("`{key}` is not a name or a list of names"))),
            };
            match key {
                "error" | "include" => {
                    if names.iter().any(|n| n == "all" || n == "*") {
                        policy.all = true;
                    }
                    policy.error.extend(names);
                }
                "warn" | "exclude" => policy.warn.extend(names),
                "silence" => {}
                other => return Err(usage(format!("unknown key `{other}`"))),
            }
        }
        Ok(policy)
    }

    /// Whether `warning` is to be raised as an error.
    pub fn is_error(&self, warning: &Error) -> bool {
        let names = [warning.event_name(), warning.kind_name()];
        if names.iter().any(|n| self.warn.iter().any(|w| w == n)) {
            return false;
        }
        self.all || names.iter().any(|n| self.error.iter().any(|e| e == n))
    }

    /// Whether every warning is an error (`--warn-error`, or `error: all`):
    /// then a data test that warns fails.
    pub fn all(&self) -> bool {
        self.all
    }
}

/// How serious a diagnostic is: an error stops what it is about, a warning
/// is reported and the command goes on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    /// Stops the node or the command.
    Error,
    /// Reported only.
    Warning,
}

impl Severity {
    /// `error` or `warning`, as the rendered diagnostic's first word.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        }
    }
}

/// "did you mean" support: the candidate closest to `name`, if it is close
/// enough to be a plausible typo (Jaro-Winkler similarity of at least 0.8).
pub fn did_you_mean<'a>(
    name: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|c| (strsim::jaro_winkler(name, c), c))
        .filter(|(score, _)| *score >= 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_warning_is_the_same_diagnostic_headed_warning() {
        let e = Error::new(ErrorKind::Config, "m").with_hint("h");
        assert_eq!(e.render(), "error: m\n |\n = hint: h\n");
        assert_eq!(
            e.render_as(Severity::Warning),
            "warning: m\n |\n = hint: h\n"
        );
        let bug = Error::new(ErrorKind::Internal, "x");
        assert_eq!(bug.render(), "internal error: x\n");
    }

    #[test]
    fn location_from_offset_counts_lines_and_columns() {
        let src = "select 1\nfrom {{ ref('x') }}\n";
        let loc = Location::from_offset("m.sql", src, src.find("ref").unwrap());
        assert_eq!((loc.line, loc.col), (2, 9));
        assert_eq!(loc.line_text.as_deref(), Some("from {{ ref('x') }}"));
    }

    #[test]
    fn render_puts_caret_under_column() {
        let src = "select *\nfrom {{ ref('stg_order') }}";
        let err = Error::new(ErrorKind::UnknownRef, "unknown")
            .with_location(Location::new("models/a.sql", 2, 9, Some(src)))
            .with_hint("did you mean `stg_orders`?");
        let text = err.render();
        assert!(text.contains(" --> models/a.sql:2:9\n"), "{text}");
        assert!(
            text.contains("2 | from {{ ref('stg_order') }}\n  |         ^\n"),
            "{text}"
        );
        assert!(
            text.ends_with("  = hint: did you mean `stg_orders`?\n"),
            "{text}"
        );
    }

    #[test]
    fn caret_counts_characters_after_multibyte_text() {
        // Column 5 is the `x` after two two-byte characters.
        let err = Error::new(ErrorKind::Sql, "m").with_location(Location::new(
            "m.sql",
            1,
            5,
            Some("'éé'x"),
        ));
        let text = err.render();
        assert!(text.contains("--> m.sql:1:5\n"), "{text}");
        assert!(text.contains("1 | 'éé'x\n  |     ^\n"), "{text}");
    }

    #[test]
    fn a_location_without_its_line_still_names_the_place() {
        let err = Error::new(ErrorKind::Database, "m").with_location(Location::new(
            "seeds/s.csv",
            3,
            1,
            None,
        ));
        assert_eq!(err.render(), "error: m\n--> seeds/s.csv:3:1\n");
    }

    #[test]
    fn styled_rendering_colours_the_head_and_plain_does_not() {
        let err = Error::new(ErrorKind::Config, "m");
        assert!(err.render_styled(Severity::Error).contains("\u{1b}["));
        assert!(!err.render().contains('\u{1b}'));
    }

    #[test]
    fn warn_error_options_pick_which_warnings_are_errors() {
        let selection = Error::new(ErrorKind::Selector, "nothing");
        let config = Error::new(ErrorKind::Config, "typo");
        let none = WarnPolicy::parse(false, None).unwrap();
        assert!(!none.is_error(&selection) && !none.all());
        let all = WarnPolicy::parse(true, None).unwrap();
        assert!(all.is_error(&selection) && all.is_error(&config) && all.all());
        let some = WarnPolicy::parse(
            false,
            Some("{error: all, warn: [NoNodesForSelectionCriteria]}"),
        )
        .unwrap();
        assert!(!some.is_error(&selection) && some.is_error(&config));
        let named = WarnPolicy::parse(false, Some(r#"{"include": ["Config"]}"#)).unwrap();
        assert!(named.is_error(&config) && !named.is_error(&selection) && !named.all());
        assert!(WarnPolicy::parse(false, Some("[1]")).is_err());
    }

    #[test]
    fn did_you_mean_picks_closest() {
        assert_eq!(
            did_you_mean("stg_order", ["stg_orders", "customers"]),
            Some("stg_orders")
        );
        assert_eq!(did_you_mean("zzz", ["stg_orders"]), None);
    }
}
