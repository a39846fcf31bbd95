//! Diagnostics of the `.snn` reader: collected while parsing, rendered with
//! `codespan-reporting` (source snippet, line:column, labels) or as plain one-line messages.

use std::fmt;
use std::ops::Range;

use codespan_reporting::diagnostic::{Diagnostic, Label};
use codespan_reporting::files::{Files, SimpleFile};
use codespan_reporting::term::{self, termcolor, Config, Styles, StylesWriter};

/// A byte range in the source text.
pub type Span = Range<usize>;

/// One error: a message, a primary label on the offending text (absent only for errors
/// that concern no text, such as an unreadable file), secondary labels and notes.
#[derive(Clone, Debug)]
pub(crate) struct Diag {
    pub message: String,
    pub primary: Option<(Span, String)>,
    pub secondary: Vec<(Span, String)>,
    pub notes: Vec<String>,
}

impl Diag {
    pub fn at(span: Span, message: impl Into<String>, label: impl Into<String>) -> Diag {
        Diag { message: message.into(), primary: Some((span, label.into())), secondary: vec![], notes: vec![] }
    }
    pub fn nowhere(message: impl Into<String>) -> Diag {
        Diag { message: message.into(), primary: None, secondary: vec![], notes: vec![] }
    }
    pub fn with_secondary(mut self, span: Span, label: impl Into<String>) -> Diag {
        self.secondary.push((span, label.into()));
        self
    }
    pub fn with_note(mut self, note: impl Into<String>) -> Diag {
        self.notes.push(note.into());
        self
    }
}

/// Everything wrong with one `.snn` file. Independent problems are all reported.
#[derive(Debug)]
pub struct TextErrors {
    file: SimpleFile<String, String>,
    diags: Vec<Diag>,
}

impl TextErrors {
    pub(crate) fn new(file_name: &str, source: &str, diags: Vec<Diag>) -> Self {
        TextErrors { file: SimpleFile::new(file_name.to_string(), source.to_string()), diags }
    }

    /// Number of diagnostics.
    pub fn len(&self) -> usize {
        self.diags.len()
    }

    pub fn is_empty(&self) -> bool {
        self.diags.is_empty()
    }

    /// The diagnostic messages, without locations.
    pub fn messages(&self) -> impl Iterator<Item = &str> {
        self.diags.iter().map(|d| d.message.as_str())
    }

    /// `file:line:column` of a byte offset (1-based line and column).
    fn location(&self, offset: usize) -> String {
        match self.file.location((), offset.min(self.file.source().len())) {
            Ok(l) => format!("{}:{}:{}", self.file.name(), l.line_number, l.column_number),
            Err(_) => self.file.name().clone(),
        }
    }

    fn to_codespan(&self, d: &Diag) -> Diagnostic<()> {
        let mut labels = Vec::new();
        if let Some((span, msg)) = &d.primary {
            labels.push(Label::primary((), span.clone()).with_message(msg));
        }
        for (span, msg) in &d.secondary {
            labels.push(Label::secondary((), span.clone()).with_message(msg));
        }
        let mut notes = d.notes.clone();
        if d.primary.is_none() {
            notes.insert(0, format!("in {}", self.file.name()));
        }
        Diagnostic::error().with_message(&d.message).with_labels(labels).with_notes(notes)
    }

    /// codespan's rich rendering of every diagnostic: message, `┌─ file:line:column`,
    /// the source lines with labels underneath, notes. `color` adds ANSI colours.
    pub fn render(&self, color: bool) -> String {
        let config = Config::default();
        let mut out = String::new();
        for d in &self.diags {
            let diag = self.to_codespan(d);
            let rendered = if color {
                let styles = Styles::default();
                let mut ansi = termcolor::Ansi::new(Vec::new());
                let result =
                    term::emit_to_write_style(&mut StylesWriter::new(&mut ansi, &styles), &config, &self.file, &diag);
                result.map(|_| String::from_utf8_lossy(&ansi.into_inner()).into_owned())
            } else {
                term::emit_into_string(&config, &self.file, &diag)
            };
            match rendered {
                Ok(s) => out.push_str(&s),
                Err(_) => out.push_str(&format!("error: {}\n", d.message)),
            }
        }
        out
    }
}

impl fmt::Display for TextErrors {
    /// One line per diagnostic: `file:line:column: message`, notes indented below.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, d) in self.diags.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            match &d.primary {
                Some((span, _)) => write!(f, "{}: {}", self.location(span.start), d.message)?,
                None => write!(f, "{}: {}", self.file.name(), d.message)?,
            }
            for n in &d.notes {
                write!(f, "\n  = {n}")?;
            }
        }
        Ok(())
    }
}

impl std::error::Error for TextErrors {}
