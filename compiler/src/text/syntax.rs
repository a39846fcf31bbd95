//! Syntax of the `.snn` format: the syntax tree and a `nom` parser that recovers at
//! statement boundaries, so one pass reports every syntax error in the file.

use std::borrow::Cow;

use nom::bytes::complete::{tag, take_while, take_while1};
use nom::character::complete::{char, digit1};
use nom::error::{ErrorKind, ParseError};
use nom::{IResult, Parser};

use super::diag::{Diag, Span};

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
    pub statements: Vec<Statement>,
    /// Names of statements that failed to parse: references to them are not reported
    /// again as undefined.
    pub broken: Vec<String>,
}

/// A syntax error: where (the remaining input) and what was expected there.
#[derive(Debug)]
struct PErr<'a> {
    at: &'a str,
    expected: Cow<'static, str>,
    /// Length of the offending text, when the parser knows it (else the next token).
    len: Option<usize>,
}

impl<'a> ParseError<&'a str> for PErr<'a> {
    fn from_error_kind(at: &'a str, kind: ErrorKind) -> Self {
        PErr { at, expected: Cow::Owned(kind.description().to_string()), len: None }
    }
    fn append(_: &'a str, _: ErrorKind, other: Self) -> Self {
        other
    }
    fn or(self, other: Self) -> Self {
        if other.at.len() <= self.at.len() { other } else { self }
    }
}

type PResult<'a, T> = IResult<&'a str, T, PErr<'a>>;

fn fail<T>(at: &str, expected: impl Into<Cow<'static, str>>) -> PResult<'_, T> {
    Err(nom::Err::Failure(PErr { at, expected: expected.into(), len: None }))
}

/// Runs `p`; if it fails, fails (without backtracking) with "expected `what`" at `i`.
fn expect<'a, T>(
    i: &'a str,
    what: &'static str,
    mut p: impl Parser<&'a str, Output = T, Error = PErr<'a>>,
) -> PResult<'a, T> {
    match p.parse(i) {
        Err(nom::Err::Error(_)) => fail(i, what),
        r => r,
    }
}

/// Skips spaces, tabs and comments, but not newlines (statement level).
fn ws(i: &str) -> &str {
    let mut i = i.trim_start_matches([' ', '\t', '\r']);
    if i.starts_with('#') {
        i = &i[i.find('\n').unwrap_or(i.len())..];
    }
    i
}

/// Skips whitespace, newlines and comments (inside brackets).
fn wsnl(mut i: &str) -> &str {
    loop {
        let j = ws(i).trim_start_matches('\n');
        if j.len() == i.len() {
            return j;
        }
        i = j;
    }
}

fn is_bare(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '.'
}

fn ident(i: &str) -> PResult<'_, &str> {
    let (rest, s) = take_while1(|c: char| c.is_ascii_alphanumeric() || c == '_').parse(i)?;
    if s.as_bytes()[0].is_ascii_digit() {
        return Err(nom::Err::Error(PErr::from_error_kind(i, ErrorKind::Alpha)));
    }
    Ok((rest, s))
}

/// A double-quoted string with `\\`, `\"`, `\n`, `\r`, `\t` and `\u{…}` escapes.
fn string(i: &str) -> PResult<'_, String> {
    let (mut rest, _) = char('"').parse(i)?;
    let mut out = String::new();
    loop {
        let mut chars = rest.chars();
        match chars.next() {
            None | Some('\n') => {
                return Err(nom::Err::Failure(PErr { at: i, expected: "a closing `\"`".into(), len: Some(i.len() - rest.len()) }))
            }
            Some('"') => return Ok((chars.as_str(), out)),
            Some('\\') => {
                let esc = chars.as_str();
                let (after, c) = match chars.next() {
                    Some('\\') => (chars.as_str(), '\\'),
                    Some('"') => (chars.as_str(), '"'),
                    Some('n') => (chars.as_str(), '\n'),
                    Some('r') => (chars.as_str(), '\r'),
                    Some('t') => (chars.as_str(), '\t'),
                    Some('u') => {
                        let s = chars.as_str();
                        let code = s.strip_prefix('{').and_then(|s| s.split_once('}'));
                        match code.and_then(|(hex, after)| Some((after, char::from_u32(u32::from_str_radix(hex, 16).ok()?)?))) {
                            Some(v) => v,
                            None => return fail(&rest[..], "an escape `\\u{hex}` naming a Unicode scalar value"),
                        }
                    }
                    _ => {
                        let len = 1 + esc.chars().next().map_or(0, char::len_utf8);
                        return Err(nom::Err::Failure(PErr { at: rest, expected: "an escape: \\\\ \\\" \\n \\r \\t or \\u{hex}".into(), len: Some(len) }));
                    }
                };
                out.push(c);
                rest = after;
            }
            Some(c) => {
                out.push(c);
                rest = chars.as_str();
            }
        }
    }
}

/// A node name: bare `[A-Za-z0-9_][A-Za-z0-9_.]*` or a quoted string.
fn name(i: &str) -> PResult<'_, String> {
    if i.starts_with('"') {
        return string(i);
    }
    let (rest, s) = take_while1(is_bare).parse(i)?;
    if s.starts_with('.') {
        return Err(nom::Err::Error(PErr::from_error_kind(i, ErrorKind::AlphaNumeric)));
    }
    Ok((rest, s.to_string()))
}

/// A number: anything Rust's `f64` parser accepts (plus a sign), including `inf` and `nan`.
fn number(i: &str) -> PResult<'_, Num> {
    let (body, _) = nom::combinator::opt(nom::character::complete::one_of("+-")).parse(i)?;
    let numeric = body.starts_with(|c: char| c.is_ascii_digit() || c == '.');
    if !numeric && !body.starts_with(|c: char| c.is_ascii_alphabetic()) {
        return Err(nom::Err::Error(PErr::from_error_kind(i, ErrorKind::Float)));
    }
    let mut end = 0;
    let bytes = body.as_bytes();
    while end < bytes.len() {
        let c = bytes[end] as char;
        let exp_sign = numeric && (c == '+' || c == '-') && end > 0 && matches!(bytes[end - 1], b'e' | b'E');
        if !(c.is_ascii_alphanumeric() || c == '.' || c == '_' || exp_sign) {
            break;
        }
        end += 1;
    }
    let text = &i[..i.len() - body.len() + end];
    let rest = &body[end..];
    let bad = || Err(nom::Err::Failure(PErr { at: i, expected: "a number".into(), len: Some(text.len()) }));
    if !numeric {
        let word = body[..end].to_ascii_lowercase();
        if !matches!(word.as_str(), "inf" | "infinity" | "nan") {
            return if text.len() == body[..end].len() {
                Err(nom::Err::Error(PErr::from_error_kind(i, ErrorKind::Float)))
            } else {
                bad()
            };
        }
    }
    let is_int = body[..end].bytes().all(|b| b.is_ascii_digit());
    let int = if is_int { text.parse::<i64>().ok() } else { None };
    match text.parse::<f64>() {
        Ok(value) => Ok((rest, Num { value, int })),
        Err(_) => bad(),
    }
}

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
            return self.list(i);
        }
        if let Ok((rest, word)) = ident(i) {
            if word == "full" || word == "file" {
                return self.call(i, word, rest);
            }
        }
        let (rest, n) = expect(i, WHAT, number)?;
        Ok((rest, Value { kind: ValueKind::Num(n), span: self.span(i, rest) }))
    }

    fn list<'a>(&self, i: &'a str) -> PResult<'a, Value>
    where
        's: 'a,
    {
        let (mut rest, _) = char('[').parse(i)?;
        let mut items = Vec::new();
        loop {
            rest = wsnl(rest);
            if let Some(r) = rest.strip_prefix(']') {
                return Ok((r, Value { kind: ValueKind::List(items), span: self.span(i, r) }));
            }
            let (r, v) = if rest.starts_with('[') {
                self.list(rest)?
            } else {
                let (r, n) = expect(rest, "a number, `[` or `]`", number)?;
                (r, Value { kind: ValueKind::Num(n), span: self.span(rest, r) })
            };
            items.push(v);
            rest = wsnl(r);
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
        let (rest, _) = expect(wsnl(rest), "`(`", char('('))?;
        let rest = wsnl(rest);
        let (rest, kind) = if word == "full" {
            let (r, dims) = expect(rest, "a list of dimensions `[…]`", |i| self.list(i))?;
            let (r, _) = expect(wsnl(r), "`,`", char(','))?;
            let r = wsnl(r);
            let (r2, n) = expect(r, "a number", number)?;
            let fill = Value { kind: ValueKind::Num(n), span: self.span(r, r2) };
            (r2, ValueKind::Full { dims: Box::new(dims), fill: Box::new(fill) })
        } else {
            let (r, path) = expect(rest, "a file path in double quotes", string)?;
            let path = Spanned { node: path, span: self.span(rest, r) };
            let r = wsnl(r);
            match r.strip_prefix(',').map(wsnl) {
                Some(k) if !k.starts_with(')') => {
                    let (r2, key) = expect(k, "a tensor key in double quotes", string)?;
                    let key = Spanned { node: key, span: self.span(k, r2) };
                    (r2, ValueKind::File { path, key: Some(key) })
                }
                Some(k) => (k, ValueKind::File { path, key: None }),
                None => (r, ValueKind::File { path, key: None }),
            }
        };
        let rest = wsnl(rest);
        let rest = rest.strip_prefix(',').map(wsnl).unwrap_or(rest);
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
            rest = wsnl(rest);
            if let Some(r) = rest.strip_prefix('>') {
                return Ok((r, attrs));
            }
            let (r, n) = expect(rest, "an attribute name or `>`", ident)?;
            let name = Spanned { node: n.to_string(), span: self.span(rest, r) };
            let (r, _) = expect(wsnl(r), "`=` after the attribute name", char('='))?;
            let (r, value) = self.value(wsnl(r))?;
            attrs.push(AttrDef { name, value });
            rest = wsnl(r);
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
            rest = wsnl(rest);
            if let Some(r) = rest.strip_prefix(')') {
                return Ok((r, args));
            }
            let (r, n) = expect(rest, "an input node name or `)`", name)?;
            args.push(Spanned { node: n, span: self.span(rest, r) });
            rest = wsnl(r);
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
        let header: PResult<'a, &'a str> = (tag("snn"), take_while1(|c| c == ' ' || c == '\t'), digit1)
            .parse(i)
            .map(|(r, (_, _, v))| (r, v));
        match header {
            Ok((r, v)) if v == "1" => Ok((r, self.span(i, r))),
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

/// Length of the token at the start of `i`, for labelling unexpected input.
fn token_len(i: &str) -> usize {
    let (_, t): (&str, &str) = take_while::<_, _, PErr>(is_bare).parse(i).unwrap_or((i, ""));
    if !t.is_empty() {
        t.len()
    } else {
        i.chars().next().filter(|&c| c != '\n').map_or(0, char::len_utf8)
    }
}

fn describe(at: &str) -> String {
    let l = token_len(at);
    match at.chars().next() {
        None => "the end of the file".into(),
        Some('\n') => "the end of the line".into(),
        _ => format!("`{}`", &at[..l]),
    }
}

/// Does the line at `i` look like the start of a statement (`NAME = OpType<` or `(`)?
fn looks_like_statement(i: &str) -> bool {
    let i = ws(i);
    let Ok((r, _)) = name(i) else { return false };
    let Some(r) = ws(r).strip_prefix('=') else { return false };
    let Ok((r, op)) = ident(ws(r)) else { return false };
    op != "full" && op != "file" && (ws(r).starts_with('<') || ws(r).starts_with('('))
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
            '"' => rest = after.find(['"', '\n']).map_or("", |p| &after[p + usize::from(after[p..].starts_with('"'))..]),
            '[' | '(' | '<' => (depth += 1, rest = after).1,
            ']' | ')' | '>' => (depth -= 1, rest = after).1,
            '\n' if depth <= 0 || looks_like_statement(after) => return after,
            _ => rest = after,
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
                    Diag::at(at..at + token_len(rest), "expected the header `snn 1`", "expected `snn 1` before the first statement")
                        .with_note("the first line that is not blank or a comment must be `snn 1` (the format version)"),
                );
                doc.header = Some(at..at);
            } else {
                match cx.header(rest) {
                    Ok((r, span)) => {
                        doc.header = Some(span);
                        let end = ws(r);
                        if end.is_empty() || end.starts_with('\n') {
                            rest = end;
                            continue;
                        }
                        diags.push(syntax_diag(&cx, &PErr { at: end, expected: "the end of the line".into(), len: None }));
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
