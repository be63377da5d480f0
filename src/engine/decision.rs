//! What a decision type is to the generic machinery (the combining rule,
//! bundle tests): the trait every type in `types/` implements.

use jiff::Timestamp;

use crate::{
    bundle::{
        CompiledBundle, ForEach, RuleSet, Scope, TestCase,
        facts::{Context, Table, item::Items},
    },
    domain::{Answer, Violations},
    engine::{
        DecideError,
        coverage::{NoObserver, Observe},
    },
};

/// One decision type: its request and decision, the rules that decide it,
/// the facts those rules read, and how a decision is made.
pub trait DecisionType {
    /// What the decision's facts are read from.
    type Ctx: Context;
    /// What an allowing rule decides (a timing, link actions, a strategy).
    type Payload;
    /// The validated request.
    type Request;
    /// The decision.
    type Decision: Answer;

    /// The decision type's rules in `bundle`.
    fn rules(bundle: &CompiledBundle) -> &RuleSet<Self::Payload>;
    /// The facts its rules read.
    fn table() -> Table<Self::Ctx>;
    /// Whether a rule's structural scope covers the request. An empty
    /// scope covers every request, so `combine` does not ask then.
    fn in_scope(ctx: &<Self::Ctx as Context>::Of<'_>, scope: &Scope) -> bool;
    /// The items of a `for_each` collection (none, unless the type has them).
    fn items<'a>(ctx: &'a <Self::Ctx as Context>::Of<'_>, for_each: ForEach) -> Items<'a> {
        let _ = (ctx, for_each);
        Items::none()
    }
    /// Decides `req` under `bundle`, or says which fact the deciding rule
    /// needs that `req` lacks.
    fn decide(bundle: &CompiledBundle, req: &Self::Request) -> Result<Self::Decision, DecideError> {
        Self::decide_observed(bundle, req, &mut NoObserver)
    }
    /// [`decide`](Self::decide), with `obs` shown every condition the
    /// combining rule evaluates (`tollgate test --coverage`).
    fn decide_observed<O: Observe>(
        bundle: &CompiledBundle,
        req: &Self::Request,
        obs: &mut O,
    ) -> Result<Self::Decision, DecideError>;
    /// Asks for the explain trace of every rule on `req`.
    fn explain(req: &mut Self::Request);

    /// A bundle test's request as written, before validation.
    type Input: Clone;
    /// What a bundle test of this type expects.
    type Want;

    /// This type's request and expectations, when `test` is one of its tests.
    fn test_case(test: &TestCase) -> Option<(&Self::Input, &Self::Want)>;
    /// Validates a test's request; `now` stands in for a missing `as_of`.
    fn parse(input: Self::Input, now: Timestamp) -> Result<Self::Request, Violations>;
    /// How `decision` reads in a report (`ALLOW IMMEDIATE`, `LINK []`): its
    /// outcome and what it decides, without reasons or per-call fields.
    fn summary(decision: &Self::Decision) -> String;
    /// How `decision` reads in a test report ([`summary`](Self::summary)),
    /// and what in it differs from `want`, if anything.
    fn compare(decision: &Self::Decision, want: &Self::Want) -> (String, Option<String>);
    /// The field a test expects the request to lack (`want: { precondition:
    /// ... }`), when it expects no decision at all.
    fn missing_fact(want: &Self::Want) -> Option<&str> {
        let _ = want;
        None
    }
    /// The fields a test expects the request to be refused for, in order
    /// (`want: { invalid: [...] }`), when the bundle's declarations refuse it.
    fn invalid_fields(want: &Self::Want) -> Option<&[String]> {
        let _ = want;
        None
    }
}
