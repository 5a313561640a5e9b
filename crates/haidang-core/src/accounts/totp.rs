//! Time-based one-time passwords (RFC 6238: SHA-1, 30-second steps, 6 digits), the second factor
//! required of administrators and supervisors. Secrets travel as base32 (RFC 4648) for
//! authenticator apps.

use hmac::{Hmac, Mac};
use rand::RngCore;
use sha1::Sha1;

const STEP_SECONDS: i64 = 30;
const DIGITS: u32 = 6;
const B32: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

pub fn new_secret() -> String {
    let mut bytes = [0u8; 20];
    rand::thread_rng().fill_bytes(&mut bytes);
    base32_encode(&bytes)
}

pub fn otpauth_uri(secret: &str, username: &str, issuer: &str) -> String {
    let enc = |s: &str| {
        s.bytes()
            .map(|b| {
                if b.is_ascii_alphanumeric() || b == b'-' || b == b'.' || b == b'_' {
                    (b as char).to_string()
                } else {
                    format!("%{b:02X}")
                }
            })
            .collect::<String>()
    };
    format!(
        "otpauth://totp/{}:{}?secret={secret}&issuer={}&algorithm=SHA1&digits=6&period=30",
        enc(issuer),
        enc(username),
        enc(issuer)
    )
}

pub fn step_at(unix_seconds: i64) -> i64 {
    unix_seconds.div_euclid(STEP_SECONDS)
}

/// The code for a time step, or None if the secret is not valid base32.
pub fn code_at_step(secret: &str, step: i64) -> Option<String> {
    let key = base32_decode(secret)?;
    let mut mac = Hmac::<Sha1>::new_from_slice(&key).ok()?;
    mac.update(&step.to_be_bytes());
    let digest = mac.finalize().into_bytes();
    let offset = (digest.get(19)? & 0x0f) as usize;
    let slice = digest.get(offset..offset + 4)?;
    let value = u32::from_be_bytes([slice.first()? & 0x7f, *slice.get(1)?, *slice.get(2)?, *slice.get(3)?]);
    Some(format!("{:0width$}", value % 10u32.pow(DIGITS), width = DIGITS as usize))
}

/// Checks a code against the current step and one step either side (clock drift). Returns the
/// matched step so the caller can refuse a code used before (replay).
pub fn verify(secret: &str, code: &str, unix_seconds: i64, last_used_step: Option<i64>) -> Option<i64> {
    let code = code.trim();
    if code.len() != DIGITS as usize || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let now = step_at(unix_seconds);
    [now - 1, now, now + 1].into_iter().find(|step| {
        last_used_step.is_none_or(|last| *step > last)
            && code_at_step(secret, *step).is_some_and(|expected| constant_time_eq(&expected, code))
    })
}

fn constant_time_eq(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

pub fn base32_encode(data: &[u8]) -> String {
    let mut out = String::new();
    let mut buffer: u32 = 0;
    let mut bits = 0;
    for &byte in data {
        buffer = (buffer << 8) | u32::from(byte);
        bits += 8;
        while bits >= 5 {
            let idx = ((buffer >> (bits - 5)) & 31) as usize;
            out.push(B32.get(idx).copied().map(char::from).unwrap_or('A'));
            bits -= 5;
        }
    }
    if bits > 0 {
        let idx = ((buffer << (5 - bits)) & 31) as usize;
        out.push(B32.get(idx).copied().map(char::from).unwrap_or('A'));
    }
    out
}

pub fn base32_decode(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let mut buffer: u32 = 0;
    let mut bits = 0;
    for c in text.trim_end_matches('=').chars().filter(|c| !c.is_whitespace()) {
        let value = B32.iter().position(|&b| char::from(b) == c.to_ascii_uppercase())? as u32;
        buffer = (buffer << 5) | value;
        bits += 5;
        if bits >= 8 {
            out.push(((buffer >> (bits - 8)) & 0xff) as u8);
            bits -= 8;
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 appendix B, SHA-1, truncated to 6 digits.
    #[test]
    fn matches_rfc6238_vectors() {
        let secret = base32_encode(b"12345678901234567890");
        assert_eq!(code_at_step(&secret, step_at(59)).as_deref(), Some("287082"));
        assert_eq!(code_at_step(&secret, step_at(1_111_111_109)).as_deref(), Some("081804"));
        assert_eq!(code_at_step(&secret, step_at(2_000_000_000)).as_deref(), Some("279037"));
    }

    #[test]
    fn verify_accepts_drift_and_refuses_replay() {
        let secret = new_secret();
        let now = 1_800_000_000;
        let code = code_at_step(&secret, step_at(now) - 1).unwrap_or_default();
        let step = verify(&secret, &code, now, None);
        assert_eq!(step, Some(step_at(now) - 1));
        assert_eq!(verify(&secret, &code, now, step), None, "a used code must not work twice");
        assert_eq!(verify(&secret, "12345", now, None), None);
        assert_eq!(verify(&secret, "abcdef", now, None), None);
    }

    #[test]
    fn base32_round_trip() {
        let data = b"hai dang 2026";
        assert_eq!(base32_decode(&base32_encode(data)).as_deref(), Some(&data[..]));
        assert!(base32_decode("1!").is_none());
    }
}
