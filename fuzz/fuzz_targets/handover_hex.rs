//! A hand-over as an operator pastes it (`Handover::from_hex`) or as the
//! roster carries it: any text.

#![no_main]

use focal_node::handover::Handover;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(handover) = Handover::from_hex(text) {
        let again = Handover::from_hex(&handover.to_hex()).expect("a parsed hand-over re-parses");
        assert_eq!(again, handover);
        assert_ne!(handover.from, handover.to);
    }
});
