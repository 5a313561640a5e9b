//! The reporter's identity (Decree 13/2023, the 2025 Personal Data Protection Law): sealed at
//! rest with ChaCha20-Poly1305 under a key from the configuration, masked for display, and
//! re-sealed under the newest key when keys rotate. The secret tracking code lives here too.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use chacha20poly1305::aead::{Aead, AeadCore, KeyInit, OsRng, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use rand::RngCore;
use sha2::{Digest, Sha256};

use super::model::Contact;
use crate::error::{CoreError, CoreResult};

/// The keys contacts are sealed with: the first seals, every one opens (so rows sealed under a
/// retired key stay readable until they are re-sealed).
pub struct ContactVault {
    keys: Vec<(String, ChaCha20Poly1305)>,
}

impl std::fmt::Debug for ContactVault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the keys themselves.
        let ids: Vec<&str> = self.keys.iter().map(|(id, _)| id.as_str()).collect();
        f.debug_struct("ContactVault").field("key_ids", &ids).finish()
    }
}

impl ContactVault {
    /// Keys written "id:base64-of-32-bytes", newest first. The error names the bad entry by its
    /// position and never prints the key.
    pub fn from_keys(keys: &[String]) -> CoreResult<ContactVault> {
        if keys.is_empty() {
            return Err(CoreError::validation("reports.contact_keys", "at least one key is needed"));
        }
        let mut parsed = Vec::with_capacity(keys.len());
        for (i, entry) in keys.iter().enumerate() {
            let bad =
                |why: &str| CoreError::validation("reports.contact_keys", format!("key {}: {why}", i + 1));
            let (id, material) =
                entry.trim().split_once(':').ok_or_else(|| bad("must be written id:base64"))?;
            if id.is_empty() || !id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
                return Err(bad("the id may hold only letters, digits, - and _"));
            }
            let bytes = B64.decode(material).map_err(|_| bad("the key is not base64"))?;
            if bytes.len() != 32 {
                return Err(bad("the key must be 32 bytes"));
            }
            if parsed.iter().any(|(other, _): &(String, ChaCha20Poly1305)| other == id) {
                return Err(bad("the id is used twice"));
            }
            parsed.push((id.to_string(), ChaCha20Poly1305::new(Key::from_slice(&bytes))));
        }
        Ok(ContactVault { keys: parsed })
    }

    /// A new key entry for the configuration, with an id that says when it was made.
    pub fn generate_key(id: &str) -> String {
        let key = ChaCha20Poly1305::generate_key(&mut OsRng);
        format!("{id}:{}", B64.encode(key))
    }

    pub fn current_key_id(&self) -> &str {
        self.keys.first().map(|(id, _)| id.as_str()).unwrap_or("")
    }

    /// Seals the contact, bound to its report: a sealed value copied to another row won't open.
    pub fn seal(&self, report_id: &str, contact: &Contact) -> CoreResult<String> {
        let (id, cipher) = self.keys.first().ok_or_else(|| CoreError::Internal("no contact key".into()))?;
        let plain = serde_json::to_vec(contact).map_err(|e| CoreError::Internal(e.to_string()))?;
        let nonce = ChaCha20Poly1305::generate_nonce(&mut OsRng);
        let sealed = cipher
            .encrypt(&nonce, Payload { msg: &plain, aad: report_id.as_bytes() })
            .map_err(|_| CoreError::Internal("sealing the contact failed".into()))?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&sealed);
        Ok(format!("{id}:{}", B64.encode(out)))
    }

    /// Seals a short secret text (a tracking code waiting in a notice), bound to `owner`.
    pub fn seal_text(&self, owner: &str, text: &str) -> CoreResult<String> {
        self.seal(owner, &Contact { name: Some(text.to_string()), ..Contact::default() })
    }

    pub fn open_text(&self, owner: &str, sealed: &str) -> CoreResult<String> {
        Ok(self.open(owner, sealed)?.name.unwrap_or_default())
    }

    pub fn open(&self, report_id: &str, sealed: &str) -> CoreResult<Contact> {
        let broken = |why: &str| CoreError::Internal(format!("sealed contact of {report_id}: {why}"));
        let (id, body) = sealed.split_once(':').ok_or_else(|| broken("no key id"))?;
        let (_, cipher) = self
            .keys
            .iter()
            .find(|(k, _)| k == id)
            .ok_or_else(|| broken("sealed under a key no longer configured"))?;
        let bytes = B64.decode(body).map_err(|_| broken("not base64"))?;
        if bytes.len() < 12 {
            return Err(broken("too short"));
        }
        let (nonce, ciphertext) = bytes.split_at(12);
        let plain = cipher
            .decrypt(Nonce::from_slice(nonce), Payload { msg: ciphertext, aad: report_id.as_bytes() })
            .map_err(|_| broken("does not open"))?;
        serde_json::from_slice(&plain).map_err(|e| broken(&e.to_string()))
    }

    /// Sealed under an older key: the rotation job re-seals it.
    pub fn needs_reseal(&self, sealed: &str) -> bool {
        sealed.split_once(':').is_none_or(|(id, _)| id != self.current_key_id())
    }
}

/// The contact as everyone without the permission sees it.
pub fn mask(contact: &Contact) -> Contact {
    Contact {
        name: contact.name.as_deref().map(mask_name),
        phone: contact.phone.as_deref().map(|p| mask_keep(p, 2, 2)),
        email: contact.email.as_deref().map(mask_email),
        id_number: contact.id_number.as_deref().map(|n| mask_keep(n, 0, 3)),
    }
}

/// "Nguyễn Văn An" → "N***** V** A*": the initials, and the length of each word.
fn mask_name(name: &str) -> String {
    name.split_whitespace()
        .map(|word| {
            let mut chars = word.chars();
            let first = chars.next().map(String::from).unwrap_or_default();
            first + &"*".repeat(chars.count())
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Keeps `head` and `tail` characters and stars the rest; short values are starred whole.
fn mask_keep(text: &str, head: usize, tail: usize) -> String {
    let chars: Vec<char> = text.chars().filter(|c| !c.is_whitespace()).collect();
    if chars.len() <= head + tail + 2 {
        return "*".repeat(chars.len().max(4));
    }
    chars
        .iter()
        .enumerate()
        .map(|(i, c)| if i < head || i >= chars.len() - tail { *c } else { '*' })
        .collect()
}

fn mask_email(email: &str) -> String {
    match email.split_once('@') {
        Some((local, domain)) => {
            let first = local.chars().next().map(String::from).unwrap_or_default();
            format!("{first}***@{domain}")
        }
        None => mask_keep(email, 1, 0),
    }
}

/// Letters a tracking code is written in: no 0/O or 1/I/L to confuse on a phone.
const CODE_ALPHABET: &[u8] = b"ABCDEFGHJKMNPQRSTUVWXYZ23456789";
const CODE_LEN: usize = 16;

/// A fresh tracking code: 16 characters of a 31-letter alphabet (79 random bits), in groups of
/// four ("K7QF-3M9T-ZP2D-8HXA") so it can be read over the phone.
pub fn new_tracking_code() -> String {
    let mut rng = rand::rngs::OsRng;
    let mut out = String::with_capacity(CODE_LEN + 3);
    for i in 0..CODE_LEN {
        if i > 0 && i % 4 == 0 {
            out.push('-');
        }
        // Rejection sampling keeps every letter equally likely.
        loop {
            let byte = (rng.next_u32() & 0xff) as usize;
            if byte < 248 {
                let letter = CODE_ALPHABET.get(byte % CODE_ALPHABET.len()).copied().unwrap_or(b'A');
                out.push(char::from(letter));
                break;
            }
        }
    }
    out
}

/// The code as typed ("k7qf 3m9t-zp2d 8hxa") in its one written form, or None when it cannot
/// be a tracking code at all.
pub fn normalize_tracking_code(typed: &str) -> Option<String> {
    let letters: String =
        typed.chars().filter(|c| !c.is_whitespace() && *c != '-').map(|c| c.to_ascii_uppercase()).collect();
    let valid = letters.len() == CODE_LEN && letters.bytes().all(|b| CODE_ALPHABET.contains(&b));
    valid.then_some(letters)
}

/// What the store keeps and looks up by.
pub fn tracking_hash(typed: &str) -> Option<String> {
    normalize_tracking_code(typed).map(|code| hex::encode(Sha256::digest(code.as_bytes())))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vault(keys: &[&str]) -> ContactVault {
        let keys: Vec<String> = keys.iter().map(|k| k.to_string()).collect();
        ContactVault::from_keys(&keys).unwrap()
    }

    fn contact() -> Contact {
        Contact {
            name: Some("Nguyễn Văn An".into()),
            phone: Some("0912345689".into()),
            email: Some("an.nguyen@gmail.com".into()),
            id_number: Some("012345678912".into()),
        }
    }

    #[test]
    fn a_sealed_contact_opens_only_with_its_report_and_hides_the_text() {
        let key = ContactVault::generate_key("k1");
        let v = vault(&[&key]);
        let sealed = v.seal("r1", &contact()).unwrap();
        assert!(sealed.starts_with("k1:"));
        assert!(!sealed.contains("Nguyễn") && !sealed.contains("0912345689"));
        assert_eq!(v.open("r1", &sealed).ok(), Some(contact()));
        assert!(v.open("r2", &sealed).is_err(), "bound to its report");
    }

    #[test]
    fn after_rotation_old_rows_open_and_are_marked_for_resealing() {
        let old = ContactVault::generate_key("k1");
        let sealed = vault(&[&old]).seal("r1", &contact()).unwrap_or_default();
        let rotated = vault(&[&ContactVault::generate_key("k2"), &old]);
        assert_eq!(rotated.open("r1", &sealed).ok(), Some(contact()));
        assert!(rotated.needs_reseal(&sealed));
        let resealed = rotated.seal("r1", &contact()).unwrap_or_default();
        assert!(!rotated.needs_reseal(&resealed) && resealed.starts_with("k2:"));
        // Without the old key the row cannot be read: nothing is silently lost, it fails.
        assert!(vault(&[&ContactVault::generate_key("k3")]).open("r1", &sealed).is_err());
    }

    #[test]
    fn bad_keys_are_named_without_printing_them() {
        for bad in ["nokey", "k1:!!!", "k1:AAAA", "k 1:AAAA"] {
            match ContactVault::from_keys(&[bad.to_string()]) {
                Err(e) => assert!(e.to_string().contains("key 1") && !e.to_string().contains("AAAA"), "{e}"),
                Ok(_) => panic!("{bad} accepted"),
            }
        }
    }

    #[test]
    fn masks_keep_only_what_identifies_nobody() {
        let m = mask(&contact());
        assert_eq!(m.name.as_deref(), Some("N***** V** A*"));
        assert_eq!(m.phone.as_deref(), Some("09******89"));
        assert_eq!(m.email.as_deref(), Some("a***@gmail.com"));
        assert_eq!(m.id_number.as_deref(), Some("*********912"));
    }

    #[test]
    fn tracking_codes_are_random_readable_and_typed_loosely() {
        let a = new_tracking_code();
        let b = new_tracking_code();
        assert_ne!(a, b);
        assert_eq!(a.len(), 19);
        let typed = a.to_lowercase().replace('-', " ");
        assert_eq!(tracking_hash(&typed), tracking_hash(&a));
        assert!(tracking_hash("1234").is_none());
        assert!(tracking_hash("OOOO-OOOO-OOOO-OOOO").is_none(), "O is not in the alphabet");
    }
}
