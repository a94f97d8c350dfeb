//! The account's profile: synced with the media, kept in the snapshot but outside its version
//! (a follower more must not change every page's ETag), served by `GET /accounts/{slug}`.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};
use utoipa::ToSchema;

use crate::assets::{Image, Images, PictureSource};
use crate::instagram::ProfileBody;

/// The profile as synced.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Profile {
    pub username: Option<String>,
    pub name: Option<String>,
    pub biography: Option<String>,
    pub website: Option<String>,
    /// Instagram's URL until the re-hosted copy is ready, then the copy's.
    pub profile_picture_url: Option<String>,
    pub followers_count: Option<u64>,
    pub follows_count: Option<u64>,
    pub media_count: Option<u64>,
    #[serde(default)]
    pub profile_picture: Option<Image>,
}

impl Profile {
    pub fn from_body(body: ProfileBody) -> Self {
        let text = |v: Option<String>| v.filter(|s| !s.trim().is_empty());
        Self {
            username: text(body.username),
            name: text(body.name),
            biography: text(body.biography),
            website: text(body.website),
            profile_picture_url: text(body.profile_picture_url),
            followers_count: body.followers_count,
            follows_count: body.follows_count,
            media_count: body.media_count,
            profile_picture: None,
        }
    }

    /// The picture to re-host. Its id names the picture itself (Instagram's file path), not
    /// only the account: a new profile picture is a new picture.
    pub fn picture_source(&self, user_id: &str) -> Option<PictureSource> {
        let url = self.profile_picture_url.as_ref()?;
        let path = url.split(['?', '#']).next().unwrap_or(url);
        let digest = Sha256::digest(path.as_bytes());
        let tag: String = digest[..6].iter().map(|b| format!("{b:02x}")).collect();
        Some(PictureSource {
            id: format!("profile-{user_id}-{tag}"),
            url: url.clone(),
        })
    }

    /// Points the profile at its re-hosted copy, when finished.
    pub fn apply_images(&mut self, user_id: &str, images: &Images) {
        if let Some(source) = self.picture_source(user_id)
            && let Some(image) = images.get(&source.id)
        {
            self.profile_picture_url = image.largest_url().map(str::to_owned);
            self.profile_picture = Some(image.clone());
        }
    }
}

/// `GET /accounts/{slug}`: the account's Instagram profile. Fields Instagram did not return
/// (or that the account does not have) are `null`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AccountProfile {
    /// The gateway's name for the account.
    #[schema(example = "shop")]
    pub slug: String,
    #[schema(required = true, example = "sandbox.shop")]
    pub username: Option<String>,
    #[schema(required = true, example = "Sandbox Shop")]
    pub name: Option<String>,
    #[schema(required = true)]
    pub biography: Option<String>,
    #[schema(required = true)]
    pub website: Option<String>,
    /// The re-hosted picture's largest copy once ready, Instagram's (expiring) URL until then.
    #[schema(required = true)]
    pub profile_picture_url: Option<String>,
    /// The re-hosted profile picture (sizes, placeholder), `null` until ready.
    #[schema(required = true)]
    pub profile_picture: Option<Image>,
    #[schema(required = true, example = 1250)]
    pub followers_count: Option<u64>,
    #[schema(required = true, example = 180)]
    pub follows_count: Option<u64>,
    #[schema(required = true, example = 36)]
    pub media_count: Option<u64>,
    /// When the profile (and the media) were last synced.
    pub synced_at: DateTime<Utc>,
}

impl AccountProfile {
    /// What is known: the synced profile, else (before the first profile read) the username.
    pub fn new(
        slug: &str,
        username: Option<&str>,
        profile: Option<&Profile>,
        synced_at: DateTime<Utc>,
    ) -> Self {
        let p = profile.cloned();
        let p = p.as_ref();
        Self {
            slug: slug.to_owned(),
            username: p
                .and_then(|p| p.username.clone())
                .or_else(|| username.map(str::to_owned)),
            name: p.and_then(|p| p.name.clone()),
            biography: p.and_then(|p| p.biography.clone()),
            website: p.and_then(|p| p.website.clone()),
            profile_picture_url: p.and_then(|p| p.profile_picture_url.clone()),
            profile_picture: p.and_then(|p| p.profile_picture.clone()),
            followers_count: p.and_then(|p| p.followers_count),
            follows_count: p.and_then(|p| p.follows_count),
            media_count: p.and_then(|p| p.media_count),
            synced_at,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_picture_gets_a_new_id_and_blank_fields_are_missing() {
        let body: ProfileBody = serde_json::from_value(serde_json::json!({
            "user_id": 1784, "username": "shop", "website": " ", "followers_count": "12",
            "profile_picture_url": "https://cdn.example/a.jpg?oe=1"
        }))
        .unwrap();
        let mut profile = Profile::from_body(body);
        assert_eq!(profile.website, None);
        assert_eq!(profile.followers_count, Some(12));
        let first = profile.picture_source("1784").unwrap();
        profile.profile_picture_url = Some("https://cdn.example/a.jpg?oe=2".into());
        assert_eq!(
            profile.picture_source("1784").unwrap().id,
            first.id,
            "same file"
        );
        profile.profile_picture_url = Some("https://cdn.example/b.jpg?oe=2".into());
        assert_ne!(profile.picture_source("1784").unwrap().id, first.id);
    }
}
