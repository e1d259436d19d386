//! A hand-over's binary encoding (the bytes under the hex): the input is
//! hex-encoded and handed to `Handover::from_hex`, so the fuzzer mutates
//! the structure rather than the hex digits.

#![no_main]

use focal_node::handover::Handover;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(handover) = Handover::from_hex(&hex::encode(data)) {
        // Strict decoding: the only encoding of a hand-over is its own.
        assert_eq!(handover.to_hex(), hex::encode(data));
        assert_ne!(handover.from, handover.to);
    }
});
