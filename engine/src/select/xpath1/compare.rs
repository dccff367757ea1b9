//! Arithmetic and comparisons (XPath 1.0 section 3.4, node-sets compared existentially).

use std::collections::HashSet;

use super::ast::BinOp;
use super::eval::Evaluator;
use super::num::string_to_number;
use super::{EvalError, Value};

impl Evaluator<'_> {
    pub(crate) fn binop(&mut self, op: BinOp, a: Value, b: Value) -> Result<Value, EvalError> {
        let arith = |f: fn(f64, f64) -> f64, s: &mut Self, a: &Value, b: &Value| {
            let x = s.number_of(a);
            let y = s.number_of(b);
            Value::Number(f(x, y))
        };
        Ok(match op {
            BinOp::Add => arith(|x, y| x + y, self, &a, &b),
            BinOp::Sub => arith(|x, y| x - y, self, &a, &b),
            BinOp::Mul => arith(|x, y| x * y, self, &a, &b),
            BinOp::Div => arith(|x, y| x / y, self, &a, &b),
            BinOp::Mod => arith(|x, y| x % y, self, &a, &b),
            _ => Value::Boolean(self.compare(op, a, b)?),
        })
    }

    fn compare(&mut self, op: BinOp, a: Value, b: Value) -> Result<bool, EvalError> {
        let is_set = |v: &Value| matches!(v, Value::Nodes(_) | Value::Matches(_));
        let eq_op = matches!(op, BinOp::Eq | BinOp::Neq);
        match (is_set(&a), is_set(&b)) {
            (true, true) => {
                let x = self.strings(a)?;
                let y = self.strings(b)?;
                self.budget.spend((x.len() + y.len()) as u64)?;
                Ok(set_set(op, &x, &y))
            }
            (true, false) => self.set_scalar(op, a, b),
            (false, true) => self.set_scalar(flip(op), b, a),
            (false, false) => {
                if eq_op {
                    let r = if matches!(a, Value::Boolean(_)) || matches!(b, Value::Boolean(_)) {
                        self.bool_of(&a) == self.bool_of(&b)
                    } else if matches!(a, Value::Number(_)) || matches!(b, Value::Number(_)) {
                        self.number_of(&a) == self.number_of(&b)
                    } else {
                        self.string_of(&a)? == self.string_of(&b)?
                    };
                    Ok(r == (op == BinOp::Eq))
                } else {
                    let x = self.number_of(&a);
                    let y = self.number_of(&b);
                    Ok(num_cmp(op, x, y))
                }
            }
        }
    }

    /// `set op scalar`.
    fn set_scalar(&mut self, op: BinOp, set: Value, s: Value) -> Result<bool, EvalError> {
        if let Value::Boolean(b) = s {
            let x = self.bool_of(&set);
            return Ok(match op {
                BinOp::Eq => x == b,
                BinOp::Neq => x != b,
                _ => num_cmp(op, f64::from(u8::from(x)), f64::from(u8::from(b))),
            });
        }
        let strings = self.strings(set)?;
        self.budget.spend(strings.len() as u64)?;
        match s {
            Value::String(t) if matches!(op, BinOp::Eq | BinOp::Neq) => {
                Ok(strings.iter().any(|x| (*x == t) == (op == BinOp::Eq)))
            }
            s => {
                let y = self.number_of(&s);
                Ok(strings.iter().any(|x| num_cmp(op, string_to_number(x), y)))
            }
        }
    }
}

fn flip(op: BinOp) -> BinOp {
    match op {
        BinOp::Lt => BinOp::Gt,
        BinOp::Le => BinOp::Ge,
        BinOp::Gt => BinOp::Lt,
        BinOp::Ge => BinOp::Le,
        o => o,
    }
}

fn num_cmp(op: BinOp, x: f64, y: f64) -> bool {
    match op {
        BinOp::Eq => x == y,
        BinOp::Neq => x != y,
        BinOp::Lt => x < y,
        BinOp::Le => x <= y,
        BinOp::Gt => x > y,
        _ => x >= y,
    }
}

fn set_set(op: BinOp, x: &[String], y: &[String]) -> bool {
    match op {
        BinOp::Eq => {
            let hs: HashSet<&str> = x.iter().map(String::as_str).collect();
            y.iter().any(|s| hs.contains(s.as_str()))
        }
        BinOp::Neq => {
            // Some pair differs unless both sets hold one same value (or one is empty).
            if x.is_empty() || y.is_empty() {
                return false;
            }
            let first = &x[0];
            !(x.iter().all(|s| s == first) && y.iter().all(|s| s == first))
        }
        _ => {
            let nums = |v: &[String]| -> Vec<f64> {
                v.iter()
                    .map(|s| string_to_number(s))
                    .filter(|n| !n.is_nan())
                    .collect()
            };
            let (a, b) = (nums(x), nums(y));
            let (Some(amin), Some(amax)) = (min(&a), max(&a)) else {
                return false;
            };
            let (Some(bmin), Some(bmax)) = (min(&b), max(&b)) else {
                return false;
            };
            match op {
                BinOp::Lt => amin < bmax,
                BinOp::Le => amin <= bmax,
                BinOp::Gt => amax > bmin,
                _ => amax >= bmin,
            }
        }
    }
}

fn min(v: &[f64]) -> Option<f64> {
    v.iter().copied().reduce(f64::min)
}

fn max(v: &[f64]) -> Option<f64> {
    v.iter().copied().reduce(f64::max)
}
