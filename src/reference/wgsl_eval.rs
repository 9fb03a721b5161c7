//! The f64 mirror of a user's WGSL: a small interpreter of naga's IR for scalar functions, so
//! that a user kernel has a CPU reference computed from its own source, in f64, the way every
//! built-in kernel has one written by hand. Scalars only (f32, i32, u32, bool), with `let`,
//! `var`, `if`, `switch`, loops, calls between the file's functions, override constants and
//! WGSL's scalar built-ins; anything else (vectors, arrays, globals) is refused with its name.
//!
//! f32 arithmetic is carried out in f64, so the mirror is what the function means rather than
//! what one GPU rounds it to; finite differences of it are exact to ~1e-10.

use std::collections::HashMap;

use naga::{
    BinaryOperator as Op, Expression as E, Handle, Literal, MathFunction as M, ScalarKind,
    Statement as S, TypeInner, UnaryOperator as Un,
};

/// Statements one call may execute before it is stopped as a runaway loop.
const MAX_STATEMENTS: usize = 100_000;
/// Each call costs MAX_STATEMENTS / MAX_CALL_DEPTH of the budget, which bounds the nesting.
const MAX_CALL_DEPTH: usize = 200;

#[derive(Clone, Copy, Debug, PartialEq)]
enum Value {
    F(f64),
    I(i32),
    U(u32),
    B(bool),
    /// A pointer to a local variable of the current call.
    Local(usize),
}

impl Value {
    fn f(self) -> Result<f64, String> {
        match self {
            Value::F(v) => Ok(v),
            Value::I(v) => Ok(v as f64),
            Value::U(v) => Ok(v as f64),
            other => Err(format!("expected a number, found {other:?}")),
        }
    }

    fn b(self) -> Result<bool, String> {
        match self {
            Value::B(v) => Ok(v),
            other => Err(format!("expected a bool, found {other:?}")),
        }
    }
}

/// A module whose scalar functions can be called in f64, with its override constants set.
pub struct ScalarProgram {
    module: naga::Module,
    overrides: HashMap<Handle<naga::Override>, f64>,
}

enum Flow {
    Next,
    Break,
    Continue,
    Return(Option<Value>),
}

/// Functions the host provides in place of their WGSL bodies (a user loss's `logit(j)`, say):
/// called with the arguments as f64, `None` to run the WGSL body.
pub type Host<'h> = &'h dyn Fn(&str, &[f64]) -> Option<f64>;

fn no_host(_: &str, _: &[f64]) -> Option<f64> {
    None
}

struct Frame<'a> {
    function: &'a naga::Function,
    host: Host<'a>,
    args: Vec<Value>,
    values: Vec<Option<Value>>,
    locals: Vec<Value>,
    budget: usize,
}

impl ScalarProgram {
    /// `params` sets override constants by name; the others keep their defaults.
    pub fn new(module: naga::Module, params: &[(String, f64)]) -> Result<ScalarProgram, String> {
        let mut program = ScalarProgram {
            module,
            overrides: HashMap::new(),
        };
        // In declaration order, so that a default may use an earlier override.
        let handles: Vec<_> = program.module.overrides.iter().map(|(h, _)| h).collect();
        for h in handles {
            let o = &program.module.overrides[h];
            let set = params
                .iter()
                .find(|(n, _)| Some(n.as_str()) == o.name.as_deref());
            let value = match (set, o.init) {
                (Some((_, v)), _) => *v,
                (None, Some(init)) => program.global(&program.module, init)?.f()?,
                (None, None) => {
                    return Err(format!(
                        "override `{}` has no default and no value",
                        o.name.as_deref().unwrap_or("?")
                    ))
                }
            };
            program.overrides.insert(h, value);
        }
        Ok(program)
    }

    pub fn module(&self) -> &naga::Module {
        &self.module
    }

    /// Calls the function `name` with f64 arguments (converted to its parameter types) and
    /// returns its result as f64.
    pub fn call(&self, name: &str, args: &[f64]) -> Result<f64, String> {
        self.call_with(name, args, &no_host)
    }

    /// [`call`](Self::call), with `host` standing in for some of the module's functions.
    pub fn call_with(&self, name: &str, args: &[f64], host: Host) -> Result<f64, String> {
        let (h, f) = self
            .module
            .functions
            .iter()
            .find(|(_, f)| f.name.as_deref() == Some(name))
            .ok_or_else(|| format!("no function `{name}`"))?;
        if f.arguments.len() != args.len() {
            return Err(format!(
                "`{name}` takes {} arguments, given {}",
                f.arguments.len(),
                args.len()
            ));
        }
        let args = f
            .arguments
            .iter()
            .zip(args)
            .map(|(a, &v)| self.convert(Value::F(v), self.scalar_kind(a.ty)?))
            .collect::<Result<Vec<_>, _>>()?;
        let mut budget = MAX_STATEMENTS;
        self.invoke(h, args, host, &mut budget)?
            .ok_or_else(|| format!("`{name}` returned nothing"))?
            .f()
    }

    fn scalar_kind(&self, ty: Handle<naga::Type>) -> Result<ScalarKind, String> {
        match &self.module.types[ty].inner {
            TypeInner::Scalar(s) => Ok(s.kind),
            other => Err(format!(
                "only scalar types are supported by the f64 mirror, found {other:?}"
            )),
        }
    }

    fn zero(&self, ty: Handle<naga::Type>) -> Result<Value, String> {
        Ok(match self.scalar_kind(ty)? {
            ScalarKind::Float | ScalarKind::AbstractFloat => Value::F(0.0),
            ScalarKind::Sint | ScalarKind::AbstractInt => Value::I(0),
            ScalarKind::Uint => Value::U(0),
            ScalarKind::Bool => Value::B(false),
        })
    }

    fn convert(&self, v: Value, kind: ScalarKind) -> Result<Value, String> {
        Ok(match (kind, v) {
            (ScalarKind::Float | ScalarKind::AbstractFloat, v) => Value::F(match v {
                Value::B(b) => b as u8 as f64,
                v => v.f()?,
            }),
            // WGSL float-to-int conversion saturates.
            (ScalarKind::Sint | ScalarKind::AbstractInt, Value::F(f)) => Value::I(f as i32),
            (ScalarKind::Sint | ScalarKind::AbstractInt, Value::U(u)) => Value::I(u as i32),
            (ScalarKind::Sint | ScalarKind::AbstractInt, Value::B(b)) => Value::I(b as i32),
            (ScalarKind::Uint, Value::F(f)) => Value::U(f as u32),
            (ScalarKind::Uint, Value::I(i)) => Value::U(i as u32),
            (ScalarKind::Uint, Value::B(b)) => Value::U(b as u32),
            (ScalarKind::Bool, Value::F(f)) => Value::B(f != 0.0),
            (ScalarKind::Bool, Value::I(i)) => Value::B(i != 0),
            (ScalarKind::Bool, Value::U(u)) => Value::B(u != 0),
            (_, v) => v,
        })
    }

    /// A constant expression of `module.global_expressions`.
    fn global(&self, module: &naga::Module, h: Handle<naga::Expression>) -> Result<Value, String> {
        match &module.global_expressions[h] {
            E::Literal(l) => literal(l),
            E::Constant(c) => self.global(module, module.constants[*c].init),
            E::Override(o) => self
                .overrides
                .get(o)
                .map(|v| Value::F(*v))
                .ok_or_else(|| "an override used before it is set".to_string()),
            E::ZeroValue(ty) => self.zero(*ty),
            E::Unary { op, expr } => unary(*op, self.global(module, *expr)?),
            E::Binary { op, left, right } => binary(
                *op,
                self.global(module, *left)?,
                self.global(module, *right)?,
            ),
            E::As { expr, kind, .. } => self.convert(self.global(module, *expr)?, *kind),
            other => Err(format!("unsupported constant expression {other:?}")),
        }
    }

    fn invoke(
        &self,
        h: Handle<naga::Function>,
        args: Vec<Value>,
        host: Host,
        budget: &mut usize,
    ) -> Result<Option<Value>, String> {
        let function = &self.module.functions[h];
        if let (Some(name), Some(result)) = (&function.name, &function.result) {
            // The host only stands in for functions of numbers (`logit(j)`, `outputs()`).
            if let Ok(numbers) = args.iter().map(|a| a.f()).collect::<Result<Vec<_>, _>>() {
                if let Some(v) = host(name, &numbers) {
                    return Ok(Some(
                        self.convert(Value::F(v), self.scalar_kind(result.ty)?)?,
                    ));
                }
            }
        }
        // WGSL has no recursion, but a generated file can chain calls deep enough to overflow
        // the interpreter's stack.
        *budget = budget
            .checked_sub(MAX_STATEMENTS / MAX_CALL_DEPTH)
            .ok_or("stopped: calls nested too deep or too many statements")?;
        let mut frame = Frame {
            function,
            host,
            args,
            values: vec![None; function.expressions.len()],
            locals: Vec::with_capacity(function.local_variables.len()),
            budget: *budget,
        };
        for (_, local) in function.local_variables.iter() {
            let v = match local.init {
                Some(init) => self.eval(&mut frame, init)?,
                None => self.zero(local.ty)?,
            };
            frame.locals.push(v);
        }
        let flow = self.block(&mut frame, &function.body)?;
        *budget = frame.budget;
        Ok(match flow {
            Flow::Return(v) => v,
            _ => None,
        })
    }

    fn block(&self, frame: &mut Frame, block: &naga::Block) -> Result<Flow, String> {
        for statement in block.iter() {
            frame.budget = frame
                .budget
                .checked_sub(1)
                .ok_or("stopped after 100000 statements (a loop that does not end?)")?;
            let flow = self.statement(frame, statement)?;
            if !matches!(flow, Flow::Next) {
                return Ok(flow);
            }
        }
        Ok(Flow::Next)
    }

    fn statement(&self, frame: &mut Frame, statement: &S) -> Result<Flow, String> {
        match statement {
            S::Emit(range) => {
                // Re-evaluated at every emission: inside a loop, a `Load` sees the new value.
                for h in range.clone() {
                    frame.values[h.index()] = None;
                }
                for h in range.clone() {
                    self.eval(frame, h)?;
                }
                Ok(Flow::Next)
            }
            S::Block(b) => self.block(frame, b),
            S::If {
                condition,
                accept,
                reject,
            } => {
                if self.eval(frame, *condition)?.b()? {
                    self.block(frame, accept)
                } else {
                    self.block(frame, reject)
                }
            }
            S::Switch { selector, cases } => {
                let v = self.eval(frame, *selector)?;
                let hit = cases.iter().position(|c| match (c.value, v) {
                    (naga::SwitchValue::I32(a), Value::I(b)) => a == b,
                    (naga::SwitchValue::U32(a), Value::U(b)) => a == b,
                    _ => false,
                });
                let start = hit
                    .or_else(|| {
                        cases
                            .iter()
                            .position(|c| c.value == naga::SwitchValue::Default)
                    })
                    .ok_or("a switch without a matching case")?;
                for case in &cases[start..] {
                    match self.block(frame, &case.body)? {
                        Flow::Next if case.fall_through => continue,
                        Flow::Next | Flow::Break => return Ok(Flow::Next),
                        other => return Ok(other),
                    }
                }
                Ok(Flow::Next)
            }
            S::Loop {
                body,
                continuing,
                break_if,
            } => loop {
                // An empty `loop {}` runs no statement: its iterations must spend budget too.
                frame.budget = frame
                    .budget
                    .checked_sub(1)
                    .ok_or("stopped after 100000 statements (a loop that does not end?)")?;
                match self.block(frame, body)? {
                    Flow::Break => return Ok(Flow::Next),
                    Flow::Return(v) => return Ok(Flow::Return(v)),
                    Flow::Next | Flow::Continue => {}
                }
                match self.block(frame, continuing)? {
                    Flow::Break => return Ok(Flow::Next),
                    Flow::Return(v) => return Ok(Flow::Return(v)),
                    Flow::Next | Flow::Continue => {}
                }
                if let Some(c) = break_if {
                    if self.eval(frame, *c)?.b()? {
                        return Ok(Flow::Next);
                    }
                }
            },
            S::Break => Ok(Flow::Break),
            S::Continue => Ok(Flow::Continue),
            S::Return { value } => Ok(Flow::Return(match value {
                Some(v) => Some(self.eval(frame, *v)?),
                None => None,
            })),
            S::Store { pointer, value } => {
                let Value::Local(i) = self.eval(frame, *pointer)? else {
                    return Err("a store through a pointer other than a local `var`".into());
                };
                let v = self.eval(frame, *value)?;
                frame.locals[i] = v;
                Ok(Flow::Next)
            }
            S::Call {
                function,
                arguments,
                result,
            } => {
                let args = arguments
                    .iter()
                    .map(|a| self.eval(frame, *a))
                    .collect::<Result<Vec<_>, _>>()?;
                if args.iter().any(|a| matches!(a, Value::Local(_))) {
                    return Err("pointer arguments (`ptr<function, …>`) are not supported".into());
                }
                let v = self.invoke(*function, args, frame.host, &mut frame.budget)?;
                if let (Some(r), Some(v)) = (result, v) {
                    frame.values[r.index()] = Some(v);
                }
                Ok(Flow::Next)
            }
            other => Err(format!("unsupported statement {other:?}")),
        }
    }

    fn eval(&self, frame: &mut Frame, h: Handle<naga::Expression>) -> Result<Value, String> {
        if let Some(v) = frame.values[h.index()] {
            return Ok(v);
        }
        let v = match &frame.function.expressions[h] {
            E::Literal(l) => literal(l)?,
            E::Constant(c) => self.global(&self.module, self.module.constants[*c].init)?,
            E::Override(o) => {
                Value::F(*self.overrides.get(o).ok_or("an override without a value")?)
            }
            E::ZeroValue(ty) => self.zero(*ty)?,
            E::FunctionArgument(i) => frame.args[*i as usize],
            E::LocalVariable(l) => Value::Local(l.index()),
            E::Load { pointer } => match self.eval(frame, *pointer)? {
                Value::Local(i) => frame.locals[i],
                _ => return Err("a load through a pointer other than a local `var`".into()),
            },
            E::Unary { op, expr } => unary(*op, self.eval(frame, *expr)?)?,
            E::Binary { op, left, right } => {
                let (l, r) = (self.eval(frame, *left)?, self.eval(frame, *right)?);
                binary(*op, l, r)?
            }
            E::Select {
                condition,
                accept,
                reject,
            } => {
                let c = self.eval(frame, *condition)?.b()?;
                let (a, r) = (self.eval(frame, *accept)?, self.eval(frame, *reject)?);
                if c {
                    a
                } else {
                    r
                }
            }
            E::Relational { fun, argument } => {
                let x = self.eval(frame, *argument)?;
                match fun {
                    naga::RelationalFunction::IsNan => Value::B(x.f()?.is_nan()),
                    naga::RelationalFunction::IsInf => Value::B(x.f()?.is_infinite()),
                    naga::RelationalFunction::All | naga::RelationalFunction::Any => x,
                }
            }
            E::Math {
                fun,
                arg,
                arg1,
                arg2,
                ..
            } => {
                let a = self.eval(frame, *arg)?;
                let b = arg1.map(|h| self.eval(frame, h)).transpose()?;
                let c = arg2.map(|h| self.eval(frame, h)).transpose()?;
                math(*fun, a, b, c)?
            }
            E::As {
                expr,
                kind,
                convert,
            } => {
                let v = self.eval(frame, *expr)?;
                match convert {
                    Some(_) => self.convert(v, *kind)?,
                    None => bitcast(v, *kind)?,
                }
            }
            E::CallResult(_) => return Err("a call result read before the call".into()),
            other => return Err(format!("unsupported expression {other:?}")),
        };
        frame.values[h.index()] = Some(v);
        Ok(v)
    }
}

fn literal(l: &Literal) -> Result<Value, String> {
    Ok(match *l {
        Literal::F64(v) | Literal::AbstractFloat(v) => Value::F(v),
        Literal::F32(v) => Value::F(v as f64),
        Literal::I32(v) => Value::I(v),
        Literal::U32(v) => Value::U(v),
        Literal::AbstractInt(v) => Value::I(v as i32),
        Literal::Bool(v) => Value::B(v),
        other => return Err(format!("unsupported literal {other:?}")),
    })
}

fn unary(op: Un, v: Value) -> Result<Value, String> {
    Ok(match (op, v) {
        (Un::Negate, Value::F(x)) => Value::F(-x),
        (Un::Negate, Value::I(x)) => Value::I(x.wrapping_neg()),
        (Un::LogicalNot, Value::B(x)) => Value::B(!x),
        (Un::BitwiseNot, Value::I(x)) => Value::I(!x),
        (Un::BitwiseNot, Value::U(x)) => Value::U(!x),
        (op, v) => return Err(format!("unsupported {op:?} of {v:?}")),
    })
}

fn binary(op: Op, l: Value, r: Value) -> Result<Value, String> {
    use Value::*;
    let cmp = |o: std::cmp::Ordering| -> Option<bool> {
        Some(match op {
            Op::Equal => o.is_eq(),
            Op::NotEqual => o.is_ne(),
            Op::Less => o.is_lt(),
            Op::LessEqual => o.is_le(),
            Op::Greater => o.is_gt(),
            Op::GreaterEqual => o.is_ge(),
            _ => return None,
        })
    };
    Ok(match (l, r) {
        (F(a), F(b)) => match op {
            Op::Add => F(a + b),
            Op::Subtract => F(a - b),
            Op::Multiply => F(a * b),
            Op::Divide => F(a / b),
            // WGSL's `%` on floats truncates, like Rust's.
            Op::Modulo => F(a % b),
            _ => match a.partial_cmp(&b) {
                // Every comparison with NaN is false except `!=`.
                None => B(op == Op::NotEqual),
                Some(o) => B(cmp(o).ok_or(format!("unsupported {op:?} of floats"))?),
            },
        },
        (I(a), I(b)) => match op {
            Op::Add => I(a.wrapping_add(b)),
            Op::Subtract => I(a.wrapping_sub(b)),
            Op::Multiply => I(a.wrapping_mul(b)),
            Op::Divide => I(if b == 0 { a } else { a.wrapping_div(b) }),
            Op::Modulo => I(if b == 0 { 0 } else { a.wrapping_rem(b) }),
            Op::And => I(a & b),
            Op::InclusiveOr => I(a | b),
            Op::ExclusiveOr => I(a ^ b),
            _ => B(cmp(a.cmp(&b)).ok_or(format!("unsupported {op:?} of i32"))?),
        },
        (U(a), U(b)) => match op {
            Op::Add => U(a.wrapping_add(b)),
            Op::Subtract => U(a.wrapping_sub(b)),
            Op::Multiply => U(a.wrapping_mul(b)),
            // WGSL defines x / 0 as x for integers.
            Op::Divide => U(a.checked_div(b).unwrap_or(a)),
            Op::Modulo => U(if b == 0 { 0 } else { a % b }),
            Op::And => U(a & b),
            Op::InclusiveOr => U(a | b),
            Op::ExclusiveOr => U(a ^ b),
            Op::ShiftLeft => U(a.wrapping_shl(b)),
            Op::ShiftRight => U(a.wrapping_shr(b)),
            _ => B(cmp(a.cmp(&b)).ok_or(format!("unsupported {op:?} of u32"))?),
        },
        (I(a), U(b)) if matches!(op, Op::ShiftLeft | Op::ShiftRight) => match op {
            Op::ShiftLeft => I(a.wrapping_shl(b)),
            _ => I(a.wrapping_shr(b)),
        },
        (B(a), B(b)) => match op {
            Op::LogicalAnd | Op::And => B(a && b),
            Op::LogicalOr | Op::InclusiveOr => B(a || b),
            Op::Equal => B(a == b),
            Op::NotEqual | Op::ExclusiveOr => B(a != b),
            _ => return Err(format!("unsupported {op:?} of bools")),
        },
        (l, r) => return Err(format!("unsupported {op:?} of {l:?} and {r:?}")),
    })
}

fn math(fun: M, a: Value, b: Option<Value>, c: Option<Value>) -> Result<Value, String> {
    let second = || b.ok_or(format!("{fun:?} needs two arguments"));
    let third = || c.ok_or(format!("{fun:?} needs three arguments"));
    // Integer forms of the few built-ins users apply to integers.
    match (fun, a, b) {
        (M::Abs, Value::I(x), _) => return Ok(Value::I(x.wrapping_abs())),
        (M::Abs, Value::U(x), _) => return Ok(Value::U(x)),
        (M::Sign, Value::I(x), _) => return Ok(Value::I(x.signum())),
        (M::Clamp, Value::I(x), Some(Value::I(lo))) => {
            if let Some(Value::I(hi)) = c {
                return Ok(Value::I(x.max(lo).min(hi)));
            }
        }
        (M::Clamp, Value::U(x), Some(Value::U(lo))) => {
            if let Some(Value::U(hi)) = c {
                return Ok(Value::U(x.max(lo).min(hi)));
            }
        }
        (M::Min, Value::I(x), Some(Value::I(y))) => return Ok(Value::I(x.min(y))),
        (M::Max, Value::I(x), Some(Value::I(y))) => return Ok(Value::I(x.max(y))),
        (M::Min, Value::U(x), Some(Value::U(y))) => return Ok(Value::U(x.min(y))),
        (M::Max, Value::U(x), Some(Value::U(y))) => return Ok(Value::U(x.max(y))),
        (M::Min | M::Max | M::Clamp | M::Sign, Value::U(_) | Value::I(_), _) => {
            return Err(format!("unsupported {fun:?} of mixed integers"))
        }
        _ => {}
    }
    let x = a.f()?;
    let v = match fun {
        M::Abs => x.abs(),
        M::Min => x.min(second()?.f()?),
        M::Max => x.max(second()?.f()?),
        M::Clamp => x.max(second()?.f()?).min(third()?.f()?),
        M::Saturate => x.clamp(0.0, 1.0),
        M::Cos => x.cos(),
        M::Cosh => x.cosh(),
        M::Sin => x.sin(),
        M::Sinh => x.sinh(),
        M::Tan => x.tan(),
        M::Tanh => x.tanh(),
        M::Acos => x.acos(),
        M::Asin => x.asin(),
        M::Atan => x.atan(),
        M::Atan2 => x.atan2(second()?.f()?),
        M::Asinh => x.asinh(),
        M::Acosh => x.acosh(),
        M::Atanh => x.atanh(),
        M::Radians => x.to_radians(),
        M::Degrees => x.to_degrees(),
        M::Ceil => x.ceil(),
        M::Floor => x.floor(),
        M::Round => x.round_ties_even(),
        M::Fract => x - x.floor(),
        M::Trunc => x.trunc(),
        M::Exp => x.exp(),
        M::Exp2 => x.exp2(),
        M::Log => x.ln(),
        M::Log2 => x.log2(),
        M::Pow => x.powf(second()?.f()?),
        M::Sqrt => x.sqrt(),
        M::InverseSqrt => 1.0 / x.sqrt(),
        M::Sign => {
            if x > 0.0 {
                1.0
            } else if x < 0.0 {
                -1.0
            } else {
                0.0
            }
        }
        M::Fma => x * second()?.f()? + third()?.f()?,
        M::Mix => {
            let (y, t) = (second()?.f()?, third()?.f()?);
            x + (y - x) * t
        }
        // step(edge, x)
        M::Step => {
            if second()?.f()? >= x {
                1.0
            } else {
                0.0
            }
        }
        // smoothstep(low, high, x)
        M::SmoothStep => {
            let (high, v) = (second()?.f()?, third()?.f()?);
            let t = ((v - x) / (high - x)).clamp(0.0, 1.0);
            t * t * (3.0 - 2.0 * t)
        }
        other => return Err(format!("unsupported built-in {other:?}")),
    };
    Ok(Value::F(v))
}

fn bitcast(v: Value, kind: ScalarKind) -> Result<Value, String> {
    Ok(match (v, kind) {
        (Value::F(f), ScalarKind::Uint) => Value::U((f as f32).to_bits()),
        (Value::F(f), ScalarKind::Sint) => Value::I((f as f32).to_bits() as i32),
        (Value::U(u), ScalarKind::Float) => Value::F(f32::from_bits(u) as f64),
        (Value::I(i), ScalarKind::Float) => Value::F(f32::from_bits(i as u32) as f64),
        (Value::U(u), ScalarKind::Sint) => Value::I(u as i32),
        (Value::I(i), ScalarKind::Uint) => Value::U(i as u32),
        (v, k) if matches!((v, k), (Value::F(_), ScalarKind::Float)) => v,
        (v, k) => return Err(format!("unsupported bitcast of {v:?} to {k:?}")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn program(src: &str, params: &[(&str, f64)]) -> ScalarProgram {
        let module = naga::front::wgsl::parse_str(src).unwrap();
        let params: Vec<(String, f64)> = params.iter().map(|(n, v)| (n.to_string(), *v)).collect();
        ScalarProgram::new(module, &params).unwrap()
    }

    #[test]
    fn evaluates_control_flow_calls_overrides_and_builtins_in_f64() {
        let p = program(
            "override beta: f32 = 1.0;
             const C: f32 = 0.5;
             fn sigmoid(x: f32) -> f32 { return 1.0 / (1.0 + exp(-x)); }
             fn swish(x: f32) -> f32 { return x * sigmoid(beta * x); }
             fn sum_to(n: f32) -> f32 {
                 var s = 0.0;
                 for (var i = 0; i < i32(n); i++) { if (i == 2) { continue; } s += f32(i); }
                 return s;
             }
             fn pick(x: f32) -> f32 {
                 switch u32(x) { case 0u: { return C; } case 1u, 2u: { return 2.0; } default: { return -1.0; } }
             }
             fn misc(x: f32) -> f32 { return select(clamp(x, -1.0, 1.0), round(x), x > 10.0) + step(0.0, x); }
             fn pick_bool(c: bool, a: f32, b: f32) -> f32 { return select(b, a, c); }
             fn ints(x: f32) -> f32 { let i = clamp(i32(x), 0, 2); return f32(sign(i - 1) + i32(pick_bool(x > 0.0, 1.0, 0.0))); }
             override zero_default: f32 = f32();",
            &[("beta", 2.0)],
        );
        assert_eq!(p.call("ints", &[7.5]).unwrap(), 2.0); // clamp → 2, sign(1) = 1, +1
        assert_eq!(p.call("ints", &[-3.0]).unwrap(), -1.0);
        let x: f64 = 0.3;
        let swish = x / (1.0 + (-2.0 * x).exp());
        assert!((p.call("swish", &[x]).unwrap() - swish).abs() < 1e-15);
        assert_eq!(p.call("sum_to", &[5.0]).unwrap(), 0.0 + 1.0 + 3.0 + 4.0);
        assert_eq!(p.call("pick", &[0.0]).unwrap(), 0.5);
        assert_eq!(p.call("pick", &[2.0]).unwrap(), 2.0);
        assert_eq!(p.call("pick", &[7.0]).unwrap(), -1.0);
        assert_eq!(p.call("misc", &[12.5]).unwrap(), 13.0); // round half to even, step
        assert_eq!(p.call("misc", &[-3.0]).unwrap(), -1.0);
    }

    #[test]
    fn a_runaway_loop_and_unsupported_constructs_are_errors() {
        let p = program(
            "fn forever(x: f32) -> f32 { var y = x; loop { y += 1.0; } return y; }
             fn idle(x: f32) -> f32 { loop { } return x; }
             fn inc(p: ptr<function, f32>) { *p = *p + 1.0; }
             fn by_pointer(x: f32) -> f32 { var y = x; inc(&y); return y; }
             fn vec(x: f32) -> f32 { let v = vec2<f32>(x, x); return v.x; }",
            &[],
        );
        assert!(p.call("forever", &[0.0]).unwrap_err().contains("100000"));
        assert!(p.call("idle", &[0.0]).unwrap_err().contains("100000"));
        assert!(p
            .call("by_pointer", &[0.0])
            .unwrap_err()
            .contains("pointer"));
        assert!(p.call("vec", &[1.0]).unwrap_err().contains("unsupported"));
        assert!(p
            .call("missing", &[1.0])
            .unwrap_err()
            .contains("no function"));
    }
}
