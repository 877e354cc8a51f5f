//! Commission formulas (提成公式): a small expression language a tenant writes over named
//! variables, evaluated exactly in decimals (`rust_decimal`), never in floating point.
//!
//! ```text
//! if(margin > 0, margin * 8%, 0) + min(amount * 0.5%, 2000)
//! if(category == "空调", tier(amount), amount * rate)
//! ```
//!
//! Numbers (`12.5`, `8%` = 0.08), strings in double quotes, `true`/`false`; `+ - * /`,
//! comparisons `< <= > >= == !=`, `and`/`or`/`not` (also `&& || !`), parentheses, and the
//! functions `min`, `max`, `if`, `round(x, places)`, `abs` and `tier(x)` (what the plan's
//! tiers pay on `x`). A formula is parsed and type-checked when the plan is saved: an
//! unknown name, a wrong argument count or a type error comes back with its position
//! (the character, counted from 1).

use std::fmt;

use rust_decimal::prelude::ToPrimitive;
use rust_decimal::{Decimal, RoundingStrategy};

/// A formula that failed to parse, check or evaluate, at a character position (from 1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FormulaError {
    pub position: usize,
    pub message: String,
}

impl fmt::Display for FormulaError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "at character {}: {}", self.position, self.message)
    }
}

fn error<T>(position: usize, message: impl Into<String>) -> Result<T, FormulaError> {
    Err(FormulaError { position: position + 1, message: message.into() })
}

/// The names a formula may read; every one is a number but `category`.
pub const VARIABLES: &[(&str, Type, &str)] = &[
    ("amount", Type::Number, "the credited amount, tax included"),
    ("net", Type::Number, "the credited amount less tax"),
    ("margin", Type::Number, "the net amount less cost, where the cost price is known"),
    ("received", Type::Number, "money received on it (on receipt: the receipt's share)"),
    ("base", Type::Number, "what the plan pays on: amount (GROSS) or margin (NET)"),
    ("rate", Type::Number, "the plan's rate for the line's category, as a fraction"),
    ("total", Type::Number, "the rep's base in the month under this plan, but for what a category rate pays"),
    ("category", Type::Text, "the product category's name (empty when none)"),
];

/// A value's type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Type {
    Number,
    Bool,
    Text,
}

impl Type {
    fn name(self) -> &'static str {
        match self {
            Type::Number => "a number",
            Type::Bool => "true or false",
            Type::Text => "text",
        }
    }
}

/// A value while evaluating.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Value {
    Number(Decimal),
    Bool(bool),
    Text(String),
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Number(n) => write!(f, "{}", n.normalize()),
            Value::Bool(b) => write!(f, "{b}"),
            Value::Text(t) => write!(f, "\"{t}\""),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Op {
    Add,
    Sub,
    Mul,
    Div,
    Lt,
    Le,
    Gt,
    Ge,
    Eq,
    Ne,
    And,
    Or,
}

impl Op {
    /// Binding power: higher binds tighter.
    fn power(self) -> u8 {
        match self {
            Op::Or => 1,
            Op::And => 2,
            Op::Eq | Op::Ne => 3,
            Op::Lt | Op::Le | Op::Gt | Op::Ge => 4,
            Op::Add | Op::Sub => 5,
            Op::Mul | Op::Div => 6,
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
enum Token {
    Number(Decimal),
    Text(String),
    Name(String),
    Op(Op),
    Not,
    Open,
    Close,
    Comma,
}

fn lex(source: &str) -> Result<Vec<(usize, Token)>, FormulaError> {
    let chars: Vec<char> = source.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let start = i;
        let two = |next: char| chars.get(i + 1) == Some(&next);
        let token = match c {
            c if c.is_whitespace() => {
                i += 1;
                continue;
            }
            '0'..='9' | '.' => {
                while i < chars.len() && (chars[i].is_ascii_digit() || chars[i] == '.') {
                    i += 1;
                }
                let text: String = chars[start..i].iter().collect();
                let Ok(mut number) = text.parse::<Decimal>() else {
                    return error(start, format!("`{text}` is not a number"));
                };
                if chars.get(i) == Some(&'%') {
                    number /= Decimal::ONE_HUNDRED;
                    i += 1;
                }
                tokens.push((start, Token::Number(number)));
                continue;
            }
            '"' | '“' | '”' => {
                let close = |ch: char| ch == '"' || ch == '”' || ch == '“';
                let Some(end) = chars[i + 1..].iter().position(|ch| close(*ch)) else {
                    return error(start, "text without its closing quote");
                };
                let text: String = chars[i + 1..i + 1 + end].iter().collect();
                i += end + 2;
                tokens.push((start, Token::Text(text)));
                continue;
            }
            c if c.is_alphabetic() || c == '_' => {
                while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                    i += 1;
                }
                let name: String = chars[start..i].iter().collect();
                let token = match name.as_str() {
                    "and" => Token::Op(Op::And),
                    "or" => Token::Op(Op::Or),
                    "not" => Token::Not,
                    _ => Token::Name(name),
                };
                tokens.push((start, token));
                continue;
            }
            '+' => Token::Op(Op::Add),
            '-' => Token::Op(Op::Sub),
            '*' | '×' => Token::Op(Op::Mul),
            '/' | '÷' => Token::Op(Op::Div),
            '(' | '（' => Token::Open,
            ')' | '）' => Token::Close,
            ',' | '，' => Token::Comma,
            '<' if two('=') => Token::Op(Op::Le),
            '<' => Token::Op(Op::Lt),
            '>' if two('=') => Token::Op(Op::Ge),
            '>' => Token::Op(Op::Gt),
            '=' if two('=') => Token::Op(Op::Eq),
            '!' if two('=') => Token::Op(Op::Ne),
            '!' => Token::Not,
            '&' if two('&') => Token::Op(Op::And),
            '|' if two('|') => Token::Op(Op::Or),
            '=' => return error(start, "`=` compares as `==`"),
            other => return error(start, format!("`{other}` has no meaning here")),
        };
        let wide =
            matches!(token, Token::Op(Op::Le | Op::Ge | Op::Eq | Op::Ne | Op::And | Op::Or)) && !c.is_alphabetic();
        i += if wide { 2 } else { 1 };
        tokens.push((start, token));
    }
    Ok(tokens)
}

/// A parsed expression; `at` is its first character (from 0) and `text` its source.
#[derive(Clone, Debug, PartialEq)]
pub struct Expr {
    at: usize,
    text: String,
    node: Node,
}

#[derive(Clone, Debug, PartialEq)]
enum Node {
    Number(Decimal),
    Text(String),
    Bool(bool),
    Var(&'static str),
    Neg(Box<Expr>),
    Not(Box<Expr>),
    Binary(Op, Box<Expr>, Box<Expr>),
    Call(Function, Vec<Expr>),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Function {
    Min,
    Max,
    If,
    Round,
    Abs,
    Tier,
}

impl Function {
    fn named(name: &str) -> Option<Self> {
        Some(match name {
            "min" => Function::Min,
            "max" => Function::Max,
            "if" => Function::If,
            "round" => Function::Round,
            "abs" => Function::Abs,
            "tier" => Function::Tier,
            _ => return None,
        })
    }
}

struct Parser {
    source: Vec<char>,
    tokens: Vec<(usize, Token)>,
    next: usize,
    /// How deeply the expression being read is nested.
    depth: usize,
}

/// The deepest nesting a formula may have.
const MAX_DEPTH: usize = 64;

/// The largest number `tier(…)` is asked about.
const MAX_TIER_INPUT: i64 = 1_000_000_000_000_000;

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.next).map(|(_, t)| t)
    }

    fn at(&self) -> usize {
        self.tokens.get(self.next).map_or(self.source.len(), |(at, _)| *at)
    }

    /// The source from `start` to the end of the last token read.
    fn span(&self, start: usize) -> String {
        let end = match self.tokens.get(self.next) {
            Some((at, _)) => *at,
            None => self.source.len(),
        };
        self.source[start..end].iter().collect::<String>().trim().to_owned()
    }

    fn expect(&mut self, token: Token, what: &str) -> Result<(), FormulaError> {
        if self.peek() == Some(&token) {
            self.next += 1;
            Ok(())
        } else {
            error(self.at(), format!("expected {what}"))
        }
    }

    fn expression(&mut self, min_power: u8) -> Result<Expr, FormulaError> {
        let start = self.at();
        let mut left = self.operand()?;
        while let Some(Token::Op(op)) = self.peek().cloned() {
            if op.power() <= min_power {
                break;
            }
            self.next += 1;
            let right = self.expression(op.power())?;
            left = Expr { at: start, text: self.span(start), node: Node::Binary(op, Box::new(left), Box::new(right)) };
        }
        Ok(left)
    }

    fn operand(&mut self) -> Result<Expr, FormulaError> {
        let start = self.at();
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return error(start, format!("the formula nests deeper than {MAX_DEPTH} levels"));
        }
        let operand = self.operand_at(start);
        self.depth -= 1;
        operand
    }

    fn operand_at(&mut self, start: usize) -> Result<Expr, FormulaError> {
        let Some(token) = self.peek().cloned() else {
            return error(start, "the formula ends too early");
        };
        self.next += 1;
        let node = match token {
            Token::Number(n) => Node::Number(n),
            Token::Text(t) => Node::Text(t),
            Token::Op(Op::Sub) => Node::Neg(Box::new(self.expression(Op::Mul.power())?)),
            // `not` takes a whole comparison: `not category == "空调"`.
            Token::Not => Node::Not(Box::new(self.expression(Op::And.power())?)),
            Token::Open => {
                let inner = self.expression(0)?;
                self.expect(Token::Close, "`)`")?;
                return Ok(Expr { at: start, text: self.span(start), node: inner.node });
            }
            Token::Name(name) if self.peek() == Some(&Token::Open) => {
                let Some(function) = Function::named(&name) else {
                    return error(start, format!("unknown function `{name}`: use min, max, if, round, abs or tier"));
                };
                self.next += 1;
                let mut args = Vec::new();
                if self.peek() != Some(&Token::Close) {
                    loop {
                        args.push(self.expression(0)?);
                        if self.peek() == Some(&Token::Comma) {
                            self.next += 1;
                        } else {
                            break;
                        }
                    }
                }
                self.expect(Token::Close, "`,` or `)`")?;
                Node::Call(function, args)
            }
            Token::Name(name) => match name.as_str() {
                "true" => Node::Bool(true),
                "false" => Node::Bool(false),
                _ => match VARIABLES.iter().find(|(known, _, _)| *known == name) {
                    Some((known, _, _)) => Node::Var(known),
                    None => {
                        let names: Vec<&str> = VARIABLES.iter().map(|(n, _, _)| *n).collect();
                        return error(start, format!("unknown name `{name}`: use {}", names.join(", ")));
                    }
                },
            },
            _ => return error(start, "expected a number, a name, text or `(`"),
        };
        Ok(Expr { at: start, text: self.span(start), node })
    }
}

/// A formula parsed and type-checked: it yields a number.
#[derive(Clone, Debug, PartialEq)]
pub struct Formula {
    root: Expr,
}

impl Formula {
    /// Parses and checks `source`; `has_tiers` says whether `tier(…)` has tiers to use.
    pub fn parse(source: &str, has_tiers: bool) -> Result<Formula, FormulaError> {
        let tokens = lex(source)?;
        let mut parser = Parser { source: source.chars().collect(), tokens, next: 0, depth: 0 };
        let root = parser.expression(0)?;
        if parser.peek().is_some() {
            return error(parser.at(), "expected an operator or the end of the formula");
        }
        match type_of(&root, has_tiers)? {
            Type::Number => Ok(Formula { root }),
            other => error(root.at, format!("the formula must give a number, not {}", other.name())),
        }
    }

    /// Evaluates the formula over `vars`, noting each step (every operation and call, with
    /// its source and value) when `steps` is given.
    pub fn evaluate(
        &self,
        vars: &Vars,
        tier: &dyn Fn(Decimal) -> Decimal,
        mut steps: Option<&mut Vec<Step>>,
    ) -> Result<Decimal, FormulaError> {
        match eval(&self.root, vars, tier, &mut steps)? {
            Value::Number(n) => Ok(n),
            _ => error(self.root.at, "the formula must give a number"),
        }
    }
}

/// One step of an evaluation: a part of the formula and what it came to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Step {
    pub expression: String,
    pub value: String,
}

/// The values a formula reads.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Vars {
    pub amount: Decimal,
    pub net: Decimal,
    pub margin: Decimal,
    pub received: Decimal,
    pub base: Decimal,
    pub rate: Decimal,
    pub total: Decimal,
    pub category: String,
}

impl Vars {
    fn get(&self, name: &str) -> Value {
        match name {
            "amount" => Value::Number(self.amount),
            "net" => Value::Number(self.net),
            "margin" => Value::Number(self.margin),
            "received" => Value::Number(self.received),
            "base" => Value::Number(self.base),
            "rate" => Value::Number(self.rate),
            "total" => Value::Number(self.total),
            _ => Value::Text(self.category.clone()),
        }
    }
}

fn var_type(name: &str) -> Type {
    VARIABLES.iter().find(|(n, _, _)| *n == name).map_or(Type::Number, |(_, t, _)| *t)
}

fn want(expr: &Expr, has_tiers: bool, expected: Type, role: &str) -> Result<(), FormulaError> {
    let found = type_of(expr, has_tiers)?;
    if found == expected {
        Ok(())
    } else {
        error(expr.at, format!("{role} must be {}, not {}", expected.name(), found.name()))
    }
}

fn type_of(expr: &Expr, has_tiers: bool) -> Result<Type, FormulaError> {
    Ok(match &expr.node {
        Node::Number(_) => Type::Number,
        Node::Text(_) => Type::Text,
        Node::Bool(_) => Type::Bool,
        Node::Var(name) => var_type(name),
        Node::Neg(inner) => {
            want(inner, has_tiers, Type::Number, "what `-` negates")?;
            Type::Number
        }
        Node::Not(inner) => {
            want(inner, has_tiers, Type::Bool, "what `not` negates")?;
            Type::Bool
        }
        Node::Binary(op, left, right) => match op {
            Op::Add | Op::Sub | Op::Mul | Op::Div => {
                want(left, has_tiers, Type::Number, "an arithmetic operand")?;
                want(right, has_tiers, Type::Number, "an arithmetic operand")?;
                Type::Number
            }
            Op::Lt | Op::Le | Op::Gt | Op::Ge => {
                want(left, has_tiers, Type::Number, "what `<` or `>` compares")?;
                want(right, has_tiers, Type::Number, "what `<` or `>` compares")?;
                Type::Bool
            }
            Op::Eq | Op::Ne => {
                let left_type = type_of(left, has_tiers)?;
                want(right, has_tiers, left_type, "the right side of a comparison")?;
                Type::Bool
            }
            Op::And | Op::Or => {
                want(left, has_tiers, Type::Bool, "each side of `and`/`or`")?;
                want(right, has_tiers, Type::Bool, "each side of `and`/`or`")?;
                Type::Bool
            }
        },
        Node::Call(function, args) => {
            let count = |range: std::ops::RangeInclusive<usize>, shape: &str| {
                if range.contains(&args.len()) {
                    Ok(())
                } else {
                    error(expr.at, format!("{shape}, given {} argument(s)", args.len()))
                }
            };
            match function {
                Function::Min | Function::Max => {
                    count(2..=32, "min and max take two or more numbers")?;
                    for arg in args {
                        want(arg, has_tiers, Type::Number, "each argument of min/max")?;
                    }
                    Type::Number
                }
                Function::If => {
                    count(3..=3, "if takes (condition, then, else)")?;
                    want(&args[0], has_tiers, Type::Bool, "if's condition")?;
                    let then = type_of(&args[1], has_tiers)?;
                    want(&args[2], has_tiers, then, "if's else value (like its then value)")?;
                    then
                }
                Function::Round => {
                    count(1..=2, "round takes (number) or (number, places)")?;
                    for arg in args {
                        want(arg, has_tiers, Type::Number, "each argument of round")?;
                    }
                    Type::Number
                }
                Function::Abs | Function::Tier => {
                    count(1..=1, "abs and tier take one number")?;
                    want(&args[0], has_tiers, Type::Number, "the argument")?;
                    if *function == Function::Tier && !has_tiers {
                        return error(expr.at, "tier() needs the plan to have tiers");
                    }
                    Type::Number
                }
            }
        }
    })
}

fn number(value: Value) -> Decimal {
    match value {
        Value::Number(n) => n,
        _ => Decimal::ZERO,
    }
}

fn truth(value: Value) -> bool {
    matches!(value, Value::Bool(true))
}

fn eval(
    expr: &Expr,
    vars: &Vars,
    tier: &dyn Fn(Decimal) -> Decimal,
    steps: &mut Option<&mut Vec<Step>>,
) -> Result<Value, FormulaError> {
    let overflow = || FormulaError { position: expr.at + 1, message: "the result is too large".into() };
    let value = match &expr.node {
        Node::Number(n) => return Ok(Value::Number(*n)),
        Node::Text(t) => return Ok(Value::Text(t.clone())),
        Node::Bool(b) => return Ok(Value::Bool(*b)),
        Node::Var(name) => return Ok(vars.get(name)),
        Node::Neg(inner) => Value::Number(-number(eval(inner, vars, tier, steps)?)),
        Node::Not(inner) => Value::Bool(!truth(eval(inner, vars, tier, steps)?)),
        Node::Binary(Op::And, left, right) => {
            Value::Bool(truth(eval(left, vars, tier, steps)?) && truth(eval(right, vars, tier, steps)?))
        }
        Node::Binary(Op::Or, left, right) => {
            Value::Bool(truth(eval(left, vars, tier, steps)?) || truth(eval(right, vars, tier, steps)?))
        }
        Node::Binary(op, left, right) => {
            let (l, r) = (eval(left, vars, tier, steps)?, eval(right, vars, tier, steps)?);
            match op {
                Op::Eq => Value::Bool(l == r),
                Op::Ne => Value::Bool(l != r),
                _ => {
                    let (a, b) = (number(l), number(r));
                    match op {
                        Op::Add => Value::Number(a.checked_add(b).ok_or_else(overflow)?),
                        Op::Sub => Value::Number(a.checked_sub(b).ok_or_else(overflow)?),
                        Op::Mul => Value::Number(a.checked_mul(b).ok_or_else(overflow)?),
                        Op::Div if b.is_zero() => {
                            return error(right.at, format!("`{}` is zero: no division by zero", right.text));
                        }
                        Op::Div => Value::Number(a.checked_div(b).ok_or_else(overflow)?),
                        Op::Lt => Value::Bool(a < b),
                        Op::Le => Value::Bool(a <= b),
                        Op::Gt => Value::Bool(a > b),
                        _ => Value::Bool(a >= b),
                    }
                }
            }
        }
        Node::Call(Function::If, args) => {
            let chosen = if truth(eval(&args[0], vars, tier, steps)?) { &args[1] } else { &args[2] };
            eval(chosen, vars, tier, steps)?
        }
        Node::Call(function, args) => {
            let mut values = Vec::with_capacity(args.len());
            for arg in args {
                values.push(number(eval(arg, vars, tier, steps)?));
            }
            Value::Number(match function {
                Function::Min => values.iter().copied().fold(values[0], Decimal::min),
                Function::Max => values.iter().copied().fold(values[0], Decimal::max),
                Function::Abs => values[0].abs(),
                Function::Tier if values[0].abs() > Decimal::from(MAX_TIER_INPUT) => {
                    return error(expr.at, "tier() takes amounts up to 10^15");
                }
                Function::Tier => tier(values[0]),
                _ => {
                    let places = values.get(1).copied().unwrap_or(Decimal::TWO);
                    let Some(places) = places.to_u32().filter(|p| *p <= 10 && places.fract().is_zero()) else {
                        return error(expr.at, "round keeps 0 to 10 places");
                    };
                    values[0].round_dp_with_strategy(places, RoundingStrategy::MidpointAwayFromZero)
                }
            })
        }
    };
    if let Some(steps) = steps {
        steps.push(Step { expression: expr.text.clone(), value: value.to_string() });
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::str::FromStr;

    use super::*;

    fn d(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    fn vars() -> Vars {
        Vars {
            amount: d("11300"),
            net: d("10000"),
            margin: d("4000"),
            received: d("5650"),
            base: d("11300"),
            rate: d("0.03"),
            total: d("250000"),
            category: "空调".into(),
        }
    }

    fn run(source: &str) -> Result<Decimal, FormulaError> {
        let tier = |x: Decimal| x * d("0.1");
        Formula::parse(source, true)?.evaluate(&vars(), &tier, None)
    }

    #[test]
    fn formulas_evaluate_exactly() {
        let cases = [
            ("amount * 3%", "339"),
            ("amount * rate", "339"),
            ("0.1 + 0.2", "0.3"),
            ("margin * 8% + 100", "420"),
            ("if(margin > 0, margin * 8%, 0)", "320"),
            ("if(category == \"空调\", tier(amount), 0)", "1130"),
            ("if(category != “空调”, 1, 2)", "2"),
            ("min(amount * 0.5%, 50, 60)", "50"),
            ("max(net - 12000, 0)", "0"),
            ("-amount + 1", "-11299"),
            ("2 + 3 * 4", "14"),
            ("(2 + 3) * 4", "20"),
            ("round(10 / 3 * 3, 2)", "10"),
            ("round(10 / 3, 2)", "3.33"),
            ("round(0.125, 2)", "0.13"),
            ("round(-0.125, 2)", "-0.13"),
            ("round(2.5)", "2.5"),
            ("round(2.5, 0)", "3"),
            ("abs(net - total)", "240000"),
            ("if(amount >= 10000 and not (total < 1), 1, 0)", "1"),
            ("if(amount < 10000 || total >= 250000, 1, 0)", "1"),
            ("if(not category == \"空调\", 1, 2)", "2"),
            ("if(not amount > 1 and true, 1, 2)", "2"),
            ("received / amount * 100", "50"),
            ("amount × 2% ÷ 2", "113"),
        ];
        for (source, expected) in cases {
            assert_eq!(run(source).map(|v| v.normalize()), Ok(d(expected)), "{source}");
        }
    }

    #[test]
    fn mistakes_come_back_with_their_position() {
        let cases = [
            ("amount * bonus", 10, "unknown name `bonus`"),
            ("amount * 3% +", 14, "ends too early"),
            ("amount + \"x\"", 10, "arithmetic operand must be a number, not text"),
            ("if(amount, 1, 2)", 4, "condition must be true or false"),
            ("if(amount > 1, 1, \"a\")", 19, "else value"),
            ("category > 1", 1, "must be a number, not text"),
            ("category == 1", 13, "right side of a comparison must be text"),
            ("amount > 1", 1, "must give a number, not true or false"),
            ("pow(amount, 2)", 1, "unknown function `pow`"),
            ("min(amount)", 1, "given 1 argument"),
            ("amount = 1", 8, "`=` compares as `==`"),
            ("(amount", 8, "expected `)`"),
            ("amount amount", 8, "expected an operator"),
            ("1.2.3", 1, "not a number"),
            ("amount # 2", 8, "no meaning"),
            ("\"open", 1, "closing quote"),
        ];
        for (source, position, message) in cases {
            let err = Formula::parse(source, true).unwrap_err();
            assert_eq!(err.position, position, "{source}: {err}");
            assert!(err.message.contains(message), "{source}: {err}");
        }
        let deep = format!("{}1{}", "(".repeat(100), ")".repeat(100));
        assert!(Formula::parse(&deep, true).unwrap_err().message.contains("nests deeper"));
        let no_tiers = Formula::parse("tier(amount)", false).unwrap_err();
        assert!(no_tiers.message.contains("needs the plan to have tiers"), "{no_tiers}");
    }

    #[test]
    fn run_time_errors_name_the_place_and_steps_are_noted() {
        let err = run("amount / (net - 10000)").unwrap_err();
        assert_eq!(err.position, 10);
        assert!(err.message.contains("division by zero"));

        let formula = Formula::parse("if(margin > 0, margin * 8%, 0) + 100", true).unwrap();
        let mut steps = Vec::new();
        let result = formula.evaluate(&vars(), &|x| x, Some(&mut steps)).unwrap();
        assert_eq!(result, d("420"));
        let seen: Vec<(String, String)> = steps.into_iter().map(|s| (s.expression, s.value)).collect();
        assert_eq!(
            seen,
            [
                ("margin > 0", "true"),
                ("margin * 8%", "320"),
                ("if(margin > 0, margin * 8%, 0)", "320"),
                ("if(margin > 0, margin * 8%, 0) + 100", "420"),
            ]
            .map(|(a, b)| (a.to_owned(), b.to_owned()))
        );
    }
}
