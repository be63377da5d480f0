//! Arbitrary bytes as a bundle `.tar.gz` on disk, read and compiled as
//! `serve --bundle FILE.tar.gz` does: a bundle or errors, never a panic.
//! An input whose first byte is odd is a plain tar that the target gzips,
//! so the fuzzer reaches the tar and YAML layers without forging CRCs.

#![no_main]

use std::io::Write as _;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let bytes = if mode % 2 == 1 {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(rest).expect("in memory");
        gz.finish().expect("in memory")
    } else {
        rest.to_vec()
    };
    let dir = tollgate_fuzz::scratch("archive");
    let path = dir.join("bundle.tar.gz");
    std::fs::write(&path, bytes).expect("scratch file");
    tollgate_fuzz::load(&path);
});
