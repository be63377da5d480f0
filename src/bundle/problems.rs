//! The problems of one compilation, each attributed to a file and place.

use super::{BundleError, BundleErrors, BundleWarning, Location};

/// Collects the problems of one compilation, attributing them to files.
pub(crate) struct Problems {
    pub errors: BundleErrors,
    /// What the bundle may not mean; it loads all the same.
    pub warnings: Vec<BundleWarning>,
}

impl Problems {
    /// Notes a warning: the bundle loads, `check` prints it.
    pub fn warn(&mut self, file: &str, at: Location, message: impl Into<String>) {
        self.warnings.push(BundleWarning::at(file, at, message));
    }

    pub fn at(&mut self, file: &str, at: Location, message: impl Into<String>) {
        self.errors.push(BundleError::at(file, at, message));
    }
}
