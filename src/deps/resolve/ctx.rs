//! [`Ctx`]: what resolving packages needs (the root project, `--vars`, the
//! Hub, a scratch folder, the printer) and the checkouts and downloads it
//! fetched on the way.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};

use serde_json::Value as Json;

use crate::deps::hub::Hub;
use crate::execute::output::Printer;

/// Everything resolution needs, and what it fetched on the way (cached so
/// each repository and tarball is downloaded once a run).
pub struct Ctx<'a> {
    /// The root project's directory (absolute).
    pub root: &'a Path,
    /// The root project's name.
    pub root_name: &'a str,
    /// `--vars`, for rendering packages files.
    pub vars: &'a BTreeMap<String, Json>,
    /// The dbt Hub.
    pub hub: Hub,
    /// Scratch folder for clones and downloads (inside the install path).
    pub work: PathBuf,
    /// Where progress and warnings go.
    pub printer: &'a Printer,
    pub(super) fetched: HashMap<String, Fetched>,
    pub(super) warned: HashSet<String>,
    counter: usize,
}

/// A fetched git checkout or unpacked tarball.
#[derive(Debug, Clone)]
pub(super) struct Fetched {
    /// The clone, or the unpacked tarball's package folder.
    pub(super) dir: PathBuf,
    /// The commit checked out (git only).
    pub(super) sha: Option<String>,
}

impl<'a> Ctx<'a> {
    /// A context for the project at `root` named `root_name`.
    pub fn new(
        root: &'a Path,
        root_name: &'a str,
        vars: &'a BTreeMap<String, Json>,
        hub: Hub,
        work: PathBuf,
        printer: &'a Printer,
    ) -> Ctx<'a> {
        Ctx {
            root,
            root_name,
            vars,
            hub,
            work,
            printer,
            fetched: HashMap::new(),
            warned: HashSet::new(),
            counter: 0,
        }
    }

    /// A fresh path in the scratch folder.
    pub fn scratch(&mut self, stem: &str) -> PathBuf {
        self.counter += 1;
        self.work.join(format!("{stem}-{}", self.counter))
    }
}
