//! CEL expressions compiled at load, checked against the variables a rule
//! may read, so a typo is a bundle error and not a run-time surprise.

use std::{collections::HashSet, sync::Arc};

use cel::common::ast::{EntryExpr, Expr as Ast, IdedExpr};

use super::{
    limits,
    native::Node,
    programs::{Checked, Parser},
    vars::{Shape, Vars},
};

/// A compiled CEL expression and its source text.
pub struct Expr {
    /// The compiled program, for the CEL interpreter.
    pub program: Arc<cel::Program>,
    /// The same expression compiled to a native tree, when every construct
    /// it uses has a native form; the engine then never builds CEL values.
    pub native: Option<Node>,
    /// `native` with the sub-conditions other rules of its decision type
    /// test too marked [`Node::Shared`], for a rule's condition that has
    /// any ([`super::shared::mark`]): the tree the engine evaluates, so a
    /// decision works each out once. Lints, coverage and explanations read
    /// `native`, the tree as written.
    pub memo: Option<Node>,
    /// The source, for traces and messages.
    pub source: String,
}

/// Compiles `source` and checks every variable and field it reads, and its
/// size against the [`limits`]: the text before the parser sees it, the tree
/// before anything walks it.
pub(crate) fn compile(parser: &Parser<'_>, source: &str, vars: &Vars) -> Result<Expr, String> {
    // Checked already, against these variables or equal ones.
    if let Some(checked) = parser.checked(source, vars) {
        return Ok(Expr {
            program: checked.program,
            native: checked.native,
            memo: None,
            source: source.to_owned(),
        });
    }
    let expr = check_source(parser, source, vars)?;
    parser.keep(
        source,
        vars,
        Checked {
            program: Arc::clone(&expr.program),
            native: expr.native.clone(),
        },
    );
    Ok(expr)
}

fn check_source(parser: &Parser<'_>, source: &str, vars: &Vars) -> Result<Expr, String> {
    limits::text(source).map_err(|e| e.to_string())?;
    let program = parser.parse(source).map_err(|errors| {
        errors
            .errors
            .first()
            .map(|e| {
                let msg = e.msg.strip_prefix("Syntax error: ").unwrap_or(&e.msg);
                // ANTLR lists every token it expected; the input it choked on says enough.
                let msg = msg.split(" expecting ").next().unwrap_or(msg);
                format!(
                    "syntax error at column {} of the expression: {msg}",
                    e.pos.1 + 1
                )
            })
            .unwrap_or_else(|| "syntax error".to_owned())
    })?;
    limits::tree(&program.expression().expr).map_err(|e| e.to_string())?;
    let mut problems = Vec::new();
    let mut locals = HashSet::new();
    collect_locals(&program.expression().expr, &mut locals);
    check(&program.expression().expr, vars, &locals, &mut problems);
    match problems.into_iter().next() {
        Some(problem) => Err(problem),
        None => Ok(Expr {
            native: if locals.is_empty() {
                super::native::compile(&program.expression().expr, vars)
            } else {
                // Comprehensions (`all`, `exists`, `map`, ...) stay with the interpreter.
                None
            },
            memo: None,
            program,
            source: source.to_owned(),
        }),
    }
}

/// Names bound by comprehensions (`x` in `list.all(x, ...)`).
fn collect_locals(expr: &Ast, out: &mut HashSet<String>) {
    for child in children(expr) {
        collect_locals(&child.expr, out);
    }
    if let Ast::Comprehension(c) = expr {
        out.insert(c.iter_var.clone());
        out.insert(c.accu_var.clone());
        if let Some(v) = &c.iter_var2 {
            out.insert(v.clone());
        }
    }
}

/// The sub-expressions of `expr`, comprehension parts and map entries
/// included.
pub(super) fn children(expr: &Ast) -> Vec<&IdedExpr> {
    match expr {
        Ast::Call(call) => call
            .target
            .iter()
            .map(|t| &**t)
            .chain(call.args.iter())
            .collect(),
        Ast::Comprehension(c) => vec![
            &c.iter_range,
            &c.accu_init,
            &c.loop_cond,
            &c.loop_step,
            &c.result,
        ],
        Ast::List(list) => list.elements.iter().collect(),
        Ast::Map(map) => map
            .entries
            .iter()
            .flat_map(|e| match &e.expr {
                EntryExpr::StructField(f) => vec![&f.value],
                EntryExpr::MapEntry(m) => vec![&m.key, &m.value],
            })
            .collect(),
        Ast::Struct(s) => s
            .entries
            .iter()
            .flat_map(|e| match &e.expr {
                EntryExpr::StructField(f) => vec![&f.value],
                EntryExpr::MapEntry(m) => vec![&m.key, &m.value],
            })
            .collect(),
        Ast::Select(sel) => vec![&*sel.operand],
        Ast::Ident(_) | Ast::Literal(_) | Ast::Unspecified => Vec::new(),
    }
}

/// The `a.b.c` path of a select chain rooted at an identifier.
fn path(expr: &Ast) -> Option<Vec<&str>> {
    match expr {
        Ast::Ident(name) => Some(vec![name.as_str()]),
        Ast::Select(sel) => {
            let mut p = path(&sel.operand.expr)?;
            p.push(&sel.field);
            Some(p)
        }
        _ => None,
    }
}

fn check(expr: &Ast, vars: &Vars, locals: &HashSet<String>, problems: &mut Vec<String>) {
    match expr {
        Ast::Ident(name)
            if !name.starts_with('@') && !locals.contains(name) && !vars.contains(name) =>
        {
            problems.push(format!("undeclared reference to `{name}`"));
        }
        Ast::Select(_) => {
            if let Some(p) = path(expr) {
                check_path(&p, vars, locals, problems);
                return;
            }
        }
        _ => {}
    }
    for child in children(expr) {
        check(&child.expr, vars, locals, problems);
    }
}

fn check_path(p: &[&str], vars: &Vars, locals: &HashSet<String>, problems: &mut Vec<String>) {
    let Some((root, fields)) = p.split_first() else {
        return;
    };
    if locals.contains(*root) {
        return;
    }
    let Some(mut shape) = vars.get(root) else {
        problems.push(format!("undeclared reference to `{root}`"));
        return;
    };
    let mut seen = (*root).to_owned();
    for field in fields {
        match shape {
            Shape::Value(_) => {
                problems.push(format!(
                    "`{seen}` is a single value and has no field `{field}`"
                ));
                return;
            }
            Shape::Map(_, Some(keys)) if !keys.iter().any(|k| k == field) => {
                problems.push(format!("`{seen}` has no field `{field}`"));
                return;
            }
            // A key of a map of data: what lies below is data too.
            Shape::Map(..) => return,
            Shape::Record(known) => match known.get(*field) {
                Some(next) => shape = next,
                None => {
                    problems.push(format!("`{seen}` has no field `{field}`"));
                    return;
                }
            },
        }
        seen.push('.');
        seen.push_str(field);
    }
}
