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

/// The messages of `views.proto` that answers are made of.
const VIEW_MESSAGES: &[&str] = &[
    "Freshness",
    "MemberFreshness",
    "LogPosition",
    "Count",
    "DirectoryView",
    "DirectoryEntry",
    "NapTrackerView",
    "NapTrackerRow",
    "NapSummary",
    "PracticesView",
    "PracticeRow",
    "FundingView",
    "FundingRow",
    "CurrencyTotal",
    "PartyTotal",
    "FollowUpView",
    "FollowUpSummary",
    "DecisionFollowUp",
    "MemberUpdate",
    "MeetingView",
    "MeetingSummary",
    "RegistrationRow",
    "StatementRow",
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
    let mut build = tonic_prost_build::configure()
        .build_client(true)
        .build_server(true);
    // The views' answers serialize to JSON as they are (`focal view … --json`).
    for message in VIEW_MESSAGES {
        build = build.type_attribute(
            format!(".focal.v1.{message}"),
            "#[derive(serde::Serialize)]",
        );
    }
    build.compile_fds(descriptors)?;
    Ok(())
}
