//! The problems of one compilation, each attributed to a file and place.

use super::{BundleError, BundleErrors, Location};

/// Collects the problems of one compilation, attributing them to files.
pub(crate) struct Problems {
    pub errors: BundleErrors,
}

impl Problems {
    pub fn at(&mut self, file: &str, at: Location, message: impl Into<String>) {
        self.errors.push(BundleError::at(file, at, message));
    }
}
