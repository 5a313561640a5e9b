//! Password hashing (argon2id) and the password policy: at least 12 characters and not one of the
//! passwords attackers try first.

use argon2::password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;

use crate::error::{CoreError, CoreResult, PasswordRule};

pub const MIN_LENGTH: usize = 12;

/// Common passwords and the words they are built from; one per line, lower case.
const COMMON: &str = include_str!("common-passwords.txt");

pub fn hash(password: &str) -> CoreResult<String> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| CoreError::Internal(format!("argon2 hash: {e}")))
}

pub fn verify(password: &str, stored_hash: &str) -> bool {
    match PasswordHash::new(stored_hash) {
        Ok(parsed) => Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok(),
        Err(_) => false,
    }
}

/// Spends the same time as a real verification, so a response does not reveal whether a username
/// exists.
pub fn verify_dummy(password: &str) {
    const DUMMY: &str =
        "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$H4b6l2gQ3o1bk3Ul0nq9n7Pz0G3cQm2f0l5xHq2Q5mE";
    let _ = verify(password, DUMMY);
}

/// Checks the policy; the error says what is wrong so the user can fix it.
pub fn check_policy(password: &str, username: &str) -> CoreResult<()> {
    if password.chars().count() < MIN_LENGTH {
        return Err(CoreError::WeakPassword(PasswordRule::TooShort { min: MIN_LENGTH }));
    }
    let lower = password.to_lowercase();
    if !username.is_empty() && lower.contains(&username.to_lowercase()) {
        return Err(CoreError::WeakPassword(PasswordRule::ContainsUsername));
    }
    let distinct: std::collections::HashSet<char> = lower.chars().collect();
    if distinct.len() < 4 {
        return Err(CoreError::WeakPassword(PasswordRule::Repetitive));
    }
    // Strip the digits and symbols people append ("Matkhau@2026") before comparing with the list.
    let core: String = lower.trim_end_matches(|c: char| !c.is_alphabetic()).to_string();
    let is_common = COMMON
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .any(|common| common == lower || common == core);
    if is_common {
        return Err(CoreError::WeakPassword(PasswordRule::Common));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_then_verify() {
        let h = hash("đèn biển sáng mãi 2026").unwrap_or_default();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify("đèn biển sáng mãi 2026", &h));
        assert!(!verify("đèn biển sáng mãi 2025", &h));
        assert!(!verify("anything", "not a hash"));
    }

    #[test]
    fn policy_rejects_short_common_and_username() {
        assert!(matches!(check_policy("short1!", "an"), Err(CoreError::WeakPassword(_))));
        assert!(matches!(check_policy("password1234", "an"), Err(CoreError::WeakPassword(_))));
        assert!(matches!(check_policy("Matkhau@2026!!", "an"), Err(CoreError::WeakPassword(_))));
        assert!(matches!(check_policy("123456789012", "an"), Err(CoreError::WeakPassword(_))));
        assert!(matches!(check_policy("nguyenvanan-2026", "nguyenvanan"), Err(CoreError::WeakPassword(_))));
        assert!(matches!(check_policy("aaaaaaaaaaaaaa", "x"), Err(CoreError::WeakPassword(_))));
        assert!(check_policy("Lai-Chau sông Đà 7", "an").is_ok());
    }
}
