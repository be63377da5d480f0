//! CEL compiled to a native tree. The cel crate's interpreter resolves every
//! name through maps of dynamic values built per request; for the constructs
//! policies mostly use (field reads, comparisons, boolean logic, arithmetic,
//! `size`, `in`, `has`, the conditional, conversions) this tree reads the
//! engine's facts directly. Anything else (comprehensions, string methods,
//! ...) returns `None` and the expression stays with the interpreter.

use std::{cell::Cell, sync::Arc};

use cel::common::ast::{Expr as Ast, LiteralValue, operators as op};

use super::{
    facts::FactRef,
    vars::{Shape, Vars},
};

/// A literal.
#[derive(Debug, Clone, PartialEq)]
pub enum Lit {
    /// `null`
    Null,
    /// `true`, `false`
    Bool(bool),
    /// `1`
    Int(i64),
    /// `1u`
    UInt(u64),
    /// `1.5`
    Float(f64),
    /// `'text'`
    Str(Arc<str>),
}

/// Comparison operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CmpOp {
    /// `==`
    Eq,
    /// `!=`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
}

/// Arithmetic operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArithOp {
    /// `+` (numbers, strings, lists)
    Add,
    /// `-`
    Sub,
    /// `*`
    Mul,
    /// `/`
    Div,
    /// `%`
    Rem,
}

/// Type conversions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Conv {
    /// `string(x)`
    String,
    /// `int(x)`
    Int,
    /// `double(x)`
    Double,
}

/// A native expression tree.
#[derive(Debug, Clone, PartialEq)]
pub enum Node {
    /// A literal.
    Lit(Lit),
    /// A value the engine supplies.
    Field(FactRef),
    /// `map.key`: a key of a map of data (an error when absent).
    Key(Box<Node>, Arc<str>),
    /// `has(map.key)`
    HasKey(Box<Node>, Arc<str>),
    /// `has(record.field)` for an optional field.
    HasField(FactRef),
    /// `x[i]`
    Index(Box<Node>, Box<Node>),
    /// `!x`
    Not(Box<Node>),
    /// `-x`
    Neg(Box<Node>),
    /// `a && b`
    And(Box<Node>, Box<Node>),
    /// `a || b`
    Or(Box<Node>, Box<Node>),
    /// `c ? a : b`
    Cond(Box<Node>, Box<Node>, Box<Node>),
    /// Comparisons.
    Cmp(CmpOp, Box<Node>, Box<Node>),
    /// Arithmetic.
    Arith(ArithOp, Box<Node>, Box<Node>),
    /// `x in list_or_map`
    In(Box<Node>, Box<Node>),
    /// `size(x)`, `x.size()`
    Size(Box<Node>),
    /// `string(x)`, `int(x)`, `double(x)`
    Conv(Conv, Box<Node>),
    /// `[a, b]`
    List(Vec<Node>),
    /// A sub-condition that other rules of the same decision type test
    /// too, worked out once per decision and its answer kept in the
    /// decision's [`Answers`] at this slot. Only the trees the engine
    /// evaluates hold it ([`super::shared`]), never a tree as compiled.
    Shared(Slot, Box<Node>),
}

impl Node {
    /// The nodes directly below this one.
    pub fn children(&self) -> Vec<&Node> {
        match self {
            Self::Lit(_) | Self::Field(_) | Self::HasField(_) => Vec::new(),
            Self::Key(n, _) | Self::HasKey(n, _) | Self::Not(n) | Self::Neg(n) => vec![n],
            Self::Size(n) | Self::Conv(_, n) | Self::Shared(_, n) => vec![n],
            Self::Index(a, b)
            | Self::Cmp(_, a, b)
            | Self::Arith(_, a, b)
            | Self::In(a, b)
            | Self::And(a, b)
            | Self::Or(a, b) => vec![a, b],
            Self::Cond(c, a, b) => vec![c, a, b],
            Self::List(items) => items.iter().collect(),
        }
    }
}

/// Where a decision keeps the answer to one shared sub-condition: below
/// [`Answers::SLOTS`].
pub type Slot = u8;

/// One decision's answers to its type's shared sub-conditions, each
/// worked out at most once: kept only when it is a bool, so an error is
/// met again (and reported) by every rule that tests it, as before.
#[derive(Debug, Default)]
pub struct Answers {
    known: Cell<u64>,
    value: Cell<u64>,
}

impl Answers {
    /// How many shared sub-conditions a decision type may have; past it,
    /// sub-conditions are worked out by every rule that tests them.
    pub const SLOTS: usize = 64;

    /// The answer kept at `slot`, if any.
    pub fn get(&self, slot: Slot) -> Option<bool> {
        let bit = 1u64.checked_shl(u32::from(slot))?;
        (self.known.get() & bit != 0).then(|| self.value.get() & bit != 0)
    }

    /// Keeps `answer` at `slot`.
    pub fn set(&self, slot: Slot, answer: bool) {
        let Some(bit) = 1u64.checked_shl(u32::from(slot)) else {
            return;
        };
        self.known.set(self.known.get() | bit);
        if answer {
            self.value.set(self.value.get() | bit);
        }
    }
}

/// Compiles a checked CEL AST, or `None` when a construct has no native form.
pub fn compile(expr: &Ast, vars: &Vars) -> Option<Node> {
    Some(match expr {
        Ast::Literal(lit) => Node::Lit(literal(lit)?),
        Ast::Ident(_) | Ast::Select(_) => select(expr, vars)?,
        Ast::List(list) if list.optional_indices.is_empty() => Node::List(
            list.elements
                .iter()
                .map(|e| compile(&e.expr, vars))
                .collect::<Option<_>>()?,
        ),
        Ast::Call(call) => {
            let arg = |i: usize| {
                call.args
                    .get(i)
                    .and_then(|a| compile(&a.expr, vars))
                    .map(Box::new)
            };
            let target = || {
                call.target
                    .as_ref()
                    .and_then(|t| compile(&t.expr, vars))
                    .map(Box::new)
            };
            let n = call.args.len();
            match (call.func_name.as_str(), call.target.is_some(), n) {
                (op::LOGICAL_NOT, false, 1) => Node::Not(arg(0)?),
                (op::NEGATE, false, 1) => Node::Neg(arg(0)?),
                (op::LOGICAL_AND, false, 2) => Node::And(arg(0)?, arg(1)?),
                (op::LOGICAL_OR, false, 2) => Node::Or(arg(0)?, arg(1)?),
                (op::CONDITIONAL, false, 3) => Node::Cond(arg(0)?, arg(1)?, arg(2)?),
                (op::INDEX, false, 2) => Node::Index(arg(0)?, arg(1)?),
                (op::IN, false, 2) => Node::In(arg(0)?, arg(1)?),
                ("size", false, 1) => Node::Size(arg(0)?),
                ("size", true, 0) => Node::Size(target()?),
                ("string", false, 1) => Node::Conv(Conv::String, arg(0)?),
                ("int", false, 1) => Node::Conv(Conv::Int, arg(0)?),
                ("double", false, 1) => Node::Conv(Conv::Double, arg(0)?),
                (name, false, 2) => {
                    let (a, b) = (arg(0)?, arg(1)?);
                    match name {
                        op::EQUALS => Node::Cmp(CmpOp::Eq, a, b),
                        op::NOT_EQUALS => Node::Cmp(CmpOp::Ne, a, b),
                        op::LESS => Node::Cmp(CmpOp::Lt, a, b),
                        op::LESS_EQUALS => Node::Cmp(CmpOp::Le, a, b),
                        op::GREATER => Node::Cmp(CmpOp::Gt, a, b),
                        op::GREATER_EQUALS => Node::Cmp(CmpOp::Ge, a, b),
                        op::ADD => Node::Arith(ArithOp::Add, a, b),
                        op::SUBSTRACT => Node::Arith(ArithOp::Sub, a, b),
                        op::MULTIPLY => Node::Arith(ArithOp::Mul, a, b),
                        op::DIVIDE => Node::Arith(ArithOp::Div, a, b),
                        op::MODULO => Node::Arith(ArithOp::Rem, a, b),
                        _ => return None,
                    }
                }
                _ => return None,
            }
        }
        _ => return None,
    })
}

fn literal(lit: &LiteralValue) -> Option<Lit> {
    Some(match lit {
        LiteralValue::Null => Lit::Null,
        LiteralValue::Boolean(b) => Lit::Bool(**b),
        LiteralValue::Int(i) => Lit::Int(**i),
        LiteralValue::UInt(u) => Lit::UInt(**u),
        LiteralValue::Double(d) => Lit::Float(**d),
        LiteralValue::String(s) => Lit::Str(Arc::from(s.inner())),
        LiteralValue::Bytes(_) => return None,
    })
}

/// What a select chain denotes while it is being resolved.
enum Resolved<'v> {
    /// A record not yet narrowed to a field.
    Record(&'v Shape),
    /// A value expression.
    Node(Node, Option<&'v Shape>),
}

/// Resolves `a.b.c` (or an identifier) against the declared shapes.
fn select(expr: &Ast, vars: &Vars) -> Option<Node> {
    match resolve(expr, vars)? {
        Resolved::Node(node, _) => Some(node),
        // A whole record as a value has no native form.
        Resolved::Record(_) => None,
    }
}

fn resolve<'v>(expr: &Ast, vars: &'v Vars) -> Option<Resolved<'v>> {
    match expr {
        Ast::Ident(name) => enter(vars.get(name)?),
        Ast::Select(sel) => {
            let field = sel.field.as_str();
            let operand = resolve(&sel.operand.expr, vars)?;
            if sel.test {
                // has(operand.field)
                return match operand {
                    Resolved::Record(Shape::Record(fields)) => match fields.get(field)? {
                        Shape::Value(f) => Some(Resolved::Node(Node::HasField(*f), None)),
                        _ => None,
                    },
                    Resolved::Node(node, Some(Shape::Map(..))) | Resolved::Node(node, None) => {
                        Some(Resolved::Node(
                            Node::HasKey(Box::new(node), Arc::from(field)),
                            None,
                        ))
                    }
                    _ => None,
                };
            }
            match operand {
                Resolved::Record(Shape::Record(fields)) => enter(fields.get(field)?),
                // A key of a map of data; below it, data again.
                Resolved::Node(node, Some(Shape::Map(..))) | Resolved::Node(node, None) => Some(
                    Resolved::Node(Node::Key(Box::new(node), Arc::from(field)), None),
                ),
                _ => None,
            }
        }
        _ => compile(expr, vars).map(|n| Resolved::Node(n, None)),
    }
}

fn enter(shape: &Shape) -> Option<Resolved<'_>> {
    Some(match shape {
        Shape::Value(f) => Resolved::Node(Node::Field(*f), Some(shape)),
        Shape::Map(f, _) => Resolved::Node(Node::Field(*f), Some(shape)),
        Shape::Record(_) => Resolved::Record(shape),
    })
}
