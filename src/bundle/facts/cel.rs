//! The CEL interpreter's view of the facts, derived from the same
//! declarations the native evaluator reads: every fact of a decision type's
//! table, read from the context and nested by its path.

use std::{collections::HashMap, sync::Arc};

use jiff::Timestamp;

use super::{Context, MapRef, Table, V, item};

/// The activation an interpreted expression runs in: every fact the table
/// declares that the request gives, nested by path (`request.billing.*`).
pub fn activation<C: Context>(
    env: Arc<cel::Env>,
    table: Table<C>,
    ctx: &C::Of<'_>,
) -> cel::Context<'static, 'static> {
    let mut roots: HashMap<&'static str, Tree> = HashMap::new();
    for fact in table.iter() {
        let Some(v) = (fact.read)(ctx) else {
            // An absent optional fact is an absent key, so `has()` tells.
            continue;
        };
        let mut segments = fact.path.split('.');
        let Some(root) = segments.next() else {
            continue;
        };
        let tree = roots.entry(root).or_insert_with(Tree::branch);
        tree.insert(segments, value(&v));
    }
    let mut activation = cel::Context::with_env(env);
    for (root, tree) in roots {
        activation.add_variable_from_value(root, tree.into_value());
    }
    activation
}

/// Adds a `for_each` item's facts to `scope`.
pub fn add_item(scope: &mut cel::Context<'_, '_>, it: &item::Item<'_>) {
    for fact in item::FACTS {
        if let Some(v) = (fact.read)(it) {
            scope.add_variable_from_value(fact.path, value(&v));
        }
    }
}

/// A path tree under construction.
enum Tree {
    Leaf(cel::Value),
    Branch(HashMap<&'static str, Tree>),
}

impl Tree {
    fn branch() -> Self {
        Self::Branch(HashMap::new())
    }

    fn insert(&mut self, mut path: impl Iterator<Item = &'static str>, v: cel::Value) {
        match (path.next(), self) {
            (None, slot) => *slot = Self::Leaf(v),
            (Some(segment), Self::Branch(children)) => children
                .entry(segment)
                .or_insert_with(Self::branch)
                .insert(path, v),
            // Declarations never nest under a value; keep the value.
            (Some(_), Self::Leaf(_)) => {}
        }
    }

    fn into_value(self) -> cel::Value {
        match self {
            Self::Leaf(v) => v,
            Self::Branch(children) => cel::Value::from(
                children
                    .into_iter()
                    .map(|(k, t)| (k.to_owned(), t.into_value()))
                    .collect::<HashMap<_, _>>(),
            ),
        }
    }
}

/// A native value as a CEL value.
pub fn value(v: &V<'_>) -> cel::Value {
    match v {
        V::Null => cel::Value::Null,
        V::Bool(b) => cel::Value::Bool(*b),
        V::Int(i) => cel::Value::Int(*i),
        V::UInt(u) => cel::Value::UInt(*u),
        V::Float(f) => cel::Value::Float(*f),
        V::Str(s) => cel::Value::from(s.to_string()),
        V::Ts(t) => timestamp(*t),
        V::List(items) => cel::Value::List(Arc::new(items.iter().map(|v| value(&v)).collect())),
        V::Map(m) => map(*m),
    }
}

fn map(m: MapRef<'_>) -> cel::Value {
    let entries: HashMap<String, cel::Value> = match m {
        MapRef::Metrics(m) => m
            .iter()
            .map(|(k, v)| (k.clone(), cel::Value::Float(*v)))
            .collect(),
        MapRef::Strings(m) => m
            .iter()
            .map(|(k, v)| (k.clone(), cel::Value::from(v.clone())))
            .collect(),
        MapRef::Json(m) => m.iter().map(|(k, v)| (k.clone(), json(v))).collect(),
        MapRef::JsonObject(m) => m.iter().map(|(k, v)| (k.clone(), json(v))).collect(),
        MapRef::Method(_) => ["id", "type", "status", "fallback_rank"]
            .into_iter()
            .filter_map(|k| Some((k.to_owned(), value(&m.get(k)?))))
            .collect(),
    };
    cel::Value::from(entries)
}

/// Bundle data (YAML scalars, lists, maps) as a CEL value.
pub fn json(v: &serde_json::Value) -> cel::Value {
    value(&V::json(v))
}

/// A jiff instant as a CEL timestamp.
pub fn timestamp(ts: Timestamp) -> cel::Value {
    // jiff rounds toward zero; chrono wants non-negative nanos.
    let (mut seconds, mut nanos) = (ts.as_second(), ts.subsec_nanosecond());
    if nanos < 0 {
        seconds -= 1;
        nanos += 1_000_000_000;
    }
    let nanos = u32::try_from(nanos).unwrap_or(0);
    chrono::DateTime::from_timestamp(seconds, nanos).map_or(cel::Value::Null, |dt| {
        cel::Value::Timestamp(dt.fixed_offset())
    })
}
