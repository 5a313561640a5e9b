//! Every word a user reads comes from the translation files: the templates hold no literal text,
//! and every key they (or the code) ask for exists in both languages.

use std::collections::BTreeSet;
use std::path::PathBuf;

use haidang_core::accounts::{AccountStatus, Role};
use haidang_core::audit::Outcome;
use haidang_core::orgs::OrgKind;
use haidang_core::units::UnitKind;

use crate::i18n::{Lang, Translations};

fn templates() -> Vec<(String, String)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("templates");
    let mut out: Vec<(String, String)> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "html"))
        .map(|p| {
            (p.file_name().unwrap().to_string_lossy().into_owned(), std::fs::read_to_string(&p).unwrap())
        })
        .collect();
    out.sort();
    assert!(out.len() >= 8, "templates not found in {}", dir.display());
    out
}

/// Removes everything between `open` and `close` (inclusive).
fn strip(text: &str, open: &str, close: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find(open) {
        out.push_str(&rest[..start]);
        match rest[start..].find(close) {
            Some(end) => rest = &rest[start + end + close.len()..],
            None => return out,
        }
    }
    out.push_str(rest);
    out
}

/// Text between tags, after template expressions are removed.
fn visible_text(template: &str) -> String {
    let t = strip(template, "{#", "#}");
    let t = strip(&t, "{{", "}}");
    let t = strip(&t, "{%", "%}");
    let t = strip(&t, "<script", "</script>");
    let t = strip(&t, "<style", "</style>");
    let t = strip(&t, "<!--", "-->");
    strip(&t, "<", ">")
}

/// Attributes a user reads (placeholder, title, aria-label, alt, value of buttons).
fn readable_attributes(template: &str) -> Vec<String> {
    let t = strip(template, "{{", "}}");
    let t = strip(&t, "{%", "%}");
    let mut out = Vec::new();
    for attr in ["placeholder=\"", "title=\"", "aria-label=\"", "alt=\"", "data-confirm=\""] {
        for part in t.split(attr).skip(1) {
            out.push(part.split('"').next().unwrap_or_default().to_string());
        }
    }
    out
}

fn has_words(text: &str) -> bool {
    text.chars().any(char::is_alphabetic)
}

#[test]
fn templates_hold_no_literal_user_facing_text() {
    for (name, body) in templates() {
        let text = visible_text(&body);
        let words: Vec<&str> = text.split_whitespace().filter(|w| has_words(w)).collect();
        assert!(words.is_empty(), "{name} has literal text: {words:?}");
        for attr in readable_attributes(&body) {
            assert!(!has_words(&attr), "{name} has a literal attribute text: {attr:?}");
        }
    }
}

#[test]
fn the_checker_would_catch_literal_text() {
    assert!(has_words(&visible_text("<p>{{ page.t.t(\"a\") }} Xin chào</p>")));
    assert!(!has_words(&visible_text("<p>{{ page.t.t(\"a\") }} · {% if x %}{{ y }}{% endif %}</p>")));
    assert_eq!(readable_attributes("<input placeholder=\"Tên\">"), vec!["Tên"]);
}

#[test]
fn every_key_the_templates_and_code_use_exists_in_both_languages() {
    let mut keys = BTreeSet::new();
    for (_, body) in templates() {
        for part in body.split("t.t(\"").skip(1) {
            keys.insert(part.split('"').next().unwrap_or_default().to_string());
        }
    }
    for r in Role::ALL {
        keys.insert(format!("role.{}", r.as_str()));
    }
    for s in [AccountStatus::Active, AccountStatus::Locked, AccountStatus::Revoked] {
        keys.insert(format!("status.{}", s.as_str()));
    }
    for k in OrgKind::ALL {
        keys.insert(format!("org_kind.{}", k.as_str()));
    }
    for k in [UnitKind::Commune, UnitKind::Ward, UnitKind::SpecialZone, UnitKind::Province] {
        keys.insert(format!("unit_kind.{}", k.as_str()));
    }
    for o in [Outcome::Success, Outcome::Failure, Outcome::Denied] {
        keys.insert(format!("outcome.{}", o.as_str()));
    }
    for s in haidang_core::orgs::SECTORS {
        keys.insert(format!("sector.{s}"));
    }
    for a in haidang_core::audit::ACTIONS {
        keys.insert(format!("audit_action.{}", a.replace('.', "_")));
    }
    for rule in ["too_short", "contains_username", "repetitive", "common"] {
        keys.insert(format!("password_rule.{rule}"));
    }
    // Stable error codes, from the domain and from the HTTP layer.
    for code in [
        "validation_failed",
        "not_found",
        "conflict",
        "invalid_credentials",
        "account_locked",
        "account_revoked",
        "totp_required",
        "totp_invalid",
        "password_change_required",
        "unauthenticated",
        "token_invalid",
        "forbidden",
        "weak_password",
        "storage_error",
        "internal_error",
        "method_not_allowed",
        "body_too_large",
        "timeout",
        "unsupported_media_type",
        "invalid_request",
        "http_error",
        "invalid_json",
        "csrf_check_failed",
    ] {
        keys.insert(format!("error.{code}"));
    }
    assert!(keys.len() > 40, "{keys:?}");
    for lang in [Lang::Vi, Lang::En] {
        let t = Translations::get(lang);
        let known: BTreeSet<&str> = t.keys().into_iter().collect();
        let missing: Vec<&String> = keys.iter().filter(|k| !known.contains(k.as_str())).collect();
        assert!(missing.is_empty(), "{lang:?} lacks {missing:?}");
    }
}
