//! User-facing text in Vietnamese (first) and English, from the translation files in `i18n/`.
//! Templates and error details read every word from here; a test checks both files hold the
//! same keys and that templates hold no literal text.

use std::collections::HashMap;
use std::sync::OnceLock;

const VI: &str = include_str!("../i18n/vi.toml");
const EN: &str = include_str!("../i18n/en.toml");

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    #[default]
    Vi,
    En,
}

impl Lang {
    pub fn parse(text: &str) -> Option<Lang> {
        match text {
            "vi" => Some(Lang::Vi),
            "en" => Some(Lang::En),
            _ => None,
        }
    }

    pub fn as_str(&self) -> &'static str {
        match self {
            Lang::Vi => "vi",
            Lang::En => "en",
        }
    }

    /// From an Accept-Language header: English only when asked for before Vietnamese.
    pub fn from_accept_language(header: &str) -> Lang {
        let en = header.find("en");
        let vi = header.find("vi");
        match (en, vi) {
            (Some(e), Some(v)) if e < v => Lang::En,
            (Some(_), None) => Lang::En,
            _ => Lang::Vi,
        }
    }
}

/// One language's texts, flattened to "section.key".
#[derive(Debug)]
pub struct Translations {
    pub lang: Lang,
    texts: HashMap<String, String>,
}

fn flatten(prefix: &str, table: &toml::Table, out: &mut HashMap<String, String>) {
    for (k, v) in table {
        let key = if prefix.is_empty() { k.clone() } else { format!("{prefix}.{k}") };
        match v {
            toml::Value::Table(t) => flatten(&key, t, out),
            toml::Value::String(s) => {
                out.insert(key, s.clone());
            }
            other => {
                out.insert(key, other.to_string());
            }
        }
    }
}

pub fn parse_translations(lang: Lang, text: &str) -> Result<Translations, String> {
    let table: toml::Table = toml::from_str(text).map_err(|e| e.to_string())?;
    let mut texts = HashMap::new();
    flatten("", &table, &mut texts);
    Ok(Translations { lang, texts })
}

impl Translations {
    pub fn get(lang: Lang) -> &'static Translations {
        static VI_T: OnceLock<Translations> = OnceLock::new();
        static EN_T: OnceLock<Translations> = OnceLock::new();
        let (cell, src) = match lang {
            Lang::Vi => (&VI_T, VI),
            Lang::En => (&EN_T, EN),
        };
        cell.get_or_init(|| {
            parse_translations(lang, src).unwrap_or_else(|e| {
                tracing::error!(error = %e, lang = lang.as_str(), "translation file does not parse");
                Translations { lang, texts: HashMap::new() }
            })
        })
    }

    /// The text for `key`; the key itself when missing, so a gap shows instead of crashing.
    pub fn text<'a>(&'a self, key: &'a str) -> &'a str {
        self.texts.get(key).map(String::as_str).unwrap_or(key)
    }

    /// For templates: `{{ t.t("nav.map") }}`.
    pub fn t<'a>(&'a self, key: &'a str) -> &'a str {
        self.text(key)
    }

    pub fn keys(&self) -> Vec<&str> {
        let mut keys: Vec<&str> = self.texts.keys().map(String::as_str).collect();
        keys.sort_unstable();
        keys
    }

    /// Sources of both files, for the consistency test.
    pub fn sources() -> [(Lang, &'static str); 2] {
        [(Lang::Vi, VI), (Lang::En, EN)]
    }
}

/// Numbers in the page's language: Vietnamese "1.234.567" and "12,5", English "1,234,567" and "12.5".
pub fn format_number_in(lang: Lang, value: f64, decimals: usize) -> String {
    let vi = format_number(value, decimals);
    match lang {
        Lang::Vi => vi,
        // Swap the two separators of the Vietnamese form.
        Lang::En => vi
            .chars()
            .map(|c| match c {
                '.' => ',',
                ',' => '.',
                other => other,
            })
            .collect(),
    }
}

/// Vietnamese number formatting: "1.234.567" and "12,5".
pub fn format_number(value: f64, decimals: usize) -> String {
    let text = format!("{:.*}", decimals, value.abs());
    let (int_part, frac) = text.split_once('.').unwrap_or((&text, ""));
    let mut grouped = String::new();
    for (i, c) in int_part.chars().enumerate() {
        if i > 0 && (int_part.len() - i) % 3 == 0 {
            grouped.push('.');
        }
        grouped.push(c);
    }
    let sign = if value < 0.0 && value.abs() >= 0.5 * 10f64.powi(-(decimals as i32)) { "-" } else { "" };
    if frac.is_empty() {
        format!("{sign}{grouped}")
    } else {
        format!("{sign}{grouped},{frac}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vietnamese_number_separators() {
        assert_eq!(format_number(1_234_567.0, 0), "1.234.567");
        assert_eq!(format_number(12.5, 1), "12,5");
        assert_eq!(format_number(-9070.42, 2), "-9.070,42");
        assert_eq!(format_number(999.0, 0), "999");
        assert_eq!(format_number_in(Lang::En, -9070.42, 2), "-9,070.42");
        assert_eq!(format_number_in(Lang::Vi, 9070.0, 0), "9.070");
    }

    #[test]
    fn both_languages_have_the_same_keys() {
        let vi = Translations::get(Lang::Vi).keys();
        let en = Translations::get(Lang::En).keys();
        let only_vi: Vec<_> = vi.iter().filter(|k| !en.contains(k)).collect();
        let only_en: Vec<_> = en.iter().filter(|k| !vi.contains(k)).collect();
        assert!(only_vi.is_empty() && only_en.is_empty(), "only in vi: {only_vi:?}; only in en: {only_en:?}");
        assert!(vi.len() > 50, "translation files look empty");
    }

    #[test]
    fn accept_language() {
        assert_eq!(Lang::from_accept_language("en-US,en;q=0.9"), Lang::En);
        assert_eq!(Lang::from_accept_language("vi-VN,vi;q=0.9,en;q=0.8"), Lang::Vi);
        assert_eq!(Lang::from_accept_language(""), Lang::Vi);
    }
}
