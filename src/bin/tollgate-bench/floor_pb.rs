//! The generated protobuf code for `bench.v1` (the floor's echo service):
//! the load generator uses its messages; `benches/floor` generates the same
//! code for its server.

// Generated code; the server half is the floor's, not used here.
#![allow(missing_docs, dead_code, clippy::all, clippy::pedantic)]

tonic::include_proto!("bench.v1");

/// The floor's echo RPC.
pub const ECHO_PATH: &str = "/bench.v1.FloorService/Echo";
