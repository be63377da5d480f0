//! The caller policy: which client-certificate identities may call which
//! RPCs. Parsed and checked once, at start-up (it is part of the server
//! configuration and never hot-reloads); the request path only looks up.
//!
//! ```yaml
//! callers:
//!   - identity: "spiffe://billing.example/platform"   # a SAN URI or DNS name, exactly
//!     rpcs: ["tollgate.v1.DecisionService/DecidePlanChange"]
//!   - identity: "ops.example"
//!     rpcs: ["tollgate.v1.BundleService/*"]           # every method of the service
//! ```

use std::collections::{BTreeMap, HashMap, HashSet};

use prost_reflect::DescriptorPool;
use serde::Deserialize;
use serde_saphyr::Spanned;

use crate::grpc::pb;

/// Which identities may call which RPCs. Deserializes from the list under
/// `callers:`, so a server configuration file can hold it inline.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(try_from = "Vec<RawCaller>")]
pub struct CallerPolicy {
    /// Identity → what it may call.
    grants: HashMap<String, Grants>,
}

/// What one identity may call: whole services, and single methods as
/// `service/method`.
#[derive(Debug, Clone, Default)]
struct Grants {
    services: HashSet<String>,
    methods: HashSet<String>,
}

/// Problems found in a caller policy, each with its place when known.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.render())]
pub struct PolicyErrors {
    origin: Option<String>,
    problems: Vec<Problem>,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Problem {
    line: u64,
    column: u64,
    message: String,
}

impl PolicyErrors {
    fn render(&self) -> String {
        let lines: Vec<String> = self
            .problems
            .iter()
            .map(|p| {
                let place = match (&self.origin, p.line) {
                    (Some(o), 0) => format!("{o}: "),
                    (Some(o), l) => format!("{o}:{l}:{}: ", p.column),
                    (None, 0) => String::new(),
                    (None, l) => format!("line {l} column {}: ", p.column),
                };
                format!("{place}{}", p.message)
            })
            .collect();
        lines.join("\n")
    }

    /// The same problems, placed in `origin`.
    fn at(self, origin: &str) -> Self {
        Self {
            origin: Some(origin.to_owned()),
            problems: self.problems,
        }
    }

    /// The problems' messages, without places, in file order.
    pub fn messages(&self) -> impl Iterator<Item = &str> {
        self.problems.iter().map(|p| p.message.as_str())
    }
}

/// The policy file: one `callers:` key.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PolicyFile {
    callers: Vec<RawCaller>,
}

/// One entry as written, with places for the messages.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCaller {
    identity: Spanned<String>,
    rpcs: Vec<Spanned<String>>,
}

/// A server config file: its `callers:` key, other keys left to the
/// config loader.
#[derive(Deserialize)]
struct ConfigFile {
    #[serde(default)]
    callers: Option<Vec<RawCaller>>,
}

impl CallerPolicy {
    /// Parses and checks a policy file; `origin` (the file name) starts
    /// every message, as in `policy.yaml:4:7: unknown rpc ...`.
    pub fn parse(text: &str, origin: &str) -> Result<CallerPolicy, PolicyErrors> {
        let file: PolicyFile = Self::read(text, origin)?;
        Self::check(file.callers).map_err(|e| e.at(origin))
    }

    /// The policy held inline under `callers:` in a server config file,
    /// `None` when the file has no such key.
    pub fn parse_inline(text: &str, origin: &str) -> Result<Option<CallerPolicy>, PolicyErrors> {
        let file: ConfigFile = Self::read(text, origin)?;
        file.callers
            .map(|callers| Self::check(callers).map_err(|e| e.at(origin)))
            .transpose()
    }

    fn read<T: serde::de::DeserializeOwned>(text: &str, origin: &str) -> Result<T, PolicyErrors> {
        let with_origin = |problems| PolicyErrors {
            origin: Some(origin.to_owned()),
            problems,
        };
        serde_saphyr::from_str(text).map_err(|e| {
            let (line, column) = e.location().map_or((0, 0), |l| (l.line(), l.column()));
            let message = crate::bundle::yaml_message(&e);
            with_origin(vec![Problem {
                line,
                column,
                message,
            }])
        })
    }

    /// Whether a caller known by `identities` (its SAN URIs and DNS names)
    /// may call `rpc` (`package.Service/Method`).
    pub fn allows<'a>(&self, identities: impl IntoIterator<Item = &'a str>, rpc: &str) -> bool {
        let service = rpc.split_once('/').map_or(rpc, |(s, _)| s);
        identities.into_iter().any(|id| {
            self.grants
                .get(id)
                .is_some_and(|g| g.services.contains(service) || g.methods.contains(rpc))
        })
    }

    /// The identities the policy names.
    pub fn identities(&self) -> impl Iterator<Item = &str> {
        self.grants.keys().map(String::as_str)
    }

    /// Checks every entry, collecting every problem in file order.
    fn check(raw: Vec<RawCaller>) -> Result<CallerPolicy, PolicyErrors> {
        let known = known();
        let mut problems = Vec::new();
        let mut at = |s: &Spanned<String>, message: String| {
            problems.push(Problem {
                line: s.referenced.line(),
                column: s.referenced.column(),
                message,
            });
        };
        let mut grants: HashMap<String, Grants> = HashMap::new();
        let mut first_seen: HashMap<String, u64> = HashMap::new();
        for entry in raw {
            let identity = &entry.identity;
            let id = identity.value.as_str();
            if id.trim().is_empty() {
                at(identity, "`identity` is empty".to_owned());
                continue;
            }
            if let Some(line) = first_seen.get(id) {
                at(
                    identity,
                    format!("identity `{id}` is listed twice (first on line {line})"),
                );
                continue;
            }
            first_seen.insert(id.to_owned(), identity.referenced.line());
            if entry.rpcs.is_empty() {
                at(identity, format!("identity `{id}`: `rpcs` is empty"));
            }
            let mut granted = Grants::default();
            for rpc in &entry.rpcs {
                match known.check(&rpc.value) {
                    Ok(Rpc::Service(s)) => {
                        granted.services.insert(s.to_owned());
                    }
                    Ok(Rpc::Method(m)) => {
                        granted.methods.insert(m.to_owned());
                    }
                    Err(why) => at(rpc, format!("identity `{id}`: {why}")),
                }
            }
            grants.insert(id.to_owned(), granted);
        }
        if problems.is_empty() {
            Ok(CallerPolicy { grants })
        } else {
            problems.sort();
            Err(PolicyErrors {
                origin: None,
                problems,
            })
        }
    }
}

impl TryFrom<Vec<RawCaller>> for CallerPolicy {
    type Error = PolicyErrors;

    fn try_from(raw: Vec<RawCaller>) -> Result<Self, Self::Error> {
        Self::check(raw)
    }
}

/// A checked RPC name.
enum Rpc<'a> {
    /// `package.Service/*`.
    Service(&'a str),
    /// `package.Service/Method`.
    Method(&'a str),
}

/// The services of `tollgate.v1` and their methods; health and reflection
/// are always allowed, so they are not listed.
struct KnownRpcs {
    services: BTreeMap<String, Vec<String>>,
}

/// Every RPC of `tollgate.v1` as `package.Service/Method`.
pub(super) fn known_rpcs() -> impl Iterator<Item = String> {
    known()
        .services
        .into_iter()
        .flat_map(|(service, methods)| methods.into_iter().map(move |m| format!("{service}/{m}")))
}

fn known() -> KnownRpcs {
    // The descriptor set is compiled in; if it could not be read every name
    // would be reported unknown, which fails closed.
    let services = DescriptorPool::decode(pb::FILE_DESCRIPTOR_SET)
        .map(|pool| {
            pool.services()
                .map(|s| {
                    let methods = s.methods().map(|m| m.name().to_owned()).collect();
                    (s.full_name().to_owned(), methods)
                })
                .collect()
        })
        .unwrap_or_default();
    KnownRpcs { services }
}

impl KnownRpcs {
    fn check<'a>(&self, rpc: &'a str) -> Result<Rpc<'a>, String> {
        let services = || {
            let names: Vec<&str> = self.services.keys().map(String::as_str).collect();
            names.join("`, `")
        };
        let Some((service, method)) = rpc.split_once('/') else {
            return Err(format!(
                "rpc `{rpc}` is not `package.Service/Method` or `package.Service/*`"
            ));
        };
        let Some(methods) = self.services.get(service) else {
            return Err(format!(
                "rpc `{rpc}`: unknown service `{service}` (known: `{}`)",
                services()
            ));
        };
        if method == "*" {
            Ok(Rpc::Service(service))
        } else if methods.iter().any(|m| m == method) {
            Ok(Rpc::Method(rpc))
        } else {
            Err(format!(
                "rpc `{rpc}`: `{service}` has no method `{method}` (it has `{}`)",
                methods.join("`, `")
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXAMPLE: &str = r#"
callers:
  - identity: "spiffe://billing.example/platform"
    rpcs: ["tollgate.v1.DecisionService/DecidePlanChange", "tollgate.v1.DecisionService/DecidePlanChanges"]
  - identity: "gateway.payments.svc.cluster.local"
    rpcs: ["tollgate.v1.DecisionService/DecidePaymentLink", "tollgate.v1.DecisionService/DecideChargeFunding"]
  - identity: "ops.example"
    rpcs: ["tollgate.v1.BundleService/*"]
"#;

    #[test]
    fn grants_exactly_what_is_listed() {
        let p = CallerPolicy::parse(EXAMPLE, "callers.yaml").unwrap();
        let billing = ["spiffe://billing.example/platform"];
        assert!(p.allows(billing, "tollgate.v1.DecisionService/DecidePlanChange"));
        assert!(!p.allows(billing, "tollgate.v1.DecisionService/DecidePaymentLink"));
        assert!(!p.allows(billing, "tollgate.v1.BundleService/GetBundleStatus"));
        let ops = ["ops.example"];
        assert!(p.allows(ops, "tollgate.v1.BundleService/GetBundleStatus"));
        assert!(!p.allows(ops, "tollgate.v1.DecisionService/DecidePlanChange"));
        // Any of a caller's names counts; unknown names grant nothing.
        assert!(p.allows(
            ["spiffe://x/unknown", "ops.example"],
            "tollgate.v1.BundleService/GetBundleStatus"
        ));
        assert!(!p.allows(
            ["billing.example"],
            "tollgate.v1.DecisionService/DecidePlanChange"
        ));
        assert!(!p.allows([], "tollgate.v1.DecisionService/DecidePlanChange"));
    }

    #[test]
    fn reports_every_problem_with_its_place() {
        let text = "callers:\n  - identity: a.example\n    rpcs: [\"tollgate.v1.DecisionService/DecideNothing\", \"Nope/*\"]\n  - identity: a.example\n    rpcs: [\"tollgate.v1.BundleService/*\"]\n  - identity: b.example\n    rpcs: [\"no-slash\"]\n";
        let e = CallerPolicy::parse(text, "callers.yaml").unwrap_err();
        let shown = e.to_string();
        let lines: Vec<&str> = shown.lines().collect();
        assert_eq!(lines.len(), 4, "{shown}");
        assert!(
            lines[0].starts_with("callers.yaml:3:")
                && lines[0].contains("has no method `DecideNothing`"),
            "{shown}"
        );
        assert!(
            lines[1].starts_with("callers.yaml:3:") && lines[1].contains("unknown service `Nope`"),
            "{shown}"
        );
        assert!(
            lines[2].starts_with("callers.yaml:4:")
                && lines[2].contains("listed twice (first on line 2)"),
            "{shown}"
        );
        assert!(
            lines[3].starts_with("callers.yaml:7:") && lines[3].contains("`no-slash` is not"),
            "{shown}"
        );
    }

    #[test]
    fn unknown_fields_are_errors_with_a_place() {
        let text =
            "callers:\n  - identity: a.example\n    rpc: [\"tollgate.v1.BundleService/*\"]\n";
        let e = CallerPolicy::parse(text, "callers.yaml")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("callers.yaml:3:"), "{e}");
        assert!(e.contains("rpc"), "{e}");
        let e = CallerPolicy::parse("callers: []\nextra: 1\n", "p.yaml")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("p.yaml:2:"), "{e}");
    }

    #[test]
    fn deserializes_inline_under_callers() {
        #[derive(Deserialize)]
        struct ServerConfig {
            callers: CallerPolicy,
        }
        let c: ServerConfig = serde_saphyr::from_str(EXAMPLE).unwrap();
        assert!(
            c.callers
                .allows(["ops.example"], "tollgate.v1.BundleService/GetBundleStatus")
        );
        let bad =
            "callers:\n  - identity: ops.example\n    rpcs: [\"tollgate.v1.BundleService/Nope\"]\n";
        let e = serde_saphyr::from_str::<ServerConfig>(bad)
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("has no method `Nope`"), "{e}");
    }
}
