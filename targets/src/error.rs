//! Errors of loading a target: unreadable file, RON syntax (with line:column), or
//! semantic problems (every one found, each named by its field path).

use std::fmt;
use thiserror::Error;

/// One semantic problem in a target description.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// Field path, e.g. `noc.mesh` or `core_types["loihi_core"].max_neurons`.
    pub field: String,
    /// The offending value as written (`[0, 4]`), or empty when the problem is an absence.
    pub value: String,
    /// What is wrong and what would be right.
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.value.is_empty() {
            write!(f, "{}: {}", self.field, self.message)
        } else {
            write!(f, "{} = {}: {}", self.field, self.value, self.message)
        }
    }
}

/// Why a target could not be loaded.
#[derive(Debug, Error)]
pub enum TargetError {
    /// The file could not be read.
    #[error("{file}: cannot read target file: {source}")]
    Io {
        file: String,
        #[source]
        source: std::io::Error,
    },
    /// The text is not valid RON for a target (including unknown or missing fields).
    #[error("{file}:{line}:{column}: {message}")]
    Syntax { file: String, line: usize, column: usize, message: String },
    /// The description parses but breaks the hardware contract; all problems are listed.
    #[error("{}", render_invalid(file, problems))]
    Invalid { file: String, problems: Vec<Problem> },
}

impl TargetError {
    /// The semantic problems, if this is an [`TargetError::Invalid`].
    pub fn problems(&self) -> &[Problem] {
        match self {
            TargetError::Invalid { problems, .. } => problems,
            _ => &[],
        }
    }
}

fn render_invalid(file: &str, problems: &[Problem]) -> String {
    match problems {
        [one] => format!("{file}: {one}"),
        many => {
            let mut s = format!("{file}: {} problems:", many.len());
            for p in many {
                s.push_str("\n  ");
                s.push_str(&p.to_string());
            }
            s
        }
    }
}
