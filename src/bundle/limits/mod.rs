//! How big an expression may be, so that no bundle can make compiling or
//! evaluating it overflow a stack or balloon memory, and the stack size
//! those limits are sized for. The length, the bracket nesting, and lower
//! bounds of the depth and size are checked on the text before the CEL
//! parser sees it (the parser recurses, and its parse tree costs kilobytes a
//! term); the exact depth and size are checked on the parsed tree.
//!
//! A limit is checked per expression: a rule's `when` and each `{...}` hole
//! of a message or detail template (whose whole text has the length limit).

use cel::common::ast::Expr as Ast;

mod bounds;
mod lexer;
#[cfg(test)]
mod tests;

use self::bounds::Bounds;
use super::expr::children;

/// The longest expression or template, in bytes.
pub const MAX_SOURCE_BYTES: usize = 16 * 1024;

/// The deepest an expression's tree may nest: `a + b` is 2 deep, a
/// left-associated chain `1 + 1 + ... + 1` of n terms n deep, `a.b.c` 3.
pub const MAX_DEPTH: usize = 64;

/// The deepest brackets (`(`, `[`, `{`, a call's parentheses) may nest. The
/// parser spends the most stack on these: about 10 KiB a level in a release
/// build and 160 KiB in a debug build.
pub const MAX_BRACKETS: usize = 32;

/// The most nodes an expression's tree may have (each name, literal,
/// operator, call, field selection, index, list and map is one).
pub const MAX_NODES: usize = 1000;

/// The stack size of every thread that compiles bundles or evaluates
/// decisions: the server's runtime threads and the thread the one-shot
/// tools (`check`, `test`, `eval`) run on, so that what `check` accepts
/// `serve` survives. The worst expression the limits above admit takes
/// under 1 MiB of stack to parse in a release build and about 6 MiB in a
/// debug build; evaluating one takes far less.
pub const STACK_SIZE: usize = 16 * 1024 * 1024;

/// An expression over a limit.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LimitError {
    /// The text is too long.
    #[error("length of {0} bytes exceeds the limit of {MAX_SOURCE_BYTES}")]
    Length(usize),
    /// The brackets nest too deep.
    #[error("bracket nesting of {0} exceeds the limit of {MAX_BRACKETS}")]
    Brackets(usize),
    /// The text alone shows that the tree nests too deep.
    #[error("nesting depth of at least {0} exceeds the limit of {MAX_DEPTH}")]
    DepthAtLeast(usize),
    /// The text alone shows that the tree has too many nodes.
    #[error("size of at least {0} nodes exceeds the limit of {MAX_NODES}")]
    NodesAtLeast(usize),
    /// The parsed tree nests too deep.
    #[error("nesting depth of {0} exceeds the limit of {MAX_DEPTH}")]
    Depth(usize),
    /// The parsed tree has too many nodes.
    #[error("size of {0} nodes exceeds the limit of {MAX_NODES}")]
    Nodes(usize),
}

/// Checks a template's whole text, before its holes are compiled.
pub fn template(source: &str) -> Result<(), LimitError> {
    length(source)
}

/// Checks an expression's text before it is parsed: its length, its bracket
/// nesting, and lower bounds of its tree's depth and size read from its
/// tokens. The bounds never exceed what [`tree`] measures, so nothing
/// refused for its depth or size here would have passed there.
pub fn text(source: &str) -> Result<(), LimitError> {
    length(source)?;
    let bounds = Bounds::of(source);
    if bounds.brackets > MAX_BRACKETS {
        return Err(LimitError::Brackets(bounds.brackets));
    }
    if bounds.depth > MAX_DEPTH {
        return Err(LimitError::DepthAtLeast(bounds.depth));
    }
    if bounds.nodes > MAX_NODES {
        return Err(LimitError::NodesAtLeast(bounds.nodes));
    }
    Ok(())
}

/// Checks a parsed expression's depth and size. Iterative, so a tree
/// deeper than the limit is measured without recursing into it.
pub fn tree(expr: &Ast) -> Result<(), LimitError> {
    let (depth, nodes) = measure(expr);
    if depth > MAX_DEPTH {
        return Err(LimitError::Depth(depth));
    }
    if nodes > MAX_NODES {
        return Err(LimitError::Nodes(nodes));
    }
    Ok(())
}

fn length(source: &str) -> Result<(), LimitError> {
    if source.len() > MAX_SOURCE_BYTES {
        return Err(LimitError::Length(source.len()));
    }
    Ok(())
}

/// The depth (the root is 1 deep) and the node count of a tree.
fn measure(expr: &Ast) -> (usize, usize) {
    let (mut depth, mut nodes) = (0, 0);
    let mut stack = vec![(expr, 1)];
    while let Some((e, d)) = stack.pop() {
        depth = depth.max(d);
        nodes += 1;
        stack.extend(children(e).into_iter().map(|c| (&c.expr, d + 1)));
    }
    (depth, nodes)
}
