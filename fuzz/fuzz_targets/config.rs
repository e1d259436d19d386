//! `focal.toml` (`Config::parse`), and the edit `focal-node join` makes to
//! it (`set_network_keys`), which must keep any parseable file parseable.

#![no_main]

use std::path::Path;

use focal_node::base::config::{Config, set_network_keys};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let path = Path::new("focal.toml");
    let _ = Config::parse(text, path);
    let edited = set_network_keys(
        text,
        &[
            ("id", "\"0123456789abcdef0123456789abcdef\"".to_owned()),
            ("secretariat_key", format!("\"{}\"", "ab".repeat(32))),
            ("peers", "[\"secretariat.example.org:7400\"]".to_owned()),
        ],
    );
    let _ = Config::parse(&edited, path);
});
