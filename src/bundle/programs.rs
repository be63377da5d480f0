//! Parsed CEL programs by source text. Parsing (the `cel` crate's ANTLR
//! parser) is most of what compiling a bundle costs, and a new revision
//! usually changes a few expressions of many: so a compile may start from
//! the programs of the bundle it replaces, and parses only the sources that
//! bundle did not have. Identical sources within one bundle are parsed once.
//! What is checked against the variables (fields, limits, the native tree)
//! is still done for every expression, since it depends on where the
//! expression is written.

use std::{
    cell::{Cell, RefCell},
    collections::HashMap,
    sync::Arc,
};

use cel::{ParseErrors, Program};

/// The parsed programs of one compiled bundle, by source text: what the
/// next compile may reuse.
#[derive(Default)]
pub struct Programs {
    by_source: HashMap<Box<str>, Arc<Program>>,
    reused: usize,
}

impl Programs {
    /// How many distinct expressions the bundle has.
    pub fn len(&self) -> usize {
        self.by_source.len()
    }

    /// Whether the bundle has no expression.
    pub fn is_empty(&self) -> bool {
        self.by_source.is_empty()
    }

    /// How many of them were taken from the bundle this one was compiled
    /// after, not parsed again.
    pub fn reused(&self) -> usize {
        self.reused
    }
}

/// Parses for one compile, reusing `previous`'s programs.
pub(crate) struct Parser<'a> {
    /// The environment every program is compiled for.
    pub env: &'a cel::Env,
    previous: Option<&'a Programs>,
    parsed: RefCell<HashMap<Box<str>, Arc<Program>>>,
    reused: Cell<usize>,
}

impl<'a> Parser<'a> {
    pub(crate) fn new(env: &'a cel::Env, previous: Option<&'a Programs>) -> Self {
        Self {
            env,
            previous,
            parsed: RefCell::default(),
            reused: Cell::new(0),
        }
    }

    /// `source` parsed: by this compile already, by the previous one, or now.
    pub(crate) fn parse(&self, source: &str) -> Result<Arc<Program>, ParseErrors> {
        if let Some(program) = self.parsed.borrow().get(source) {
            return Ok(Arc::clone(program));
        }
        let program = match self.previous.and_then(|p| p.by_source.get(source)) {
            Some(program) => {
                self.reused.set(self.reused.get() + 1);
                Arc::clone(program)
            }
            None => Arc::new(self.env.compile(source)?),
        };
        self.parsed
            .borrow_mut()
            .insert(Box::from(source), Arc::clone(&program));
        Ok(program)
    }

    /// The programs this compile parsed or reused.
    pub(crate) fn finish(self) -> Programs {
        Programs {
            by_source: self.parsed.into_inner(),
            reused: self.reused.get(),
        }
    }
}
