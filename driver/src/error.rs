//! The one error type of the driver, `DriverError`, and the kind that front ends map to an
//! exit code (CLI) or an exception class (Python). Needs nothing from the rest of the crate;
//! establishes that a message reads exactly as the CLI has always printed it.

use std::sync::atomic::{AtomicBool, Ordering};

/// What went wrong, as front ends tell it apart.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// Bad input or usage: a file, node, shape or limit named in the message (exit code 2).
    BadInput,
    /// A comparison found spikes that differ (exit code 1); the report is the result.
    Differs,
    /// The caller's cancellation flag was set (Ctrl-C in Python).
    Cancelled,
}

impl ErrorKind {
    /// The CLI's exit code for this kind.
    pub fn exit_code(self) -> u8 {
        match self {
            ErrorKind::BadInput => 2,
            ErrorKind::Differs => 1,
            ErrorKind::Cancelled => 130,
        }
    }
}

/// An error of any driver call: its kind, the message exactly as the CLI prints it (after
/// `error: `, or as is when `rendered`), and the file it is about where the call knows it.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct DriverError {
    pub kind: ErrorKind,
    pub message: String,
    /// The message is a rendered diagnostic (source snippet and caret lines), printed as is.
    pub rendered: bool,
    /// The file (model, input, target, core map) the error is about, when known.
    pub location: Option<String>,
}

impl DriverError {
    pub fn bad_input(message: impl Into<String>) -> DriverError {
        DriverError { kind: ErrorKind::BadInput, message: message.into(), rendered: false, location: None }
    }

    pub fn cancelled() -> DriverError {
        DriverError { kind: ErrorKind::Cancelled, message: "cancelled".into(), rendered: false, location: None }
    }

    /// Names the file the error is about, unless a more precise one is already named.
    pub fn at(mut self, location: impl Into<String>) -> DriverError {
        if self.location.is_none() {
            self.location = Some(location.into());
        }
        self
    }
}

/// Returns [`DriverError::cancelled`] once `cancel` is set: long calls check it between
/// phases, samples or configurations.
pub fn check_cancel(cancel: &AtomicBool) -> Result<(), DriverError> {
    if cancel.load(Ordering::Relaxed) {
        Err(DriverError::cancelled())
    } else {
        Ok(())
    }
}

/// An error whose message is already rendered (e.g. diagnostics with source snippets).
#[derive(Debug)]
pub struct Rendered(pub String);

impl std::fmt::Display for Rendered {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Rendered {}

/// Not a failure to run: the command compared spikes and they differ (exit code 1). Its
/// report is already printed; the message, if any, goes to stderr.
#[derive(Debug)]
pub struct Differs(pub String);

impl std::fmt::Display for Differs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Differs {}

/// The error and its causes, skipping a cause whose text the message already contains
/// (library errors often embed their source in their own message).
pub fn chain_message(e: &anyhow::Error) -> String {
    let mut msg = String::new();
    for cause in e.chain() {
        let text = cause.to_string();
        if !msg.contains(&text) {
            if !msg.is_empty() {
                msg.push_str(": ");
            }
            msg.push_str(&text);
        }
    }
    msg
}

impl From<anyhow::Error> for DriverError {
    fn from(e: anyhow::Error) -> DriverError {
        if let Some(d) = e.downcast_ref::<DriverError>() {
            return d.clone();
        }
        if let Some(d) = e.downcast_ref::<Differs>() {
            return DriverError { kind: ErrorKind::Differs, message: d.0.clone(), rendered: true, location: None };
        }
        match e.downcast_ref::<Rendered>() {
            Some(r) => DriverError { kind: ErrorKind::BadInput, message: r.0.clone(), rendered: true, location: None },
            None => DriverError::bad_input(chain_message(&e)),
        }
    }
}

/// Back into the CLI's `anyhow` errors so its printing stays one place: a rendered message
/// and a difference keep their own types.
impl DriverError {
    pub fn into_anyhow(self) -> anyhow::Error {
        match (self.kind, self.rendered) {
            (ErrorKind::Differs, _) => anyhow::Error::new(Differs(self.message)),
            (_, true) => anyhow::Error::new(Rendered(self.message)),
            _ => anyhow::Error::msg(self.message),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_and_messages_survive_the_round_trip_through_anyhow() {
        let e = DriverError::from(anyhow::anyhow!("inner: detail").context("model.nir"));
        assert_eq!((e.kind, e.message.as_str(), e.rendered), (ErrorKind::BadInput, "model.nir: inner: detail", false));
        let r = DriverError::from(anyhow::Error::new(Rendered("error: x\n  | ^\n".into())));
        assert!(r.rendered && r.message == "error: x\n  | ^\n");
        assert!(r.clone().into_anyhow().downcast_ref::<Rendered>().is_some());
        let d = DriverError::from(anyhow::Error::new(Differs(String::new())));
        assert_eq!(d.kind.exit_code(), 1);
        assert!(d.into_anyhow().downcast_ref::<Differs>().is_some());
        assert_eq!(DriverError::bad_input("m").at("a").at("b").location.as_deref(), Some("a"));
        let flag = AtomicBool::new(true);
        assert_eq!(check_cancel(&flag).unwrap_err().kind, ErrorKind::Cancelled);
    }
}
