//! Protocol randomness, from a source a test can seed: the client's masking keys
//! ([RFC 6455 §5.3](https://www.rfc-editor.org/rfc/rfc6455#section-5.3)) and the nonce behind
//! its `Sec-WebSocket-Key` ([§4.1](https://www.rfc-editor.org/rfc/rfc6455#section-4.1) item 7).
//!
//! Unseeded (the default), every value comes from `rand`'s thread-local generator — ChaCha,
//! seeded from the operating system — because §5.3 says the masking key "MUST be derived from a
//! strong source of entropy" and §10.3 explains why: a script that could predict the next key
//! could choose a payload whose masked bytes look like a request to a proxy in the path.
//!
//! Seeded, the values come from SplitMix64 (Steele, Lea and Flood, "Fast splittable
//! pseudorandom number generators", OOPSLA 2014) started at the seed: the same bytes on every
//! run and every platform, so a test can compare frames byte for byte. Seeded values are
//! predictable by construction — anyone who knows the seed knows every key — so seeding is
//! for tests and reproducible traces, never for a client on the open internet.

/// SplitMix64's increment, the golden-ratio constant `2^64 / φ`.
const GAMMA: u64 = 0x9e37_79b9_7f4a_7c15;

/// One step of SplitMix64: advances `state` and returns the next output. Its whole state is
/// one `u64` (a seeded client carries no generator object, only the number), each output
/// costs a few multiplies, and every seed, 0 included, gives a full-period stream.
fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(GAMMA);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The next masking key. `state` is the connection's generator: `None` draws the key from the
/// OS-seeded CSPRNG; `Some(s)` is a seeded SplitMix64 stream, advanced one step per key.
#[inline]
pub(crate) fn mask_key(state: &mut Option<u64>) -> [u8; 4] {
    match state {
        None => rand::random(),
        Some(s) => ((splitmix64(s) >> 32) as u32).to_be_bytes(),
    }
}

/// 16 bytes for a `Sec-WebSocket-Key` (§4.1 item 7: "a nonce consisting of a randomly selected
/// 16-byte value"). `None`: fresh from the OS-seeded CSPRNG, as a real client needs. `Some(seed)`:
/// the first two SplitMix64 outputs of `seed`, the same on every call — for a test or a trace
/// that must not change from run to run. Give it to [`ClientHandshake::with_nonce`].
///
/// ```
/// use talkback_ws::handshake::{ClientHandshake, nonce};
/// assert_eq!(nonce(Some(7)), nonce(Some(7)));
/// let key = |seed| ClientHandshake::with_nonce("a", "/", &[], nonce(Some(seed))).key().to_owned();
/// assert_eq!(key(7), key(7));
/// assert_ne!(key(7), key(8));
/// ```
///
/// [`ClientHandshake::with_nonce`]: crate::handshake::ClientHandshake::with_nonce
pub fn nonce(seed: Option<u64>) -> [u8; 16] {
    let Some(mut state) = seed else {
        return rand::random();
    };
    let mut out = [0u8; 16];
    out[..8].copy_from_slice(&splitmix64(&mut state).to_be_bytes());
    out[8..].copy_from_slice(&splitmix64(&mut state).to_be_bytes());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The reference outputs of SplitMix64 from seed 0 (Vigna's `splitmix64.c`): the seeded
    /// stream is pinned, so a trace recorded with a seed stays valid across versions.
    #[test]
    fn splitmix64_matches_the_reference_stream() {
        let mut state = 0;
        let first: Vec<u64> = (0..3).map(|_| splitmix64(&mut state)).collect();
        assert_eq!(first, [0xe220_a839_7b1d_cdaf, 0x6e78_9e6a_a1b9_65f4, 0x06c4_5d18_8009_454f]);
    }

    #[test]
    fn rfc6455_5_3_seeded_keys_are_reproducible_unseeded_keys_are_not() {
        let keys = |mut state: Option<u64>| (0..8).map(|_| mask_key(&mut state)).collect::<Vec<_>>();
        assert_eq!(keys(Some(0))[0], [0xe2, 0x20, 0xa8, 0x39]);
        assert_eq!(keys(Some(42)), keys(Some(42)));
        assert_ne!(keys(Some(42)), keys(Some(43)));
        // 8 keys from the CSPRNG twice alike: probability 2^-256.
        assert_ne!(keys(None), keys(None));
    }

    #[test]
    fn rfc6455_4_1_nonce_is_sixteen_bytes_fresh_unless_seeded() {
        assert_eq!(nonce(Some(0))[..8], 0xe220_a839_7b1d_cdaf_u64.to_be_bytes());
        assert_eq!(nonce(Some(9)), nonce(Some(9)));
        assert_ne!(nonce(Some(9)), nonce(Some(10)));
        assert_ne!(nonce(None), nonce(None));
    }
}
