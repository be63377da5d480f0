//! Message templates: literal text with `{expr}` holes, each hole a CEL
//! expression compiled at load. `{{` and `}}` are literal braces. In a
//! reason message (not in details, which never change with the locale) a
//! hole may format money: `{amount | money(currency)}`, both CEL.

use std::{
    borrow::Cow,
    sync::atomic::{AtomicUsize, Ordering},
};

use super::{
    expr::{self, Expr},
    limits,
    programs::Parser,
    vars::Vars,
};

/// A compiled template.
pub struct Template {
    /// Literal text and expressions, in order.
    pub parts: Vec<Part>,
    /// What [`Self::size_hint`] answers: reckoned at load, raised to the
    /// longest rendering seen since.
    hint: AtomicUsize,
}

/// One piece of a template.
pub enum Part {
    /// Literal text.
    Text(String),
    /// An expression whose value is rendered in place.
    Hole(Expr),
    /// An amount in minor units (an int) and its currency (an ISO 4217
    /// code), written as the message's locale writes money.
    Money {
        /// The amount in minor units.
        amount: Expr,
        /// The currency code.
        currency: Expr,
    },
}

/// Whether a template may format values for its locale.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Formats {
    /// A reason message: `{x | money(c)}` is allowed.
    Message,
    /// A detail: values only, the same in every locale.
    Detail,
}

/// What a hole is reckoned to add to a rendered template: a number, an id
/// or a metric name is usually shorter; money with its symbol about this.
const HOLE_LEN: usize = 16;

/// The longest a rendering raises a template's size hint to: a message
/// longer than this grows its buffer as it is written.
const MOST_HINT: usize = 1024;

impl Template {
    /// About the length of the rendered text, so rendering allocates once
    /// in the usual case: at first the literal text plus a reckoning per
    /// hole, then the longest text [`Self::rendered`] was told of (a hole
    /// such as `{c ? '; the fallback `' + m + '` pays the rest' : ''}`
    /// writes more than any reckoning).
    pub fn size_hint(&self) -> usize {
        self.hint.load(Ordering::Relaxed)
    }

    /// Notes that the template was rendered to `len` bytes. Written only
    /// when longer than the hint, so a bundle's templates are read, not
    /// written, by every decision once its messages' lengths are seen; never
    /// past [`MOST_HINT`], so one request with a long value does not make
    /// every later rendering allocate as much.
    pub fn rendered(&self, len: usize) {
        let len = len.min(MOST_HINT);
        if len > self.size_hint() {
            self.hint.fetch_max(len, Ordering::Relaxed);
        }
    }

    /// The literal text plus a reckoning per hole.
    fn reckoned(parts: &[Part]) -> usize {
        parts
            .iter()
            .map(|part| match part {
                Part::Text(s) => s.len(),
                Part::Hole(_) | Part::Money { .. } => HOLE_LEN,
            })
            .sum()
    }

    /// Parses and compiles a template.
    pub(crate) fn compile(
        parser: &Parser<'_>,
        source: &str,
        vars: &Vars,
        formats: Formats,
    ) -> Result<Self, String> {
        limits::template(source).map_err(|e| e.to_string())?;
        let mut parts = Vec::new();
        let mut text = String::new();
        let mut chars = source.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '{' if chars.peek() == Some(&'{') => {
                    chars.next();
                    text.push('{');
                }
                '}' if chars.peek() == Some(&'}') => {
                    chars.next();
                    text.push('}');
                }
                '{' => {
                    let mut hole = String::new();
                    let mut closed = false;
                    for c in chars.by_ref() {
                        if c == '}' {
                            closed = true;
                            break;
                        }
                        hole.push(c);
                    }
                    if !closed {
                        return Err(format!("unclosed `{{` in `{source}`"));
                    }
                    let compiled = hole_part(parser, &hole, vars, formats)
                        .map_err(|e| format!("`{{{}}}`: {e}", excerpt(&hole)))?;
                    if !text.is_empty() {
                        parts.push(Part::Text(std::mem::take(&mut text)));
                    }
                    parts.push(compiled);
                }
                '}' => return Err(format!("unmatched `}}` in `{source}`: write `}}}}`")),
                c => text.push(c),
            }
        }
        if !text.is_empty() {
            parts.push(Part::Text(text));
        }
        Ok(Self {
            hint: AtomicUsize::new(Self::reckoned(&parts)),
            parts,
        })
    }
}

/// A hole: an expression, or an expression and its format.
fn hole_part(
    parser: &Parser<'_>,
    hole: &str,
    vars: &Vars,
    formats: Formats,
) -> Result<Part, String> {
    let Some((value, format)) = split_format(hole) else {
        return expr::compile(parser, hole.trim(), vars).map(Part::Hole);
    };
    if formats == Formats::Detail {
        return Err(
            "details are the same in every locale: give the value, and format it in the message"
                .to_owned(),
        );
    }
    let currency = format
        .trim()
        .strip_prefix("money")
        .map(str::trim_start)
        .and_then(|f| f.strip_prefix('('))
        .and_then(|f| f.strip_suffix(')'))
        .ok_or_else(|| {
            format!(
                "unknown format `{}`: write `money(currency)`",
                format.trim()
            )
        })?;
    if currency.trim().is_empty() {
        return Err("`money()` needs the currency: `money(merchant.currency)`".to_owned());
    }
    Ok(Part::Money {
        amount: expr::compile(parser, value.trim(), vars)?,
        currency: expr::compile(parser, currency.trim(), vars)?,
    })
}

/// Splits `value | format` at a `|` outside strings and brackets that is
/// not half of CEL's `||`.
fn split_format(hole: &str) -> Option<(&str, &str)> {
    let bytes = hole.as_bytes();
    let (mut depth, mut quote, mut escaped) = (0usize, None, false);
    for (i, &b) in bytes.iter().enumerate() {
        if let Some(q) = quote {
            match b {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                _ if b == q => quote = None,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' | b'\'' => quote = Some(b),
            b'(' | b'[' | b'{' => depth += 1,
            b')' | b']' | b'}' => depth = depth.saturating_sub(1),
            b'|' if depth == 0 => {
                let before = i.checked_sub(1).and_then(|j| bytes.get(j));
                let after = bytes.get(i + 1);
                if before != Some(&b'|') && after != Some(&b'|') {
                    return Some((hole.get(..i)?, hole.get(i + 1..)?));
                }
            }
            _ => {}
        }
    }
    None
}

/// The longest hole a message quotes whole, in characters.
const QUOTED_HOLE: usize = 64;

/// A hole as a message quotes it: whole when short, else its start and `...`,
/// so that a hole over the length limit does not fill the screen.
fn excerpt(hole: &str) -> Cow<'_, str> {
    match hole.char_indices().nth(QUOTED_HOLE) {
        None => Cow::Borrowed(hole),
        Some((end, _)) => Cow::Owned(format!("{}...", hole.get(..end).unwrap_or(hole))),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::expect_used, reason = "test code")]

    use super::*;
    use crate::bundle::demo;

    #[test]
    fn the_size_hint_rises_to_the_longest_rendering_and_no_further() {
        let bundle = demo();
        let template = bundle
            .charge_funding
            .rules
            .first()
            .and_then(|r| r.reason.message.first())
            .expect("a funding rule with a message");
        let reckoned = template.size_hint();
        assert!(reckoned > 0 && reckoned < MOST_HINT, "{reckoned}");
        template.rendered(reckoned - 1);
        assert_eq!(
            template.size_hint(),
            reckoned,
            "a shorter rendering lowers nothing"
        );
        template.rendered(reckoned + 100);
        assert_eq!(template.size_hint(), reckoned + 100);
        template.rendered(10 * MOST_HINT);
        assert_eq!(
            template.size_hint(),
            MOST_HINT,
            "one long value raises it to the cap"
        );
        template.rendered(usize::MAX);
        assert_eq!(template.size_hint(), MOST_HINT);
        template.rendered(reckoned);
        assert_eq!(template.size_hint(), MOST_HINT, "and it stays there");
    }
}
