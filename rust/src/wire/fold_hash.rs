//! One hasher for keys that are already well mixed (content digests, the digit tails of
//! token ids): folding their words is enough, hashing them again with SipHash is not needed.

use std::hash::{BuildHasherDefault, Hasher};

/// `HashMap` / `HashSet` state for already-mixed keys.
pub type FoldHashing = BuildHasherDefault<FoldHasher>;

#[derive(Default)]
pub struct FoldHasher(u64);

const MIX: u64 = 0x9E37_79B9_7F4A_7C15;

impl Hasher for FoldHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.write_u64(u64::from_le_bytes(word));
        }
    }

    fn write_u64(&mut self, value: u64) {
        self.0 = (self.0.rotate_left(7) ^ value).wrapping_mul(MIX);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::hash::{BuildHasher, Hash};

    #[test]
    fn keys_that_differ_in_any_word_hash_apart() {
        let state = FoldHashing::default();
        let hash = |key: &dyn Fn(&mut FoldHasher)| {
            let mut hasher = state.build_hasher();
            key(&mut hasher);
            hasher.finish()
        };
        let pair = |a: u64, b: u64| move |h: &mut FoldHasher| (a, b).hash(h);
        assert_ne!(hash(&pair(1, 2)), hash(&pair(2, 1)));
        assert_ne!(hash(&pair(0, 1)), hash(&pair(0, 2)));
        let tail = |t: u128| move |h: &mut FoldHasher| t.hash(h);
        assert_ne!(hash(&tail(1)), hash(&tail(1 << 64)));
    }
}
