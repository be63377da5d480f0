//! Transport only: generated code, the one proto↔domain conversion, the one
//! error→status mapping, thin handlers and the server entry point.

pub mod callers;
pub mod codec;
pub mod connections;
pub mod convert;
mod limits;
pub mod pb;
mod request_body;
mod server;
mod service;
pub mod shadow;
pub mod status;
pub mod tls;

pub use connections::ConnectionLimits;
pub use convert::Limits;
pub use server::{ServerOptions, serve};
pub use shadow::ShadowOptions;
pub use tls::{TlsFiles, TlsSettings};
