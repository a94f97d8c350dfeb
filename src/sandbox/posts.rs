//! The sandbox accounts' posts: their hand-written tables (`tables.rs`) turned into
//! Instagram-like media (ids, shortcodes, timestamps), identical on every run and every machine.
//!
//! Everything derived (ids, shortcodes, timestamp jitter, image colours) comes from SHA-256 of
//! a fixed string, never from `std`'s hasher, whose output may change between Rust releases.

use std::sync::LazyLock;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, TimeDelta, Utc};
use sha2::{Digest, Sha256};

use super::images::{Overlay, Still};
use super::tables::Catalogue;
use super::tables::Layout::{self, Album, Landscape, Portrait, Reel, Square, Video};
use super::users::{self, User};

/// Jitter stays below every account's gap between posts, so timestamps strictly decrease.
const JITTER_SECS: u64 = 3600;

pub(super) enum Kind {
    Image(Still),
    /// `media_url_withheld`: Instagram leaves `media_url` out (copyrighted audio).
    Video {
        thumbnail: Still,
        media_url_withheld: bool,
    },
    /// Never empty: the table's albums have at least two children.
    Album(Vec<Media>),
}

/// A post or an album child.
pub(super) struct Media {
    pub id: String,
    pub kind: Kind,
}

pub(super) struct Post {
    pub media: Media,
    pub caption: Option<&'static str>,
    pub timestamp: DateTime<Utc>,
    pub shortcode: String,
}

impl Media {
    pub fn media_type(&self) -> &'static str {
        match self.kind {
            Kind::Image(_) => "IMAGE",
            Kind::Video { .. } => "VIDEO",
            Kind::Album(_) => "CAROUSEL_ALBUM",
        }
    }

    /// The CDN file of the still the sandbox draws for this media (`<id>.jpg` for an image,
    /// `<id>_thumb.jpg` for a video's thumbnail); albums have none of their own.
    pub fn still(&self) -> Option<(String, &Still)> {
        match &self.kind {
            Kind::Image(still) => Some((format!("{}.jpg", self.id), still)),
            Kind::Video { thumbnail, .. } => Some((format!("{}_thumb.jpg", self.id), thumbnail)),
            Kind::Album(_) => None,
        }
    }

    /// The CDN file behind `media_url`, `None` when Instagram withholds it. An album carries
    /// its cover's, as on Instagram.
    pub fn media_file(&self) -> Option<String> {
        match &self.kind {
            Kind::Image(_) => Some(format!("{}.jpg", self.id)),
            Kind::Video {
                media_url_withheld: false,
                ..
            } => Some(format!("{}.mp4", self.id)),
            Kind::Video { .. } => None,
            Kind::Album(children) => children.first().and_then(Media::media_file),
        }
    }

    pub fn thumbnail_file(&self) -> Option<String> {
        match &self.kind {
            Kind::Video { .. } => self.still().map(|(file, _)| file),
            Kind::Image(_) | Kind::Album(_) => None,
        }
    }

    pub fn children(&self) -> &[Media] {
        match &self.kind {
            Kind::Album(children) => children,
            Kind::Image(_) | Kind::Video { .. } => &[],
        }
    }
}

/// The first 8 bytes of SHA-256: stable everywhere, unlike `std::hash`.
pub(super) fn hash64(text: &str) -> u64 {
    Sha256::digest(text.as_bytes())
        .iter()
        .take(8)
        .fold(0, |acc, byte| (acc << 8) | u64::from(*byte))
}

/// Each account's posts, in the order of [`users::all`].
static POSTS: LazyLock<Vec<Vec<Post>>> =
    LazyLock::new(|| users::all().iter().map(build_posts).collect());

/// `user`'s catalogue turned into posts, newest first: also for accounts outside
/// [`users::all`] (the Facebook Login side's).
pub(super) fn build_posts(user: &'static User) -> Vec<Post> {
    let rows = user.catalogue.rows;
    rows.iter()
        .enumerate()
        .map(|(index, (layout, caption))| build_post(user, index, *layout, *caption))
        .collect()
}

/// The posts of the account at `user` (an index of [`users::all`]), newest first.
pub(super) fn posts(user: usize) -> &'static [Post] {
    POSTS.get(user).map_or(&[], Vec::as_slice)
}

/// Every post and album child of the account at `user`.
pub(super) fn media_of(user: usize) -> impl Iterator<Item = &'static Media> {
    posts(user)
        .iter()
        .flat_map(|post| std::iter::once(&post.media).chain(post.media.children()))
}

/// Every post and album child of every account.
pub(super) fn all_media() -> impl Iterator<Item = &'static Media> {
    (0..users::all().len()).flat_map(media_of)
}

/// `index` 0 is the newest post; the label numbers posts from the oldest (No. 1) up.
fn build_post(
    user: &'static User,
    index: usize,
    layout: Layout,
    caption: Option<&'static str>,
) -> Post {
    let catalogue = user.catalogue;
    let number = catalogue.rows.len() - index;
    let id = post_id(catalogue, index);
    let still = |width, height, kind: &str, video| {
        post_still(user, width, height, format!("No. {number} - {kind}"), video)
    };
    let kind = match layout {
        Square => Kind::Image(still(1080, 1080, "image", false)),
        Portrait => Kind::Image(still(1080, 1350, "image", false)),
        Landscape => Kind::Image(still(1080, 566, "image", false)),
        Video => Kind::Video {
            thumbnail: still(1080, 1350, "video", true),
            media_url_withheld: false,
        },
        Reel => Kind::Video {
            thumbnail: still(1080, 1920, "reel", true),
            media_url_withheld: true,
        },
        Album(letters) => Kind::Album(album_children(user, &id, number, letters)),
    };
    Post {
        shortcode: shortcode(&id),
        timestamp: timestamp(catalogue, index),
        media: Media { id, kind },
        caption,
    }
}

fn post_still(owner: &'static User, width: u32, height: u32, label: String, video: bool) -> Still {
    Still {
        width,
        height,
        owner,
        overlay: Overlay::Post { label, video },
    }
}

/// Carousel children are square, as Instagram crops a carousel to one aspect ratio.
fn album_children(user: &'static User, album_id: &str, number: usize, letters: &str) -> Vec<Media> {
    let count = letters.len();
    letters
        .chars()
        .enumerate()
        .map(|(position, letter)| {
            let label = format!("No. {number} - {}/{count}", position + 1);
            let kind = if letter == 'V' {
                Kind::Video {
                    thumbnail: post_still(user, 1080, 1080, label, true),
                    media_url_withheld: false,
                }
            } else {
                Kind::Image(post_still(user, 1080, 1080, label, false))
            };
            Media {
                id: child_id(album_id, position),
                kind,
            }
        })
        .collect()
}

/// 17-digit ids starting `178…`/`179…`, decreasing with age like Instagram's; the step between
/// posts is far larger than the hashed part, so ids are unique and ordered.
fn post_id(catalogue: &Catalogue, index: usize) -> String {
    const STEP: u64 = 1_234_567_891_011;
    let jitter = hash64(&format!("{}/post/{index}", catalogue.namespace)) % 1_000_000;
    (catalogue.newest_id - index as u64 * STEP + jitter).to_string()
}

/// Children get unrelated-looking 17-digit ids starting `18…`, as on Instagram.
fn child_id(album_id: &str, position: usize) -> String {
    let hashed = hash64(&format!("sandbox/child/{album_id}/{position}")) % 1_000_000_000_000_000;
    (18_000_000_000_000_000 + hashed).to_string()
}

/// 11 URL-safe characters, the length of Instagram's post shortcodes.
pub(super) fn shortcode(id: &str) -> String {
    let digest = Sha256::digest(format!("sandbox/shortcode/{id}").as_bytes());
    URL_SAFE_NO_PAD.encode(digest.get(..8).unwrap_or_default())
}

fn timestamp(catalogue: &Catalogue, index: usize) -> DateTime<Utc> {
    let jitter = hash64(&format!("{}/time/{index}", catalogue.namespace)) % JITTER_SECS;
    let newest = DateTime::UNIX_EPOCH + TimeDelta::seconds(catalogue.newest_at_unix);
    newest - catalogue.gap * index as i32 + TimeDelta::seconds(jitter as i64)
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    fn count(kind: impl Fn(&Post) -> bool) -> usize {
        posts(0).iter().filter(|p| kind(p)).count()
    }

    #[test]
    fn about_sixty_posts_with_every_kind() {
        assert_eq!(posts(0).len(), 60);
        let video = |p: &Post| matches!(p.media.kind, Kind::Video { .. });
        let withheld = |p: &Post| {
            matches!(
                p.media.kind,
                Kind::Video {
                    media_url_withheld: true,
                    ..
                }
            )
        };
        let album = |p: &Post| matches!(p.media.kind, Kind::Album(_));
        assert!(count(|p| matches!(p.media.kind, Kind::Image(_))) >= 30);
        assert!(count(video) >= 5);
        assert!(count(withheld) >= 1);
        assert!(count(album) >= 6);
        assert!(count(|p| p.caption.is_none()) >= 5);
        for post in posts(0).iter().filter(|p| album(p)) {
            let children = post.media.children();
            assert!((2..=5).contains(&children.len()));
            assert_eq!(children[0].media_type(), "IMAGE", "the cover is an image");
            assert!(post.media.media_file().is_some());
        }
        let video_children = posts(0)
            .iter()
            .flat_map(|p| p.media.children())
            .filter(|c| c.media_type() == "VIDEO")
            .count();
        assert!(video_children >= 1);
    }

    #[test]
    fn stills_come_in_instagrams_shapes() {
        let sizes: HashSet<(u32, u32)> = all_media()
            .filter_map(|m| m.still().map(|(_, still)| (still.width, still.height)))
            .collect();
        let expected = [(1080, 1080), (1080, 1350), (1080, 566), (1080, 1920)];
        assert_eq!(sizes, HashSet::from(expected));
    }

    #[test]
    fn captions_cover_the_hashtag_edge_cases() {
        let captions: Vec<&str> = posts(0).iter().filter_map(|p| p.caption).collect();
        for needle in [
            "#café",
            "#über",
            "#日本",
            "#Sunset",
            "#sunset#beach.",
            "#café☕",
        ] {
            assert!(captions.iter().any(|c| c.contains(needle)), "{needle}");
        }
        let sunsets = captions.iter().filter(|c| c.contains("#sunset")).count();
        assert!(sunsets >= 3, "repeated tags");
    }

    /// Unique across every account, so the CDN's file names never collide either.
    #[test]
    fn ids_are_unique_digit_strings() {
        let ids: Vec<&str> = all_media().map(|m| m.id.as_str()).collect();
        let unique: HashSet<&str> = ids.iter().copied().collect();
        assert_eq!(unique.len(), ids.len());
        for id in ids {
            assert!(
                (17..=18).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_digit()),
                "{id}"
            );
        }
        let every_post = || (0..users::all().len()).flat_map(posts);
        let shortcodes: HashSet<&str> = every_post().map(|p| p.shortcode.as_str()).collect();
        assert_eq!(shortcodes.len(), every_post().count());
    }

    #[test]
    fn timestamps_are_distinct_newest_first_over_months() {
        for (user, days) in [(0, 80..=100), (1, 50..=70), (2, 70..=90)] {
            let times: Vec<DateTime<Utc>> = posts(user).iter().map(|p| p.timestamp).collect();
            assert!(times.windows(2).all(|pair| pair[0] > pair[1]));
            let span = times[0] - times[times.len() - 1];
            assert!(days.contains(&span.num_days()), "{user}: {span}");
        }
    }

    /// The other accounts have posts of their own: their counts, captions and pictures.
    #[test]
    fn each_account_has_its_own_posts() {
        let counts: Vec<usize> = (0..3).map(|user| posts(user).len()).collect();
        assert_eq!(counts, [60, 24, 36]);
        for user in 1..3 {
            let kinds: HashSet<&str> = media_of(user).map(Media::media_type).collect();
            assert_eq!(kinds.len(), 3, "images, videos and albums");
            let captions: HashSet<&str> = posts(user).iter().filter_map(|p| p.caption).collect();
            assert!(
                posts(0)
                    .iter()
                    .all(|p| p.caption.is_none_or(|c| !captions.contains(c)))
            );
            for media in media_of(user) {
                if let Some((_, still)) = media.still() {
                    assert_eq!(still.owner.username, users::all()[user].username);
                }
            }
        }
    }

    /// Pinned values: a change here means every demo's data (and snapshot version) changes,
    /// or the derivation is not the same on every machine.
    #[test]
    fn the_catalogue_is_deterministic() {
        let fingerprint = media_of(0)
            .map(|m| format!("{} {} {:?}", m.id, m.media_type(), m.media_file()))
            .chain(
                posts(0)
                    .iter()
                    .map(|p| format!("{} {}", p.shortcode, p.timestamp)),
            )
            .collect::<Vec<_>>()
            .join("\n");
        let first = &posts(0)[0];
        assert_eq!(first.media.id, "17950000000857678");
        assert_eq!(first.shortcode, "XqXzhbFqRfA");
        assert_eq!(first.timestamp.to_rfc3339(), "2026-11-01T12:34:59+00:00");
        assert_eq!(format!("{:016x}", hash64(&fingerprint)), "eaea98fd44353a90");
    }
}
