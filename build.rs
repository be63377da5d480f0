//! Compiles `proto/` with protox (no system `protoc`) and generates the tonic
//! services, plus a descriptor set for reflection and proto JSON; and the
//! load generator's floor service (`bench.v1`).

use std::{env, fs, path::PathBuf};

use prost::Message as _;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let out_dir = PathBuf::from(env::var("OUT_DIR")?);
    println!("cargo:rerun-if-changed=proto");

    let fds = protox::Compiler::new(["proto"])?
        .include_imports(true)
        .include_source_info(true)
        .open_file("tollgate/v1/tollgate.proto")?
        .file_descriptor_set();
    fs::write(out_dir.join("tollgate_descriptor.bin"), fds.encode_to_vec())?;

    embed_demo_bundle(&out_dir)?;

    // Tollgate's codec: a request that is not valid protobuf is the
    // caller's INVALID_ARGUMENT, not INTERNAL (src/grpc/codec.rs).
    tonic_prost_build::configure()
        .build_client(true)
        .build_server(true)
        .codec_path("crate::grpc::codec::Codec")
        // Maps decode into `BTreeMap`s, the type the domain keeps them in:
        // moved, not re-collected, and no SipHash per key (a few keys per
        // request, where a B-tree leaf is cheaper than a hash table).
        .btree_map(".tollgate.v1")
        .compile_fds(fds)?;

    // The floor of `tollgate-bench` (`benches/floor`). A compile of its own,
    // so the descriptor set above (served by reflection) stays Tollgate's.
    // Only the server is generated: the load generator sends pre-encoded
    // bytes. `bytes` fields are `Bytes`, so the floor can answer from a
    // static buffer.
    tonic_prost_build::configure()
        .build_client(false)
        .build_server(true)
        .bytes(".bench.v1")
        .compile_fds(protox::compile(["bench/v1/floor.proto"], ["proto"])?)?;
    Ok(())
}

/// Writes `DEMO_FILES`, every file of `bundles/demo/`, for `include!`.
fn embed_demo_bundle(out_dir: &std::path::Path) -> Result<(), Box<dyn std::error::Error>> {
    let dir = PathBuf::from(env::var("CARGO_MANIFEST_DIR")?).join("bundles/demo");
    println!("cargo:rerun-if-changed={}", dir.display());
    let mut names: Vec<String> = fs::read_dir(&dir)?
        .filter_map(|e| e.ok())
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    let mut code = String::from(
        "/// The embedded demo bundle's files.\npub const DEMO_FILES: &[(&str, &[u8])] = &[\n",
    );
    for name in names {
        let path = dir.join(&name);
        code.push_str(&format!(
            "    ({name:?}, include_bytes!({:?})),\n",
            path.display().to_string()
        ));
    }
    code.push_str("];\n");
    fs::write(out_dir.join("demo_bundle.rs"), code)?;
    Ok(())
}
