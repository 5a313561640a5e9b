//! Formulas of derived indicators: a small expression language over other indicators' codes,
//! e.g. `revenue / revenue_plan * 100`, `(a + b) / 2`, `max(x, 0)`, `round(kt.grdp_growth, 1)`.
//!
//! ```text
//! expr     := term (('+' | '-') term)*
//! term     := unary (('*' | '/') unary)*
//! unary    := '-'* primary
//! primary  := number | code | function '(' expr (',' expr)* ')' | '(' expr ')'
//! number   := digits ['.' digits] [('e' | 'E') ['+' | '-'] digits]
//! code     := [A-Za-z_][A-Za-z0-9_.]*
//! function := min | max | abs | round
//! ```
//!
//! Whitespace is ignored. Formulas are typed by users, so the language is closed (no assignment,
//! strings or loops) and capped at 500 characters and 32 nested parentheses: parsing and
//! evaluating cost at most a little per character. A figure that cannot be computed (a missing
//! input, a division by zero, an overflow) is "no data", never inf or NaN.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

/// The longest formula accepted, in characters.
pub const MAX_CHARS: usize = 500;
/// The deepest nesting of parentheses (groups and function calls) accepted.
pub const MAX_DEPTH: usize = 32;
/// `round` keeps from 0 to this many decimal digits.
pub const MAX_ROUND_DIGITS: f64 = 6.0;

/// A parsed formula with the text it was parsed from.
#[derive(Debug, Clone, PartialEq)]
pub struct Formula {
    source: String,
    expr: Expr,
}

/// Why a formula was refused: `code` is stable (translations key on it), `position` the 1-based
/// character column the problem is at, `message` an English explanation.
#[derive(Debug, Clone, PartialEq)]
pub struct FormulaError {
    pub code: &'static str,
    pub position: usize,
    pub message: String,
}

impl fmt::Display for FormulaError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "position {}: {}", self.position, self.message)
    }
}

impl std::error::Error for FormulaError {}

fn error(code: &'static str, position: usize, message: impl Into<String>) -> FormulaError {
    FormulaError { code, position, message: message.into() }
}

impl Formula {
    pub fn parse(text: &str) -> Result<Formula, FormulaError> {
        // Counted before anything is allocated, so a huge text costs one pass.
        let length = text.chars().count();
        if length > MAX_CHARS {
            let message = format!("the formula has {length} characters; at most {MAX_CHARS} are allowed");
            return Err(error("formula_too_long", MAX_CHARS + 1, message));
        }
        if text.trim().is_empty() {
            let message = "the formula is empty: expected an expression such as revenue / revenue_plan * 100";
            return Err(error("formula_empty", 1, message));
        }
        let chars: Vec<char> = text.chars().collect();
        let mut parser = Parser::new(lex(&chars)?, chars.len() + 1);
        let expr = parser.expr()?;
        let rest = parser.peek();
        let message = match rest.tok {
            Tok::End => return Ok(Formula { source: text.to_string(), expr }),
            Tok::RParen => "found ')' with no matching '('".to_string(),
            _ => format!("expected an operator or the end of the formula, found {}", rest.tok),
        };
        Err(error("unexpected_token", rest.pos, message))
    }

    pub fn source(&self) -> &str {
        &self.source
    }

    /// Indicator codes the formula reads, sorted, deduplicated.
    pub fn references(&self) -> Vec<String> {
        let mut codes = BTreeSet::new();
        self.expr.collect_codes(&mut codes);
        codes.into_iter().map(str::to_string).collect()
    }

    /// Evaluates with `lookup` giving each code's value; None when any referenced value is missing
    /// (or not finite), on division by zero, or when a result is not finite: a derived figure is
    /// then "no data", never inf or NaN.
    pub fn eval(&self, lookup: &mut dyn FnMut(&str) -> Option<f64>) -> Option<f64> {
        self.expr.eval(lookup)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Func {
    Min,
    Max,
    Abs,
    Round,
}

impl Func {
    fn from_name(name: &str) -> Option<Func> {
        match name {
            "min" => Some(Func::Min),
            "max" => Some(Func::Max),
            "abs" => Some(Func::Abs),
            "round" => Some(Func::Round),
            _ => None,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Func::Min => "min",
            Func::Max => "max",
            Func::Abs => "abs",
            Func::Round => "round",
        }
    }

    /// Why `count` arguments are wrong for this function, or None when they are right.
    fn arity_problem(self, count: usize) -> Option<String> {
        let name = self.name();
        match self {
            Func::Min | Func::Max if count == 0 => {
                Some(format!("{name} takes at least 1 argument, found none"))
            }
            Func::Abs if count != 1 => Some(format!("abs takes 1 argument, found {count}")),
            Func::Round if count != 2 => Some(format!(
                "round takes 2 arguments, the value and the number of digits (0 to 6), found {count}"
            )),
            _ => None,
        }
    }

    /// Arity was checked when parsing, so a missing argument cannot happen; it would give None.
    fn apply(self, args: &[Expr], lookup: &mut dyn FnMut(&str) -> Option<f64>) -> Option<f64> {
        let mut values = args.iter().map(|arg| arg.eval(lookup));
        match self {
            Func::Min => values.try_fold(f64::INFINITY, |acc, v| Some(acc.min(v?))),
            Func::Max => values.try_fold(f64::NEG_INFINITY, |acc, v| Some(acc.max(v?))),
            Func::Abs => Some(values.next()??.abs()),
            Func::Round => {
                let x = values.next()??;
                round_to(x, values.next()??)
            }
        }
    }
}

fn valid_round_digits(digits: f64) -> bool {
    digits.fract() == 0.0 && (0.0..=MAX_ROUND_DIGITS).contains(&digits)
}

/// Rounds half away from zero at `digits` decimals; None when `digits` is not a whole number
/// from 0 to 6 (a computed digit count is only known at evaluation).
fn round_to(x: f64, digits: f64) -> Option<f64> {
    if !valid_round_digits(digits) {
        return None;
    }
    let scale = 10f64.powf(digits);
    let scaled = x * scale;
    // A number too large to scale has no fractional digits left to round.
    if !scaled.is_finite() {
        return Some(x);
    }
    Some(scaled.round() / scale)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Add,
    Sub,
    Mul,
    Div,
}

#[derive(Debug, Clone, PartialEq)]
enum Expr {
    Num(f64),
    Code(String),
    Neg(Box<Expr>),
    Bin(Op, Box<Expr>, Box<Expr>),
    Call(Func, Vec<Expr>),
}

impl Expr {
    fn eval(&self, lookup: &mut dyn FnMut(&str) -> Option<f64>) -> Option<f64> {
        let value = match self {
            Expr::Num(n) => *n,
            Expr::Code(code) => lookup(code)?,
            Expr::Neg(e) => -e.eval(lookup)?,
            Expr::Bin(op, left, right) => {
                let (a, b) = (left.eval(lookup)?, right.eval(lookup)?);
                match op {
                    Op::Add => a + b,
                    Op::Sub => a - b,
                    Op::Mul => a * b,
                    Op::Div if b == 0.0 => return None,
                    Op::Div => a / b,
                }
            }
            Expr::Call(func, args) => func.apply(args, lookup)?,
        };
        // Checked at every step, so a non-finite input or an overflow never reaches a later step.
        value.is_finite().then_some(value)
    }

    fn collect_codes<'a>(&'a self, codes: &mut BTreeSet<&'a str>) {
        match self {
            Expr::Num(_) => {}
            Expr::Code(code) => {
                codes.insert(code);
            }
            Expr::Neg(e) => e.collect_codes(codes),
            Expr::Bin(_, left, right) => {
                left.collect_codes(codes);
                right.collect_codes(codes);
            }
            Expr::Call(_, args) => args.iter().for_each(|arg| arg.collect_codes(codes)),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Num(f64),
    Ident(String),
    Plus,
    Minus,
    Star,
    Slash,
    LParen,
    RParen,
    Comma,
    End,
}

/// How a token is named in messages ("found '*'").
impl fmt::Display for Tok {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Tok::Num(n) => write!(f, "the number {n}"),
            Tok::Ident(name) => write!(f, "'{name}'"),
            Tok::Plus => f.write_str("'+'"),
            Tok::Minus => f.write_str("'-'"),
            Tok::Star => f.write_str("'*'"),
            Tok::Slash => f.write_str("'/'"),
            Tok::LParen => f.write_str("'('"),
            Tok::RParen => f.write_str("')'"),
            Tok::Comma => f.write_str("','"),
            Tok::End => f.write_str("the end of the formula"),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
struct Token {
    tok: Tok,
    /// 1-based character column of its first character.
    pos: usize,
}

fn is_code_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_'
}

fn is_code_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '.'
}

/// Splits the text into tokens, ending with `Tok::End` one column past the last character.
fn lex(chars: &[char]) -> Result<Vec<Token>, FormulaError> {
    let mut tokens = Vec::new();
    let mut i = 0;
    while let Some(&c) = chars.get(i) {
        let pos = i + 1;
        let single = match c {
            '+' => Some(Tok::Plus),
            '-' => Some(Tok::Minus),
            '*' => Some(Tok::Star),
            '/' => Some(Tok::Slash),
            '(' => Some(Tok::LParen),
            ')' => Some(Tok::RParen),
            ',' => Some(Tok::Comma),
            _ => None,
        };
        if let Some(tok) = single {
            tokens.push(Token { tok, pos });
            i += 1;
        } else if c.is_whitespace() {
            i += 1;
        } else if c.is_ascii_digit() || (c == '.' && chars.get(i + 1).is_some_and(char::is_ascii_digit)) {
            let end = number_end(chars, i);
            let word: String = chars[i..end].iter().collect();
            match word.parse::<f64>() {
                Ok(n) if n.is_finite() => tokens.push(Token { tok: Tok::Num(n), pos }),
                Ok(_) => return Err(error("bad_number", pos, format!("the number '{word}' is too large"))),
                Err(_) => return Err(error("bad_number", pos, format!("'{word}' is not a number"))),
            }
            i = end;
        } else if is_code_start(c) {
            // A non-ASCII letter right after ("doanh_thu_năm") ends the code here and is then
            // reported as an unexpected character at its own column.
            let end = i + chars[i..].iter().take_while(|c| is_code_char(**c)).count();
            tokens.push(Token { tok: Tok::Ident(chars[i..end].iter().collect()), pos });
            i = end;
        } else {
            let expected = if c.is_alphabetic() {
                "indicator codes use only the letters A-Z and a-z, digits, '_' and '.'"
            } else {
                "expected a number, an indicator code, an operator, a parenthesis or a comma"
            };
            let message = format!("unexpected character '{c}': {expected}");
            return Err(error("unexpected_character", pos, message));
        }
    }
    tokens.push(Token { tok: Tok::End, pos: chars.len() + 1 });
    Ok(tokens)
}

/// Where the number starting at `start` ends. The whole run of letters, digits, '_' and '.' is
/// taken (and a sign right after an exponent's 'e'), so that "1.2.3" or "2x" is reported as one
/// bad number rather than as a number followed by something puzzling.
fn number_end(chars: &[char], start: usize) -> usize {
    let mut i = start;
    while let Some(&c) = chars.get(i) {
        let exponent_sign =
            matches!(c, '+' | '-') && i > start && matches!(chars.get(i - 1), Some('e' | 'E'));
        if !is_code_char(c) && !exponent_sign {
            break;
        }
        i += 1;
    }
    i
}

/// A recursive-descent parser; recursion is bounded by `MAX_DEPTH` nested parentheses, and
/// chains of operators and minus signs are built in loops.
struct Parser {
    tokens: Vec<Token>,
    next: usize,
    depth: usize,
    /// Returned once the tokens are used up, so peeking never fails.
    end: Token,
}

const OPERAND: &str = "a number, an indicator code, '(' or '-'";

impl Parser {
    fn new(tokens: Vec<Token>, end_pos: usize) -> Parser {
        Parser { tokens, next: 0, depth: 0, end: Token { tok: Tok::End, pos: end_pos } }
    }

    fn peek(&self) -> &Token {
        self.tokens.get(self.next).unwrap_or(&self.end)
    }

    fn advance(&mut self) -> Token {
        let token = self.peek().clone();
        self.next += 1;
        token
    }

    fn expr(&mut self) -> Result<Expr, FormulaError> {
        let mut left = self.term()?;
        loop {
            let op = match self.peek().tok {
                Tok::Plus => Op::Add,
                Tok::Minus => Op::Sub,
                _ => return Ok(left),
            };
            self.advance();
            left = Expr::Bin(op, Box::new(left), Box::new(self.term()?));
        }
    }

    fn term(&mut self) -> Result<Expr, FormulaError> {
        let mut left = self.unary()?;
        loop {
            let op = match self.peek().tok {
                Tok::Star => Op::Mul,
                Tok::Slash => Op::Div,
                _ => return Ok(left),
            };
            self.advance();
            left = Expr::Bin(op, Box::new(left), Box::new(self.unary()?));
        }
    }

    fn unary(&mut self) -> Result<Expr, FormulaError> {
        // Two minus signs cancel, so a run of them is one negation or none.
        let mut negate = false;
        while self.peek().tok == Tok::Minus {
            self.advance();
            negate = !negate;
        }
        let operand = self.primary()?;
        Ok(if negate { Expr::Neg(Box::new(operand)) } else { operand })
    }

    fn primary(&mut self) -> Result<Expr, FormulaError> {
        let token = self.advance();
        match token.tok {
            Tok::Num(n) => Ok(Expr::Num(n)),
            Tok::Ident(name) if self.peek().tok == Tok::LParen => self.call(&name, token.pos),
            Tok::Ident(name) => Ok(Expr::Code(name)),
            Tok::LParen => {
                self.enter(token.pos)?;
                let inner = self.expr()?;
                let closing = self.advance();
                match closing.tok {
                    Tok::RParen => {}
                    Tok::End => {
                        let message = "this '(' is never closed: expected ')' before the end of the formula";
                        return Err(error("unclosed_parenthesis", token.pos, message));
                    }
                    other => {
                        let message = format!("expected ')' or an operator, found {other}");
                        return Err(error("unexpected_token", closing.pos, message));
                    }
                }
                self.depth -= 1;
                Ok(inner)
            }
            Tok::End => Err(error(
                "unexpected_end",
                token.pos,
                format!("expected {OPERAND}, found the end of the formula"),
            )),
            other => Err(error("unexpected_token", token.pos, format!("expected {OPERAND}, found {other}"))),
        }
    }

    /// A call of `name` at `pos`, the '(' being next.
    fn call(&mut self, name: &str, pos: usize) -> Result<Expr, FormulaError> {
        let Some(func) = Func::from_name(name) else {
            let message = format!("unknown function '{name}': use min, max, abs or round");
            return Err(error("unknown_function", pos, message));
        };
        let open = self.advance();
        self.enter(open.pos)?;
        let mut args = Vec::new();
        let mut arg_positions = Vec::new();
        if self.peek().tok != Tok::RParen {
            loop {
                arg_positions.push(self.peek().pos);
                args.push(self.expr()?);
                if self.peek().tok != Tok::Comma {
                    break;
                }
                self.advance();
            }
        }
        let closing = self.advance();
        match closing.tok {
            Tok::RParen => {}
            Tok::End => {
                let message =
                    format!("expected ')' after the arguments of {name}, found the end of the formula");
                return Err(error("unclosed_parenthesis", open.pos, message));
            }
            other => {
                let message = format!("expected ',' or ')' after the arguments of {name}, found {other}");
                return Err(error("unexpected_token", closing.pos, message));
            }
        }
        self.depth -= 1;
        if let Some(message) = func.arity_problem(args.len()) {
            return Err(error("wrong_argument_count", pos, message));
        }
        if let (Func::Round, Some(digits), Some(&digits_pos)) = (func, args.get(1), arg_positions.get(1)) {
            check_constant_digits(digits, digits_pos)?;
        }
        Ok(Expr::Call(func, args))
    }

    fn enter(&mut self, pos: usize) -> Result<(), FormulaError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            let message = format!("more than {MAX_DEPTH} nested parentheses");
            return Err(error("formula_too_deep", pos, message));
        }
        Ok(())
    }
}

/// A digit count that reads no indicator is known now: a wrong one is refused at once rather
/// than making every evaluation "no data".
fn check_constant_digits(digits: &Expr, pos: usize) -> Result<(), FormulaError> {
    let mut codes = BTreeSet::new();
    digits.collect_codes(&mut codes);
    if !codes.is_empty() {
        return Ok(());
    }
    let found = match digits.eval(&mut |_| None) {
        Some(d) if valid_round_digits(d) => return Ok(()),
        Some(d) => format!("{d}"),
        None => "no number".to_string(),
    };
    let message = format!("the digits of round must be a whole number from 0 to 6, found {found}");
    Err(error("bad_number", pos, message))
}

/// Finds a cycle among derived indicators: `formulas` maps a code to the codes its formula reads.
/// Returns the first cycle found as the path of codes, e.g. ["a", "b", "c", "a"], or None.
/// Deterministic: codes and their dependencies are visited in sorted order.
pub fn find_cycle(formulas: &BTreeMap<String, Vec<String>>) -> Option<Vec<String>> {
    evaluation_order(formulas).err()
}

/// Orders derived codes so every formula comes after the derived codes it reads (codes not in
/// the map are inputs). Err(cycle) as [`find_cycle`].
pub fn evaluation_order(formulas: &BTreeMap<String, Vec<String>>) -> Result<Vec<String>, Vec<String>> {
    #[derive(Clone, Copy, PartialEq, Eq)]
    enum State {
        OnPath,
        Done,
    }
    let mut state: BTreeMap<&str, State> = BTreeMap::new();
    let mut order = Vec::with_capacity(formulas.len());
    for root in formulas.keys() {
        if state.contains_key(root.as_str()) {
            continue;
        }
        // A depth-first walk with an explicit stack, so a long chain of formulas cannot overflow
        // the call stack: each code on the path with its dependencies still to visit.
        state.insert(root, State::OnPath);
        let mut path: Vec<(&str, Vec<&str>)> = vec![(root, derived_dependencies(formulas, root))];
        while let Some((code, pending)) = path.last_mut() {
            let code = *code;
            let Some(dep) = pending.pop() else {
                // Everything it reads is ordered already.
                state.insert(code, State::Done);
                order.push(code.to_string());
                path.pop();
                continue;
            };
            match state.get(dep) {
                Some(State::Done) => {}
                Some(State::OnPath) => {
                    let start = path.iter().position(|(c, _)| *c == dep).unwrap_or(0);
                    let cycle = path[start..].iter().map(|(c, _)| *c).chain([dep]);
                    return Err(cycle.map(str::to_string).collect());
                }
                None => {
                    state.insert(dep, State::OnPath);
                    path.push((dep, derived_dependencies(formulas, dep)));
                }
            }
        }
    }
    Ok(order)
}

/// The derived codes `code` reads, deduplicated, in reverse sorted order so that popping them
/// visits the smallest first.
fn derived_dependencies<'a>(formulas: &'a BTreeMap<String, Vec<String>>, code: &str) -> Vec<&'a str> {
    let reads = formulas.get(code).map(Vec::as_slice).unwrap_or_default();
    let derived: BTreeSet<&str> =
        reads.iter().map(String::as_str).filter(|c| formulas.contains_key(*c)).collect();
    derived.into_iter().rev().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eval_with(text: &str, values: &[(&str, f64)]) -> Option<f64> {
        let formula = Formula::parse(text).unwrap();
        formula.eval(&mut |code| values.iter().find(|(c, _)| *c == code).map(|(_, v)| *v))
    }

    fn constant(text: &str) -> Option<f64> {
        eval_with(text, &[])
    }

    fn refused(text: &str) -> (&'static str, usize) {
        let e = Formula::parse(text).unwrap_err();
        (e.code, e.position)
    }

    #[test]
    fn operators_follow_the_usual_precedence_and_associate_left() {
        assert_eq!(constant("2 + 3 * 4"), Some(14.0));
        assert_eq!(constant("(2+3)*4"), Some(20.0));
        assert_eq!(constant("2 - 3 - 4"), Some(-5.0));
        assert_eq!(constant("8/4/2"), Some(1.0));
        assert_eq!(constant("-2*3"), Some(-6.0));
        assert_eq!(constant("2 * -3"), Some(-6.0));
        assert_eq!(constant("- -4"), Some(4.0));
        assert_eq!(constant("-(1 - 3)"), Some(2.0));
    }

    #[test]
    fn numbers_take_decimals_and_exponents() {
        assert_eq!(constant("1.5e3 * 2"), Some(3000.0));
        assert_eq!(constant("2.5E-1"), Some(0.25));
        assert_eq!(constant(".5 + 1"), Some(1.5));
    }

    #[test]
    fn indicators_are_read_through_the_lookup() {
        let values = [("revenue", 90.0), ("revenue_plan", 120.0)];
        assert_eq!(eval_with("revenue / revenue_plan * 100", &values), Some(75.0));
        assert_eq!(eval_with("kt.grdp_growth2 * 2", &[("kt.grdp_growth2", 3.5)]), Some(7.0));
    }

    #[test]
    fn a_missing_or_non_finite_input_gives_no_data() {
        assert_eq!(eval_with("revenue / revenue_plan * 100", &[("revenue", 90.0)]), None);
        assert_eq!(eval_with("a + 1", &[("a", f64::NAN)]), None);
        assert_eq!(eval_with("a + 1", &[("a", f64::INFINITY)]), None);
    }

    #[test]
    fn division_by_zero_and_overflow_give_no_data() {
        assert_eq!(eval_with("a / b", &[("a", 1.0), ("b", 0.0)]), None);
        assert_eq!(eval_with("0 / b", &[("b", 0.0)]), None);
        assert_eq!(constant("1e300 * 1e300"), None);
    }

    #[test]
    fn functions_compute() {
        assert_eq!(constant("round(12.3456, 2)"), Some(12.35));
        assert_eq!(constant("round(2.5, 0)"), Some(3.0));
        assert_eq!(constant("round(-2.5, 0)"), Some(-3.0));
        assert_eq!(constant("round(1234.5678, 1 + 1)"), Some(1234.57));
        assert_eq!(constant("min(3, 1, 2)"), Some(1.0));
        assert_eq!(constant("max(3, 1, 2)"), Some(3.0));
        assert_eq!(constant("max(7)"), Some(7.0));
        assert_eq!(constant("abs(-4) + abs(4)"), Some(8.0));
        assert_eq!(eval_with("max(x, 0)", &[("x", -5.0)]), Some(0.0));
        assert_eq!(eval_with("max(x, y)", &[("x", 5.0)]), None);
    }

    #[test]
    fn digits_computed_from_an_indicator_must_be_zero_to_six() {
        assert_eq!(eval_with("round(a, d)", &[("a", 1.26), ("d", 1.0)]), Some(1.3));
        assert_eq!(eval_with("round(a, d)", &[("a", 1.26), ("d", 7.0)]), None);
        assert_eq!(eval_with("round(a, d)", &[("a", 1.26), ("d", 0.5)]), None);
    }

    #[test]
    fn references_are_sorted_and_deduplicated() {
        let formula = Formula::parse("(b + a) / max(b, kt.x_1, 0) - a").unwrap();
        assert_eq!(formula.references(), ["a", "b", "kt.x_1"]);
        assert_eq!(Formula::parse("1 + 2").unwrap().references(), Vec::<String>::new());
        assert_eq!(formula.source(), "(b + a) / max(b, kt.x_1, 0) - a");
    }

    #[test]
    fn each_refusal_has_its_code_and_column() {
        assert_eq!(refused(""), ("formula_empty", 1));
        assert_eq!(refused("   "), ("formula_empty", 1));
        assert_eq!(refused("a + * b"), ("unexpected_token", 5));
        assert_eq!(refused("a b"), ("unexpected_token", 3));
        assert_eq!(refused("(a + b))"), ("unexpected_token", 8));
        assert_eq!(refused("max(a,)"), ("unexpected_token", 7));
        assert_eq!(refused("(a b)"), ("unexpected_token", 4));
        assert_eq!(refused("(a + b"), ("unclosed_parenthesis", 1));
        assert_eq!(refused("x * max(a, b"), ("unclosed_parenthesis", 8));
        assert_eq!(refused("a + "), ("unexpected_end", 5));
        assert_eq!(refused("sqrt(a)"), ("unknown_function", 1));
        assert_eq!(refused("a $ b"), ("unexpected_character", 3));
        assert_eq!(refused("round(a)"), ("wrong_argument_count", 1));
        assert_eq!(refused("1 + abs(a, b)"), ("wrong_argument_count", 5));
        assert_eq!(refused("min()"), ("wrong_argument_count", 1));
        assert_eq!(refused("1.2.3 + a"), ("bad_number", 1));
        assert_eq!(refused("a * 2x"), ("bad_number", 5));
        assert_eq!(refused("1e+"), ("bad_number", 1));
        assert_eq!(refused("1e999"), ("bad_number", 1));
        assert_eq!(refused("round(a, 7)"), ("bad_number", 10));
        assert_eq!(refused("round(a, 1.5)"), ("bad_number", 10));
    }

    #[test]
    fn columns_count_characters_not_bytes() {
        // 'ă' is two bytes in UTF-8; the column is still its place among characters.
        assert_eq!(refused("đ + 1"), ("unexpected_character", 1));
        assert_eq!(refused("doanh_thu_năm + 1"), ("unexpected_character", 12));
        assert_eq!(refused("\"năm\" + a $"), ("unexpected_character", 1));
    }

    #[test]
    fn messages_say_what_was_expected_and_found() {
        let e = Formula::parse("sqrt(a)").unwrap_err();
        assert_eq!(e.message, "unknown function 'sqrt': use min, max, abs or round");
        let e = Formula::parse("max(a b)").unwrap_err();
        assert_eq!(e.to_string(), "position 7: expected ',' or ')' after the arguments of max, found 'b'");
        let e = Formula::parse("a + * b").unwrap_err();
        assert_eq!(e.message, "expected a number, an indicator code, '(' or '-', found '*'");
    }

    #[test]
    fn length_and_nesting_are_capped() {
        let long = format!("a{}", " + a".repeat(125));
        assert_eq!(long.chars().count(), 501);
        assert_eq!(refused(&long), ("formula_too_long", 501));
        let longest = format!("{}   ", &long[..497]);
        assert_eq!(longest.chars().count(), 500);
        assert!(Formula::parse(&longest).is_ok());

        let nested = |depth: usize| format!("{}a{}", "(".repeat(depth), ")".repeat(depth));
        assert!(Formula::parse(&nested(32)).is_ok());
        assert_eq!(refused(&nested(33)), ("formula_too_deep", 33));
        let calls = format!("{}a{}", "abs(".repeat(33), ")".repeat(33));
        assert_eq!(refused(&calls), ("formula_too_deep", 33 * 4));
    }

    fn graph(edges: &[(&str, &[&str])]) -> BTreeMap<String, Vec<String>> {
        edges
            .iter()
            .map(|(code, reads)| (code.to_string(), reads.iter().map(|r| r.to_string()).collect()))
            .collect()
    }

    #[test]
    fn cycles_are_found_with_their_path() {
        assert_eq!(find_cycle(&graph(&[("a", &["b"]), ("b", &["a"])])).unwrap(), ["a", "b", "a"]);
        assert_eq!(find_cycle(&graph(&[("a", &["x", "a"])])).unwrap(), ["a", "a"]);
        let three = graph(&[("c", &["a"]), ("a", &["input", "b"]), ("b", &["c"])]);
        assert_eq!(find_cycle(&three).unwrap(), ["a", "b", "c", "a"]);
        assert_eq!(evaluation_order(&three).unwrap_err(), ["a", "b", "c", "a"]);
    }

    #[test]
    fn a_diamond_has_no_cycle_and_is_ordered_by_dependency() {
        // d is an input here (no formula), then a derived indicator itself.
        let diamond = graph(&[("a", &["b", "c"]), ("b", &["d"]), ("c", &["d"])]);
        assert_eq!(find_cycle(&diamond), None);
        assert_eq!(evaluation_order(&diamond).unwrap(), ["b", "c", "a"]);
        let derived_d = graph(&[("a", &["c", "b", "b"]), ("b", &["d"]), ("c", &["d"]), ("d", &["x"])]);
        assert_eq!(evaluation_order(&derived_d).unwrap(), ["d", "b", "c", "a"]);
    }
}
