//! Caller authorization: the policy mapping client-certificate identities
//! to the RPCs they may call, and the tower layer that enforces it.

mod layer;
mod policy;

pub use layer::{Authorize, AuthorizeLayer};
pub use policy::{CallerPolicy, PolicyErrors};
