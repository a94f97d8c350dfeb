//! What the pipeline records for each picture, and the `image` object frontends get from it.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::AssetKey;

/// A picture to re-host: the media (or album child) id it belongs to and its CDN URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PictureSource {
    pub id: String,
    pub url: String,
}

/// The pictures the current snapshot shows, and how many times the account's media was
/// purged (a purge deletes every copy at once, whatever comes after it).
#[derive(Debug, Clone, Default)]
pub struct Wanted {
    /// `None` until a snapshot is held.
    pub sources: Option<Arc<Vec<PictureSource>>>,
    pub purges: u64,
}

/// One stored copy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredCopy {
    pub width: u32,
    pub height: u32,
    pub key: AssetKey,
    pub bytes: u64,
}

/// A finished picture, as recorded in the store (keyed by its source id).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PictureRecord {
    pub width: u32,
    pub height: u32,
    pub placeholder: String,
    pub color: String,
    /// Narrowest first.
    pub copies: Vec<StoredCopy>,
    pub created_at: DateTime<Utc>,
}

impl PictureRecord {
    pub fn bytes(&self) -> u64 {
        self.copies.iter().map(|c| c.bytes).sum()
    }

    /// The object frontends get; `base` ends with `/` (`https://gw.example.com/assets/`).
    pub fn image(&self, base: &str) -> Image {
        Image {
            width: self.width,
            height: self.height,
            placeholder: self.placeholder.clone(),
            color: self.color.clone(),
            sizes: self
                .copies
                .iter()
                .map(|c| ImageSize {
                    width: c.width,
                    height: c.height,
                    url: format!("{base}{}.webp", c.key),
                })
                .collect(),
        }
    }
}

/// The picture re-hosted by the gateway, in WebP sizes for `srcset`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({
    "width": 1080, "height": 1350,
    "placeholder": "3OcRJYB4d3h/iIeHeEh3eIhw+j3A",
    "color": "#8a6f5c",
    "sizes": [
        {"width": 320, "height": 400, "url": "https://gateway.example.com/assets/3f9a5be04c1d27e8a0b6f1c2d3e4f5a6.webp"},
        {"width": 640, "height": 800, "url": "https://gateway.example.com/assets/7c2e9d41b0a3f5e6d7c8b9a0e1f2a3b4.webp"},
        {"width": 1080, "height": 1350, "url": "https://gateway.example.com/assets/0d4b8f2a6e1c3b5d7f9a0c2e4b6d8f1a.webp"}
    ]
}))]
pub struct Image {
    /// The source's size, after EXIF orientation.
    pub width: u32,
    pub height: u32,
    /// A ThumbHash (base64): paint a blurred preview before the bytes arrive.
    pub placeholder: String,
    /// The average colour, `#rrggbb`.
    pub color: String,
    /// Narrowest first; never wider than the source. Immutable URLs: cache them forever.
    pub sizes: Vec<ImageSize>,
}

impl Image {
    /// The widest size's URL: what `display_url` becomes.
    pub fn largest_url(&self) -> Option<&str> {
        self.sizes.last().map(|s| s.url.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ImageSize {
    pub width: u32,
    pub height: u32,
    pub url: String,
}

/// Finished pictures by source id, as reads see them.
pub type Images = HashMap<String, Image>;
