//! Arbitrary bytes through `ossprey_archive::read_bytes` as every format.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    ossprey_archive::fuzz_one(data);
});
