//! The NGSI-LD query language (`q`, ETSI GS CIM 009 v1.8 §4.9): parsed once, names expanded to
//! the IRIs the store keys by, evaluated against entities, with the part a value index can serve.
//!
//! Values compare within their kind only (booleans, numbers, strings), in the total order of
//! [`Scalar`]. Matching and the index use that same order, so an [`IndexHint`] never misses an
//! entity `matches` would take, provided the index keys instances by [`index_scalars`].

use std::borrow::Cow;
use std::cmp::Ordering;
use std::ops::Bound;

use jiff::Timestamp;
use regex::Regex;
use serde_json::Value;

use super::entity::{AttrKind, Entity, Instance};

/// Deeper nesting is refused rather than risking the stack on hostile input.
const MAX_DEPTH: usize = 64;
/// Instance members a path can end in; anything else after a '.' is a sub-attribute.
const MEMBERS: [&str; 5] = ["observedAt", "unitCode", "datasetId", "createdAt", "modifiedAt"];

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("at position {position}: {message}")]
pub struct QueryError {
    /// 0-based character (not byte) offset into the `q` text.
    pub position: usize,
    pub message: String,
}

/// A value as `q` and the value index see it. Ordered Bool < Num < Str, numbers by `total_cmp`
/// with -0 folded into 0 (so `==0` finds both).
#[derive(Clone, Debug)]
pub enum Scalar {
    Bool(bool),
    Num(f64),
    Str(String),
}

impl Scalar {
    /// JSON booleans, numbers and strings; None for anything else.
    pub fn from_value(v: &Value) -> Option<Scalar> {
        item(v).map(|i| i.to_scalar())
    }

    fn rank(&self) -> u8 {
        match self {
            Scalar::Bool(_) => 0,
            Scalar::Num(_) => 1,
            Scalar::Str(_) => 2,
        }
    }
}

impl Ord for Scalar {
    fn cmp(&self, other: &Self) -> Ordering {
        match (self, other) {
            (Scalar::Bool(a), Scalar::Bool(b)) => a.cmp(b),
            (Scalar::Num(a), Scalar::Num(b)) => (a + 0.0).total_cmp(&(b + 0.0)),
            (Scalar::Str(a), Scalar::Str(b)) => a.cmp(b),
            _ => self.rank().cmp(&other.rank()),
        }
    }
}

impl PartialOrd for Scalar {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Scalar {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Scalar {}

pub type Interval = (Bound<Scalar>, Bound<Scalar>);

/// Where candidates can come from: the entities whose top-level attribute `attr` (expanded) has
/// an indexed value in any of `bounds`. A superset: `matches` still decides.
#[derive(Debug, Clone, PartialEq)]
pub struct IndexHint {
    pub attr: String,
    pub bounds: Vec<Interval>,
}

/// The values a top-level `attr OP literal` term compares in one instance (elements of a list,
/// texts of a language map, the `@value` of a typed literal): what a value index must key the
/// instance by for [`Query::index_hint`] to find every match.
pub fn index_scalars(instance: &Instance) -> Vec<Scalar> {
    content_items(&instance.content, instance.kind == AttrKind::LanguageProperty)
        .iter()
        .map(Item::to_scalar)
        .collect()
}

/// One compared value, borrowed from the entity.
enum Item<'a> {
    Bool(bool),
    Num(f64),
    Str(&'a str),
    /// observedAt & co: compared as instants against a DateTime literal, else as their text.
    Time(Timestamp),
}

fn item(v: &Value) -> Option<Item<'_>> {
    match v {
        Value::Bool(b) => Some(Item::Bool(*b)),
        Value::Number(n) => n.as_f64().map(|f| Item::Num(f + 0.0)),
        Value::String(s) => Some(Item::Str(s)),
        _ => None,
    }
}

fn content_items(v: &Value, language_map: bool) -> Vec<Item<'_>> {
    match v {
        Value::Array(items) => items.iter().filter_map(item).collect(),
        Value::Object(map) if language_map => map
            .values()
            .flat_map(|t| if let Value::Array(texts) = t { texts.iter().collect() } else { vec![t] })
            .filter_map(item)
            .collect(),
        // A JSON-LD typed literal ({"@type": "DateTime", "@value": "..."}) compares as its value.
        Value::Object(map) => map.get("@value").and_then(item).into_iter().collect(),
        other => item(other).into_iter().collect(),
    }
}

impl Item<'_> {
    fn rank(&self) -> u8 {
        match self {
            Item::Bool(_) => 0,
            Item::Num(_) => 1,
            Item::Str(_) | Item::Time(_) => 2,
        }
    }

    fn to_scalar(&self) -> Scalar {
        match self {
            Item::Bool(b) => Scalar::Bool(*b),
            Item::Num(n) => Scalar::Num(*n),
            Item::Str(s) => Scalar::Str(s.to_string()),
            Item::Time(t) => Scalar::Str(t.to_string()),
        }
    }

    fn cmp(&self, s: &Scalar) -> Ordering {
        match (self, s) {
            (Item::Bool(a), Scalar::Bool(b)) => a.cmp(b),
            (Item::Num(a), Scalar::Num(b)) => a.total_cmp(&(b + 0.0)),
            (Item::Str(a), Scalar::Str(b)) => (*a).cmp(b.as_str()),
            (Item::Time(t), Scalar::Str(b)) => match b.parse::<Timestamp>() {
                Ok(other) => t.cmp(&other),
                Err(_) => t.to_string().as_str().cmp(b.as_str()),
            },
            _ => self.rank().cmp(&s.rank()),
        }
    }

    fn within(&self, (lo, hi): &Interval) -> bool {
        (match lo {
            Bound::Included(s) => self.cmp(s) != Ordering::Less,
            Bound::Excluded(s) => self.cmp(s) == Ordering::Greater,
            Bound::Unbounded => true,
        }) && match hi {
            Bound::Included(s) => self.cmp(s) != Ordering::Greater,
            Bound::Excluded(s) => self.cmp(s) == Ordering::Less,
            Bound::Unbounded => true,
        }
    }

    fn text(&self) -> Option<Cow<'_, str>> {
        match self {
            Item::Str(s) => Some(Cow::Borrowed(s)),
            Item::Time(t) => Some(Cow::Owned(t.to_string())),
            _ => None,
        }
    }
}

/// A parsed `q` expression.
#[derive(Debug, Clone)]
pub struct Query {
    expr: Expr,
}

#[derive(Debug, Clone)]
enum Expr {
    Term(Path, Test),
    And(Vec<Expr>),
    Or(Vec<Expr>),
}

#[derive(Debug, Clone)]
struct Path {
    attr: String,
    subs: Vec<String>,
    /// One of MEMBERS.
    member: Option<String>,
    /// Keys into the compound value, from `[a.b]` or `[a][b]`.
    keys: Vec<String>,
}

#[derive(Debug, Clone)]
enum Test {
    Exists,
    Absent,
    /// `==`, ranges, lists and the order operators, all as intervals of the total order (an
    /// order operator's open end stops at the edge of its literal's kind).
    In(Vec<Interval>),
    NotIn(Vec<Interval>),
    Like(Regex),
    NotLike(Regex),
}

/// The values a compound path reaches; a list of objects is searched element by element.
fn descend<'a>(v: &'a Value, keys: &[String], out: &mut Vec<Vec<Item<'a>>>) {
    match (keys.split_first(), v) {
        (None, _) => out.push(content_items(v, false)),
        (Some((key, rest)), Value::Object(o)) => o.get(key).into_iter().for_each(|x| descend(x, rest, out)),
        (Some(_), Value::Array(xs)) => {
            xs.iter().filter(|x| x.is_object()).for_each(|x| descend(x, keys, out))
        }
        _ => {}
    }
}

impl Path {
    /// What the path reaches, one list of compared values per instance (or per element a
    /// compound path reached); empty when it reaches nothing.
    fn leaves<'a>(&self, entity: &'a Entity) -> Vec<Vec<Item<'a>>> {
        let mut level: Vec<&Instance> = entity.attrs.get(&self.attr).into_iter().flatten().collect();
        for name in &self.subs {
            level = level.into_iter().flat_map(|i| i.sub.get(name).into_iter().flatten()).collect();
        }
        let mut out = Vec::new();
        for i in level {
            let member = |m: &str| match m {
                "observedAt" => i.observed_at.map(Item::Time),
                "createdAt" => i.created_at.map(Item::Time),
                "modifiedAt" => i.modified_at.map(Item::Time),
                "unitCode" => i.unit_code.as_deref().map(Item::Str),
                _ => i.dataset_id.as_deref().map(Item::Str),
            };
            match self.member.as_deref() {
                Some(m) => out.extend(member(m).map(|x| vec![x])),
                None if self.keys.is_empty() => {
                    out.push(content_items(&i.content, i.kind == AttrKind::LanguageProperty))
                }
                None => descend(&i.content, &self.keys, &mut out),
            }
        }
        out
    }
}

impl Test {
    fn holds(&self, items: &[Item]) -> bool {
        let hit = |ranges: &[Interval]| items.iter().any(|i| ranges.iter().any(|r| i.within(r)));
        let mut texts = items.iter().filter_map(Item::text);
        match self {
            Test::Exists => true,
            Test::Absent => false,
            Test::In(ranges) => hit(ranges),
            // Values of another kind than the literals' are not unequal to them: they don't compare.
            Test::NotIn(ranges) => {
                let comparable = |i: &Item| {
                    ranges.iter().any(|(lo, _)| matches!(lo, Bound::Included(s) if s.rank() == i.rank()))
                };
                items.iter().any(comparable) && !hit(ranges)
            }
            Test::Like(re) => texts.any(|t| re.is_match(&t)),
            Test::NotLike(re) => items.iter().any(|i| i.text().is_some()) && !texts.any(|t| re.is_match(&t)),
        }
    }
}

impl Expr {
    fn matches(&self, entity: &Entity) -> bool {
        match self {
            Expr::Term(path, Test::Absent) => path.leaves(entity).is_empty(),
            Expr::Term(path, test) => path.leaves(entity).iter().any(|items| test.holds(items)),
            Expr::And(items) => items.iter().all(|e| e.matches(entity)),
            Expr::Or(items) => items.iter().any(|e| e.matches(entity)),
        }
    }

    fn map_paths(&self, f: &dyn Fn(&Path) -> Path) -> Expr {
        match self {
            Expr::Term(path, test) => Expr::Term(f(path), test.clone()),
            Expr::And(items) => Expr::And(items.iter().map(|e| e.map_paths(f)).collect()),
            Expr::Or(items) => Expr::Or(items.iter().map(|e| e.map_paths(f)).collect()),
        }
    }

    fn attrs(&self, out: &mut Vec<String>) {
        match self {
            Expr::Term(path, _) if !out.contains(&path.attr) => out.push(path.attr.clone()),
            Expr::Term(..) => {}
            Expr::And(items) | Expr::Or(items) => items.iter().for_each(|e| e.attrs(out)),
        }
    }

    fn hint(&self) -> Option<IndexHint> {
        match self {
            Expr::Term(p, Test::In(bounds))
                if p.subs.is_empty() && p.member.is_none() && p.keys.is_empty() =>
            {
                Some(IndexHint { attr: p.attr.clone(), bounds: bounds.clone() })
            }
            _ => None,
        }
    }
}

impl Query {
    pub fn parse(text: &str) -> Result<Query, QueryError> {
        let mut p = Parser { chars: text.chars().collect(), pos: 0, depth: 0 };
        p.ws();
        if p.peek().is_none() {
            return Err(p.fail(p.pos, "the query is empty"));
        }
        let expr = p.chain(false)?;
        match p.peek() {
            None => Ok(Query { expr }),
            Some(c) => Err(p.fail(p.pos, format!("unexpected '{c}'"))),
        }
    }

    /// Attribute and sub-attribute names mapped by `expand` (short names to the IRIs the store
    /// keys by); keys inside `[..]` and the members observedAt, unitCode, datasetId, createdAt
    /// and modifiedAt stay as written.
    pub fn expand(&self, expand: &dyn Fn(&str) -> String) -> Query {
        let f = |p: &Path| Path {
            attr: expand(&p.attr),
            subs: p.subs.iter().map(|s| expand(s)).collect(),
            ..p.clone()
        };
        Query { expr: self.expr.map_paths(&f) }
    }

    pub fn matches(&self, entity: &Entity) -> bool {
        self.expr.matches(entity)
    }

    /// Every top-level attribute the query names, once each, in order of first mention.
    pub fn attributes(&self) -> Vec<String> {
        let mut out = Vec::new();
        self.expr.attrs(&mut out);
        out
    }

    /// A term the value index can serve: the whole query, or a member of a top-level AND, of
    /// the form `attr OP literal` (==, >, >=, <, <=, range, list) on a top-level attribute.
    /// Within an AND, equality and lists go first as likely the more selective.
    pub fn index_hint(&self) -> Option<IndexHint> {
        let point =
            |(lo, hi): &Interval| matches!((lo, hi), (Bound::Included(a), Bound::Included(b)) if a == b);
        match &self.expr {
            Expr::And(items) => {
                items.iter().filter_map(Expr::hint).min_by_key(|h| !h.bounds.iter().all(point))
            }
            other => other.hint(),
        }
    }
}

struct Parser {
    chars: Vec<char>,
    pos: usize,
    depth: usize,
}

type Parsed<T> = Result<T, QueryError>;

fn is_name_char(c: char) -> bool {
    !c.is_whitespace() && !c.is_control() && !".[]=!<>~;|(),\"'".contains(c)
}

/// `true`, `false`, JSON-like numbers; everything else unquoted (dates included) is text.
fn literal(text: &str) -> Scalar {
    let body = text.strip_prefix('-').unwrap_or(text);
    // Rust would also read "inf" and "NaN" as numbers; q means text there.
    let numeric = body.starts_with(|c: char| c.is_ascii_digit())
        && body.chars().all(|c| c.is_ascii_digit() || ".eE+-".contains(c));
    match (text, text.parse::<f64>()) {
        ("true" | "false", _) => Scalar::Bool(text == "true"),
        (_, Ok(f)) if numeric && f.is_finite() => Scalar::Num(f + 0.0),
        _ => Scalar::Str(text.to_string()),
    }
}

/// `> v` and friends as an interval that stays inside the kind of `v`: every number lies
/// between Bool(true) and Str("").
fn order_interval(op: &str, v: Scalar) -> Interval {
    let (floor, ceiling) = match v {
        Scalar::Bool(_) => (Bound::Unbounded, Bound::Included(Scalar::Bool(true))),
        Scalar::Num(_) => (Bound::Excluded(Scalar::Bool(true)), Bound::Excluded(Scalar::Str(String::new()))),
        Scalar::Str(_) => (Bound::Included(Scalar::Str(String::new())), Bound::Unbounded),
    };
    match op {
        ">" => (Bound::Excluded(v), ceiling),
        ">=" => (Bound::Included(v), ceiling),
        "<" => (floor, Bound::Excluded(v)),
        _ => (floor, Bound::Included(v)),
    }
}

impl Parser {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn looking_at(&self, s: &str) -> bool {
        s.chars().enumerate().all(|(k, c)| self.chars.get(self.pos + k) == Some(&c))
    }

    fn eat(&mut self, s: &str) -> bool {
        let hit = self.looking_at(s);
        if hit {
            self.pos += s.chars().count();
        }
        hit
    }

    fn ws(&mut self) {
        while self.peek().is_some_and(char::is_whitespace) {
            self.pos += 1;
        }
    }

    fn fail(&self, position: usize, message: impl Into<String>) -> QueryError {
        QueryError { position, message: message.into() }
    }

    fn end_of_term(&self) -> bool {
        matches!(self.peek(), None | Some(';' | '|' | ')'))
    }

    fn text(&self, from: usize) -> String {
        self.chars.get(from..self.pos).unwrap_or_default().iter().collect()
    }

    /// The characters from here on that `keep` takes, and where they start.
    fn take(&mut self, keep: impl Fn(&Self, char) -> bool) -> (usize, String) {
        let start = self.pos;
        while self.peek().is_some_and(|c| keep(self, c)) {
            self.pos += 1;
        }
        (start, self.text(start))
    }

    /// An OR of ANDs (`and` false) or an AND of terms; nested ones of the same kind are flattened.
    fn chain(&mut self, and: bool) -> Parsed<Expr> {
        let mut items = Vec::new();
        loop {
            match if and { self.unary()? } else { self.chain(true)? } {
                Expr::And(inner) if and => items.extend(inner),
                Expr::Or(inner) if !and => items.extend(inner),
                e => items.push(e),
            }
            self.ws();
            if !self.eat(if and { ";" } else { "|" }) {
                break;
            }
        }
        match (items.pop(), items.is_empty(), and) {
            (Some(only), true, _) => Ok(only),
            (last, _, true) => Ok(Expr::And(items.into_iter().chain(last).collect())),
            (last, _, false) => Ok(Expr::Or(items.into_iter().chain(last).collect())),
        }
    }

    fn unary(&mut self) -> Parsed<Expr> {
        self.ws();
        let open = self.pos;
        if !self.eat("(") {
            return self.term();
        }
        if self.depth >= MAX_DEPTH {
            return Err(self.fail(open, format!("parentheses nest deeper than {MAX_DEPTH}")));
        }
        self.depth += 1;
        let inner = self.chain(false)?;
        self.depth -= 1;
        if !self.eat(")") {
            return Err(self.fail(self.pos, format!("expected ')' to close the '(' at position {open}")));
        }
        Ok(inner)
    }

    fn name(&mut self, what: &str) -> Parsed<String> {
        match self.take(|_, c| is_name_char(c)) {
            (start, name) if name.is_empty() => Err(self.fail(start, format!("expected {what}"))),
            (_, name) => Ok(name),
        }
    }

    fn path(&mut self) -> Parsed<Path> {
        let attr = self.name("an attribute name")?;
        let mut path = Path { attr, subs: Vec::new(), member: None, keys: Vec::new() };
        while let Some(c @ ('.' | '[')) = self.peek() {
            if let Some(m) = &path.member {
                return Err(self.fail(self.pos, format!("{m} has no members or sub-attributes")));
            }
            if c == '.' && !path.keys.is_empty() {
                return Err(self.fail(self.pos, "a sub-attribute cannot follow '[..]'"));
            }
            let open = self.pos;
            self.pos += 1;
            if c == '.' {
                let name = self.name("a sub-attribute name after '.'")?;
                match MEMBERS.contains(&name.as_str()) {
                    true => path.member = Some(name),
                    false => path.subs.push(name),
                }
                continue;
            }
            loop {
                match self.take(|_, c| !c.is_control() && !"[].\"".contains(c)) {
                    (start, key) if key.is_empty() => {
                        return Err(self.fail(start, "expected a key inside '[..]'"))
                    }
                    (_, key) => path.keys.push(key),
                }
                if self.eat("]") {
                    break;
                }
                if !self.eat(".") {
                    let message = format!("expected ']' to close the '[' at position {open}");
                    return Err(self.fail(self.pos, message));
                }
            }
        }
        Ok(path)
    }

    fn term(&mut self) -> Parsed<Expr> {
        let negated = self.eat("!");
        let path = self.path()?;
        self.ws();
        if self.end_of_term() {
            return Ok(Expr::Term(path, if negated { Test::Absent } else { Test::Exists }));
        }
        if negated {
            return Err(self.fail(self.pos, "'!attribute' tests absence and takes no comparison"));
        }
        let ops = ["==", "!~=", "!=", "~=", ">=", ">", "<=", "<"];
        let Some(op) = ops.into_iter().find(|op| self.eat(op)) else {
            let message = "expected an operator (==, !=, >, >=, <, <=, ~=, !~=) or the end of the term";
            return Err(self.fail(self.pos, message));
        };
        self.ws();
        let at = self.pos;
        let test = match op {
            "~=" => Test::Like(self.pattern()?),
            "!~=" => Test::NotLike(self.pattern()?),
            _ => {
                let (values, range) = self.operand()?;
                let point = |v: Scalar| (Bound::Included(v.clone()), Bound::Included(v));
                let ranges = match (op, values.as_slice(), range) {
                    ("==" | "!=", [a, b], true) => {
                        vec![(Bound::Included(a.clone()), Bound::Included(b.clone()))]
                    }
                    ("==" | "!=", _, false) => values.into_iter().map(point).collect(),
                    (_, [v], false) => vec![order_interval(op, v.clone())],
                    _ => return Err(self.fail(at, "a range or a list only goes with == or !=")),
                };
                if op == "!=" {
                    Test::NotIn(ranges)
                } else {
                    Test::In(ranges)
                }
            }
        };
        self.ws();
        if !self.end_of_term() {
            return Err(self.fail(self.pos, "expected ';', '|', ')' or the end after the value"));
        }
        Ok(Expr::Term(path, test))
    }

    fn quoted(&mut self) -> Parsed<String> {
        let open = self.pos;
        self.pos += 1;
        let mut s = String::new();
        loop {
            match self.peek() {
                None => return Err(self.fail(open, "the string that starts here has no closing '\"'")),
                Some('"') => break,
                Some('\\') if matches!(self.chars.get(self.pos + 1), Some('"' | '\\')) => self.pos += 1,
                _ => {}
            }
            s.extend(self.peek());
            self.pos += 1;
        }
        self.pos += 1;
        Ok(s)
    }

    fn atom(&mut self) -> Parsed<Scalar> {
        self.ws();
        if self.peek() == Some('"') {
            return self.quoted().map(Scalar::Str);
        }
        let (start, text) = self.take(|p, c| !";|)(,\"[]=<>".contains(c) && !p.looking_at(".."));
        match text.trim_end() {
            "" => Err(self.fail(start, "expected a value")),
            t => Ok(literal(t)),
        }
    }

    /// One value, a list `a,b,c`, or a range `a..b` (then `true` and two values).
    fn operand(&mut self) -> Parsed<(Vec<Scalar>, bool)> {
        let start = self.pos;
        let mut values = vec![self.atom()?];
        self.ws();
        if self.eat("..") {
            let last = self.atom()?;
            if values.iter().any(|first| first.rank() != last.rank()) {
                return Err(self.fail(start, "both ends of a range must be of one kind (numbers, or text)"));
            }
            values.push(last);
            return Ok((values, true));
        }
        while self.eat(",") {
            values.push(self.atom()?);
            self.ws();
        }
        Ok((values, false))
    }

    /// A regex, quoted or unquoted; an unquoted one ends at a `;`, `|` or `)` outside its own
    /// parentheses (`\` escapes the next character).
    fn pattern(&mut self) -> Parsed<Regex> {
        let start = self.pos;
        let source = if self.peek() == Some('"') {
            self.quoted()?
        } else {
            let mut depth = 0usize;
            while let Some(c) = self.peek() {
                match c {
                    ';' | '|' | ')' if depth == 0 => break,
                    '(' => depth += 1,
                    ')' => depth -= 1,
                    '\\' => self.pos += 1,
                    _ => {}
                }
                self.pos = (self.pos + 1).min(self.chars.len());
            }
            self.text(start).trim_end().to_string()
        };
        if source.is_empty() {
            return Err(self.fail(start, "expected a regular expression"));
        }
        // The regex crate caps compiled size and matches in linear time, so a hostile pattern is
        // refused or harmless.
        Regex::new(&source).map_err(|e| {
            let text = e.to_string();
            let why = text.lines().last().unwrap_or_default().trim().trim_start_matches("error: ");
            self.fail(start, format!("invalid regular expression: {why}"))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hub::entity::parse_entity;
    use serde_json::json;

    fn station() -> Entity {
        parse_entity(&json!({
            "id": "urn:ngsi-ld:WeatherObserved:tam-duong", "type": "WeatherObserved",
            "temperature": {"type": "Property", "value": 18.2, "unitCode": "CEL",
                            "observedAt": "2026-11-23T02:00:00Z", "accuracy": {"type": "Property", "value": 0.5}},
            "precipitation": [
                {"type": "Property", "value": 12.5, "datasetId": "urn:ngsi-ld:Dataset:rain-gauge"},
                {"type": "Property", "value": 11.0}
            ],
            "pressure": -3, "status": "ok", "online": true, "tags": ["mountain", "border"],
            "dateObserved": "2026-11-23T02:00:00Z",
            "typed": {"type": "Property", "value": {"@type": "DateTime", "@value": "2026-11-20T00:00:00Z"}},
            "refDevice": {"type": "Relationship", "object": "urn:ngsi-ld:Device:tram-01"},
            "refPeers": {"type": "Relationship", "object": ["urn:ngsi-ld:X:1", "urn:ngsi-ld:X:2"]},
            "name": {"type": "LanguageProperty", "languageMap": {"vi": "Trạm Tam Đường", "en": "Tam Duong station"}},
            "address": {"type": "Property", "value": {"addressLocality": "Tam Đường",
                        "geo": {"district": "Lai Châu"}, "codes": [{"k": 1}, {"k": 2}]}},
            "location": {"type": "GeoProperty", "value": {"type": "Point", "coordinates": [103.47, 22.41]}}
        }))
        .unwrap()
    }

    /// `queries` are separated by two spaces or line breaks; each must match the station, or not.
    fn check(want: bool, queries: &str) {
        let e = station();
        for q in queries.split("  ").map(str::trim).filter(|q| !q.is_empty()) {
            let parsed = Query::parse(q).unwrap_or_else(|err| panic!("{q}: {err}"));
            assert_eq!(parsed.matches(&e), want, "{q}");
        }
    }

    #[test]
    fn comparison_operators() {
        check(
            true,
            r#"temperature==18.2  temperature!=18  temperature>18  temperature>=18.2  temperature<19
            temperature<=18.2  pressure==-3  pressure<-2.5  pressure>=-3e0  status=="ok"  status==ok
            status>"a"  online==true  online!=false  dateObserved>=2026-11-23T00:00:00Z  typed<2026-11-21"#,
        );
        check(
            false,
            r#"temperature==18  temperature!=18.2  temperature>18.2  temperature<18.2  status<"a"
            online==false  dateObserved<2026-11-23"#,
        );
    }

    #[test]
    fn values_of_different_kinds_never_compare() {
        check(
            false,
            r#"temperature=="18.2"  temperature>"a"  temperature<"a"  status>5  status<5  status!=5
            online>0  temperature~=18  temperature!~=x  location==1  address=="Tam Đường""#,
        );
    }

    #[test]
    fn regex_match_and_non_match() {
        check(
            true,
            r#"status~="^o"  status!~="^x"  name~="^Trạm"  name~=(?i)tam duong  tags~="^bor"
            refDevice~="Device:tram-\d+$"  status~=^(o|x)k$;online  (status~=(a|b)|online)"#,
        );
        check(false, r#"status~=^x  status!~="k$""#);
        let e = Query::parse(r#"a~="(""#).map(|_| ()).unwrap_err();
        assert!(e.to_string().starts_with("at position 3: invalid regular expression"), "{e}");
    }

    #[test]
    fn ranges_and_lists() {
        check(
            true,
            r#"temperature==18..19  temperature==18.2..18.2  temperature!=19..20  status=="a".."p"
            dateObserved==2026-11-01..2026-11-30  status==broken,ok  status!=broken,off
            temperature==1,18.2,"x""#,
        );
        check(
            false,
            r#"temperature==19..20  temperature!=18..19  dateObserved==2026-12-01..2026-12-31
            status=="broken", "off"  status!=broken,ok"#,
        );
    }

    #[test]
    fn and_binds_tighter_than_or_and_parentheses_group() {
        check(
            true,
            "status==ok;temperature>20|online==true  status==bad;temperature>0|online==true
            online==false|status==ok;temperature<20   ( (status==ok) ; online ) ",
        );
        check(
            false,
            "status==ok;(temperature>20|online==false)  status==bad;(temperature>0|online==true)
            (online==false|status==ok);temperature>20",
        );
    }

    #[test]
    fn existence_absence_sub_attributes_and_members() {
        check(
            true,
            r#"temperature  !humidity  temperature.accuracy  temperature.unitCode  !status.observedAt
            address[geo.district]  temperature.observedAt>=2026-11-23T01:00:00Z
            temperature.observedAt==2026-11-23T02:00:00Z  temperature.observedAt==2026-11-23T09:00:00+07:00
            temperature.observedAt>=2026-11-23  temperature.observedAt==2026-11-22..2026-11-24
            temperature.unitCode=="CEL"  temperature.accuracy<1
            precipitation.datasetId=="urn:ngsi-ld:Dataset:rain-gauge""#,
        );
        check(false, "humidity  !temperature  !temperature.accuracy  status.unitCode  address[geo.city]
            temperature.observedAt>2026-11-23T09:00:00+07:00  temperature.unitCode==FAH  temperature.accuracy>1");
    }

    #[test]
    fn compound_paths() {
        check(
            true,
            r#"address[addressLocality]=="Tam Đường"  address[geo.district]~=Châu$
            address[geo][district]=="Lai Châu"  address[codes.k]==2  name[en]=="Tam Duong station"
            location[type]==Point"#,
        );
        check(false, r#"address[addressLocality]=="Sìn Hồ"  address[codes.k]>2"#);
    }

    #[test]
    fn relationships_languages_lists_and_instances() {
        // precipitation has 12.5 (dataset rain-gauge) and 11.0 (default): any instance will do.
        check(
            true,
            r#"refDevice=="urn:ngsi-ld:Device:tram-01"  refPeers=="urn:ngsi-ld:X:2"
            name=="Trạm Tam Đường"  name=="Tam Duong station"  tags==border  tags!=plain  precipitation>12
            precipitation<11.5  precipitation==11  precipitation!=11"#,
        );
        check(
            false,
            r#"refDevice==urn:ngsi-ld:Device:tram-02  refPeers!="urn:ngsi-ld:X:2"  tags!=border
            precipitation!=11,12.5  precipitation>13"#,
        );
    }

    #[test]
    fn literals() {
        check(false, r#"status=="o\"k"  tags=="inf""#);
        let e =
            parse_entity(&json!({"id": "urn:x:1", "type": "T", "quote": "say \"hi\"", "z": 0, "w": "inf"}));
        for q in [r#"quote=="say \"hi\"""#, "z==-0", "z==0.0", "w==inf", r#"w>="i""#] {
            assert!(Query::parse(q).unwrap().matches(e.as_ref().unwrap()), "{q}");
        }
    }

    #[test]
    fn expand_maps_attribute_names_only() {
        let prefix = |n: &str| format!("https://x/{n}");
        let q = "temperature.accuracy<1;temperature.observedAt>2026-01-01;address[geo.district];!humidity";
        let q = Query::parse(q).unwrap().expand(&prefix);
        assert_eq!(q.attributes(), ["https://x/temperature", "https://x/address", "https://x/humidity"]);
        assert!(q.matches(&station().map_names(&prefix)));
        assert!(!q.matches(&station()), "short names no longer match");
        assert_eq!(Query::parse("status==ok|(status==off;x)").unwrap().attributes(), ["status", "x"]);
    }

    #[test]
    fn index_hints() {
        let hint = |q: &str| Query::parse(q).unwrap().index_hint();
        let point =
            |s: &str| (Bound::Included(Scalar::Str(s.into())), Bound::Included(Scalar::Str(s.into())));
        assert_eq!(hint("status==ok"), Some(IndexHint { attr: "status".into(), bounds: vec![point("ok")] }));
        assert_eq!(hint("status==a,b").unwrap().bounds, [point("a"), point("b")]);
        assert_eq!(hint("temperature>18;status~=o").unwrap().attr, "temperature");
        assert_eq!(hint("temperature>18;status==ok").unwrap().attr, "status", "equality first");
        let range = (Bound::Included(Scalar::Num(1.0)), Bound::Included(Scalar::Num(5.0)));
        assert_eq!(hint("(temperature==1..5)").unwrap().bounds, [range]);
        for none in ["a==1|b==2", "a!=1", "a~=x", "a", "!a", "a.observedAt>2026-01-01", "a.b==1", "a[b]==1"] {
            assert_eq!(hint(none), None, "{none}");
        }
        assert_eq!(hint("(a==1|b==1);c!=2"), None);
    }

    #[test]
    fn hints_cover_every_match_and_stay_in_kind() {
        let e = station();
        let strangers =
            [Scalar::Bool(true), Scalar::Num(1e300), Scalar::Num(-1e300), Scalar::Str("zz".into())];
        // `query@kind of its literal` (0 booleans, 1 numbers, 2 text).
        let cases = r#"temperature>18@1  temperature<=18.2@1  pressure<0@1  status>="o"@2  status<"p"@2
            online>false@0  online<=true@0  tags==border@2  refPeers=="urn:ngsi-ld:X:1"@2
            name=="Trạm Tam Đường"@2  precipitation==10..12@1  typed>2026-11-01@2"#;
        for (q, kind) in cases.split("  ").filter_map(|c| c.trim().rsplit_once('@')) {
            let parsed = Query::parse(q).unwrap();
            let h = parsed.index_hint().unwrap();
            let takes = |s: &Scalar| h.bounds.iter().any(|b| std::ops::RangeBounds::contains(b, s));
            assert!(parsed.matches(&e), "{q}");
            assert!(e.attrs[&h.attr].iter().flat_map(index_scalars).any(|s| takes(&s)), "{q}");
            for s in strangers.iter().filter(|s| s.rank().to_string() != kind) {
                assert!(!takes(s), "{q} takes {s:?}");
            }
        }
    }

    #[test]
    fn scalars_are_totally_ordered() {
        let (f, t) = (Scalar::Bool(false), Scalar::Bool(true));
        let (n, m) = (Scalar::Num(-1.0), Scalar::Num(2.0));
        let (a, b) = (Scalar::Str("a".into()), Scalar::Str("b".into()));
        let mut v = vec![b.clone(), m.clone(), t.clone(), a.clone(), n.clone(), f.clone()];
        v.sort();
        assert_eq!(v, [f, t, n, m, a, b]);
        assert_eq!(Scalar::Num(-0.0), Scalar::Num(0.0));
        assert_eq!(Scalar::from_value(&json!(3)), Some(Scalar::Num(3.0)));
        assert_eq!(Scalar::from_value(&json!("x")), Some(Scalar::Str("x".into())));
        assert_eq!(Scalar::from_value(&json!(false)), Some(Scalar::Bool(false)));
        assert_eq!(Scalar::from_value(&json!([1])), None);
        assert_eq!(Scalar::from_value(&json!(null)), None);
    }

    #[test]
    fn errors_name_the_position() {
        // Each case is `query@position`, separated by two spaces.
        let cases = r#"@0  temperature>@12  (a==1@5  a==1)@4  a===1@3  ;a==1@0  a..@2  a==1..@6  a==1;@5
            a||b@2  a b@2  !a==1@2  a>1,2@2  a<1..2@2  a==1.."x"@3  a=="open@3  a[b@3  a[]==1@2  a~=@3
            a.observedAt.x@12  a[b].c@4  nhiệt_độ=>1@8  a=="1" b@7"#;
        for (q, at) in cases.split("  ").filter_map(|c| c.trim().rsplit_once('@')) {
            let e = Query::parse(q).map(|_| ()).expect_err(q);
            assert_eq!(e.position.to_string(), at, "{q}: {e}");
        }
        assert_eq!(Query::parse("   ").map(|_| ()).unwrap_err().position, 3);
        assert!(Query::parse(&format!("{}a{}", "(".repeat(500), ")".repeat(500))).is_err());
        assert!(Query::parse(&format!("{}a{}", "(".repeat(40), ")".repeat(40))).is_ok());
    }

    #[test]
    fn malformed_input_never_panics() {
        let e = station();
        let seeds = [
            "temperature>  (a==1  a==1)  a===1  ;a==1  a..  a==1..  a~=\"(\"  !  !!a  a[b.]==1  a.[b]  ((((  ))))",
            "nhiệt độ==\"Hà Nội\"  🌡️>=30;(trạm[tỉnh.huyện]==\"Lai Châu\"|!x)  a==\"\\  a~=(x|\\",
            "address[geo.district]~=\"^L\\\"\";temperature.observedAt==2026-11-23T02:00:00Z..2026-11-24",
            "a!~=b|c!=1,2,\"3\"  a==..  a==,  a>=-  a==-  a==1e999  a==true..false",
        ];
        for seed in seeds.iter().flat_map(|s| s.split("  ")) {
            let chars: Vec<char> = seed.chars().collect();
            for i in 0..=chars.len() {
                for j in i..=chars.len() {
                    let text: String = chars[i..j].iter().collect();
                    match Query::parse(&text) {
                        Ok(q) => {
                            q.matches(&e);
                            q.index_hint();
                            q.expand(&|n| n.to_uppercase()).matches(&e);
                        }
                        Err(err) => assert!(err.position <= chars.len(), "{text}: {err}"),
                    }
                }
            }
        }
    }
}
