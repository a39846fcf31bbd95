//! Syntax of the `.snn` format: a `nom` parser that recovers at statement boundaries, so
//! one pass reports every syntax error in the file.

use nom::bytes::complete::{tag, take_while1};
use nom::character::complete::{char, digit1};
use nom::Parser;

use super::ast::{AttrDef, Document, Spanned, Statement, Value, ValueKind};
use super::diag::{Diag, Span};
use super::lex::{
    describe, expect, fail, ident, looks_like_statement, name, number, skip, string, token_len, ws, PErr, PResult,
};

/// Deepest nesting of lists (tensors of rank 32 are far beyond any model).
const MAX_NESTING: usize = 32;

struct Cx<'s> {
    src: &'s str,
}

impl<'s> Cx<'s> {
    fn off(&self, rest: &str) -> usize {
        rest.as_ptr() as usize - self.src.as_ptr() as usize
    }
    fn span(&self, from: &str, to: &str) -> Span {
        self.off(from)..self.off(to)
    }

    fn value<'a>(&self, i: &'a str) -> PResult<'a, Value>
    where
        's: 'a,
    {
        const WHAT: &str = "a value: a number, a list `[…]`, `full([dims], value)` or `file(\"path\"…)`";
        if i.starts_with('[') {
            return self.list(i, 0);
        }
        if let Ok((rest, word)) = ident(i) {
            if word == "full" || word == "file" {
                return self.call(i, word, rest);
            }
        }
        let (rest, n) = expect(i, WHAT, number)?;
        Ok((rest, Value { kind: ValueKind::Num(n), span: self.span(i, rest) }))
    }

    /// A nested list; `depth` levels already open (bounded, so hostile input cannot
    /// exhaust the stack).
    fn list<'a>(&self, i: &'a str, depth: usize) -> PResult<'a, Value>
    where
        's: 'a,
    {
        let (mut rest, _) = char('[').parse(i)?;
        if depth >= MAX_NESTING {
            return fail(i, "at most 32 levels of nested lists");
        }
        let mut items = Vec::new();
        loop {
            rest = skip(rest);
            if let Some(r) = rest.strip_prefix(']') {
                return Ok((r, Value { kind: ValueKind::List(items), span: self.span(i, r) }));
            }
            let (r, v) = if rest.starts_with('[') {
                self.list(rest, depth + 1)?
            } else {
                let (r, n) = expect(rest, "a number, `[` or `]`", number)?;
                (r, Value { kind: ValueKind::Num(n), span: self.span(rest, r) })
            };
            items.push(v);
            rest = skip(r);
            match rest.strip_prefix(',') {
                Some(r) => rest = r,
                None if rest.starts_with(']') => {}
                None => return fail(rest, "`,` or `]`"),
            }
        }
    }

    fn call<'a>(&self, i: &'a str, word: &str, rest: &'a str) -> PResult<'a, Value>
    where
        's: 'a,
    {
        let (rest, _) = expect(skip(rest), "`(`", char('('))?;
        let rest = skip(rest);
        let (rest, kind) = if word == "full" {
            let (r, dims) = expect(rest, "a list of dimensions `[…]`", |i| self.list(i, 0))?;
            let (r, _) = expect(skip(r), "`,`", char(','))?;
            let r = skip(r);
            let (r2, n) = expect(r, "a number", number)?;
            let fill = Value { kind: ValueKind::Num(n), span: self.span(r, r2) };
            (r2, ValueKind::Full { dims: Box::new(dims), fill: Box::new(fill) })
        } else {
            let (r, path) = expect(rest, "a file path in double quotes", string)?;
            let path = Spanned { node: path, span: self.span(rest, r) };
            let r = skip(r);
            match r.strip_prefix(',').map(skip) {
                Some(k) if !k.starts_with(')') => {
                    let (r2, key) = expect(k, "a tensor key in double quotes", string)?;
                    let key = Spanned { node: key, span: self.span(k, r2) };
                    (r2, ValueKind::File { path, key: Some(key) })
                }
                Some(k) => (k, ValueKind::File { path, key: None }),
                None => (r, ValueKind::File { path, key: None }),
            }
        };
        let rest = skip(rest);
        let rest = rest.strip_prefix(',').map(skip).unwrap_or(rest);
        let (rest, _) = expect(rest, "`)`", char(')'))?;
        Ok((rest, Value { kind, span: self.span(i, rest) }))
    }

    fn attrs<'a>(&self, i: &'a str) -> PResult<'a, Vec<AttrDef>>
    where
        's: 'a,
    {
        let mut attrs = Vec::new();
        let mut rest = i;
        loop {
            rest = skip(rest);
            if let Some(r) = rest.strip_prefix('>') {
                return Ok((r, attrs));
            }
            let (r, n) = expect(rest, "an attribute name or `>`", ident)?;
            let name = Spanned { node: n.to_string(), span: self.span(rest, r) };
            let (r, _) = expect(skip(r), "`=` after the attribute name", char('='))?;
            let (r, value) = self.value(skip(r))?;
            attrs.push(AttrDef { name, value });
            rest = skip(r);
            match rest.strip_prefix(',') {
                Some(r) => rest = r,
                None if rest.starts_with('>') => {}
                None => return fail(rest, "`,` or `>`"),
            }
        }
    }

    fn args<'a>(&self, i: &'a str) -> PResult<'a, Vec<Spanned<String>>>
    where
        's: 'a,
    {
        let mut args = Vec::new();
        let mut rest = i;
        loop {
            rest = skip(rest);
            if let Some(r) = rest.strip_prefix(')') {
                return Ok((r, args));
            }
            let (r, n) = expect(rest, "an input node name or `)`", name)?;
            args.push(Spanned { node: n, span: self.span(rest, r) });
            rest = skip(r);
            match rest.strip_prefix(',') {
                Some(r) => rest = r,
                None if rest.starts_with(')') => {}
                None => return fail(rest, "`,` or `)`"),
            }
        }
    }

    /// `NAME = OpType<attr=value, …>(NAME, …)`, then the end of the line.
    fn statement<'a>(&self, i: &'a str) -> PResult<'a, Statement>
    where
        's: 'a,
    {
        let (r, n) = expect(i, "a node name", name)?;
        let name = Spanned { node: n, span: self.span(i, r) };
        let (r, _) = expect(ws(r), "`=` after the node name", char('='))?;
        let r = ws(r);
        let (r2, op) = expect(r, "an op type such as `LIF` or `Affine`", ident)?;
        let op = Spanned { node: op.to_string(), span: self.span(r, r2) };
        let r = ws(r2);
        let (r, attrs) = match r.strip_prefix('<') {
            Some(r) => self.attrs(r)?,
            None => (r, vec![]),
        };
        let (r, _) = expect(ws(r), if attrs.is_empty() { "`<` or `(`" } else { "`(`" }, char('('))?;
        let (r, args) = self.args(r)?;
        let end = ws(r);
        if !(end.is_empty() || end.starts_with('\n')) {
            return fail(end, "the end of the line (one statement per line)");
        }
        Ok((end, Statement { name, op, attrs, args, span: self.span(i, r) }))
    }

    fn header<'a>(&self, i: &'a str) -> Result<(&'a str, Span), Diag> {
        let header: PResult<'a, &'a str> =
            (tag("snn"), take_while1(|c| c == ' ' || c == '\t'), digit1).parse(i).map(|(r, (_, _, v))| (r, v));
        match header {
            Ok((r, "1")) => Ok((r, self.span(i, r))),
            Ok((r, v)) => {
                let s = self.off(r) - v.len()..self.off(r);
                Err(Diag::at(s, format!("unsupported format version {v}"), "this version")
                    .with_note("this spikeforge reads version 1: start the file with `snn 1`"))
            }
            Err(_) => {
                let len = token_len(i);
                Err(Diag::at(self.off(i)..self.off(i) + len, "expected the header `snn 1`", "expected `snn 1` here")
                    .with_note("the first line that is not blank or a comment must be `snn 1` (the format version)"))
            }
        }
    }
}

/// Skips a statement that has a syntax error, from its start to the start of the next one:
/// a newline outside brackets, or any newline followed by a line that looks like a
/// statement (so an unclosed bracket does not swallow the rest of the file).
fn recover(i: &str) -> &str {
    let mut depth: i32 = 0;
    let mut rest = i;
    while let Some(c) = rest.chars().next() {
        let after = &rest[c.len_utf8()..];
        match c {
            '#' => rest = &rest[rest.find('\n').unwrap_or(rest.len())..],
            '"' => {
                rest = after.find(['"', '\n']).map_or("", |p| &after[p + usize::from(after[p..].starts_with('"'))..])
            }
            '\n' if depth <= 0 || looks_like_statement(after) => return after,
            _ => {
                depth += match c {
                    '[' | '(' | '<' => 1,
                    ']' | ')' | '>' => -1,
                    _ => 0,
                };
                rest = after;
            }
        }
    }
    rest
}

/// Parses a whole file, recovering after each syntax error.
pub fn parse(src: &str) -> (Document, Vec<Diag>) {
    let cx = Cx { src };
    let mut doc = Document::default();
    let mut diags = Vec::new();
    let mut rest = src;
    loop {
        rest = ws(rest);
        if let Some(r) = rest.strip_prefix('\n') {
            rest = r;
            continue;
        }
        if rest.is_empty() {
            break;
        }
        if doc.header.is_none() {
            if looks_like_statement(rest) {
                // No header: report it and read the statement anyway.
                let at = cx.off(rest);
                diags.push(
                    Diag::at(
                        at..at + token_len(rest),
                        "expected the header `snn 1`",
                        "expected `snn 1` before the first statement",
                    )
                    .with_note("the first line that is not blank or a comment must be `snn 1` (the format version)"),
                );
                doc.header = Some(at..at);
            } else {
                match cx.header(rest) {
                    Ok((r, span)) => {
                        doc.header = Some(span);
                        let mut end = ws(r);
                        if let Some(after) = end.strip_prefix("semantics") {
                            // `snn 1 semantics=NAME`: whose update rules the model follows.
                            let after = ws(after);
                            match after.strip_prefix('=') {
                                Some(v) => {
                                    let v = ws(v);
                                    let len = v
                                        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '-'))
                                        .unwrap_or(v.len());
                                    let at = cx.off(v);
                                    doc.semantics = Some(Spanned { node: v[..len].to_string(), span: at..at + len });
                                    end = ws(&v[len..]);
                                }
                                None => end = after,
                            }
                        }
                        if end.is_empty() || end.starts_with('\n') {
                            rest = end;
                            continue;
                        }
                        diags.push(syntax_diag(
                            &cx,
                            &PErr { at: end, expected: "the end of the line".into(), len: None },
                        ));
                    }
                    Err(d) => {
                        doc.header = Some(d.primary.as_ref().map_or(0..0, |p| p.0.clone()));
                        diags.push(d);
                    }
                }
                rest = recover(rest);
                continue;
            }
        }
        match cx.statement(rest) {
            Ok((r, st)) => {
                doc.statements.push(st);
                rest = r;
            }
            Err(nom::Err::Error(e) | nom::Err::Failure(e)) => {
                diags.push(syntax_diag(&cx, &e));
                if let Ok((r, n)) = name(rest) {
                    if ws(r).starts_with('=') {
                        doc.broken.push(n);
                    }
                }
                rest = recover(rest);
            }
            Err(nom::Err::Incomplete(_)) => unreachable!("complete parsers never ask for more input"),
        }
    }
    if doc.header.is_none() {
        diags.push(
            Diag::at(src.len()..src.len(), "expected the header `snn 1`", "the file has no statements")
                .with_note("an `.snn` file starts with `snn 1` (the format version)"),
        );
    }
    (doc, diags)
}

fn syntax_diag(cx: &Cx<'_>, e: &PErr<'_>) -> Diag {
    let at = cx.off(e.at);
    let len = e.len.unwrap_or_else(|| token_len(e.at));
    let found = match e.len {
        Some(l) => format!("`{}`", &e.at[..l]),
        None => describe(e.at),
    };
    Diag::at(at..at + len, format!("expected {}, found {found}", e.expected), format!("expected {}", e.expected))
}
