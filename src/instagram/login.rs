//! Which of Meta's two Instagram APIs an account is connected through.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// `instagram`: Instagram API with Instagram Login (graph.instagram.com; the token is refreshed
/// by the gateway). `facebook`: Instagram API with Facebook Login (graph.facebook.com, through a
/// Facebook Page linked to the account; needed for public hashtag search; the token cannot be
/// refreshed by a server and needs a new login every ~60 days).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Login {
    #[default]
    Instagram,
    Facebook,
}

impl Login {
    pub fn as_str(self) -> &'static str {
        match self {
            Login::Instagram => "instagram",
            Login::Facebook => "facebook",
        }
    }
}

impl std::fmt::Display for Login {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
