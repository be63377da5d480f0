//! Parsed CEL programs by source text. Parsing (the `cel` crate's ANTLR
//! parser) is most of what compiling a bundle costs, and a new revision
//! usually changes a few expressions of many: so a compile may start from
//! the programs of the bundle it replaces, and parses only the sources that
//! bundle did not have. Identical sources within one bundle are parsed once.
//! One step further, an expression checked against a set of variables
//! (its fields, its limits, its native tree: [`super::expr::compile`]) is
//! kept by its source and the variables' [`Kind`]; a compile whose kind of
//! variables equals the previous compile's (the same names and shapes: the
//! catalogue's plan attributes, say, did not change) takes the previous
//! result for an unchanged source instead of checking it again.
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

use super::{
    native::Node,
    schema::FileDoc,
    vars::{Kind, Vars},
};

/// An expression as [`super::expr::compile`] checked it.
#[derive(Clone)]
pub(crate) struct Checked {
    pub program: Arc<Program>,
    pub native: Option<Node>,
}

type CheckedBy = HashMap<(Kind, Box<str>), Checked>;

/// The parsed programs of one compiled bundle, by source text, and its
/// parsed YAML files, by content: what the next compile may reuse.
#[derive(Default)]
pub struct Programs {
    by_source: HashMap<Box<str>, Arc<Program>>,
    reused: usize,
    files: HashMap<Box<[u8]>, Arc<FileDoc>>,
    files_reused: usize,
    /// The compile's sets of variables, by [`Kind`].
    kinds: Vec<Vars>,
    checked: CheckedBy,
    checked_reused: usize,
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

    /// How many expressions were checked against their variables by the
    /// bundle this one was compiled after, and were not checked again.
    pub fn checked_reused(&self) -> usize {
        self.checked_reused
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
    kinds: Vec<Vars>,
    /// For each of this compile's kinds, the previous compile's kind with
    /// the same variables, if it had one.
    previous_kinds: Vec<Option<Kind>>,
    checked: RefCell<CheckedBy>,
    checked_reused: Cell<usize>,
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
            kinds: Vec::new(),
            previous_kinds: Vec::new(),
            checked: RefCell::default(),
            checked_reused: Cell::new(0),
        }
    }

    /// Registers `vars` as a kind of this compile: expressions checked
    /// against them are kept by their source, and an equal set of the
    /// previous compile's lends its checked expressions. Unregistered
    /// variables (and any past the 256th kind) are checked every time.
    pub(crate) fn kind(&mut self, mut vars: Vars) -> Vars {
        let Ok(kind) = Kind::try_from(self.kinds.len()) else {
            return vars;
        };
        let previous = self
            .previous
            .and_then(|p| p.kinds.iter().position(|v| *v == vars))
            .and_then(|k| Kind::try_from(k).ok());
        vars.set_kind(kind);
        self.kinds.push(vars.clone());
        self.previous_kinds.push(previous);
        vars
    }

    /// `source` as checked against `vars` already: by this compile, or by
    /// the previous one against equal variables.
    pub(crate) fn checked(&self, source: &str, vars: &Vars) -> Option<Checked> {
        let kind = vars.kind()?;
        let key = (kind, Box::from(source));
        if let Some(checked) = self.checked.borrow().get(&key) {
            return Some(checked.clone());
        }
        let previous = self
            .previous_kinds
            .get(usize::from(kind))
            .copied()
            .flatten()?;
        let checked = self
            .previous?
            .checked
            .get(&(previous, Box::from(source)))?
            .clone();
        self.checked_reused.set(self.checked_reused.get() + 1);
        self.checked.borrow_mut().insert(key, checked.clone());
        // Its program is this compile's too, as if `parse` had reused it.
        if let std::collections::hash_map::Entry::Vacant(slot) =
            self.parsed.borrow_mut().entry(Box::from(source))
        {
            slot.insert(Arc::clone(&checked.program));
            self.reused.set(self.reused.get() + 1);
        }
        Some(checked)
    }

    /// Keeps `checked`, `source` checked against `vars`, for this compile
    /// and the next.
    pub(crate) fn keep(&self, source: &str, vars: &Vars, checked: Checked) {
        if let Some(kind) = vars.kind() {
            self.checked
                .borrow_mut()
                .insert((kind, Box::from(source)), checked);
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
            kinds: self.kinds,
            checked: self.checked.into_inner(),
            checked_reused: self.checked_reused.get(),
        }
    }
}
