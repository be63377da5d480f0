//! The problems of one compilation, each attributed to a file and place.

use super::{BundleError, BundleErrors, Location};

/// Collects the problems of one compilation, attributing them to files.
pub(crate) struct Problems {
    pub errors: BundleErrors,
    /// What does not stop the bundle but its author should see.
    pub warnings: Vec<BundleError>,
}

impl Problems {
    #[expect(
        dead_code,
        reason = "the mechanism for compile-time warnings; none is raised yet"
    )]
    pub fn warn(&mut self, file: &str, at: Location, message: impl Into<String>) {
        self.warnings.push(BundleError::at(file, at, message));
    }

    pub fn at(&mut self, file: &str, at: Location, message: impl Into<String>) {
        self.errors.push(BundleError::at(file, at, message));
    }
}
