//! Message templates: literal text with `{expr}` holes, each hole a CEL
//! expression compiled at load. `{{` and `}}` are literal braces.

use std::borrow::Cow;

use super::{
    expr::{self, Expr},
    limits,
    vars::Vars,
};

/// A compiled template.
pub struct Template {
    /// Literal text and expressions, in order.
    pub parts: Vec<Part>,
}

/// One piece of a template.
pub enum Part {
    /// Literal text.
    Text(String),
    /// An expression whose value is rendered in place.
    Hole(Expr),
}

impl Template {
    /// Parses and compiles a template.
    pub fn compile(env: &cel::Env, source: &str, vars: &Vars) -> Result<Self, String> {
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
                    let compiled = expr::compile(env, hole.trim(), vars)
                        .map_err(|e| format!("`{{{}}}`: {e}", excerpt(&hole)))?;
                    if !text.is_empty() {
                        parts.push(Part::Text(std::mem::take(&mut text)));
                    }
                    parts.push(Part::Hole(compiled));
                }
                '}' => return Err(format!("unmatched `}}` in `{source}`: write `}}}}`")),
                c => text.push(c),
            }
        }
        if !text.is_empty() {
            parts.push(Part::Text(text));
        }
        Ok(Self { parts })
    }
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
