//! The flags of a remote (HTTP) bundle source: polling, token, size limit, cache.

use std::{path::PathBuf, time::Duration};

use reqwest::Url;

use super::duration;
use crate::reload::{BundleSource, RemoteSource};

/// What `--bundle` names: a path on disk or a URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BundleArg {
    /// A directory or a `.tar.gz`.
    Path(PathBuf),
    /// An `http://` or `https://` URL of a `.tar.gz` (boxed: a `Url` is
    /// large, and `ServeArgs` is one variant of the subcommand enum).
    Url(Box<Url>),
}

/// Parses `--bundle`: anything that starts with `http://` or `https://` is
/// a URL, anything else a path.
pub fn bundle_arg(s: &str) -> Result<BundleArg, String> {
    let lower = s.to_ascii_lowercase();
    if lower.starts_with("http://") || lower.starts_with("https://") {
        Url::parse(s)
            .map(|url| BundleArg::Url(Box::new(url)))
            .map_err(|e| format!("`{s}` is not a valid URL: {e}"))
    } else {
        Ok(BundleArg::Path(PathBuf::from(s)))
    }
}

/// `tollgate serve` flags of this part.
#[derive(Debug, Clone, clap::Args)]
pub struct RemoteArgs {
    /// With `--bundle URL`: a directory where the last good bundle is kept,
    /// so a restart while the source is down serves it (created if missing).
    #[arg(long, value_name = "DIR", env = "TOLLGATE_BUNDLE_CACHE")]
    pub bundle_cache: Option<PathBuf>,
    /// With `--bundle URL`: the delay between polls while the source
    /// answers; each delay is drawn between 80 % and 100 % of it.
    #[arg(long, default_value = "10s", value_name = "DURATION", value_parser = duration,
          env = "TOLLGATE_BUNDLE_POLL_MIN")]
    pub bundle_poll_min: Duration,
    /// With `--bundle URL`: after failures the delay doubles, up to this.
    #[arg(long, default_value = "5m", value_name = "DURATION", value_parser = duration,
          env = "TOLLGATE_BUNDLE_POLL_MAX")]
    pub bundle_poll_max: Duration,
    /// With `--bundle URL`: a file holding a bearer token, sent as
    /// `Authorization: Bearer …` and re-read for every request.
    #[arg(long, value_name = "PATH", env = "TOLLGATE_BUNDLE_TOKEN_FILE")]
    pub bundle_token_file: Option<PathBuf>,
    /// With `--bundle URL`: the largest archive downloaded, in bytes; a
    /// larger one is refused and the active bundle keeps serving.
    #[arg(long, default_value_t = 16 * 1024 * 1024, value_name = "BYTES",
          value_parser = clap::value_parser!(u64).range(1..), env = "TOLLGATE_BUNDLE_MAX_BYTES")]
    pub bundle_max_bytes: u64,
    /// With `--bundle URL`: the longest one poll's request may take,
    /// download included; a slower source is cut off and the active bundle
    /// keeps serving. Defaults to `--bundle-poll-min`, at most 60s, so a
    /// source that trickles bytes never holds back the next poll.
    #[arg(long, value_name = "DURATION", value_parser = duration,
          env = "TOLLGATE_BUNDLE_DOWNLOAD_TIMEOUT")]
    pub bundle_download_timeout: Option<Duration>,
}

impl RemoteArgs {
    /// The bundle source `--bundle` names, with these flags checked.
    pub fn source(&self, bundle: Option<&BundleArg>) -> anyhow::Result<BundleSource> {
        let url = match bundle {
            Some(BundleArg::Url(url)) => Url::clone(url),
            path => {
                for (given, flag) in [
                    (self.bundle_cache.is_some(), "--bundle-cache"),
                    (self.bundle_token_file.is_some(), "--bundle-token-file"),
                    (
                        self.bundle_download_timeout.is_some(),
                        "--bundle-download-timeout",
                    ),
                ] {
                    anyhow::ensure!(!given, "{flag} needs `--bundle` to be an http(s) URL");
                }
                return Ok(super::source(match path {
                    Some(BundleArg::Path(p)) => Some(p),
                    _ => None,
                }));
            }
        };
        anyhow::ensure!(
            self.bundle_poll_min <= self.bundle_poll_max,
            "--bundle-poll-min ({:?}) is longer than --bundle-poll-max ({:?})",
            self.bundle_poll_min,
            self.bundle_poll_max
        );
        if let Some(dir) = &self.bundle_cache {
            std::fs::create_dir_all(dir).map_err(|e| {
                anyhow::anyhow!("--bundle-cache `{}`: cannot create it: {e}", dir.display())
            })?;
        }
        Ok(BundleSource::Remote(RemoteSource {
            url,
            cache: self.bundle_cache.clone(),
            poll_min: self.bundle_poll_min,
            poll_max: self.bundle_poll_max,
            token_file: self.bundle_token_file.clone(),
            max_bytes: self.bundle_max_bytes,
            download_timeout: self
                .bundle_download_timeout
                .unwrap_or(self.bundle_poll_min)
                .min(crate::reload::REQUEST_TIMEOUT),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_and_paths() {
        assert!(matches!(
            bundle_arg("https://bundles.example/b.tar.gz"),
            Ok(BundleArg::Url(_))
        ));
        assert!(matches!(
            bundle_arg("HTTP://bundles.example/b.tar.gz"),
            Ok(BundleArg::Url(_))
        ));
        assert_eq!(
            bundle_arg("bundles/demo"),
            Ok(BundleArg::Path(PathBuf::from("bundles/demo")))
        );
        assert!(bundle_arg("https://").is_err());
    }
}
