//! The generated protobuf and gRPC code for `tollgate.v1`.

#![allow(missing_docs, clippy::all, clippy::pedantic)]

tonic::include_proto!("tollgate.v1");

/// The encoded descriptor set of every proto file, for reflection and proto JSON.
pub const FILE_DESCRIPTOR_SET: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/tollgate_descriptor.bin"));
