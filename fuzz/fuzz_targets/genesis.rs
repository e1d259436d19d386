//! The genesis statement a node is given when it joins (`Genesis::decode`).

#![no_main]

use focal_node::network::Genesis;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(genesis) = Genesis::decode(data) {
        // Strict decoding: the network id hashes exactly the input.
        assert_eq!(genesis.encode(), data);
        assert_eq!(genesis.network_id().len(), 32);
    }
});
