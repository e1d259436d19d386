//! Compiles `focal/**/*.proto` without a system `protoc`: `protox` parses the
//! files into a descriptor set in pure Rust, and `tonic-prost-build` generates
//! the messages and services from it. The descriptor set is also written to
//! `OUT_DIR` so that the node can serve gRPC reflection.

use std::{env, path::PathBuf};

use prost::Message;

const PROTOS: &[&str] = &[
    "focal/v1/node.proto",
    "focal/v1/records.proto",
    "focal/v1/peer.proto",
    "focal/v1/admin.proto",
    "focal/v1/views.proto",
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    for proto in PROTOS {
        println!("cargo:rerun-if-changed={proto}");
    }
    let descriptors = protox::compile(PROTOS, ["."])?;
    let out = PathBuf::from(env::var("OUT_DIR")?);
    std::fs::write(
        out.join("focal_descriptor.bin"),
        descriptors.encode_to_vec(),
    )?;
    tonic_prost_build::configure()
        .build_client(true)
        .build_server(true)
        .compile_fds(descriptors)?;
    Ok(())
}
