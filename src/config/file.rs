//! The server config file (`serve --config tollgate.yaml`) and how it layers
//! under the environment and the flags.
//!
//! A config file sets any `serve` flag by its long name (`request-timeout:
//! 2s`, `decision-log-erase: [input.attributes.email]`). Its values become the
//! flags' defaults, so clap's own order gives the precedence: a flag beats its
//! `TOLLGATE_*` variable, which beats the file, which beats the built-in
//! default. Every value is checked by the flag's own parser before anything
//! binds, and a bad one is reported as `file:line:column: key: message`.

use std::{
    collections::BTreeMap,
    ffi::{OsStr, OsString},
    path::{Path, PathBuf},
};

use clap::{ArgMatches, CommandFactory as _, FromArgMatches as _, parser::ValueSource};
use serde::Deserialize;
use serde_saphyr::Spanned;

use super::{Cli, Command, ConfigError};
use crate::grpc::callers::CallerPolicy;

/// The command line after the config file was layered in.
pub struct Loaded {
    /// The typed configuration.
    pub cli: Cli,
    /// What clap saw, kept to tell where each value came from.
    pub matches: ArgMatches,
    /// The keys the config file set, by flag id.
    pub from_file: Vec<String>,
}

/// One value in the file: a scalar or a list of scalars.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Setting {
    Text(String),
    Number(serde_json::Number),
    Flag(bool),
    List(Vec<Scalar>),
    /// Anything else: only `callers:` (the inline caller policy) takes it.
    Structured(serde::de::IgnoredAny),
}

/// A list item.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Scalar {
    Text(String),
    Number(serde_json::Number),
    Flag(bool),
}

impl Scalar {
    fn text(&self) -> String {
        match self {
            Self::Text(s) => s.clone(),
            Self::Number(n) => n.to_string(),
            Self::Flag(b) => b.to_string(),
        }
    }
}

impl Setting {
    fn values(&self) -> Vec<String> {
        match self {
            Self::Text(s) => vec![s.clone()],
            Self::Number(n) => vec![n.to_string()],
            Self::Flag(b) => vec![b.to_string()],
            Self::List(items) => items.iter().map(Scalar::text).collect(),
            Self::Structured(_) => Vec::new(),
        }
    }
}

/// Parses `args` (the program name first), layering in the config file that
/// `serve --config` (or `TOLLGATE_CONFIG`) names.
pub fn parse_from<I, T>(args: I) -> Result<Loaded, ConfigError>
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let args: Vec<OsString> = args.into_iter().map(Into::into).collect();
    let mut command = Cli::command();
    let first = command
        .clone()
        .try_get_matches_from(&args)
        .map_err(ConfigError::Usage)?;
    let path = first
        .subcommand_matches("serve")
        .and_then(|serve| serve.get_one::<PathBuf>("config"))
        .cloned();
    let mut from_file = Vec::new();
    let mut callers = None;
    if let Some(path) = path {
        let text = std::fs::read_to_string(&path).map_err(|e| ConfigError::File {
            at: path.display().to_string(),
            message: format!("cannot read the config file: {e}"),
        })?;
        let shown = path.display().to_string();
        callers = CallerPolicy::parse_inline(&text, &shown).map_err(|e| ConfigError::File {
            at: shown,
            message: format!("`callers`:\n{e}"),
        })?;
        for (id, values) in settings(&command, &path, &text)? {
            command = if id == "log_format" {
                command.mut_arg(&id, |arg| arg.default_values(values))
            } else {
                command.mut_subcommand("serve", |serve| {
                    serve.mut_arg(&id, |arg| arg.default_values(values))
                })
            };
            from_file.push(id);
        }
    }
    let matches = command
        .try_get_matches_from(&args)
        .map_err(ConfigError::Usage)?;
    let mut cli = Cli::from_arg_matches(&matches).map_err(ConfigError::Usage)?;
    if let Command::Serve(serve) = &mut cli.command {
        serve.tls.inline_policy = callers;
    }
    Ok(Loaded {
        cli,
        matches,
        from_file,
    })
}

/// The file's settings as `(flag id, values)`, each checked by its flag's
/// parser.
fn settings(
    command: &clap::Command,
    path: &Path,
    text: &str,
) -> Result<Vec<(String, Vec<String>)>, ConfigError> {
    let shown = path.display();
    let doc: BTreeMap<String, Spanned<Setting>> = if text.trim().is_empty() {
        BTreeMap::new()
    } else {
        serde_saphyr::from_str(text).map_err(|e| {
            let at = e.location().map_or_else(
                || shown.to_string(),
                |l| format!("{shown}:{}:{}", l.line(), l.column()),
            );
            let message = crate::bundle::yaml_message(&e);
            ConfigError::File { at, message }
        })?
    };
    let serve = command
        .find_subcommand("serve")
        .ok_or_else(|| ConfigError::File {
            at: shown.to_string(),
            message: "no `serve` command".to_owned(),
        })?;
    let mut out = Vec::with_capacity(doc.len());
    for (key, setting) in &doc {
        if key == "callers" {
            // The inline caller policy, read by `CallerPolicy::parse_inline`.
            continue;
        }
        let at = format!(
            "{shown}:{}:{}",
            setting.referenced.line(),
            setting.referenced.column()
        );
        let fail = |message: String| ConfigError::File {
            at: at.clone(),
            message: format!("`{key}`: {message}"),
        };
        let long = key.replace('_', "-");
        // `log-format` is the one global flag; it belongs to every command.
        let arg = serve
            .get_arguments()
            .chain(command.get_arguments().filter(|a| a.is_global_set()))
            .find(|a| a.get_long() == Some(long.as_str()) && settable(a))
            .ok_or_else(|| fail("not a setting of `tollgate serve`".to_owned()))?;
        if matches!(setting.value, Setting::Structured(_)) {
            return Err(fail("takes a value or a list of values".to_owned()));
        }
        let values = setting.value.values();
        let many = matches!(arg.get_action(), clap::ArgAction::Append);
        if values.len() != 1 && !many {
            return Err(fail("takes one value, not a list".to_owned()));
        }
        let owner = if arg.is_global_set() {
            clap::Command::new("tollgate").arg(arg.clone())
        } else {
            serve.clone()
        };
        check(owner, arg, &long, &values).map_err(fail)?;
        out.push((arg.get_id().to_string(), values));
    }
    Ok(out)
}

/// Runs the flag's own parser over the file's values, by parsing them as
/// the flag alone on the command that owns it.
fn check(
    owner: clap::Command,
    arg: &clap::Arg,
    long: &str,
    values: &[String],
) -> Result<(), String> {
    if matches!(
        arg.get_action(),
        clap::ArgAction::SetTrue | clap::ArgAction::SetFalse
    ) {
        return match values {
            [v] if v == "true" || v == "false" => Ok(()),
            _ => Err("expects `true` or `false`".to_owned()),
        };
    }
    let args = values.iter().map(|v| format!("--{long}={v}"));
    owner
        .no_binary_name(true)
        .try_get_matches_from(args)
        .map(drop)
        .map_err(|e| clap_message(&e))
}

/// Flags a file may set: not `--config` itself, help or the one-shot
/// `--check-config`.
fn settable(arg: &clap::Arg) -> bool {
    !matches!(
        arg.get_id().as_str(),
        "config" | "check_config" | "help" | "version"
    )
}

/// The first line of a clap error, without its `error: ` prefix.
fn clap_message(e: &clap::Error) -> String {
    let text = e.to_string();
    let first = text.lines().next().unwrap_or("invalid value").trim();
    first.strip_prefix("error: ").unwrap_or(first).to_owned()
}

/// The effective `serve` configuration as YAML, one `key: value  # source`
/// line per setting, secrets (flags whose environment values are hidden)
/// redacted. The output is itself a valid config file.
pub fn effective(loaded: &Loaded) -> String {
    let command = Cli::command();
    let Some(serve) = command.find_subcommand("serve") else {
        return String::new();
    };
    let Some(matches) = loaded.matches.subcommand_matches("serve") else {
        return String::new();
    };
    let mut out = String::new();
    if let Command::Serve(args) = &loaded.cli.command
        && let Some(policy) = &args.tls.inline_policy
    {
        let n = policy.identities().count();
        out.push_str(&format!(
            "# callers: an inline caller policy of {n} identities (config file)\n"
        ));
    }
    let globals = command.get_arguments().filter(|a| a.is_global_set());
    for arg in globals.chain(serve.get_arguments()).filter(|a| settable(a)) {
        let (id, Some(long)) = (arg.get_id().as_str(), arg.get_long()) else {
            continue;
        };
        let source = match matches.value_source(id) {
            Some(ValueSource::CommandLine) => "flag",
            Some(ValueSource::EnvVariable) => "environment",
            Some(ValueSource::DefaultValue) if loaded.from_file.iter().any(|f| f == id) => {
                "config file"
            }
            Some(_) => "default",
            None => {
                out.push_str(&format!("# {long}: (not set)\n"));
                continue;
            }
        };
        let values: Vec<String> = matches
            .get_raw(id)
            .into_iter()
            .flatten()
            .map(|v| quoted(v, arg.is_hide_env_values_set()))
            .collect();
        let value = match (values.as_slice(), arg.get_action()) {
            (_, clap::ArgAction::Append) => format!("[{}]", values.join(", ")),
            ([one], _) => one.clone(),
            _ => format!("[{}]", values.join(", ")),
        };
        out.push_str(&format!("{long}: {value}  # {source}\n"));
    }
    out
}

/// A value as a YAML (JSON) string, or `"<redacted>"` for a secret; a
/// URL's credentials and query (a signed bundle URL's token) are redacted.
fn quoted(value: &OsStr, secret: bool) -> String {
    let text = if secret {
        "<redacted>".to_owned()
    } else {
        redact_url(&value.to_string_lossy())
    };
    serde_json::Value::String(text).to_string()
}

/// `https://user:pass@host/b.tar.gz?sig=x` as `https://<redacted>@host/b.tar.gz?<redacted>`;
/// anything that is not an http(s) URL as it is.
fn redact_url(text: &str) -> String {
    let Some((scheme, rest)) = text.split_once("://") else {
        return text.to_owned();
    };
    if scheme != "http" && scheme != "https" {
        return text.to_owned();
    }
    let (rest, query) = match rest.split_once('?') {
        Some((rest, _)) => (rest, "?<redacted>"),
        None => (rest, ""),
    };
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let (authority, path) = rest.split_at(authority_end);
    let host = authority
        .rsplit_once('@')
        .map_or(authority.to_owned(), |(_, host)| {
            format!("<redacted>@{host}")
        });
    format!("{scheme}://{host}{path}{query}")
}

#[cfg(test)]
mod tests {
    use super::redact_url;

    #[test]
    fn urls_lose_their_credentials_and_query() {
        assert_eq!(
            redact_url("https://u:p@bundles.example/a/b.tar.gz?sig=abc"),
            "https://<redacted>@bundles.example/a/b.tar.gz?<redacted>"
        );
        assert_eq!(
            redact_url("http://bundles.example:8080/b.tar.gz"),
            "http://bundles.example:8080/b.tar.gz"
        );
        assert_eq!(redact_url("/etc/tollgate/bundle"), "/etc/tollgate/bundle");
    }
}
