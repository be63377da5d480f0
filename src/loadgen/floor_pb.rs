//! The generated protobuf code for `bench.v1` (the floor's echo service),
//! shared by the load generator and `benches/floor`.

#![allow(missing_docs, clippy::all, clippy::pedantic)]

tonic::include_proto!("bench.v1");

/// The floor's echo RPC.
pub const ECHO_PATH: &str = "/bench.v1.FloorService/Echo";
