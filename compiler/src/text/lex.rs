//! Lexical pieces of the `.snn` syntax (whitespace and comments, names, strings,
//! numbers) and the parser's error type.

use std::borrow::Cow;

use nom::bytes::complete::{take_while, take_while1};
use nom::character::complete::char;
use nom::error::{ErrorKind, ParseError};
use nom::{IResult, Parser};

use super::ast::Num;

/// A syntax error: where (the remaining input) and what was expected there.
#[derive(Debug)]
pub(super) struct PErr<'a> {
    pub at: &'a str,
    pub expected: Cow<'static, str>,
    /// Length of the offending text, when the parser knows it (else the next token).
    pub len: Option<usize>,
}

impl<'a> ParseError<&'a str> for PErr<'a> {
    fn from_error_kind(at: &'a str, kind: ErrorKind) -> Self {
        PErr { at, expected: Cow::Owned(kind.description().to_string()), len: None }
    }
    fn append(_: &'a str, _: ErrorKind, other: Self) -> Self {
        other
    }
    fn or(self, other: Self) -> Self {
        if other.at.len() <= self.at.len() {
            other
        } else {
            self
        }
    }
}

pub(super) type PResult<'a, T> = IResult<&'a str, T, PErr<'a>>;

pub(super) fn fail<T>(at: &str, expected: impl Into<Cow<'static, str>>) -> PResult<'_, T> {
    Err(nom::Err::Failure(PErr { at, expected: expected.into(), len: None }))
}

/// Runs `p`; if it fails, fails (without backtracking) with "expected `what`" at `i`.
pub(super) fn expect<'a, T>(
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
pub(super) fn ws(i: &str) -> &str {
    let mut i = i.trim_start_matches([' ', '\t', '\r']);
    if i.starts_with('#') {
        i = &i[i.find('\n').unwrap_or(i.len())..];
    }
    i
}

/// Skips whitespace, newlines and comments (inside brackets).
pub(super) fn wsnl(mut i: &str) -> &str {
    loop {
        let j = ws(i).trim_start_matches('\n');
        if j.len() == i.len() {
            return j;
        }
        i = j;
    }
}

/// Like [`wsnl`], but stops at the end of the line if the next line starts a statement, so
/// a missing closing bracket is reported there rather than on the next statement.
pub(super) fn skip(i: &str) -> &str {
    let k = ws(i);
    if k.starts_with('\n') && looks_like_statement(wsnl(k)) {
        k
    } else {
        wsnl(k)
    }
}

pub(super) fn is_bare(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '.'
}

pub(super) fn ident(i: &str) -> PResult<'_, &str> {
    let (rest, s) = take_while1(|c: char| c.is_ascii_alphanumeric() || c == '_').parse(i)?;
    if s.as_bytes()[0].is_ascii_digit() {
        return Err(nom::Err::Error(PErr::from_error_kind(i, ErrorKind::Alpha)));
    }
    Ok((rest, s))
}

/// A double-quoted string with `\\`, `\"`, `\n`, `\r`, `\t` and `\u{…}` escapes.
pub(super) fn string(i: &str) -> PResult<'_, String> {
    let (mut rest, _) = char('"').parse(i)?;
    let mut out = String::new();
    loop {
        let mut chars = rest.chars();
        match chars.next() {
            None | Some('\n') => {
                return Err(nom::Err::Failure(PErr {
                    at: i,
                    expected: "a closing `\"`".into(),
                    len: Some(i.len() - rest.len()),
                }))
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
                        match code
                            .and_then(|(hex, after)| Some((after, char::from_u32(u32::from_str_radix(hex, 16).ok()?)?)))
                        {
                            Some(v) => v,
                            None => return fail(rest, "an escape `\\u{hex}` naming a Unicode scalar value"),
                        }
                    }
                    _ => {
                        let len = 1 + esc.chars().next().map_or(0, char::len_utf8);
                        return Err(nom::Err::Failure(PErr {
                            at: rest,
                            expected: "an escape: \\\\ \\\" \\n \\r \\t or \\u{hex}".into(),
                            len: Some(len),
                        }));
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
pub(super) fn name(i: &str) -> PResult<'_, String> {
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
pub(super) fn number(i: &str) -> PResult<'_, Num> {
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

/// Length of the token at the start of `i`, for labelling unexpected input.
pub(super) fn token_len(i: &str) -> usize {
    let (_, t): (&str, &str) = take_while::<_, _, PErr>(is_bare).parse(i).unwrap_or((i, ""));
    if !t.is_empty() {
        t.len()
    } else {
        i.chars().next().filter(|&c| c != '\n').map_or(0, char::len_utf8)
    }
}

pub(super) fn describe(at: &str) -> String {
    let l = token_len(at);
    match at.chars().next() {
        None => "the end of the file".into(),
        Some('\n') => "the end of the line".into(),
        _ => format!("`{}`", &at[..l]),
    }
}

/// Does the line at `i` look like the start of a statement (`NAME = OpType<` or `(`)?
pub(super) fn looks_like_statement(i: &str) -> bool {
    let i = ws(i);
    let Ok((r, _)) = name(i) else { return false };
    let Some(r) = ws(r).strip_prefix('=') else { return false };
    let Ok((r, op)) = ident(ws(r)) else { return false };
    op != "full" && op != "file" && (ws(r).starts_with('<') || ws(r).starts_with('('))
}
