//! Sharded token maps: each map is split into [`SHARDS`] independently
//! locked `HashMap`s keyed by the SHA-256 digest of a token, so the hot path
//! takes no global lock and no token is stored or compared itself.

use base64::Engine;
use rand::RngCore;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hash, Hasher};
use std::sync::{Mutex, MutexGuard};

/// Number of independently locked shards per map.
pub const SHARDS: usize = 64;

/// The SHA-256 digest of a token: the key of every map.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Key([u8; 32]);

impl Key {
    pub fn of(token: &str) -> Key {
        Key(Sha256::digest(token.as_bytes()).into())
    }

    fn shard(&self) -> usize {
        self.0[8] as usize % SHARDS
    }
}

impl Hash for Key {
    fn hash<H: Hasher>(&self, h: &mut H) {
        // The digest is already uniform: eight of its bytes are the hash.
        h.write_u64(u64::from_le_bytes([
            self.0[0], self.0[1], self.0[2], self.0[3], self.0[4], self.0[5], self.0[6], self.0[7],
        ]));
    }
}

/// Passes [`Key`]'s pre-computed hash through.
#[derive(Default)]
pub struct KeyHasher(u64);

impl Hasher for KeyHasher {
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(*b)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
    fn finish(&self) -> u64 {
        self.0
    }
}

pub type Map<V> = HashMap<Key, V, BuildHasherDefault<KeyHasher>>;

pub struct Shards<V>(Box<[Mutex<Map<V>>]>);

impl<V> Shards<V> {
    pub fn new() -> Shards<V> {
        Shards((0..SHARDS).map(|_| Mutex::new(Map::default())).collect())
    }

    pub fn lock(&self, key: &Key) -> MutexGuard<'_, Map<V>> {
        lock(&self.0[key.shard()])
    }

    /// Inserts under a fresh token and returns the token (a digest collision
    /// of 256 random bits would only make it draw again).
    pub fn insert_new(&self, value: V) -> String {
        let mut value = Some(value);
        loop {
            let token = new_token();
            let key = Key::of(&token);
            let mut shard = self.lock(&key);
            if let std::collections::hash_map::Entry::Vacant(e) = shard.entry(key) {
                e.insert(value.take().expect("inserted once"));
                return token;
            }
        }
    }

    pub fn retain(&self, mut keep: impl FnMut(&V) -> bool) -> usize {
        let mut removed = 0;
        for shard in self.0.iter() {
            let mut m = lock(shard);
            let before = m.len();
            m.retain(|_, v| keep(v));
            removed += before - m.len();
        }
        removed
    }

    pub fn len(&self) -> usize {
        self.0.iter().map(|s| lock(s).len()).sum()
    }
}

/// A poisoned lock only means another request panicked; the maps stay valid.
pub fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// 32 bytes from the thread's CSPRNG, base64url without padding: 256 bits in
/// 43 printable characters.
pub fn new_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}
