//! Focal's wire contract, generated at build time from `proto/focal/**/*.proto`.
//!
//! Only the boundary (the node's gRPC services and the client library) uses
//! these types; the node's domain types are separate and converted explicitly.

#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

/// Version 1 of the contract: package `focal.v1`.
pub mod v1 {
    tonic::include_proto!("focal.v1");
}

/// The encoded `FileDescriptorSet` of every Focal `.proto` file, for gRPC
/// server reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/focal_descriptor.bin"));

/// Keys of a record's JSON object that the node sets (the envelope); a
/// client never writes them. Every other key is a field of the record type.
pub const ENVELOPE_KEYS: &[&str] = &[
    "id",
    "type",
    "owner",
    "visibility",
    "created",
    "updated",
    "deleted",
    // A focal point's: where its contact details are kept (the node keeps
    // them in a companion record of narrower visibility).
    "contact_audience",
    // The shape's version (`focal_core::schema`).
    "schema",
];
