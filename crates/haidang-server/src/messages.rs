//! The core's refusals in the reader's language. The core writes its validation messages in
//! English with the values filled in ("at most 4000 characters"); `i18n/messages.vi.toml` lists
//! each as a template ("at most {} characters") with its Vietnamese. A message is matched
//! against the templates, the values are taken from it (and looked up in turn: "looks like
//! spam: too many links"), and put into the Vietnamese. A message with no template stays as it
//! is, so a new message is never lost, only not yet translated.

use std::borrow::Cow;
use std::sync::OnceLock;

use crate::i18n::Lang;

const VI: &str = include_str!("../i18n/messages.vi.toml");

struct Template {
    /// The English text between the values.
    pieces: Vec<String>,
    vi: String,
}

fn templates() -> &'static [Template] {
    static T: OnceLock<Vec<Template>> = OnceLock::new();
    T.get_or_init(|| {
        let table: toml::Table = match toml::from_str(VI) {
            Ok(t) => t,
            Err(e) => {
                tracing::error!(error = %e, "i18n/messages.vi.toml does not parse; refusals stay in English");
                return Vec::new();
            }
        };
        let mut list: Vec<Template> = table
            .into_iter()
            .filter_map(|(en, vi)| {
                let vi = vi.as_str()?.to_string();
                let pieces: Vec<String> = en.split("{}").map(String::from).collect();
                // A template of values only would match anything, and its values again for ever.
                (pieces.iter().any(|p| !p.is_empty())).then_some(Template { pieces, vi })
            })
            .collect();
        // The most specific first: "at most {} characters" before "at most {}".
        list.sort_by_key(|t| std::cmp::Reverse(t.pieces.iter().map(String::len).sum::<usize>()));
        list
    })
}

/// The values of `message` at the template's {} places, when it fits the template.
fn fit<'m>(pieces: &[String], message: &'m str) -> Option<Vec<&'m str>> {
    let (first, rest) = pieces.split_first()?;
    let mut tail = message.strip_prefix(first.as_str())?;
    let mut values = Vec::new();
    for (i, piece) in rest.iter().enumerate() {
        let last = i + 1 == rest.len();
        let at = if last {
            // The last piece ends the message (ends_with: on a character's boundary).
            if !tail.ends_with(piece.as_str()) {
                return None;
            }
            tail.len() - piece.len()
        } else if piece.is_empty() {
            return None; // two values side by side cannot be told apart
        } else {
            tail.find(piece.as_str())?
        };
        values.push(&tail[..at]);
        tail = &tail[at + piece.len()..];
    }
    (tail.is_empty()).then_some(values)
}

/// `message` in `lang`.
pub fn translate(lang: Lang, message: &str) -> Cow<'_, str> {
    if lang == Lang::En {
        return Cow::Borrowed(message);
    }
    for t in templates() {
        if let Some(values) = fit(&t.pieces, message) {
            let mut out = String::with_capacity(t.vi.len() + message.len());
            let mut parts = t.vi.split("{}");
            out.push_str(parts.next().unwrap_or(""));
            for (value, part) in values.into_iter().zip(parts) {
                out.push_str(&translate(lang, value));
                out.push_str(part);
            }
            return Cow::Owned(out);
        }
    }
    Cow::Borrowed(message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_template_keeps_its_values() {
        let table: toml::Table = toml::from_str(VI).unwrap();
        assert!(table.len() > 50);
        for (en, vi) in table {
            let vi = vi.as_str().unwrap();
            assert_eq!(en.matches("{}").count(), vi.matches("{}").count(), "{en} → {vi}");
            assert!(!en.contains("{}{}"), "{en}: two values side by side cannot be told apart");
        }
    }

    #[test]
    fn refusals_read_in_vietnamese_with_their_values() {
        let vi = |m: &str| translate(Lang::Vi, m).into_owned();
        assert_eq!(vi("at most 4000 characters"), "tối đa 4000 ký tự");
        assert_eq!(vi("at most 5"), "tối đa 5");
        assert_eq!(
            vi("the point (21.03000, 105.85000) is outside the province"),
            "điểm (21.03000, 105.85000) nằm ngoài địa giới tỉnh"
        );
        assert_eq!(vi("looks like spam: too many links"), "có dấu hiệu tin rác: quá nhiều đường dẫn");
        assert_eq!(vi("no report category 'khong-co'"), "không có lĩnh vực phản ánh 'khong-co'");
        assert_eq!(
            vi("2026-02-16 is a Monday: only a Saturday or a Sunday can be made a working day"),
            "2026-02-16 là thứ Hai: chỉ thứ Bảy hoặc Chủ nhật mới có thể chuyển thành ngày làm việc"
        );
        // Values in Vietnamese next to a template's text: cut between characters, never in one.
        assert_eq!(vi("no report category 'rác thải'"), "không có lĩnh vực phản ánh 'rác thải'");
        assert_eq!(vi("'gọi anh Ba' is not a phone number"), "'gọi anh Ba' is not a phone number");
        assert_eq!(vi("ố"), "ố");
        // Not listed: kept whole, in English.
        assert_eq!(vi("the moon is not cheese"), "the moon is not cheese");
        assert_eq!(translate(Lang::En, "at most 5"), "at most 5");
    }
}
