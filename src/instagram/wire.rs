//! Response bodies as Meta sends them, including the shapes its documentation does not mention.

use serde::{Deserialize, Deserializer};

/// `user_id` arrives as a JSON number or a string; it is kept as a string because these ids
/// exceed 2^53 and would lose digits as a float.
pub fn id_string<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Id {
        Text(String),
        Number(u64),
    }
    Ok(match Id::deserialize(d)? {
        Id::Text(s) => s,
        Id::Number(n) => n.to_string(),
    })
}

/// Either the documented `{"data": [item]}` envelope or the bare item some apps receive.
#[derive(Deserialize)]
#[serde(untagged)]
pub enum MaybeWrapped<T> {
    Wrapped { data: Vec<T> },
    Flat(T),
}

impl<T> MaybeWrapped<T> {
    pub fn into_first(self) -> Option<T> {
        match self {
            MaybeWrapped::Wrapped { data } => data.into_iter().next(),
            MaybeWrapped::Flat(item) => Some(item),
        }
    }
}

/// `POST https://api.instagram.com/oauth/access_token`.
#[derive(Deserialize)]
pub struct CodeExchangeBody {
    pub access_token: String,
    #[serde(deserialize_with = "id_string")]
    pub user_id: String,
    /// Comma-separated; sometimes a JSON array in third-party reports.
    #[serde(default)]
    pub permissions: Option<Permissions>,
}

#[derive(Deserialize)]
#[serde(untagged)]
pub enum Permissions {
    Text(String),
    List(Vec<String>),
}

impl Permissions {
    pub fn into_vec(self) -> Vec<String> {
        let items = match self {
            Permissions::Text(text) => text.split(',').map(str::to_owned).collect(),
            Permissions::List(items) => items,
        };
        items
            .into_iter()
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty())
            .collect()
    }
}

/// Long-lived exchange and refresh: `{"access_token", "token_type", "expires_in"}`.
#[derive(Deserialize)]
pub struct LongLivedBody {
    pub access_token: String,
    pub expires_in: i64,
}

/// `GET /me?fields=user_id,username`.
#[derive(Deserialize)]
pub struct MeBody {
    #[serde(default, deserialize_with = "opt_id_string")]
    pub user_id: Option<String>,
    #[serde(default, deserialize_with = "opt_id_string")]
    pub id: Option<String>,
    #[serde(default)]
    pub username: Option<String>,
}

/// `GET /me?fields=user_id,username,name,biography,website,profile_picture_url,...`: every
/// field but the id may be missing (a creator without a website, a field not granted).
#[derive(Deserialize)]
pub struct ProfileBody {
    #[serde(default, deserialize_with = "opt_id_string")]
    pub user_id: Option<String>,
    #[serde(default, deserialize_with = "opt_id_string")]
    pub id: Option<String>,
    #[serde(default)]
    pub username: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub biography: Option<String>,
    #[serde(default)]
    pub website: Option<String>,
    #[serde(default)]
    pub profile_picture_url: Option<String>,
    #[serde(default, deserialize_with = "opt_count")]
    pub followers_count: Option<u64>,
    #[serde(default, deserialize_with = "opt_count")]
    pub follows_count: Option<u64>,
    #[serde(default, deserialize_with = "opt_count")]
    pub media_count: Option<u64>,
}

/// A count as a JSON number or a numeric string; anything else counts as missing.
fn opt_count<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    Ok(match serde_json::Value::deserialize(d)? {
        serde_json::Value::Number(n) => n.as_u64(),
        serde_json::Value::String(s) => s.trim().parse().ok(),
        _ => None,
    })
}

fn opt_id_string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    id_string(d).map(Some)
}

/// The Graph API error envelope: `{"error": {"message", "type", "code", "error_subcode", ...}}`.
#[derive(Deserialize)]
pub struct GraphErrorEnvelope {
    pub error: GraphError,
}

#[derive(Deserialize)]
pub struct GraphError {
    #[serde(default)]
    pub message: String,
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
    #[serde(default)]
    pub code: Option<i64>,
    #[serde(default)]
    pub error_subcode: Option<i64>,
    #[serde(default)]
    pub is_transient: Option<bool>,
}

/// The OAuth endpoint's own shape: `{"error_type", "code", "error_message"}`.
#[derive(Deserialize)]
pub struct OAuthErrorBody {
    #[serde(default)]
    pub code: Option<i64>,
    pub error_message: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_exchange_accepts_both_shapes_and_numeric_ids() {
        let documented = r#"{"data":[{"access_token":"EAAC","user_id":"1020","permissions":"instagram_business_basic,instagram_business_manage_messages"}]}"#;
        let flat = r#"{"access_token":"EAAC","user_id":17841400000000001,"permissions":"instagram_business_basic"}"#;
        let a = serde_json::from_str::<MaybeWrapped<CodeExchangeBody>>(documented)
            .expect("documented shape")
            .into_first()
            .expect("one item");
        assert_eq!(a.user_id, "1020");
        assert_eq!(
            a.permissions.expect("present").into_vec(),
            vec![
                "instagram_business_basic",
                "instagram_business_manage_messages"
            ]
        );
        let b = serde_json::from_str::<MaybeWrapped<CodeExchangeBody>>(flat)
            .expect("flat shape")
            .into_first()
            .expect("one item");
        assert_eq!(b.user_id, "17841400000000001");
    }

    #[test]
    fn me_accepts_wrapped_and_flat() {
        let wrapped = r#"{"data":[{"user_id":"1784","username":"shop"}]}"#;
        let flat = r#"{"user_id":1784,"username":"shop","id":"99"}"#;
        for body in [wrapped, flat] {
            let me = serde_json::from_str::<MaybeWrapped<MeBody>>(body)
                .expect("parses")
                .into_first()
                .expect("item");
            assert_eq!(me.user_id.as_deref(), Some("1784"));
            assert_eq!(me.username.as_deref(), Some("shop"));
        }
    }
}

/// One page of `GET /{version}/me/media`.
#[derive(Deserialize)]
pub struct MediaPageBody {
    #[serde(default)]
    pub data: Vec<MediaBody>,
    #[serde(default)]
    pub paging: Option<Paging>,
}

#[derive(Deserialize)]
pub struct Paging {
    #[serde(default)]
    pub cursors: Option<Cursors>,
    /// Absent on the last page.
    #[serde(default)]
    pub next: Option<String>,
}

#[derive(Deserialize)]
pub struct Cursors {
    #[serde(default)]
    pub after: Option<String>,
}

/// An IG Media object. Every field but `id` may be missing; unknown fields are ignored.
#[derive(Debug, Clone, Deserialize)]
pub struct MediaBody {
    #[serde(deserialize_with = "id_string")]
    pub id: String,
    #[serde(default)]
    pub media_type: Option<String>,
    #[serde(default)]
    pub caption: Option<String>,
    #[serde(default)]
    pub media_url: Option<String>,
    #[serde(default)]
    pub permalink: Option<String>,
    #[serde(default)]
    pub thumbnail_url: Option<String>,
    #[serde(default)]
    pub timestamp: Option<String>,
    #[serde(default)]
    pub username: Option<String>,
    /// Omitted when the owner hides like counts.
    #[serde(default, deserialize_with = "opt_count")]
    pub like_count: Option<u64>,
    #[serde(default, deserialize_with = "opt_count")]
    pub comments_count: Option<u64>,
    #[serde(default)]
    pub children: Option<ChildrenBody>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ChildrenBody {
    #[serde(default)]
    pub data: Vec<MediaBody>,
}
