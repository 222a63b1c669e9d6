//! Content digests: sha256 and Shannon entropy in one pass over the bytes.
//!
//! The inventory hashes every byte of every package, so this is the hot loop of
//! a scan: it walks the data once in cache-sized chunks, feeding each chunk to
//! the hasher and to the histogram while it is still in cache, and allocates
//! nothing per byte.

use sha2::{Digest, Sha256};

/// Chunk size for the combined pass: large enough to amortise the call
/// overhead, small enough to stay in L2 between the hash and the histogram,
/// and small enough that a `u32` histogram bin cannot overflow.
const CHUNK: usize = 64 << 10;

/// sha256 (lowercase hex) and entropy of `data`.
pub(crate) fn measure(data: &[u8]) -> (String, f32) {
    let mut hasher = Sha256::new();
    let mut totals = [0u64; 256];
    for chunk in data.chunks(CHUNK) {
        hasher.update(chunk);
        add_histogram(chunk, &mut totals);
    }
    (
        hex::encode(hasher.finalize()),
        entropy_of(&totals, data.len()),
    )
}

/// Lowercase hex sha256 of `data`.
pub fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

/// Shannon entropy of `data` in bits per byte: 0 for constant or empty data,
/// close to 8 for random or well-compressed data.
pub fn entropy(data: &[u8]) -> f32 {
    let mut totals = [0u64; 256];
    for chunk in data.chunks(CHUNK) {
        add_histogram(chunk, &mut totals);
    }
    entropy_of(&totals, data.len())
}

/// Adds the byte counts of `chunk` (at most [`CHUNK`] bytes) to `totals`.
fn add_histogram(chunk: &[u8], totals: &mut [u64; 256]) {
    // Four interleaved tables break the store-to-load dependency that a single
    // table suffers on runs of the same byte (long runs are common: padding,
    // zero-filled sections of binaries).
    let mut bins = [[0u32; 256]; 4];
    let mut quads = chunk.chunks_exact(4);
    for q in &mut quads {
        bins[0][usize::from(q[0])] += 1;
        bins[1][usize::from(q[1])] += 1;
        bins[2][usize::from(q[2])] += 1;
        bins[3][usize::from(q[3])] += 1;
    }
    for &b in quads.remainder() {
        bins[0][usize::from(b)] += 1;
    }
    for (i, total) in totals.iter_mut().enumerate() {
        *total += u64::from(bins[0][i])
            + u64::from(bins[1][i])
            + u64::from(bins[2][i])
            + u64::from(bins[3][i]);
    }
}

#[allow(clippy::cast_precision_loss)] // counts far below 2^52
fn entropy_of(totals: &[u64; 256], len: usize) -> f32 {
    if len == 0 {
        return 0.0;
    }
    // H = log2(n) - (1/n) * sum(c * log2 c): one log per non-empty bin.
    let n = len as f64;
    let sum: f64 = totals
        .iter()
        .filter(|&&c| c > 1)
        .map(|&c| (c as f64) * (c as f64).log2())
        .sum();
    let h = n.log2() - sum / n;
    #[allow(clippy::cast_possible_truncation)] // 0..=8 fits f32
    let h = h.clamp(0.0, 8.0) as f32;
    h
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// xorshift: deterministic pseudo-random bytes without a dependency.
    pub(crate) fn random_bytes(len: usize, mut seed: u64) -> Vec<u8> {
        let mut out = Vec::with_capacity(len);
        while out.len() < len {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            out.extend_from_slice(&seed.to_le_bytes());
        }
        out.truncate(len);
        out
    }

    #[test]
    fn entropy_is_zero_for_empty_and_constant_data() {
        assert_eq!(entropy(b""), 0.0);
        assert_eq!(entropy(&[b'a'; 10_000]), 0.0);
        assert_eq!(entropy(&[0u8; 1]), 0.0);
    }

    #[test]
    fn entropy_of_two_equally_likely_bytes_is_one_bit() {
        let data: Vec<u8> = (0..1000)
            .map(|i| if i % 2 == 0 { b'a' } else { b'b' })
            .collect();
        assert!((entropy(&data) - 1.0).abs() < 1e-6);
    }

    #[test]
    fn entropy_of_random_data_is_close_to_eight() {
        let data = random_bytes(1 << 20, 0x9e37_79b9_7f4a_7c15);
        let h = entropy(&data);
        assert!(h > 7.99 && h <= 8.0, "{h}");
    }

    #[test]
    fn entropy_of_every_byte_once_is_exactly_eight() {
        let data: Vec<u8> = (0..=255).collect();
        assert!((entropy(&data) - 8.0).abs() < 1e-6);
    }

    #[test]
    fn measure_agrees_with_plain_sha256_across_chunk_boundaries() {
        let data = random_bytes(CHUNK * 2 + 7, 42);
        let (sha, h) = measure(&data);
        assert_eq!(sha, sha256_hex(&data));
        assert_eq!(h, entropy(&data));
        assert_eq!(
            measure(b"").0,
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }
}
