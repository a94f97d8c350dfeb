//! The media schema frontends get, and its normalization from Instagram's objects.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::text;
use crate::assets::{Image, Images, PictureSource};
use crate::instagram::MediaBody;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum MediaType {
    Image,
    Video,
    CarouselAlbum,
}

impl MediaType {
    fn parse(raw: Option<&str>) -> Option<Self> {
        match raw? {
            "IMAGE" => Some(MediaType::Image),
            "VIDEO" => Some(MediaType::Video),
            "CAROUSEL_ALBUM" => Some(MediaType::CarouselAlbum),
            _ => None,
        }
    }
}

/// One post of the account.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({
    "id": "17918195224117851",
    "media_type": "CAROUSEL_ALBUM",
    "caption": "Golden hour at the roastery #sunset #café",
    "hashtags": ["sunset", "café"],
    "permalink": "https://www.instagram.com/p/C1a2b3c4d5e/",
    "timestamp": "2026-09-26T22:36:43Z",
    "username": "acme.coffee",
    "like_count": 177,
    "comments_count": 84,
    "media_url": "https://scontent.cdninstagram.com/v/t51/1.jpg?oe=6A1B2C3D",
    "thumbnail_url": null,
    "display_url": "https://gateway.example.com/assets/0d4b8f2a6e1c3b5d7f9a0c2e4b6d8f1a.webp",
    "image": {
        "width": 1080, "height": 1350,
        "placeholder": "3OcRJYB4d3h/iIeHeEh3eIhw+j3A",
        "color": "#8a6f5c",
        "sizes": [
            {"width": 320, "height": 400, "url": "https://gateway.example.com/assets/3f9a5be04c1d27e8a0b6f1c2d3e4f5a6.webp"},
            {"width": 640, "height": 800, "url": "https://gateway.example.com/assets/7c2e9d41b0a3f5e6d7c8b9a0e1f2a3b4.webp"},
            {"width": 1080, "height": 1350, "url": "https://gateway.example.com/assets/0d4b8f2a6e1c3b5d7f9a0c2e4b6d8f1a.webp"}
        ]
    },
    "children": [
        {"id": "17918195224117852", "media_type": "IMAGE", "media_url": "https://scontent.cdninstagram.com/v/t51/1.jpg?oe=6A1B2C3D", "thumbnail_url": null,
         "display_url": "https://gateway.example.com/assets/0d4b8f2a6e1c3b5d7f9a0c2e4b6d8f1a.webp",
         "image": {
            "width": 1080, "height": 1350,
            "placeholder": "3OcRJYB4d3h/iIeHeEh3eIhw+j3A",
            "color": "#8a6f5c",
            "sizes": [
                {"width": 320, "height": 400, "url": "https://gateway.example.com/assets/3f9a5be04c1d27e8a0b6f1c2d3e4f5a6.webp"},
                {"width": 640, "height": 800, "url": "https://gateway.example.com/assets/7c2e9d41b0a3f5e6d7c8b9a0e1f2a3b4.webp"},
                {"width": 1080, "height": 1350, "url": "https://gateway.example.com/assets/0d4b8f2a6e1c3b5d7f9a0c2e4b6d8f1a.webp"}
            ]
         }},
        {"id": "17918195224117853", "media_type": "VIDEO", "media_url": "https://scontent.cdninstagram.com/v/t51/2.mp4?oe=6A1B2C3D", "thumbnail_url": "https://scontent.cdninstagram.com/v/t51/2.jpg?oe=6A1B2C3D", "display_url": "https://scontent.cdninstagram.com/v/t51/2.jpg?oe=6A1B2C3D", "image": null}
    ]
}))]
pub struct Media {
    /// Instagram's media id (digits).
    pub id: String,
    pub media_type: MediaType,
    #[schema(required = true)]
    pub caption: Option<String>,
    /// From the caption: lowercase, without `#`, deduplicated, in order of first use.
    pub hashtags: Vec<String>,
    #[schema(required = true)]
    pub permalink: Option<String>,
    /// RFC 3339, UTC.
    #[schema(value_type = String, example = "2026-09-26T22:36:43Z")]
    pub timestamp: Timestamp,
    #[schema(required = true)]
    pub username: Option<String>,
    /// Likes; null when the owner hides them (or a snapshot from before they were synced).
    #[serde(default)]
    #[schema(required = true, example = 177)]
    pub like_count: Option<u64>,
    /// Comments, replies included; null when Instagram does not say.
    #[serde(default)]
    #[schema(required = true, example = 84)]
    pub comments_count: Option<u64>,
    /// As Instagram gives it (albums carry their cover's); null when withheld, e.g. for
    /// copyrighted audio. A signed URL that expires: do not store it.
    #[schema(required = true)]
    pub media_url: Option<String>,
    /// Videos only.
    #[schema(required = true)]
    pub thumbnail_url: Option<String>,
    /// The still a frontend shows: the gateway's largest copy once the picture is re-hosted,
    /// else Instagram's URL of the image, the video's thumbnail, or the first child's.
    #[schema(required = true)]
    pub display_url: Option<String>,
    /// The still re-hosted by the gateway in WebP sizes; null until its copies are ready (or
    /// when re-hosting is off or failed): show `display_url` then.
    #[serde(default)]
    #[schema(required = true)]
    pub image: Option<Image>,
    /// The album's items; empty unless `CAROUSEL_ALBUM`.
    pub children: Vec<Child>,
}

/// One item of an album.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Child {
    pub id: String,
    pub media_type: MediaType,
    #[schema(required = true)]
    pub media_url: Option<String>,
    #[schema(required = true)]
    pub thumbnail_url: Option<String>,
    #[schema(required = true)]
    pub display_url: Option<String>,
    /// As the post's `image`.
    #[serde(default)]
    #[schema(required = true)]
    pub image: Option<Image>,
}

/// A UTC instant serialized as `2019-09-26T22:36:43Z`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Timestamp(pub DateTime<Utc>);

impl Serialize for Timestamp {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0.to_rfc3339_opts(SecondsFormat::Secs, true))
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(d)?;
        parse_timestamp(&raw)
            .map(Timestamp)
            .ok_or_else(|| serde::de::Error::custom("not an RFC 3339 / ISO 8601 timestamp"))
    }
}

/// Instagram's `2019-09-26T22:36:43+0000` (no colon in the offset) or RFC 3339.
pub fn parse_timestamp(raw: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_str(raw, "%Y-%m-%dT%H:%M:%S%z")
        .or_else(|_| DateTime::parse_from_rfc3339(raw))
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

fn non_empty(value: Option<String>) -> Option<String> {
    value.filter(|v| !v.trim().is_empty())
}

fn display_url(
    kind: MediaType,
    media_url: &Option<String>,
    thumbnail_url: &Option<String>,
) -> Option<String> {
    match kind {
        MediaType::Video => thumbnail_url.clone(),
        MediaType::Image | MediaType::CarouselAlbum => media_url.clone(),
    }
}

/// Instagram media ids are 1 to 32 digits; anything else cannot name a post.
pub fn is_media_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 32 && id.bytes().all(|b| b.is_ascii_digit())
}

impl Child {
    fn from_body(body: MediaBody) -> Option<Self> {
        let media_type = MediaType::parse(body.media_type.as_deref())?;
        if !is_media_id(&body.id) {
            return None;
        }
        let media_url = non_empty(body.media_url);
        let thumbnail_url = non_empty(body.thumbnail_url);
        Some(Self {
            display_url: display_url(media_type, &media_url, &thumbnail_url),
            id: body.id,
            media_type,
            media_url,
            thumbnail_url,
            image: None,
        })
    }
}

impl Media {
    /// `None` for what frontends could not use: an unknown media type, a non-numeric id or a
    /// missing timestamp (the caller logs how many were skipped).
    pub fn from_body(body: MediaBody) -> Option<Self> {
        let media_type = MediaType::parse(body.media_type.as_deref())?;
        let timestamp = Timestamp(parse_timestamp(body.timestamp.as_deref()?)?);
        if !is_media_id(&body.id) {
            return None;
        }
        let caption = non_empty(body.caption);
        let media_url = non_empty(body.media_url);
        let thumbnail_url = non_empty(body.thumbnail_url);
        let children: Vec<Child> = match media_type {
            MediaType::CarouselAlbum => body
                .children
                .map(|c| c.data.into_iter().filter_map(Child::from_body).collect())
                .unwrap_or_default(),
            _ => Vec::new(),
        };
        let display_url = match media_type {
            MediaType::CarouselAlbum => children
                .iter()
                .find_map(|c| c.display_url.clone())
                .or_else(|| media_url.clone()),
            kind => display_url(kind, &media_url, &thumbnail_url),
        };
        Some(Self {
            hashtags: caption.as_deref().map(text::hashtags).unwrap_or_default(),
            id: body.id,
            media_type,
            caption,
            permalink: non_empty(body.permalink),
            timestamp,
            username: non_empty(body.username),
            like_count: body.like_count,
            comments_count: body.comments_count,
            media_url,
            thumbnail_url,
            display_url,
            image: None,
            children,
        })
    }

    /// The source whose picture is the post's own: the first child with a still for an album
    /// (its cover is that child's picture: processed once), else the post itself.
    fn picture_source(&self) -> Option<PictureSource> {
        let url = self.display_url.clone()?;
        let id = self
            .children
            .iter()
            .find(|c| c.display_url.is_some())
            .map_or(&self.id, |c| &c.id);
        Some(PictureSource {
            id: id.clone(),
            url,
        })
    }

    /// The pictures of the post to re-host (each once).
    pub fn picture_sources(&self) -> impl Iterator<Item = PictureSource> {
        let own = self
            .picture_source()
            .filter(|s| !self.children.iter().any(|c| c.id == s.id));
        own.into_iter().chain(self.children.iter().filter_map(|c| {
            Some(PictureSource {
                id: c.id.clone(),
                url: c.display_url.clone()?,
            })
        }))
    }

    /// Points the post (and its children) at the finished copies in `images`.
    pub fn apply_images(&mut self, images: &Images) {
        if let Some(source) = self.picture_source()
            && let Some(image) = images.get(&source.id)
        {
            self.display_url = image.largest_url().map(str::to_owned);
            self.image = Some(image.clone());
        }
        for child in &mut self.children {
            if let Some(image) = images.get(&child.id) {
                child.display_url = image.largest_url().map(str::to_owned);
                child.image = Some(image.clone());
            }
        }
    }

    /// Every signed URL of the post (for the earliest expiry).
    pub fn urls(&self) -> impl Iterator<Item = &str> {
        [&self.media_url, &self.thumbnail_url]
            .into_iter()
            .chain(
                self.children
                    .iter()
                    .flat_map(|c| [&c.media_url, &c.thumbnail_url]),
            )
            .filter_map(|u| u.as_deref())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(json: serde_json::Value) -> MediaBody {
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn normalizes_each_kind() {
        let image = Media::from_body(body(serde_json::json!({
            "id": "1", "media_type": "IMAGE", "media_url": "https://x/1.jpg",
            "timestamp": "2019-09-26T22:36:43+0000", "caption": "Hi #There", "extra": 5
        })))
        .unwrap();
        assert_eq!(image.display_url.as_deref(), Some("https://x/1.jpg"));
        assert_eq!(image.hashtags, vec!["there"]);
        assert_eq!(
            serde_json::to_value(image.timestamp).unwrap(),
            "2019-09-26T22:36:43Z"
        );

        let reel = Media::from_body(body(serde_json::json!({
            "id": "2", "media_type": "VIDEO", "thumbnail_url": "https://x/2.jpg",
            "timestamp": "2019-09-26T22:36:43+0000"
        })))
        .unwrap();
        assert_eq!(reel.media_url, None);
        assert_eq!(reel.caption, None);
        assert_eq!(reel.display_url.as_deref(), Some("https://x/2.jpg"));

        let album = Media::from_body(body(serde_json::json!({
            "id": "3", "media_type": "CAROUSEL_ALBUM", "media_url": "https://x/cover.jpg",
            "timestamp": "2019-09-26T22:36:43+0000",
            "children": {"data": [
                {"id": "31", "media_type": "VIDEO", "media_url": "https://x/31.mp4", "thumbnail_url": "https://x/31.jpg"},
                {"id": "32", "media_type": "IMAGE", "media_url": "https://x/32.jpg"}
            ]}
        })))
        .unwrap();
        assert_eq!(album.children.len(), 2);
        assert_eq!(album.display_url.as_deref(), Some("https://x/31.jpg"));
        assert_eq!(
            album.children[0].display_url.as_deref(),
            Some("https://x/31.jpg")
        );
    }

    fn image(url: &str) -> Image {
        Image {
            width: 2,
            height: 1,
            placeholder: "p".into(),
            color: "#000000".into(),
            sizes: vec![crate::assets::ImageSize {
                width: 2,
                height: 1,
                url: url.into(),
            }],
        }
    }

    #[test]
    fn albums_share_their_cover_with_the_first_child_and_images_replace_display_urls() {
        let album = Media::from_body(body(serde_json::json!({
            "id": "3", "media_type": "CAROUSEL_ALBUM", "media_url": "https://x/cover.jpg",
            "timestamp": "2019-09-26T22:36:43+0000",
            "children": {"data": [
                {"id": "31", "media_type": "VIDEO", "media_url": "https://x/31.mp4", "thumbnail_url": "https://x/31.jpg"},
                {"id": "32", "media_type": "IMAGE", "media_url": "https://x/32.jpg"}
            ]}
        })))
        .unwrap();
        let sources: Vec<(String, String)> =
            album.picture_sources().map(|s| (s.id, s.url)).collect();
        assert_eq!(
            sources,
            vec![
                ("31".to_owned(), "https://x/31.jpg".to_owned()),
                ("32".to_owned(), "https://x/32.jpg".to_owned())
            ]
        );
        let mut decorated = album.clone();
        decorated.apply_images(&Images::from([(
            "31".to_owned(),
            image("https://gw/a.webp"),
        )]));
        assert_eq!(decorated.display_url.as_deref(), Some("https://gw/a.webp"));
        assert_eq!(decorated.image, Some(image("https://gw/a.webp")));
        assert_eq!(
            decorated.children[0].image,
            Some(image("https://gw/a.webp"))
        );
        assert_eq!(
            decorated.children[1].image, None,
            "not ready: Instagram's URL"
        );
        assert_eq!(
            decorated.children[1].display_url.as_deref(),
            Some("https://x/32.jpg")
        );
        assert_eq!(
            decorated.media_url, album.media_url,
            "media_url stays Instagram's"
        );

        let lone = Media::from_body(body(serde_json::json!({
            "id": "4", "media_type": "CAROUSEL_ALBUM", "media_url": "https://x/4.jpg",
            "timestamp": "2019-09-26T22:36:43+0000"
        })))
        .unwrap();
        let ids: Vec<String> = lone.picture_sources().map(|s| s.id).collect();
        assert_eq!(ids, vec!["4"], "an album without children: its own picture");
        let reel = Media::from_body(body(serde_json::json!({
            "id": "5", "media_type": "VIDEO", "media_url": "https://x/5.mp4",
            "timestamp": "2019-09-26T22:36:43+0000"
        })))
        .unwrap();
        assert_eq!(
            reel.picture_sources().count(),
            0,
            "no poster frame, nothing to re-host"
        );
    }

    #[test]
    fn unusable_objects_are_skipped() {
        for json in [
            serde_json::json!({"id": "1", "media_type": "STORY", "timestamp": "2019-09-26T22:36:43+0000"}),
            serde_json::json!({"id": "1", "media_type": "IMAGE"}),
            serde_json::json!({"id": "1/../x", "media_type": "IMAGE", "timestamp": "2019-09-26T22:36:43+0000"}),
        ] {
            assert!(Media::from_body(body(json)).is_none());
        }
    }
}
