//! Keeping the session a server warehouse opened to check its server.

use crate::error::Result;

/// The session a server warehouse opened to check the server (and read its
/// version), kept for the first worker that asks, so checking costs no
/// session of its own (PostgreSQL's and Spark's warehouses).
#[derive(Debug)]
pub struct KeptSession<C>(std::sync::Mutex<Option<C>>);

impl<C> KeptSession<C> {
    /// Keeps `session` for the first taker.
    pub fn new(session: C) -> Self {
        KeptSession(std::sync::Mutex::new(Some(session)))
    }

    /// The kept session if no one has taken it yet, else a new one from
    /// `open`.
    ///
    /// Errors: `open`'s.
    pub fn take_or(&self, open: impl FnOnce() -> Result<C>) -> Result<C> {
        let kept = self.0.lock().unwrap_or_else(|e| e.into_inner()).take();
        match kept {
            Some(session) => Ok(session),
            None => open(),
        }
    }
}
