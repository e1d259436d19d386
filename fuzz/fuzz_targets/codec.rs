//! The canonical reader every signed structure is decoded with
//! (`focal_node::codec`, public only under `cfg(fuzzing)`), driven by a
//! program of reads taken from the input, with its invariants checked: a
//! read never returns more than asked or allowed, a failed read of fixed
//! width consumes nothing, and what `put_bytes` writes reads back.

#![no_main]

use focal_node::codec::{Reader, put_bytes};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&n, rest)) = data.split_first() else {
        return;
    };
    let n = usize::from(n % 32).min(rest.len());
    let (program, input) = rest.split_at(n);
    let mut r = Reader(input);
    let mut ops = program.iter().copied();
    while let Some(op) = ops.next() {
        let arg = usize::from(ops.next().unwrap_or(0));
        let before = r.0.len();
        match op % 9 {
            0 => match r.take(arg) {
                Ok(taken) => {
                    assert_eq!(taken.len(), arg);
                    assert_eq!(r.0.len(), before - arg);
                }
                Err(_) => assert_eq!(r.0.len(), before),
            },
            1 => fixed::<1>(&mut r, before),
            2 => fixed::<32>(&mut r, before),
            3 => fixed::<64>(&mut r, before),
            4 => {
                let head = r.0.get(..4).map(<[u8]>::to_vec);
                match r.u32() {
                    Ok(v) => assert_eq!(Some(v.to_be_bytes().to_vec()), head),
                    Err(_) => assert_eq!(r.0.len(), before),
                }
            }
            5 => {
                let head = r.0.get(..8).map(<[u8]>::to_vec);
                match r.u64() {
                    Ok(v) => assert_eq!(Some(v.to_be_bytes().to_vec()), head),
                    Err(_) => assert_eq!(r.0.len(), before),
                }
            }
            6 => {
                if let Ok(bytes) = r.bytes(arg) {
                    assert!(bytes.len() <= arg);
                    assert_eq!(r.0.len(), before - 4 - bytes.len());
                }
            }
            7 => {
                if let Ok(text) = r.text(arg) {
                    assert!(text.len() <= arg);
                    assert_eq!(r.0.len(), before - 4 - text.len());
                }
            }
            _ => assert_eq!(r.finish().is_ok(), before == 0),
        }
    }
    // Whatever is left, written as a length-prefixed string, reads back.
    let mut out = Vec::new();
    put_bytes(&mut out, r.0);
    let mut back = Reader(&out);
    assert_eq!(back.bytes(usize::MAX).ok(), Some(r.0));
    assert!(back.finish().is_ok());
});

fn fixed<const N: usize>(r: &mut Reader<'_>, before: usize) {
    let head = r.0.get(..N).map(<[u8]>::to_vec);
    match r.array::<N>() {
        Ok(a) => {
            assert_eq!(Some(a.to_vec()), head);
            assert_eq!(r.0.len(), before - N);
        }
        Err(_) => assert_eq!(r.0.len(), before),
    }
}
