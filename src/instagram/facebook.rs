//! The Instagram API with Facebook Login (graph.facebook.com): the login's token exchanges, the
//! Pages with their linked Instagram accounts, an account's own media, and hashtag search.
//! Same client, retries, error classification and body limits as the Instagram Login calls.

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use url::Url;

use super::client::{InstagramClient, IssuedToken, MEDIA_FIELDS, MediaPage};
use super::error::UpstreamError;
use super::wire::{LongLivedBody, MediaPageBody, ProfileBody, id_string};

/// What Meta returns for hashtag media: no `username` (refused), no `thumbnail_url`.
const HASHTAG_MEDIA_FIELDS: &str = "id,caption,media_type,media_url,permalink,timestamp,like_count,comments_count,children{id,media_type,media_url}";
/// The profile fields of an IG User on graph.facebook.com (`user_id` is Instagram Login's).
const FACEBOOK_PROFILE_FIELDS: &str = "id,username,name,biography,website,profile_picture_url,followers_count,follows_count,media_count";
/// Pages read per login, at most (100 each): an operator with more is an unusual case.
const MAX_PAGE_READS: usize = 5;

/// The Facebook app (`facebook.*`) and where its endpoints are.
#[derive(Debug, Clone)]
pub struct FacebookApp {
    pub app_id: String,
    pub app_secret: SecretString,
    /// Facebook Login for Business configuration; `scopes` are asked for without it.
    pub config_id: Option<String>,
    pub scopes: Vec<String>,
    pub api_version: String,
    pub authorize_url: Url,
    pub graph_url: Url,
}

/// A Facebook Page the user manages, and the Instagram professional account linked to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkedPage {
    pub page_name: String,
    pub ig_user_id: String,
    pub ig_username: Option<String>,
}

/// Which of a hashtag's media edges.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HashtagOrder {
    /// `top_media`: the most popular.
    Top,
    /// `recent_media`: published within the last 24 hours.
    Recent,
}

impl HashtagOrder {
    pub fn as_str(self) -> &'static str {
        match self {
            HashtagOrder::Top => "top",
            HashtagOrder::Recent => "recent",
        }
    }

    fn edge(self) -> &'static str {
        match self {
            HashtagOrder::Top => "top_media",
            HashtagOrder::Recent => "recent_media",
        }
    }
}

#[derive(Deserialize)]
struct UserTokenBody {
    access_token: String,
}

#[derive(Deserialize)]
struct PagesBody {
    #[serde(default)]
    data: Vec<PageBody>,
    #[serde(default)]
    paging: Option<super::wire::Paging>,
}

#[derive(Deserialize)]
struct PageBody {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    instagram_business_account: Option<LinkedAccountBody>,
}

#[derive(Deserialize)]
struct LinkedAccountBody {
    #[serde(deserialize_with = "id_string")]
    id: String,
    #[serde(default)]
    username: Option<String>,
}

#[derive(Deserialize)]
struct IdsBody {
    #[serde(default)]
    data: Vec<IdBody>,
}

#[derive(Deserialize)]
struct IdBody {
    #[serde(deserialize_with = "id_string")]
    id: String,
}

impl InstagramClient {
    fn facebook_app(&self) -> Result<&FacebookApp, UpstreamError> {
        self.facebook().ok_or_else(|| {
            UpstreamError::InvalidResponse("Facebook Login is not configured".to_owned())
        })
    }

    fn facebook_graph(&self, app: &FacebookApp, path: &[&str]) -> Url {
        let versioned: Vec<&str> = std::iter::once(app.api_version.as_str())
            .chain(path.iter().copied())
            .collect();
        super::client::at_path(&app.graph_url, &versioned)
    }

    /// The login dialog for `state` (Facebook Login for Business when `config_id` is set).
    pub fn facebook_authorize_url(
        &self,
        redirect_uri: &str,
        state: &str,
    ) -> Result<Url, UpstreamError> {
        let app = self.facebook_app()?;
        let mut url = app.authorize_url.clone();
        {
            let mut q = url.query_pairs_mut();
            q.append_pair("client_id", &app.app_id)
                .append_pair("redirect_uri", redirect_uri)
                .append_pair("state", state)
                .append_pair("response_type", "code");
            match &app.config_id {
                Some(config_id) => q.append_pair("config_id", config_id),
                None => q.append_pair("scope", &app.scopes.join(",")),
            };
        }
        Ok(url)
    }

    /// The login's code -> a short-lived user token. Not retried: a code works once.
    #[tracing::instrument(skip_all)]
    pub async fn facebook_exchange_code(
        &self,
        code: &str,
        redirect_uri: &str,
    ) -> Result<SecretString, UpstreamError> {
        let app = self.facebook_app()?;
        let url = self.facebook_graph(app, &["oauth", "access_token"]);
        let query = [
            ("client_id", app.app_id.as_str()),
            ("client_secret", app.app_secret.expose_secret()),
            ("redirect_uri", redirect_uri),
            ("code", code),
        ];
        let secrets = [code, app.app_secret.expose_secret()];
        let body: UserTokenBody = self
            .send(
                "facebook_token_exchange",
                self.http().get(url).query(&query),
                &secrets,
            )
            .await?;
        if body.access_token.is_empty() {
            return Err(UpstreamError::InvalidResponse(
                "token response without access_token".to_owned(),
            ));
        }
        Ok(body.access_token.into())
    }

    /// Short-lived user token -> long-lived (~60 days; a server cannot refresh it).
    #[tracing::instrument(skip_all)]
    pub async fn facebook_long_lived(
        &self,
        short_lived: &SecretString,
    ) -> Result<IssuedToken, UpstreamError> {
        let app = self.facebook_app()?;
        let url = self.facebook_graph(app, &["oauth", "access_token"]);
        let body: LongLivedBody = self
            .get_with_retries(
                "facebook_long_lived_exchange",
                url,
                &[
                    ("grant_type", "fb_exchange_token"),
                    ("client_id", app.app_id.as_str()),
                    ("client_secret", app.app_secret.expose_secret()),
                    ("fb_exchange_token", short_lived.expose_secret()),
                ],
            )
            .await?;
        super::client::issued(body)
    }

    /// The Facebook user's app-scoped id (what Meta's deauthorize and data-deletion callbacks of
    /// the Facebook app name).
    #[tracing::instrument(skip_all)]
    pub async fn facebook_user_id(&self, token: &SecretString) -> Result<String, UpstreamError> {
        let app = self.facebook_app()?;
        let url = self.facebook_graph(app, &["me"]);
        let body: IdBody = self
            .get_with_retries(
                "facebook_me",
                url,
                &[("fields", "id"), ("access_token", token.expose_secret())],
            )
            .await?;
        Ok(body.id)
    }

    /// The user's Pages that have an Instagram professional account linked.
    #[tracing::instrument(skip_all)]
    pub async fn facebook_linked_accounts(
        &self,
        token: &SecretString,
    ) -> Result<Vec<LinkedPage>, UpstreamError> {
        let app = self.facebook_app()?;
        let url = self.facebook_graph(app, &["me", "accounts"]);
        let mut linked = Vec::new();
        let mut after: Option<String> = None;
        for _ in 0..MAX_PAGE_READS {
            let mut query = vec![
                ("fields", "id,name,instagram_business_account{id,username}"),
                ("limit", "100"),
                ("access_token", token.expose_secret()),
            ];
            if let Some(after) = &after {
                query.push(("after", after));
            }
            let body: PagesBody = self
                .get_with_retries("facebook_pages", url.clone(), &query)
                .await?;
            linked.extend(body.data.into_iter().filter_map(|page| {
                let ig = page.instagram_business_account?;
                Some(LinkedPage {
                    page_name: page.name.unwrap_or_default(),
                    ig_user_id: ig.id,
                    ig_username: ig.username.filter(|u| !u.is_empty()),
                })
            }));
            let next = body
                .paging
                .and_then(|p| p.next.and(p.cursors.and_then(|c| c.after)));
            match next {
                Some(next) if Some(&next) != after.as_ref() => after = Some(next),
                _ => break,
            }
        }
        Ok(linked)
    }

    /// One page of the IG user's own media, newest first (`/{ig-user-id}/media`).
    #[tracing::instrument(skip_all, fields(limit))]
    pub async fn facebook_media_page(
        &self,
        token: &SecretString,
        ig_user_id: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<MediaPage, UpstreamError> {
        let app = self.facebook_app()?;
        let url = self.facebook_graph(app, &[ig_user_id, "media"]);
        self.media_page_at("media", url, MEDIA_FIELDS, token, after, limit)
            .await
    }

    /// The IG user's profile, in the shape Instagram Login's `/me` has.
    pub async fn facebook_profile(
        &self,
        token: &SecretString,
        ig_user_id: &str,
    ) -> Result<ProfileBody, UpstreamError> {
        let app = self.facebook_app()?;
        let url = self.facebook_graph(app, &[ig_user_id]);
        self.get_with_retries(
            "profile",
            url,
            &[
                ("fields", FACEBOOK_PROFILE_FIELDS),
                ("access_token", token.expose_secret()),
            ],
        )
        .await
    }

    /// The id of `tag` (`ig_hashtag_search`); `None` when Meta knows no such hashtag. This is
    /// the call Meta counts against the 30-hashtags-per-7-days limit.
    #[tracing::instrument(skip_all)]
    pub async fn hashtag_id(
        &self,
        token: &SecretString,
        ig_user_id: &str,
        tag: &str,
    ) -> Result<Option<String>, UpstreamError> {
        let app = self.facebook_app()?;
        let url = self.facebook_graph(app, &["ig_hashtag_search"]);
        let body: IdsBody = self
            .get_with_retries(
                "hashtag_search",
                url,
                &[
                    ("user_id", ig_user_id),
                    ("q", tag),
                    ("access_token", token.expose_secret()),
                ],
            )
            .await?;
        Ok(body.data.into_iter().next().map(|d| d.id))
    }

    /// One page of a hashtag's public media (at most 50 per page, Meta's limit).
    #[tracing::instrument(skip_all, fields(order = order.as_str(), limit))]
    pub async fn hashtag_media_page(
        &self,
        token: &SecretString,
        ig_user_id: &str,
        hashtag_id: &str,
        order: HashtagOrder,
        after: Option<&str>,
        limit: usize,
    ) -> Result<MediaPage, UpstreamError> {
        let app = self.facebook_app()?;
        let url = self.facebook_graph(app, &[hashtag_id, order.edge()]);
        let limit = limit.min(50);
        let limit_text = limit.to_string();
        let mut query = vec![
            ("user_id", ig_user_id),
            ("fields", HASHTAG_MEDIA_FIELDS),
            ("limit", limit_text.as_str()),
            ("access_token", token.expose_secret()),
        ];
        if let Some(after) = after {
            query.push(("after", after));
        }
        let body: MediaPageBody = self.get_with_retries("hashtag_media", url, &query).await?;
        Ok(MediaPage::from_body(body))
    }

    /// The hashtag ids Meta counts against the account's limit now (the last 7 days).
    #[tracing::instrument(skip_all)]
    pub async fn recently_searched_hashtags(
        &self,
        token: &SecretString,
        ig_user_id: &str,
    ) -> Result<Vec<String>, UpstreamError> {
        let app = self.facebook_app()?;
        let url = self.facebook_graph(app, &[ig_user_id, "recently_searched_hashtags"]);
        let body: IdsBody = self
            .get_with_retries(
                "recently_searched_hashtags",
                url,
                &[("limit", "30"), ("access_token", token.expose_secret())],
            )
            .await?;
        Ok(body.data.into_iter().map(|d| d.id).collect())
    }
}
