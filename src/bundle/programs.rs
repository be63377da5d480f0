//! Parsed CEL programs by source text. Parsing (the `cel` crate's ANTLR
//! parser) is most of what compiling a bundle costs, and a new revision
//! usually changes a few expressions of many: so a compile may start from
//! the programs of the bundle it replaces, and parses only the sources that
//! bundle did not have. Identical sources within one bundle are parsed once.
//! What is checked against the variables (fields, limits, the native tree)
//! is still done for every expression, since it depends on where the
//! expression is written.
//!
//! The same goes one level up for the YAML files: a file whose bytes the
//! previous bundle also had reuses its parsed document (YAML parsing was
//! the larger part of a reload once expressions were reused), and every
//! check that reads the documents runs again.

use std::{
    cell::{Cell, RefCell},
    collections::HashMap,
    sync::Arc,
};

use cel::{ParseErrors, Program};

use super::schema::FileDoc;

/// The parsed programs of one compiled bundle, by source text, and its
/// parsed YAML files, by content: what the next compile may reuse.
#[derive(Default)]
pub struct Programs {
    by_source: HashMap<Box<str>, Arc<Program>>,
    reused: usize,
    files: HashMap<Box<[u8]>, Arc<FileDoc>>,
    files_reused: usize,
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

    /// How many of the bundle's YAML files had the same bytes in the bundle
    /// this one was compiled after, and were not parsed again.
    pub fn files_reused(&self) -> usize {
        self.files_reused
    }
}

/// Parses for one compile, reusing `previous`'s programs.
pub(crate) struct Parser<'a> {
    /// The environment every program is compiled for.
    pub env: &'a cel::Env,
    previous: Option<&'a Programs>,
    parsed: RefCell<HashMap<Box<str>, Arc<Program>>>,
    reused: Cell<usize>,
    files: HashMap<Box<[u8]>, Arc<FileDoc>>,
    files_reused: usize,
}

impl<'a> Parser<'a> {
    pub(crate) fn new(env: &'a cel::Env, previous: Option<&'a Programs>) -> Self {
        Self {
            env,
            previous,
            parsed: RefCell::default(),
            reused: Cell::new(0),
            files: HashMap::new(),
            files_reused: 0,
        }
    }

    /// A YAML file's document: the previous bundle's, when it had a file
    /// with these bytes, else `parse`'s.
    pub(crate) fn file<E>(
        &mut self,
        content: &[u8],
        parse: impl FnOnce(&[u8]) -> Result<FileDoc, E>,
    ) -> Result<Arc<FileDoc>, E> {
        let doc = match self.previous.and_then(|p| p.files.get(content)) {
            Some(doc) => {
                self.files_reused += 1;
                Arc::clone(doc)
            }
            None => Arc::new(parse(content)?),
        };
        self.files.insert(Box::from(content), Arc::clone(&doc));
        Ok(doc)
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
            files: self.files,
            files_reused: self.files_reused,
        }
    }
}
