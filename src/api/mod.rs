//! The Rebilly API as this tool uses it: the endpoint, the credentials, one
//! request and its classified outcome, and problem details.

pub mod client;
pub mod endpoint;
pub mod hint;
pub mod problem;
pub mod secret;

pub use client::{Action, Client, NetFailure, Outcome, RateHeaders, Reply, RetryAfter, TimeHints};
pub use endpoint::{Endpoint, Environment, UrlSource};
pub use problem::{InvalidField, Problem};
pub use secret::{CredentialArgs, CredentialSource, Credentials, Secret};
