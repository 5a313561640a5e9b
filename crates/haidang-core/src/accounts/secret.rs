//! Random secrets shown once (session cookies, API tokens) and the hashes the store keeps instead.

use base64::Engine;
use rand::RngCore;
use sha2::{Digest, Sha256};

/// A fresh bearer secret with a recognisable prefix ("hd_" for API tokens, "hs_" for sessions), so
/// a leaked one is easy to spot in logs and scanners.
pub fn new_secret(prefix: &str) -> String {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    format!("{prefix}{}", base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
}

/// Only this hash is stored; the secret itself is shown once.
pub fn hash_secret(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// A password for demo and reset accounts: long, random, easy to type from a terminal.
pub fn random_password() -> String {
    const ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut rng = rand::thread_rng();
    let mut out = String::with_capacity(19);
    for group in 0..4 {
        if group > 0 {
            out.push('-');
        }
        for _ in 0..4 {
            let i = (rng.next_u32() as usize) % ALPHABET.len();
            out.push(ALPHABET.get(i).copied().map(char::from).unwrap_or('x'));
        }
    }
    out
}

pub fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_unique_and_hash_is_stable() {
        let a = new_secret("hd_");
        let b = new_secret("hd_");
        assert_ne!(a, b);
        assert!(a.starts_with("hd_") && a.len() > 40);
        assert_eq!(hash_secret(&a), hash_secret(&a));
        assert_ne!(hash_secret(&a), hash_secret(&b));
        assert_eq!(random_password().len(), 19);
    }
}
