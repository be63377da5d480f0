//! Why a bundle could not be read or downloaded. A bundle that was read but
//! is bad is the bundle's own error (`BundleErrors`); both become a
//! [`ReloadError`] in the status.

use std::{io, path::PathBuf, sync::Arc};

use reqwest::StatusCode;

use crate::live::ReloadError;

/// Reading or downloading a bundle failed; the files never reached the
/// compiler.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// A file or directory cannot be read.
    #[error("cannot read `{}`: {error}", path.display())]
    Read {
        /// What was read.
        path: PathBuf,
        /// Why it failed.
        error: io::Error,
    },
    /// An archive cannot be opened.
    #[error("cannot open `{}`: {error}", path.display())]
    Open {
        /// The archive.
        path: PathBuf,
        /// Why it failed.
        error: io::Error,
    },
    /// A directory cannot be listed.
    #[error("cannot list `{}`: {error}", path.display())]
    List {
        /// The directory.
        path: PathBuf,
        /// Why it failed.
        error: io::Error,
    },
    /// A bundle directory's YAML files add up to more than an archive may
    /// unpack to: the same limit for both.
    #[error("`{}`: its YAML files add up to more than {limit} bytes", path.display())]
    DirectoryTooLarge {
        /// The directory.
        path: PathBuf,
        /// The limit, in bytes.
        limit: u64,
    },
    /// The path is a file, but not a `.tar.gz`.
    #[error("`{}` is neither a directory nor a `.tar.gz`", path.display())]
    NotABundle {
        /// The path given.
        path: PathBuf,
    },
    /// An archive on disk is damaged or too large.
    #[error("`{}`: {error}", path.display())]
    ArchiveFile {
        /// The archive.
        path: PathBuf,
        /// What is wrong with it.
        error: ArchiveError,
    },
    /// A downloaded or cached archive is damaged or too large.
    #[error(transparent)]
    Archive(#[from] ArchiveError),
    /// A remote source is read by its poller, never directly.
    #[error("`{shown}` is a remote bundle: its poller downloads it")]
    Remote {
        /// The source, without credentials or query.
        shown: String,
    },
    /// The bearer token file cannot be read, or holds no usable token.
    #[error("bearer token file `{path}`: {problem}")]
    Token {
        /// The token file.
        path: String,
        /// What is wrong with it.
        problem: TokenProblem,
    },
    /// The request failed: DNS, connection, TLS, a timeout.
    #[error("`{url}`: {why}")]
    Request {
        /// The source, without credentials or query.
        url: String,
        /// The failure and its causes, rendered without the URL (a query
        /// may hold a secret, and the HTTP client's own message shows it).
        why: String,
    },
    /// The source answered something other than 200 or 304.
    #[error("`{url}`: the source answered {status}")]
    Status {
        /// The source, without credentials or query.
        url: String,
        /// What it answered.
        status: StatusCode,
    },
    /// The request, download included, took longer than
    /// `--bundle-download-timeout`.
    #[error("`{url}`: the download took longer than {limit:?} (--bundle-download-timeout)")]
    TooSlow {
        /// The source, without credentials or query.
        url: String,
        /// `--bundle-download-timeout`.
        limit: std::time::Duration,
    },
    /// The download is larger than `--bundle-max-bytes`.
    #[error("`{url}`: the download is larger than {limit} bytes (--bundle-max-bytes)")]
    TooLarge {
        /// The source, without credentials or query.
        url: String,
        /// `--bundle-max-bytes`.
        limit: u64,
    },
}

/// What is wrong with a bundle archive.
#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    /// It unpacks to more than the limit: a decompression bomb, or simply
    /// too large.
    #[error("unpacks to more than {limit} bytes")]
    TooLarge {
        /// The limit, in bytes.
        limit: u64,
    },
    /// It is not a gzipped tar.
    #[error("not a tar.gz: {0}")]
    NotTarGz(io::Error),
    /// An entry's name cannot be read.
    #[error("bad entry name: {0}")]
    EntryName(io::Error),
    /// Two entries have the same base name.
    #[error("two files named `{0}`")]
    Duplicate(String),
    /// An entry whose path leaves the archive (`../bundle.yaml`) or is
    /// absolute (`/etc/bundle.yaml`): refused, never read by its base name.
    #[error("entry `{0}` leaves the archive: a path with `..` or an absolute path is refused")]
    UnsafePath(String),
    /// An entry cannot be read.
    #[error("cannot read `{name}`: {error}")]
    Entry {
        /// The entry's base name.
        name: String,
        /// Why it failed.
        error: io::Error,
    },
}

/// What is wrong with a bearer token file.
#[derive(Debug, thiserror::Error)]
pub enum TokenProblem {
    /// It cannot be read.
    #[error("{0}")]
    Unreadable(io::Error),
    /// It holds nothing but white space.
    #[error("the file is empty")]
    Empty,
    /// The token cannot go into an HTTP header.
    #[error("the token holds characters a header cannot carry")]
    NotAHeader,
}

impl From<SourceError> for ReloadError {
    fn from(error: SourceError) -> Self {
        Self::Fetch(Arc::new(error))
    }
}

/// Watching or polling a bundle source cannot start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The directory holding the bundle path cannot be watched.
    #[error("cannot watch `{}`: {error}", path.display())]
    Unwatchable {
        /// The directory.
        path: PathBuf,
        /// Why.
        error: io::Error,
    },
    /// The file system watcher refused.
    #[error("cannot watch `{}`: {error}", path.display())]
    Watcher {
        /// What was to be watched.
        path: PathBuf,
        /// Why.
        error: notify::Error,
    },
    /// The bundle path ends in `..` or is a root.
    #[error("`{}` names no file or directory", path.display())]
    NoName {
        /// The path given.
        path: PathBuf,
    },
    /// A remote source is polled, not watched.
    #[error("`{shown}` is a remote bundle: it is polled, not watched")]
    Remote {
        /// The source, without credentials or query.
        shown: String,
    },
    /// TLS for the remote source cannot be set up (no usable protocol
    /// version, no platform verifier).
    #[error("`{shown}`: cannot set up TLS: {error}")]
    Tls {
        /// The source, without credentials or query.
        shown: String,
        /// Why.
        error: rustls::Error,
    },
    /// The HTTP client for the remote source cannot be built.
    #[error("`{shown}`: cannot build the HTTP client: {error}")]
    Client {
        /// The source, without credentials or query.
        shown: String,
        /// Why.
        error: reqwest::Error,
    },
}
