//! The admin HTTP port's flags: metrics, health and readiness, and the
//! playground.

use std::{fmt, net::SocketAddr, str::FromStr, time::Duration};

/// `tollgate serve` flags of this part.
#[derive(Debug, Clone, clap::Args)]
pub struct AdminArgs {
    /// Address of the admin HTTP port (`/metrics`, `/healthz`, `/readyz`,
    /// the playground `/ui`), separate from gRPC; `off` turns it off.
    #[arg(
        long,
        value_name = "ADDR|off",
        default_value = "127.0.0.1:9464",
        env = "TOLLGATE_ADMIN_LISTEN"
    )]
    pub admin_listen: AdminListen,
    /// Not ready (`/readyz` 503, gRPC health NOT_SERVING) once the bundle
    /// source last confirmed the active bundle longer ago than this (`90s`,
    /// `15m`): activated, re-read unchanged, or "not modified"; no limit
    /// when absent.
    #[arg(long, value_name = "DURATION", value_parser = super::duration,
          env = "TOLLGATE_MAX_BUNDLE_AGE")]
    pub max_bundle_age: Option<Duration>,
    /// The playground at `/ui` on the admin port (`on` or `off`): it
    /// decides requests with the live bundle for whoever reaches the admin
    /// port, outside TLS and the caller policy; never changes the bundle.
    #[arg(long, value_name = "on|off", default_value = "on", env = "TOLLGATE_PLAYGROUND",
          value_parser = clap::builder::BoolishValueParser::new(), action = clap::ArgAction::Set)]
    pub playground: bool,
}

impl Default for AdminArgs {
    fn default() -> Self {
        Self {
            admin_listen: AdminListen::DEFAULT,
            max_bundle_age: None,
            playground: true,
        }
    }
}

/// Where the admin port listens, if anywhere.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AdminListen(pub Option<SocketAddr>);

impl AdminListen {
    /// `127.0.0.1:9464`: loopback only, on Prometheus's port for exporters
    /// of this kind, so nothing is exposed off the host unless asked.
    pub const DEFAULT: Self = Self(Some(SocketAddr::V4(std::net::SocketAddrV4::new(
        std::net::Ipv4Addr::LOCALHOST,
        9464,
    ))));
}

impl FromStr for AdminListen {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s == "off" {
            return Ok(Self(None));
        }
        s.parse()
            .map(|addr| Self(Some(addr)))
            .map_err(|_| format!("`{s}` is neither an address such as `0.0.0.0:9464` nor `off`"))
    }
}

impl fmt::Display for AdminListen {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(addr) => addr.fmt(f),
            None => f.write_str("off"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admin_listen_parses_an_address_or_off() {
        assert_eq!("off".parse(), Ok(AdminListen(None)));
        assert_eq!("127.0.0.1:9464".parse(), Ok(AdminListen::DEFAULT));
        assert_eq!(AdminListen::DEFAULT.to_string(), "127.0.0.1:9464");
        for bad in ["", "9464", "on", "localhost:9464"] {
            assert!(bad.parse::<AdminListen>().is_err(), "`{bad}`");
        }
    }
}
