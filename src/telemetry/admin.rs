//! The admin HTTP port: `/metrics`, `/healthz`, `/readyz`.
