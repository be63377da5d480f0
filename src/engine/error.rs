//! Why an expression failed at run time. Every error fails closed: the rule
//! that hit it becomes a `POLICY_EVALUATION_ERROR` deny reason whose message
//! and `details.error` are this error's text, so the text is part of the
//! product and reads the same whichever evaluator ran.

use std::sync::Arc;

use super::text;

/// A run-time failure of a condition or a message template.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum EvalError {
    /// A fact or a map key that is absent.
    #[error("no such key: {0}")]
    NoSuchKey(String),
    /// `x.key` on a value that is not a map.
    #[error("no such key: {key} (on a {found})")]
    KeyOfNonMap {
        /// The key read.
        key: Arc<str>,
        /// The type of what it was read from.
        found: &'static str,
    },
    /// `has(x.key)` on a value that is not a map.
    #[error("has() needs a map, not a {0}")]
    HasOfNonMap(&'static str),
    /// An operator or function applied to types it does not take.
    #[error("found no matching overload for '{function}' applied to '({})'", .args.join(", "))]
    NoMatchingOverload {
        /// The function, as CEL names it (`_+_`, `size`).
        function: &'static str,
        /// The types of its arguments.
        args: Box<[&'static str]>,
    },
    /// `-x` on the smallest integer.
    #[error("integer overflow")]
    NegationOverflow,
    /// Integer arithmetic out of range.
    #[error("{0}: integer overflow")]
    ArithmeticOverflow(&'static str),
    /// `int(x)` of an unsigned integer beyond the signed range.
    #[error("int: overflow")]
    IntOverflow,
    /// Integer division by zero.
    #[error("division by zero")]
    DivisionByZero,
    /// Integer modulus by zero.
    #[error("modulus by zero")]
    ModulusByZero,
    /// `list[i]` past either end.
    #[error("index out of bounds: {index} of {len}")]
    IndexOutOfBounds {
        /// The index, as written in messages.
        index: String,
        /// The list's length.
        len: usize,
    },
    /// `int(s)` of a string that is no integer.
    #[error("int: `{0}` is not an integer")]
    NotAnInteger(String),
    /// `double(s)` of a string that is no number.
    #[error("double: `{0}` is not a number")]
    NotANumber(String),
    /// A native tree nested deeper than the evaluator follows: a guard
    /// behind the bundle's limits, which no compiled bundle reaches.
    #[error("expression nests deeper than {0} levels")]
    TooDeep(usize),
    /// A `money(...)` hole whose amount is not an int of minor units, or
    /// whose currency is not an ISO 4217 code.
    #[error("money: {0}")]
    Money(String),
    /// A condition whose value is not a bool.
    #[error("condition returned `{0}`, not a bool")]
    NotABool(String),
    /// An error of the CEL interpreter, its message lowercased. Boxed, as
    /// are the other large payloads, so that a `Result` of the native
    /// evaluator stays small.
    #[error("{}", text::lowercase_first(&.0.to_string()))]
    Interpreter(Box<cel::ExecutionError>),
    /// An error in a rule's condition.
    #[error("condition: {0}")]
    Condition(Box<EvalError>),
    /// An error in a template's hole.
    #[error("`{{{hole}}}`: {error}")]
    Hole {
        /// The hole's expression.
        hole: String,
        /// What went wrong in it.
        error: Box<EvalError>,
    },
    /// An error in a reason's message.
    #[error("message {0}")]
    Message(Box<EvalError>),
    /// An error in one of a reason's details.
    #[error("details `{key}` {error}")]
    Detail {
        /// The detail's key.
        key: String,
        /// What went wrong in its template.
        error: Box<EvalError>,
    },
    /// An error for one item of a `for_each` rule.
    #[error("for metric `{metric}`: {error}")]
    ForMetric {
        /// The item's metric.
        metric: String,
        /// What went wrong for it.
        error: Box<EvalError>,
    },
}

#[cfg(test)]
mod tests {
    use super::EvalError as E;

    /// The texts are part of the product: each variant's, pinned.
    #[test]
    fn messages() {
        let boxed = |e: E| Box::new(e);
        let cases = [
            (E::NoSuchKey("seats".into()), "no such key: seats"),
            (
                E::KeyOfNonMap {
                    key: "b".into(),
                    found: "string",
                },
                "no such key: b (on a string)",
            ),
            (E::HasOfNonMap("string"), "has() needs a map, not a string"),
            (
                E::NoMatchingOverload {
                    function: "_+_",
                    args: Box::new(["string", "int"]),
                },
                "found no matching overload for '_+_' applied to '(string, int)'",
            ),
            (E::NegationOverflow, "integer overflow"),
            (E::ArithmeticOverflow("_*_"), "_*_: integer overflow"),
            (E::IntOverflow, "int: overflow"),
            (E::DivisionByZero, "division by zero"),
            (E::ModulusByZero, "modulus by zero"),
            (
                E::IndexOutOfBounds {
                    index: "-1".into(),
                    len: 1,
                },
                "index out of bounds: -1 of 1",
            ),
            (E::NotAnInteger("x".into()), "int: `x` is not an integer"),
            (E::NotANumber("x".into()), "double: `x` is not a number"),
            (
                E::NotABool("int".into()),
                "condition returned `int`, not a bool",
            ),
            (
                E::Interpreter(Box::new(cel::ExecutionError::NoSuchKey(
                    std::sync::Arc::new("Seats".to_owned()),
                ))),
                // CEL's capital lowercased.
                "no such key: Seats",
            ),
            (
                E::ForMetric {
                    metric: "users".into(),
                    error: boxed(E::Condition(boxed(E::DivisionByZero))),
                },
                "for metric `users`: condition: division by zero",
            ),
            (
                E::Detail {
                    key: "k".into(),
                    error: boxed(E::Hole {
                        hole: "1 / 0".into(),
                        error: boxed(E::DivisionByZero),
                    }),
                },
                "details `k` `{1 / 0}`: division by zero",
            ),
            (
                E::Message(boxed(E::Hole {
                    hole: "a.b".into(),
                    error: boxed(E::NoSuchKey("b".into())),
                })),
                "message `{a.b}`: no such key: b",
            ),
        ];
        for (error, text) in cases {
            assert_eq!(error.to_string(), text);
        }
    }
}
