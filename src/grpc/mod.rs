//! Transport only: generated code, the one proto↔domain conversion, the one
//! error→status mapping, thin handlers and the server entry point.

pub mod convert;
mod limits;
pub mod pb;
mod server;
mod service;
pub mod status;

pub use convert::Limits;
pub use server::{ServerOptions, serve};
