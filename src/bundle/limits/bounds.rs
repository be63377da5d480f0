//! Lower bounds of a parsed tree's depth and size, read from the text
//! alone. Each token counted stands for a node of its own in the tree the
//! parser builds (a comprehension's variable, which is none, is outnumbered
//! by the nodes its macro adds), and each run of chained operators is a
//! path of that many nodes, so a bound over a limit means the tree is over
//! it too. The one exception, a message literal `a.b.C{...}`, whose dots
//! are counted, names a type Tollgate's expressions have no use for. A
//! property test (`tests.rs`) holds the bounds under the parser's measures.

use super::lexer::{Lexer, Tok};

/// One bracket level of the text, and the runs of operators in it that the
/// parser chains (each run of n is a tree at least n + 1 deep).
#[derive(Debug, Default, Clone, Copy)]
struct Level {
    /// Tree levels the enclosing brackets add (a call, list, index or map
    /// adds one; grouping parentheses and `has(...)` add none).
    base: usize,
    /// Conditionals (`?`) since the last `,`: each nests in the previous
    /// one's `else`.
    conditionals: usize,
    /// Conditionals still waiting for their `:` (another `:` is a map's).
    open: usize,
    /// Relations since the last `&&`, `||`, `?`, `:` or `,`: left-associated.
    relations: usize,
    /// Additions since the last relation (or the above).
    additions: usize,
    /// Multiplications since the last addition (or the above).
    multiplications: usize,
    /// Selections, member calls and indexes on one operand: `a.b[0].c()`.
    members: usize,
}

impl Level {
    /// The level after `&&`, `||`, `?` or `:`: a new term.
    fn term(self) -> Self {
        Self {
            base: self.base,
            conditionals: self.conditionals,
            open: self.open,
            ..Self::default()
        }
    }

    /// The level after `,`: a new expression.
    fn expression(self) -> Self {
        Self {
            base: self.base,
            ..Self::default()
        }
    }
}

/// Lower bounds of a tree's depth and size, and the bracket nesting, read
/// from the text.
#[derive(Debug, Default)]
pub(super) struct Bounds {
    /// How deep the brackets nest.
    pub brackets: usize,
    /// A lower bound of the tree's depth.
    pub depth: usize,
    /// A lower bound of the tree's node count.
    pub nodes: usize,
}

impl Bounds {
    /// The bounds of `source`.
    pub(super) fn of(source: &str) -> Self {
        let mut b = Self::default();
        let mut outer: Vec<Level> = Vec::new();
        let mut at = Level::default();
        // Whether the previous token ended an operand (so `-` subtracts,
        // `(` calls, `[` indexes and `?` is a conditional).
        let mut after_operand = false;
        let mut prev = Tok::Other;
        let mut tokens = Lexer::new(source).peekable();
        while let Some(tok) = tokens.next() {
            // The length of the run `tok` extends.
            let mut run = 0;
            match tok {
                Tok::Name | Tok::Has | Tok::Literal => {
                    // A field's name belongs to its `.`; a name before `(`
                    // or `{` is a call or a message (its node is counted by
                    // the bracket or not at all), and one before `:` may be
                    // a message field's name.
                    let field = prev == Tok::Dot;
                    let named = matches!(tokens.peek(), Some(Tok::Open(b'(' | b'{') | Tok::Colon));
                    if !field && !named {
                        b.nodes += 1;
                    }
                    if !field {
                        at.members = 0;
                    }
                }
                Tok::Logical => {
                    b.nodes += 1;
                    at = at.term();
                }
                Tok::Relation => {
                    b.nodes += 1;
                    at.relations += 1;
                    (at.additions, at.multiplications, at.members) = (0, 0, 0);
                    run = at.relations;
                }
                Tok::Additive if after_operand => {
                    b.nodes += 1;
                    at.additions += 1;
                    (at.multiplications, at.members) = (0, 0);
                    run = at.additions;
                }
                Tok::Multiplicative => {
                    b.nodes += 1;
                    at.multiplications += 1;
                    at.members = 0;
                    run = at.multiplications;
                }
                // After anything but an operand, `?` is the optional syntax
                // (`a.?b`, `[?x]`), part of another node.
                Tok::Question if after_operand => {
                    b.nodes += 1;
                    at.conditionals += 1;
                    at.open += 1;
                    run = at.conditionals;
                    at = at.term();
                }
                Tok::Colon => {
                    if at.open > 0 {
                        at.open -= 1;
                        at = at.term();
                    } else {
                        // A map's `key: value`.
                        at = at.expression();
                    }
                }
                Tok::Comma => at = at.expression(),
                Tok::Dot => {
                    b.nodes += 1;
                    if after_operand {
                        at.members += 1;
                        run = at.members;
                    }
                }
                Tok::Open(bracket) => {
                    // Whether the bracket's node holds what is inside.
                    let holds = match bracket {
                        // A call; `has(a.b)` is a selection, no call.
                        b'(' if after_operand => prev != Tok::Has,
                        // Grouping.
                        b'(' => false,
                        // An index is one more member on its operand.
                        b'[' if after_operand => {
                            at.members += 1;
                            run = at.members;
                            true
                        }
                        // A list, map or message.
                        _ => true,
                    };
                    if bracket != b'(' {
                        b.nodes += 1;
                    }
                    if !after_operand {
                        at.members = 0;
                    }
                    b.depth = b.depth.max(at.base + run + 1);
                    outer.push(at);
                    at = Level {
                        base: at.base + usize::from(holds),
                        ..Level::default()
                    };
                    b.brackets = b.brackets.max(outer.len());
                    run = 0;
                }
                Tok::Close => {
                    if let Some(level) = outer.pop() {
                        at = level;
                    }
                }
                Tok::Additive | Tok::Not | Tok::Question | Tok::Other => {}
            }
            b.depth = b.depth.max(at.base + run + 1);
            after_operand = matches!(tok, Tok::Name | Tok::Has | Tok::Literal | Tok::Close);
            prev = tok;
        }
        b
    }
}
