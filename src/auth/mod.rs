//! The token lifecycle: authorize URL and one-time `state`, code exchange, long-lived exchange,
//! scheduled refresh, encryption at rest, and Meta's deauthorize/data-deletion callbacks.

mod crypto;
mod deletion;
mod error;
mod refresher;
mod repository;
mod service;
pub mod signed_request;
mod state;
mod token;

pub use crypto::{DecryptError, TokenCipher};
pub use deletion::{DataDeletions, DeletionStatus};
pub use error::AuthError;
pub use refresher::spawn_refresher;
pub use repository::{Stored, TokenRepository};
pub use service::{
    AuthorizationRequest, CallbackParams, FacebookGrant, GrantedAccount, TokenService,
    TokenServiceConfig, UsableToken,
};
pub use state::{OAuthStates, StateError};
pub use token::{EXPIRY_WARNING, TokenRecord, TokenState, TokenStatus};
