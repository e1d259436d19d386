//! A connection string as an operator or app hands it to the client
//! (`ConnectionString::parse`).

#![no_main]

use focal_client::ConnectionString;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(parsed) = ConnectionString::parse(text) {
        // What is printed parses back to the same thing.
        let printed = parsed.to_string();
        let again = ConnectionString::parse(&printed)
            .unwrap_or_else(|e| panic!("{printed:?} does not parse back: {e}"));
        assert_eq!(again, parsed);
    }
});
