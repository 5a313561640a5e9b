//! Test-only reader for the XML subset v2 uses (declaration, elements without attributes, text,
//! the five entities and numeric references), strict enough to fail on what a real parser
//! would refuse: unbalanced or mismatched tags, a raw `&` or `<` in text, an unknown entity,
//! mixed content, anything after the root. No XML crate is in the tree, hence this.

#[derive(Debug, Clone, PartialEq)]
pub struct Element {
    pub name: String,
    pub children: Vec<Element>,
    pub text: String,
}

impl Element {
    /// The only child called `name`.
    pub fn child(&self, name: &str) -> &Element {
        let found = self.all(name);
        assert_eq!(found.len(), 1, "<{}> has {} <{name}> children", self.name, found.len());
        found[0]
    }

    pub fn all(&self, name: &str) -> Vec<&Element> {
        self.children.iter().filter(|c| c.name == name).collect()
    }

    /// The children's names, in order.
    pub fn names(&self) -> Vec<&str> {
        self.children.iter().map(|c| c.name.as_str()).collect()
    }

    /// The text of the only child called `name`, which must be a leaf.
    pub fn text_of(&self, name: &str) -> &str {
        let c = self.child(name);
        assert!(c.children.is_empty(), "<{name}> is not a leaf");
        &c.text
    }
}

/// Parses a whole document as the renderers write it.
pub fn parse(doc: &str) -> Element {
    let body = doc
        .strip_prefix("<?xml version=\"1.0\" encoding=\"utf-8\"?>")
        .unwrap_or_else(|| panic!("no XML declaration: {doc}"));
    let mut r = Reader { s: body.trim_start() };
    let root = r.element();
    assert!(r.s.trim().is_empty(), "content after the root element: {}", r.s);
    root
}

struct Reader<'a> {
    s: &'a str,
}

impl Reader<'_> {
    fn element(&mut self) -> Element {
        self.s = self.s.strip_prefix('<').unwrap_or_else(|| panic!("expected a tag at: {}", self.s));
        let end = self.s.find('>').unwrap_or_else(|| panic!("unclosed tag at: {}", self.s));
        let tag = &self.s[..end];
        self.s = &self.s[end + 1..];
        let (name, empty) = match tag.strip_suffix('/') {
            Some(name) => (name, true),
            None => (tag, false),
        };
        assert!(
            !name.is_empty() && name.chars().all(|c| c.is_ascii_lowercase() || c == '_'),
            "bad element name {name:?}"
        );
        let mut element = Element { name: name.to_string(), children: Vec::new(), text: String::new() };
        if empty {
            return element;
        }
        loop {
            if let Some(rest) = self.s.strip_prefix("</") {
                let end = rest.find('>').unwrap_or_else(|| panic!("unclosed end tag at: {rest}"));
                assert_eq!(&rest[..end], name, "end tag does not match <{name}>");
                self.s = &rest[end + 1..];
                break;
            }
            if self.s.starts_with('<') {
                element.children.push(self.element());
                continue;
            }
            let end = self.s.find('<').unwrap_or_else(|| panic!("<{name}> is never closed"));
            element.text.push_str(&decode(&self.s[..end]));
            self.s = &self.s[end..];
        }
        assert!(
            element.children.is_empty() || element.text.trim().is_empty(),
            "<{name}> mixes text and elements"
        );
        element
    }
}

fn decode(raw: &str) -> String {
    // What a parser does to line ends left raw (XML 1.0 §2.11), before references are read.
    let raw = raw.replace("\r\n", "\n").replace('\r', "\n");
    let mut out = String::new();
    let mut rest = raw.as_str();
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        let semi = rest[amp..].find(';').unwrap_or_else(|| panic!("raw & in text: {raw}"));
        let entity = &rest[amp + 1..amp + semi];
        let c = match entity {
            "amp" => '&',
            "lt" => '<',
            "gt" => '>',
            "quot" => '"',
            "apos" => '\'',
            _ => {
                let n = entity.strip_prefix('#').unwrap_or_else(|| panic!("unknown entity &{entity};"));
                char::from_u32(n.parse().unwrap()).unwrap()
            }
        };
        out.push(c);
        rest = &rest[amp + semi + 1..];
    }
    out.push_str(rest);
    out
}

#[test]
fn the_checker_refuses_what_a_parser_would() {
    let bad = ["<a><b></a></b>", "<a>x & y</a>", "<a>x<b></b></a>", "<a></a><b></b>", "<a>&nbsp;</a>", "<a>"];
    for doc in bad {
        let doc = format!("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n{doc}");
        assert!(std::panic::catch_unwind(|| parse(&doc)).is_err(), "accepted {doc}");
    }
    let ok = parse("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<a><b>1 &lt; 2&#13;</b><c/></a>");
    assert_eq!(ok.names(), ["b", "c"]);
    assert_eq!(ok.text_of("b"), "1 < 2\r");
}
