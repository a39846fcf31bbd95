//! Syntax tree of the `.snn` format, with the source span of every part.

use super::diag::Span;

#[derive(Clone, Debug, PartialEq)]
pub struct Spanned<T> {
    pub node: T,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Num {
    pub value: f64,
    /// Set when the literal is an integer (no `.`, exponent, `inf` or `nan`).
    pub int: Option<i64>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum ValueKind {
    Num(Num),
    List(Vec<Value>),
    Full { dims: Box<Value>, fill: Box<Value> },
    File { path: Spanned<String>, key: Option<Spanned<String>> },
}

#[derive(Clone, Debug, PartialEq)]
pub struct Value {
    pub kind: ValueKind,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub struct AttrDef {
    pub name: Spanned<String>,
    pub value: Value,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Statement {
    pub name: Spanned<String>,
    pub op: Spanned<String>,
    pub attrs: Vec<AttrDef>,
    pub args: Vec<Spanned<String>>,
    pub span: Span,
}

#[derive(Clone, Debug, Default)]
pub struct Document {
    /// Span of the `snn 1` header, when present.
    pub header: Option<Span>,
    /// `semantics=NAME` after the header.
    pub semantics: Option<Spanned<String>>,
    pub statements: Vec<Statement>,
    /// Names of statements that failed to parse: references to them are not reported
    /// again as undefined.
    pub broken: Vec<String>,
}
