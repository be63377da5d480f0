//! Where an expression runs: natively on the declared facts when it has a
//! native tree, else in the CEL interpreter on the activation derived from
//! the same declarations (built on first use, once per decision).

use std::{borrow::Cow, cell::OnceCell, sync::Arc};

use super::{error::EvalError, native, text};
use crate::bundle::{
    Answers, BundleLocale, Expr,
    facts::{self, Context, Facts, Table, V, item::Item},
};

/// One decision's facts and the interpreter's activation of them.
pub struct Decision<'a, 'b, C: Context> {
    table: Table<C>,
    ctx: &'a C::Of<'b>,
    env: &'a Arc<cel::Env>,
    locale: &'a BundleLocale,
    activation: OnceCell<cel::Context<'static, 'static>>,
    /// Answers to shared sub-conditions, by the slots of the one rule set
    /// this decision evaluates (each decision type numbers its own).
    answers: Answers,
}

impl<'a, 'b, C: Context> Decision<'a, 'b, C> {
    /// The facts of `table` read from `ctx`; `env` is the bundle's CEL
    /// environment, for expressions the native evaluator does not cover;
    /// `locale` the one its messages are written in.
    pub fn new(
        table: Table<C>,
        ctx: &'a C::Of<'b>,
        env: &'a Arc<cel::Env>,
        locale: &'a BundleLocale,
    ) -> Self {
        Self {
            table,
            ctx,
            env,
            locale,
            activation: OnceCell::new(),
            answers: Answers::default(),
        }
    }

    /// The decision's context.
    pub fn ctx(&self) -> &'a C::Of<'b> {
        self.ctx
    }

    /// The facts with `item` bound, for evaluating one rule.
    pub fn at<'e>(&'e self, item: Option<&'e Item<'e>>) -> Env<'e, 'b, C>
    where
        'a: 'e,
    {
        Env {
            facts: Facts {
                table: self.table,
                ctx: self.ctx,
                item,
                answers: &self.answers,
            },
            decision: self,
        }
    }

    fn activation(&self) -> &cel::Context<'static, 'static> {
        self.activation
            .get_or_init(|| facts::cel::activation(self.env.clone(), self.table, self.ctx))
    }
}

/// The facts one rule evaluation reads: the decision's, plus the current
/// `for_each` item.
pub struct Env<'e, 'b, C: Context> {
    facts: Facts<'e, 'b, C>,
    decision: &'e Decision<'e, 'b, C>,
}

impl<C: Context> Env<'_, '_, C> {
    /// The locale the decision's messages are written in.
    pub fn locale(&self) -> &BundleLocale {
        self.decision.locale
    }

    /// The facts as the native evaluator reads them.
    pub fn lookup(&self) -> &dyn facts::Lookup {
        &self.facts
    }

    /// Evaluates a condition to a bool.
    pub fn condition(&self, expr: &Expr) -> Result<bool, EvalError> {
        if let Some(node) = expr.memo.as_ref().or(expr.native.as_ref()) {
            return native::condition(node, &self.facts);
        }
        match self.interpret(expr) {
            Ok(cel::Value::Bool(b)) => Ok(b),
            Ok(other) => Err(EvalError::NotABool(other.type_of().to_string())),
            Err(e) => Err(EvalError::Condition(Box::new(EvalError::Interpreter(
                Box::new(e),
            )))),
        }
    }

    /// Evaluates a template hole to text.
    pub fn text(&self, expr: &Expr, out: &mut String) -> Result<(), EvalError> {
        if let Some(node) = &expr.native {
            native::eval(node, &self.facts)?.render(out);
            return Ok(());
        }
        let v = self
            .interpret(expr)
            .map_err(|e| EvalError::Interpreter(Box::new(e)))?;
        out.push_str(&text::value(&v));
        Ok(())
    }

    /// Evaluates `amount` (an int of minor units) and `currency` (an ISO
    /// 4217 code) and writes the money as the decision's locale does.
    pub fn money(&self, amount: &Expr, currency: &Expr, out: &mut String) -> Result<(), EvalError> {
        let minor = match self.value(amount)? {
            Value::Int(i) => i,
            other => {
                return Err(EvalError::Money(format!(
                    "the amount is of type `{}`, not an int of minor units",
                    other.type_name()
                )));
            }
        };
        let currency = match self.value(currency)? {
            Value::Str(code) => self.decision.locale.currency(&code).ok_or_else(|| {
                EvalError::Money(format!("`{code}` is not an ISO 4217 currency code"))
            })?,
            other => {
                return Err(EvalError::Money(format!(
                    "the currency is of type `{}`, not an ISO 4217 code",
                    other.type_name()
                )));
            }
        };
        self.decision.locale.write_money(minor, currency, out);
        Ok(())
    }

    /// An int or a string, whichever evaluator runs.
    fn value<'s>(&'s self, expr: &'s Expr) -> Result<Value<'s>, EvalError> {
        if let Some(node) = &expr.native {
            return Ok(match native::eval(node, &self.facts)? {
                V::Int(i) => Value::Int(i),
                V::UInt(u) => i64::try_from(u).map_or(Value::Other("uint".to_owned()), Value::Int),
                // Borrowed: a currency code is only looked up.
                V::Str(s) => Value::Str(s),
                other => Value::Other(other.type_name().to_owned()),
            });
        }
        let v = self
            .interpret(expr)
            .map_err(|e| EvalError::Interpreter(Box::new(e)))?;
        Ok(match v {
            cel::Value::Int(i) => Value::Int(i),
            cel::Value::UInt(u) => {
                i64::try_from(u).map_or(Value::Other("uint".to_owned()), Value::Int)
            }
            cel::Value::String(s) => Value::Str(Cow::Owned(s.to_string())),
            // Named as the native evaluator names them, so a message reads
            // the same whichever evaluator ran.
            cel::Value::Float(_) => Value::Other("double".to_owned()),
            cel::Value::Bool(_) => Value::Other("bool".to_owned()),
            cel::Value::Null => Value::Other("null_type".to_owned()),
            other => Value::Other(other.type_of().to_string()),
        })
    }

    fn interpret(&self, expr: &Expr) -> Result<cel::Value, cel::ExecutionError> {
        let activation = self.decision.activation();
        let Some(item) = self.facts.item else {
            return expr.program.execute(activation);
        };
        let mut scope = activation.new_inner_scope();
        facts::cel::add_item(&mut scope, item);
        expr.program.execute(&scope)
    }
}

/// What a `money(...)` hole's parts evaluated to.
enum Value<'a> {
    Int(i64),
    Str(Cow<'a, str>),
    /// Any other type, by its CEL name.
    Other(String),
}

impl Value<'_> {
    /// The CEL type name, for messages.
    fn type_name(&self) -> &str {
        match self {
            Self::Int(_) => "int",
            Self::Str(_) => "string",
            Self::Other(t) => t,
        }
    }
}
