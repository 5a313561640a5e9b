//! v2's XML, written by hand (no XML crate in the tree). Elements are only ever written through
//! [`Xml::element`], which closes what it opens, so the output is balanced by construction;
//! text goes through [`escape`]. Output is compact (no indentation): whitespace between
//! elements would be text to a strict reader.

use std::fmt::Write;

use super::format::{
    AttributeView, CreatedView, Discovery, Extended, RequestView, ServiceDefinition, ServiceView, TokenView,
};
use super::{w3c_datetime, Open311Error};

const DECLARATION: &str = "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n";

/// Appends `text` as XML character data. Besides the five markup characters (escaped as
/// entities, quotes included so the same text is safe in an attribute), `\r` is written as a
/// character reference because a parser would otherwise turn `\r\n` into `\n`; characters XML 1.0
/// forbids (most C0 controls, U+FFFE, U+FFFF) become U+FFFD, since one stray control character
/// in a citizen's description must not make the whole document unreadable.
pub(super) fn escape(text: &str, out: &mut String) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\r' => out.push_str("&#13;"),
            '\t' | '\n' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
}

/// A document being written. Names are static strings of v2's vocabulary, never user input.
struct Xml {
    out: String,
}

impl Xml {
    fn new() -> Self {
        Xml { out: String::from(DECLARATION) }
    }

    /// `<name>` + whatever `body` writes + `</name>`.
    fn element(&mut self, name: &'static str, body: impl FnOnce(&mut Self)) -> &mut Self {
        self.out.push('<');
        self.out.push_str(name);
        self.out.push('>');
        body(self);
        self.out.push_str("</");
        self.out.push_str(name);
        self.out.push('>');
        self
    }

    fn text(&mut self, name: &'static str, text: &str) -> &mut Self {
        self.element(name, |x| escape(text, &mut x.out))
    }

    /// Absent is an empty element, as in v2's examples.
    fn opt(&mut self, name: &'static str, text: Option<&str>) -> &mut Self {
        self.text(name, text.unwrap_or(""))
    }

    fn bool(&mut self, name: &'static str, value: bool) -> &mut Self {
        self.text(name, if value { "true" } else { "false" })
    }

    fn number(&mut self, name: &'static str, value: impl std::fmt::Display) -> &mut Self {
        self.element(name, |x| {
            let _ = write!(x.out, "{value}");
        })
    }

    /// A coordinate; a non-finite one (never valid) is written empty, like JSON's `null`.
    fn coordinate(&mut self, name: &'static str, value: Option<f64>) -> &mut Self {
        match value.filter(|v| v.is_finite()) {
            Some(v) => self.number(name, v),
            None => self.text(name, ""),
        }
    }

    fn finish(self) -> String {
        self.out
    }
}

pub(super) fn discovery(d: &Discovery) -> String {
    let mut x = Xml::new();
    x.element("discovery", |x| {
        x.text("changeset", &d.changeset).text("contact", &d.contact).text("key_service", &d.key_service);
        x.element("endpoints", |x| {
            for e in &d.endpoints {
                x.element("endpoint", |x| {
                    x.text("specification", &e.specification)
                        .text("url", &e.url)
                        .text("changeset", &e.changeset)
                        .text("type", &e.type_);
                    x.element("formats", |x| {
                        for f in &e.formats {
                            x.text("format", f);
                        }
                    });
                });
            }
        });
    });
    x.finish()
}

pub(super) fn services(services: &[ServiceView]) -> String {
    let mut x = Xml::new();
    x.element("services", |x| {
        for s in services {
            x.element("service", |x| {
                x.text("service_code", &s.service_code)
                    .text("service_name", &s.service_name)
                    .text("description", &s.description)
                    .bool("metadata", s.metadata)
                    .text("type", s.type_.as_str())
                    .text("keywords", &s.keywords.join(", "))
                    .text("group", &s.group);
            });
        }
    });
    x.finish()
}

pub(super) fn service_definition(d: &ServiceDefinition) -> String {
    let mut x = Xml::new();
    x.element("service_definition", |x| {
        x.text("service_code", &d.service_code);
        x.element("attributes", |x| {
            for a in &d.attributes {
                attribute(x, a);
            }
        });
    });
    x.finish()
}

fn attribute(x: &mut Xml, a: &AttributeView) {
    x.element("attribute", |x| {
        x.bool("variable", a.variable)
            .text("code", &a.code)
            .text("datatype", a.datatype.as_str())
            .bool("required", a.required)
            .text("datatype_description", &a.datatype_description)
            .number("order", a.order)
            .text("description", &a.description);
        x.element("values", |x| {
            for (key, name) in &a.values {
                x.element("value", |x| {
                    x.text("key", key).text("name", name);
                });
            }
        });
    });
}

pub(super) fn requests(requests: &[RequestView]) -> String {
    let mut x = Xml::new();
    x.element("service_requests", |x| {
        for r in requests {
            x.element("request", |x| request(x, r));
        }
    });
    x.finish()
}

fn request(x: &mut Xml, r: &RequestView) {
    let updated = r.updated_datetime.map(w3c_datetime);
    let expected = r.expected_datetime.map(w3c_datetime);
    x.text("service_request_id", &r.service_request_id)
        .text("status", r.status.as_str())
        .opt("status_notes", r.status_notes.as_deref())
        .text("service_name", &r.service_name)
        .text("service_code", &r.service_code)
        .opt("description", r.description.as_deref())
        .opt("agency_responsible", r.agency_responsible.as_deref())
        .opt("service_notice", r.service_notice.as_deref())
        .text("requested_datetime", &w3c_datetime(r.requested_datetime))
        .opt("updated_datetime", updated.as_deref())
        .opt("expected_datetime", expected.as_deref())
        .opt("address", r.address.as_deref())
        .opt("address_id", r.address_id.as_deref())
        .opt("zipcode", r.zipcode.as_deref())
        .coordinate("lat", r.lat)
        .coordinate("long", r.long)
        .opt("media_url", r.media_url.as_deref());
    if let Some(ext) = &r.extended_attributes {
        extended(x, ext);
    }
}

fn extended(x: &mut Xml, e: &Extended) {
    x.element("extended_attributes", |x| {
        x.text("detailed_status", &e.detailed_status).text("detailed_status_label", &e.detailed_status_label);
        x.element("notes", |x| {
            for n in &e.notes {
                x.element("note", |x| {
                    x.text("datetime", &w3c_datetime(n.datetime))
                        .text("description", &n.description)
                        .text("kind", &n.kind);
                });
            }
        });
    });
}

pub(super) fn created(created: &[CreatedView]) -> String {
    let mut x = Xml::new();
    x.element("service_requests", |x| {
        for c in created {
            let (show_token, show_id) = c.shown();
            x.element("request", |x| {
                if show_token {
                    x.opt("token", c.token.as_deref());
                }
                if show_id {
                    x.opt("service_request_id", c.service_request_id.as_deref());
                }
                x.opt("service_notice", c.service_notice.as_deref())
                    .opt("account_id", c.account_id.as_deref());
                if c.media_url.is_some() {
                    x.opt("media_url", c.media_url.as_deref());
                }
            });
        }
    });
    x.finish()
}

pub(super) fn tokens(tokens: &[TokenView]) -> String {
    let mut x = Xml::new();
    x.element("service_requests", |x| {
        for t in tokens {
            x.element("request", |x| {
                x.text("token", &t.token).opt("service_request_id", t.service_request_id.as_deref());
            });
        }
    });
    x.finish()
}

pub(super) fn errors(errors: &[Open311Error]) -> String {
    let mut x = Xml::new();
    x.element("errors", |x| {
        for e in errors {
            x.element("error", |x| {
                x.number("code", e.code).text("description", &e.description);
            });
        }
    });
    x.finish()
}
