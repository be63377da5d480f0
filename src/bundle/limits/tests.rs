//! The text's bounds never exceed what the parsed tree measures, so the
//! check before parsing refuses nothing the check after it would accept.

use proptest::prelude::*;

use super::{
    LimitError, MAX_BRACKETS, MAX_DEPTH, MAX_NODES, MAX_SOURCE_BYTES, bounds::Bounds, measure,
};

/// The depth and node count of the tree cel parses `source` into, or
/// `None` when it does not parse.
fn parsed(source: &str) -> Option<(usize, usize)> {
    let program = cel::Env::stdlib().compile(source).ok()?;
    Some(measure(&program.expression().expr))
}

fn assert_bounded(source: &str) {
    let Some((depth, nodes)) = parsed(source) else {
        return;
    };
    let b = Bounds::of(source);
    assert!(
        b.depth <= depth,
        "depth bound {} over the tree's {depth}: {source}",
        b.depth
    );
    assert!(
        b.nodes <= nodes,
        "size bound {} over the tree's {nodes}: {source}",
        b.nodes
    );
}

#[test]
fn bounds_of_known_shapes() {
    for (source, depth, nodes) in [
        ("a", 1, 1),
        ("a.b.c", 3, 3),
        ("a[0][1]", 3, 5),
        ("f(g(h(x)))", 4, 4),
        ("has(a.b)", 2, 2),
        ("1 + 2 * 3 < 4", 4, 7),
        ("a ? b : c ? d : e", 3, 7),
        ("[1, [2, [3]]]", 4, 6),
    ] {
        assert_eq!(parsed(source), Some((depth, nodes)), "{source}");
        assert_bounded(source);
    }
}

#[test]
fn bounds_of_tricky_tokens() {
    for source in [
        "-1 - -2 - - 3",
        "!!a && !b",
        "'a)(' + \"b]]\" + '''c\n)''' + r'\\' + b'x' + br\"y\" + R'z'",
        "'it\\'s' + \"q\\\"\"",
        "1.5e+3 + .5 + 0x1F + 7u + 1e-2",
        "a.b // a comment (((\n + 1",
        "{'k': a ? b : c, 'l': d ? e : f}",
        "{a ? 'x' : 'y': 1}",
        "l.all(x, x > 0) && l.exists(y, y < 0) && l.map(z, z * 2).size() > 0",
        "l.filter(x, x % 2 == 0).exists_one(y, y == 2)",
        "a.?b.orValue(1) + [?c][0]",
        "a in [1, 2] && 'k' in {'k': 1}",
        "size(a) + a.size() + int('1') + double(2)",
        "(((a)))",
        "has + 1",
        "x.has(y)",
    ] {
        assert!(parsed(source).is_some(), "does not parse: {source}");
        assert_bounded(source);
    }
}

#[test]
fn long_chains_are_refused_from_the_text() {
    let chain = |n: usize, op: &str| vec!["1"; n].join(op);
    let deep = format!("{} < 0", chain(100, " + "));
    assert_eq!(super::text(&deep), Err(LimitError::DepthAtLeast(100)));
    let wide = chain(600, " || ");
    assert_eq!(super::text(&wide), Err(LimitError::NodesAtLeast(1199)));
    let nested = format!("{}1{}", "(".repeat(33), ")".repeat(33));
    assert_eq!(super::text(&nested), Err(LimitError::Brackets(33)));
    let long = format!("'{}'", "x".repeat(MAX_SOURCE_BYTES));
    assert_eq!(
        super::text(&long),
        Err(LimitError::Length(MAX_SOURCE_BYTES + 2))
    );
}

#[test]
fn expressions_at_the_limits_pass() {
    // 63 additions under a relation: a tree exactly MAX_DEPTH deep.
    let deep = format!("{} < 0", vec!["1"; MAX_DEPTH - 1].join(" + "));
    assert_eq!(super::text(&deep), Ok(()));
    assert_eq!(parsed(&deep).map(|(d, _)| d), Some(MAX_DEPTH));
    // A balanced `||` of MAX_NODES nodes.
    let terms = MAX_NODES.div_ceil(2);
    let wide = vec!["a"; terms].join(" || ");
    assert_eq!(super::text(&wide), Ok(()));
    assert_eq!(parsed(&wide).map(|(_, n)| n), Some(2 * terms - 1));
    // Brackets nested MAX_BRACKETS deep.
    let nested = format!("{}1{}", "[".repeat(MAX_BRACKETS), "]".repeat(MAX_BRACKETS));
    assert_eq!(super::text(&nested), Ok(()));
}

/// A random expression over the constructs of CEL, as text.
fn expression() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        Just("a".to_owned()),
        Just("b.c".to_owned()),
        Just("-1".to_owned()),
        Just("2u".to_owned()),
        Just("1.5".to_owned()),
        Just("'s'".to_owned()),
        Just("r'\\d'".to_owned()),
        Just("b'x'".to_owned()),
        Just("true".to_owned()),
        Just("null".to_owned()),
        Just("has(a.b)".to_owned()),
    ];
    leaf.prop_recursive(6, 64, 4, |inner| {
        let two = (inner.clone(), inner.clone());
        prop_oneof![
            (
                two.clone(),
                prop::sample::select(vec![
                    "+", "-", "*", "/", "%", "<", "<=", ">", ">=", "==", "!=", "in", "&&", "||"
                ])
            )
                .prop_map(|((a, b), op)| format!("{a} {op} {b}")),
            (inner.clone(), inner.clone(), inner.clone())
                .prop_map(|(c, a, b)| format!("{c} ? {a} : {b}")),
            inner.clone().prop_map(|a| format!("({a})")),
            inner.clone().prop_map(|a| format!("!{a}")),
            inner.clone().prop_map(|a| format!("-{a}")),
            inner.clone().prop_map(|a| format!("{a}.f")),
            inner.clone().prop_map(|a| format!("({a}).size()")),
            two.clone().prop_map(|(a, b)| format!("{a}[{b}]")),
            two.clone().prop_map(|(a, b)| format!("[{a}, {b}]")),
            two.clone().prop_map(|(a, b)| format!("{{{a}: {b}}}")),
            two.clone().prop_map(|(a, b)| format!("f({a}, {b})")),
            two.clone().prop_map(|(a, b)| format!("[{a}].all(x, {b})")),
            two.prop_map(|(a, b)| format!("[{a}].map(x, {b})")),
        ]
    })
}

proptest! {
    #[test]
    fn the_text_never_bounds_above_the_tree(source in expression()) {
        assert_bounded(&source);
    }
}
