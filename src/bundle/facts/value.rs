//! Values of the native evaluator: borrowed from the request, the bundle or
//! the expression wherever possible, so evaluating a rule allocates nothing
//! in the common case.

use std::{borrow::Cow, cmp::Ordering, collections::BTreeMap, fmt::Write as _};

use jiff::Timestamp;

use crate::domain::{MethodType, PaymentMethod};

/// A map of data a rule can read by key.
#[derive(Debug, Clone, Copy)]
pub enum MapRef<'a> {
    /// Metrics: usage, limits, quotas, health signals.
    Metrics(&'a BTreeMap<String, f64>),
    /// Strings: request attributes.
    Strings(&'a BTreeMap<String, String>),
    /// Bundle data: plan and merchant attributes.
    Json(&'a BTreeMap<String, serde_json::Value>),
    /// A JSON object nested in bundle data.
    JsonObject(&'a serde_json::Map<String, serde_json::Value>),
    /// A payment method as a record (`id`, `type`, `status`, `fallback_rank`).
    Method(&'a PaymentMethod),
}

impl<'a> MapRef<'a> {
    /// The value at `key`, if present.
    pub fn get(&self, key: &str) -> Option<V<'a>> {
        match *self {
            Self::Metrics(m) => m.get(key).map(|v| V::Float(*v)),
            Self::Strings(m) => m.get(key).map(|v| V::Str(Cow::Borrowed(v.as_str()))),
            Self::Json(m) => m.get(key).map(V::json),
            Self::JsonObject(m) => m.get(key).map(V::json),
            Self::Method(m) => match key {
                "id" => Some(V::Str(Cow::Borrowed(m.id.as_str()))),
                "type" => Some(V::Str(Cow::Borrowed(m.kind.as_str()))),
                "status" => Some(V::Str(Cow::Borrowed(m.status.as_str()))),
                "fallback_rank" => Some(V::Int(i64::from(m.fallback_rank.unwrap_or(0)))),
                _ => None,
            },
        }
    }

    /// Whether there are no entries.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        match self {
            Self::Metrics(m) => m.len(),
            Self::Strings(m) => m.len(),
            Self::Json(m) => m.len(),
            Self::JsonObject(m) => m.len(),
            Self::Method(_) => 4,
        }
    }
}

/// A list: built by the evaluator, or a list of the request or the bundle
/// read in place, so reading a list fact (`size(wallet.fallbacks)`)
/// builds nothing.
#[derive(Debug, Clone)]
pub enum List<'a> {
    /// Values built by the evaluator (a list literal, `+`, bundle data).
    Owned(Vec<V<'a>>),
    /// Payment methods' ids.
    Ids(&'a [&'a PaymentMethod]),
    /// Payment methods as records.
    Records(&'a [&'a PaymentMethod]),
    /// The request's payment methods as records.
    Methods(&'a [PaymentMethod]),
    /// Payment method type names.
    Types(&'a [MethodType]),
    /// Strings.
    Strings(&'a [String]),
}

impl<'a> List<'a> {
    /// The number of items.
    pub fn len(&self) -> usize {
        match self {
            Self::Owned(items) => items.len(),
            Self::Ids(items) | Self::Records(items) => items.len(),
            Self::Methods(items) => items.len(),
            Self::Types(items) => items.len(),
            Self::Strings(items) => items.len(),
        }
    }

    /// Whether there are no items.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The item at `i`.
    pub fn get(&self, i: usize) -> Option<V<'a>> {
        Some(match self {
            Self::Owned(items) => items.get(i)?.clone(),
            Self::Ids(items) => V::str(items.get(i)?.id.as_str()),
            Self::Records(items) => V::Map(MapRef::Method(items.get(i)?)),
            Self::Methods(items) => V::Map(MapRef::Method(items.get(i)?)),
            Self::Types(items) => V::str(items.get(i)?.as_str()),
            Self::Strings(items) => V::str(items.get(i)?.as_str()),
        })
    }

    /// The items in order.
    pub fn iter(&self) -> impl Iterator<Item = V<'a>> + '_ {
        (0..self.len()).filter_map(|i| self.get(i))
    }

    /// The item at `i`, taken out of the list.
    pub fn into_nth(self, i: usize) -> Option<V<'a>> {
        match self {
            Self::Owned(items) => items.into_iter().nth(i),
            other => other.get(i),
        }
    }

    /// The items as a built list.
    pub fn into_vec(self) -> Vec<V<'a>> {
        match self {
            Self::Owned(items) => items,
            other => other.iter().collect(),
        }
    }
}

/// A value of the native evaluator.
#[derive(Debug, Clone)]
pub enum V<'a> {
    /// `null`
    Null,
    /// A bool.
    Bool(bool),
    /// A signed integer.
    Int(i64),
    /// An unsigned integer.
    UInt(u64),
    /// A double.
    Float(f64),
    /// A string.
    Str(Cow<'a, str>),
    /// A timestamp.
    Ts(Timestamp),
    /// A list.
    List(List<'a>),
    /// A map or record.
    Map(MapRef<'a>),
}

impl<'a> V<'a> {
    /// Bundle data as a value.
    pub fn json(v: &'a serde_json::Value) -> Self {
        match v {
            serde_json::Value::Null => Self::Null,
            serde_json::Value::Bool(b) => Self::Bool(*b),
            serde_json::Value::Number(n) => match n.as_i64() {
                Some(i) => Self::Int(i),
                None => Self::Float(n.as_f64().unwrap_or(f64::NAN)),
            },
            serde_json::Value::String(s) => Self::Str(Cow::Borrowed(s.as_str())),
            serde_json::Value::Array(items) => {
                Self::List(List::Owned(items.iter().map(Self::json).collect()))
            }
            serde_json::Value::Object(m) => Self::Map(MapRef::JsonObject(m)),
        }
    }

    /// A borrowed string.
    pub fn str(s: &'a str) -> Self {
        Self::Str(Cow::Borrowed(s))
    }

    /// The CEL type name, for messages.
    pub fn type_name(&self) -> &'static str {
        match self {
            Self::Null => "null_type",
            Self::Bool(_) => "bool",
            Self::Int(_) => "int",
            Self::UInt(_) => "uint",
            Self::Float(_) => "double",
            Self::Str(_) => "string",
            Self::Ts(_) => "timestamp",
            Self::List(_) => "list",
            Self::Map(_) => "map",
        }
    }

    /// CEL equality: numbers compare across int, uint and double; values of
    /// different types are unequal.
    pub fn equals(&self, other: &V<'_>) -> bool {
        match (self, other) {
            (Self::Null, V::Null) => true,
            (Self::Bool(a), V::Bool(b)) => a == b,
            (Self::Str(a), V::Str(b)) => a == b,
            (Self::Ts(a), V::Ts(b)) => a == b,
            (Self::List(a), V::List(b)) => {
                a.len() == b.len() && a.iter().zip(b.iter()).all(|(x, y)| x.equals(&y))
            }
            _ => matches!(self.compare(other), Some(Ordering::Equal)),
        }
    }

    /// CEL ordering, where one is defined.
    pub fn compare(&self, other: &V<'_>) -> Option<Ordering> {
        match (self, other) {
            (Self::Int(a), V::Int(b)) => Some(a.cmp(b)),
            (Self::UInt(a), V::UInt(b)) => Some(a.cmp(b)),
            (Self::Int(a), V::UInt(b)) => Some(i128::from(*a).cmp(&i128::from(*b))),
            (Self::UInt(a), V::Int(b)) => Some(i128::from(*a).cmp(&i128::from(*b))),
            (Self::Float(a), V::Float(b)) => a.partial_cmp(b),
            #[expect(
                clippy::cast_precision_loss,
                reason = "CEL compares int and double as doubles"
            )]
            (Self::Float(a), V::Int(b)) => a.partial_cmp(&(*b as f64)),
            #[expect(
                clippy::cast_precision_loss,
                reason = "CEL compares int and double as doubles"
            )]
            (Self::Int(a), V::Float(b)) => (*a as f64).partial_cmp(b),
            #[expect(
                clippy::cast_precision_loss,
                reason = "CEL compares uint and double as doubles"
            )]
            (Self::Float(a), V::UInt(b)) => a.partial_cmp(&(*b as f64)),
            #[expect(
                clippy::cast_precision_loss,
                reason = "CEL compares uint and double as doubles"
            )]
            (Self::UInt(a), V::Float(b)) => (*a as f64).partial_cmp(b),
            (Self::Str(a), V::Str(b)) => Some(a.as_ref().cmp(b.as_ref())),
            (Self::Bool(a), V::Bool(b)) => Some(a.cmp(b)),
            (Self::Ts(a), V::Ts(b)) => Some(a.cmp(b)),
            _ => None,
        }
    }

    /// The value as message text: `12`, not `12.0`; lists as `[a, b]`.
    pub fn render(&self, out: &mut String) {
        match self {
            Self::Null => out.push_str("null"),
            Self::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Self::Int(i) => out.push_str(itoa::Buffer::new().format(*i)),
            Self::UInt(u) => {
                let _ = write!(out, "{u}");
            }
            Self::Float(f) => write_number(out, *f),
            Self::Str(s) => out.push_str(s),
            Self::Ts(t) => {
                let _ = write!(out, "{t}");
            }
            Self::List(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    item.render(out);
                }
                out.push(']');
            }
            Self::Map(_) => out.push_str("{...}"),
        }
    }
}

/// A number as people write it: `12`, not `12.0`; `0.5` stays `0.5`.
pub fn number(n: f64) -> String {
    let mut s = String::new();
    write_number(&mut s, n);
    s
}

/// [`number`], appended to `out`.
pub fn write_number(out: &mut String, n: f64) {
    if n.fract() == 0.0 && n.abs() < 1e15 {
        // Whole numbers print as integers: far cheaper than float
        // formatting, and itoa cheaper than the formatter's machinery.
        #[expect(
            clippy::cast_possible_truncation,
            reason = "a whole number below 1e15 fits an i64"
        )]
        let whole = n as i64;
        out.push_str(itoa::Buffer::new().format(whole));
    } else {
        let _ = write!(out, "{n}");
    }
}
