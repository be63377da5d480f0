//! Where an expression runs: natively on the declared facts when it has a
//! native tree, else in the CEL interpreter on the activation derived from
//! the same declarations (built on first use, once per decision).

use std::{cell::OnceCell, sync::Arc};

use super::{error::EvalError, native, text};
use crate::bundle::{
    Expr,
    facts::{self, Context, Facts, Table, V, item::Item},
};

/// One decision's facts and the interpreter's activation of them.
pub struct Decision<'a, 'b, C: Context> {
    table: Table<C>,
    ctx: &'a C::Of<'b>,
    env: &'a Arc<cel::Env>,
    activation: OnceCell<cel::Context<'static, 'static>>,
}

impl<'a, 'b, C: Context> Decision<'a, 'b, C> {
    /// The facts of `table` read from `ctx`; `env` is the bundle's CEL
    /// environment, for expressions the native evaluator does not cover.
    pub fn new(table: Table<C>, ctx: &'a C::Of<'b>, env: &'a Arc<cel::Env>) -> Self {
        Self {
            table,
            ctx,
            env,
            activation: OnceCell::new(),
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
    /// Evaluates a condition to a bool.
    pub fn condition(&self, expr: &Expr) -> Result<bool, EvalError> {
        if let Some(node) = &expr.native {
            return match native::eval(node, &self.facts) {
                Ok(V::Bool(b)) => Ok(b),
                Ok(other) => Err(EvalError::NotABool(other.type_name().to_owned())),
                Err(e) => Err(EvalError::Condition(Box::new(e))),
            };
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
