//! The sandbox account's posts: a fixed, hand-written table turned into Instagram-like media
//! (ids, shortcodes, timestamps), identical on every run and every machine.
//!
//! Everything derived (ids, shortcodes, timestamp jitter, image colours) comes from SHA-256 of
//! a fixed string, never from `std`'s hasher, whose output may change between Rust releases.

use std::sync::LazyLock;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, TimeDelta, Utc};
use sha2::{Digest, Sha256};

/// The newest post is within an hour after this instant (2026-11-01T12:00:00Z); older ones go
/// back about three months.
const NEWEST_AT_UNIX: i64 = 1_793_534_400;
/// The gap between two posts, before jitter: 60 posts span about 92 days.
const POST_GAP: TimeDelta = TimeDelta::hours(37);
/// Jitter stays below the gap, so timestamps are strictly decreasing.
const JITTER_SECS: u64 = 3600;

/// How a post of the table is laid out.
#[derive(Clone, Copy)]
enum Layout {
    /// A 1080x1080 image.
    Square,
    /// A 1080x1350 image.
    Portrait,
    /// A 1080x566 image (1.91:1, the widest Instagram keeps).
    Landscape,
    /// A 4:5 feed video.
    Video,
    /// A 9:16 reel with licensed music: Instagram withholds its `media_url`.
    Reel,
    /// A carousel; one letter per child, `I` image or `V` video. The first child (the cover,
    /// whose URL the album itself carries) is always an image.
    Album(&'static str),
}

use Layout::{Album, Landscape, Portrait, Reel, Square, Video};

/// The account's posts, newest first. The captions exercise hashtag parsing: non-ASCII tags,
/// repeats, mixed case, tags glued together (`#sunset#beach`), punctuation and emoji right
/// after a tag, line breaks; `None` is a post without caption (the key is then absent).
#[rustfmt::skip]
const TABLE: [(Layout, Option<&str>); 60] = [
    (Square, Some("First frost on the terrace. #winter #garden")),
    (Album("IVI"), Some("Weekend market haul 🧺 #café #market #Café")),
    (Portrait, Some("golden hour #sunset#beach.")),
    (Video, Some("Waves, on repeat. #ocean #sunset 🌊")),
    (Square, None),
    (Square, Some("Flat white and a croissant #café☕ #breakfast")),
    (Reel, Some("Behind the scenes of our autumn shoot, sound on 🎬 #reels #bts")),
    (Portrait, Some("Kyoto in the rain #日本 #kyoto #travel")),
    (Square, Some("#Sunset again, no regrets. #sunset #nofilter")),
    (Album("II"), Some("Two views from the same bench #parkbench #über")),
    (Square, Some("Über den Dächern von Berlin #über #berlin")),
    (Square, None),
    (Video, Some("Latte art practice, attempt #37 #café #barista")),
    (Portrait, Some("Ramen night 🍜 #日本料理 #ramen")),
    (Square, Some("New prints in the shop — link in bio.\n\n#prints #art")),
    (Album("IIVII"), Some("Five frames from Lisbon #lisbon #travel #sunset")),
    (Square, Some("Sunday slow. #sunday")),
    (Square, Some("crème brûlée #dessert #crèmebrûlée")),
    (Portrait, None),
    (Video, Some("Timelapse: clouds rolling over the ridge #timelapse #mountains")),
    (Landscape, Some("Olive grove, late afternoon #olive #sunset")),
    (Square, Some("Studio corner #workspace#design #Design")),
    (Album("IV"), Some("Making of the new menu #café #menu")),
    (Square, Some("Tokyo at night #日本 #tokyo #neon")),
    (Square, Some("Rainy window, warm tea. #tea #rain ☔")),
    (Portrait, Some("Portrait of a very patient dog #dog #goodboy🐶")),
    (Reel, Some("Our first reel with music 🔊 #reels #music")),
    (Square, None),
    (Square, Some("Straße, Ecke, Licht #straße #über #streetphotography")),
    (Album("IIII"), Some("Four seasons from the same window #seasons")),
    (Square, Some("Peaches! #summer #fruit")),
    (Video, Some("Pouring the espresso in slow motion #café #slowmo")),
    (Portrait, Some("Sunset over the dunes #Sunset #desert")),
    (Square, Some("Fresh bread, still warm. #bakery #bread")),
    (Square, Some("Snow in Sapporo ❄️ #日本 #hokkaido #snow")),
    (Square, None),
    (Album("IVIV"), Some("Our team, our kitchen\n#team #kitchen #café")),
    (Square, Some("Mañana será otro día #mañana #sunset")),
    (Portrait, Some("Minimal #minimal")),
    (Landscape, Some("Blue hour in the old town #bluehour #oldtown")),
    (Video, Some("Steam rising from the kettle #tea #morning")),
    (Square, Some("Cheers to ten years! 🎉#anniversary #10years")),
    (Square, None),
    (Square, Some("Field notes, page 12 #sketchbook #art")),
    (Album("III"), Some("Three takes on the same sunset #sunset #sunset #photography")),
    (Portrait, Some("Ceramics drying in the sun #ceramics #handmade")),
    (Square, Some("Lemon tart #dessert #café")),
    (Landscape, Some("The ferry at dawn #ferry #dawn")),
    (Video, Some("Market day walk-through #market #über")),
    (Square, None),
    (Landscape, Some("Wildflowers by the road #flowers #spring")),
    (Portrait, Some("Kimono fitting in Kanazawa #日本 #kanazawa #着物")),
    (Album("IVI"), Some("Open studio day, swipe for the video ➡️ #openstudio #art")),
    (Square, Some("Harvest #autumn #harvest")),
    (Square, Some("Rooftop garden, finally green #garden #rooftop")),
    (Square, None),
    (Portrait, Some("Lanterns #日本 #festival")),
    (Video, Some("Our very first video, be kind #hello")),
    (Square, Some("Opening day! Thank you all ❤️ #opening #café #grandopening")),
    (Square, Some("Hello world. #hello #firstpost")),
];

/// What the CDN draws for an image, or for a video's thumbnail.
pub(super) struct Still {
    pub width: u32,
    pub height: u32,
    /// A short ASCII text drawn on the image, e.g. `No. 42 - 2/3`.
    pub label: String,
    /// Video thumbnails get a play button.
    pub video: bool,
}

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

static POSTS: LazyLock<Vec<Post>> = LazyLock::new(|| {
    TABLE
        .iter()
        .enumerate()
        .map(|(index, (layout, caption))| build_post(index, *layout, *caption))
        .collect()
});

/// All posts, newest first.
pub(super) fn posts() -> &'static [Post] {
    &POSTS
}

/// Every post and album child.
pub(super) fn all_media() -> impl Iterator<Item = &'static Media> {
    posts()
        .iter()
        .flat_map(|post| std::iter::once(&post.media).chain(post.media.children()))
}

/// The still served as `file` (e.g. `17948….jpg`), with its media's id.
pub(super) fn find_still(file: &str) -> Option<(&'static str, &'static Still)> {
    all_media().find_map(|media| {
        let (name, still) = media.still()?;
        (name == file).then_some((media.id.as_str(), still))
    })
}

/// `index` 0 is the newest post; the label numbers posts from the oldest (No. 1) up.
fn build_post(index: usize, layout: Layout, caption: Option<&'static str>) -> Post {
    let number = TABLE.len() - index;
    let id = post_id(index);
    let kind = match layout {
        Square => Kind::Image(still(1080, 1080, format!("No. {number} - image"), false)),
        Portrait => Kind::Image(still(1080, 1350, format!("No. {number} - image"), false)),
        Landscape => Kind::Image(still(1080, 566, format!("No. {number} - image"), false)),
        Video => Kind::Video {
            thumbnail: still(1080, 1350, format!("No. {number} - video"), true),
            media_url_withheld: false,
        },
        Reel => Kind::Video {
            thumbnail: still(1080, 1920, format!("No. {number} - reel"), true),
            media_url_withheld: true,
        },
        Album(letters) => Kind::Album(album_children(&id, number, letters)),
    };
    Post {
        shortcode: shortcode(&id),
        timestamp: timestamp(index),
        media: Media { id, kind },
        caption,
    }
}

fn still(width: u32, height: u32, label: String, video: bool) -> Still {
    Still {
        width,
        height,
        label,
        video,
    }
}

/// Carousel children are square, as Instagram crops a carousel to one aspect ratio.
fn album_children(album_id: &str, number: usize, letters: &str) -> Vec<Media> {
    let count = letters.len();
    letters
        .chars()
        .enumerate()
        .map(|(position, letter)| {
            let label = format!("No. {number} - {}/{count}", position + 1);
            let kind = if letter == 'V' {
                Kind::Video {
                    thumbnail: still(1080, 1080, label, true),
                    media_url_withheld: false,
                }
            } else {
                Kind::Image(still(1080, 1080, label, false))
            };
            Media {
                id: child_id(album_id, position),
                kind,
            }
        })
        .collect()
}

/// 17-digit ids starting `179…`, decreasing with age like Instagram's; the step between posts
/// is far larger than the hashed part, so ids are unique and ordered.
fn post_id(index: usize) -> String {
    const NEWEST: u64 = 17_950_000_000_000_000;
    const STEP: u64 = 1_234_567_891_011;
    let jitter = hash64(&format!("sandbox/post/{index}")) % 1_000_000;
    (NEWEST - index as u64 * STEP + jitter).to_string()
}

/// Children get unrelated-looking 17-digit ids starting `18…`, as on Instagram.
fn child_id(album_id: &str, position: usize) -> String {
    let hashed = hash64(&format!("sandbox/child/{album_id}/{position}")) % 1_000_000_000_000_000;
    (18_000_000_000_000_000 + hashed).to_string()
}

/// 11 URL-safe characters, the length of Instagram's post shortcodes.
fn shortcode(id: &str) -> String {
    let digest = Sha256::digest(format!("sandbox/shortcode/{id}").as_bytes());
    URL_SAFE_NO_PAD.encode(digest.get(..8).unwrap_or_default())
}

fn timestamp(index: usize) -> DateTime<Utc> {
    let jitter = hash64(&format!("sandbox/time/{index}")) % JITTER_SECS;
    let newest = DateTime::UNIX_EPOCH + TimeDelta::seconds(NEWEST_AT_UNIX);
    newest - POST_GAP * index as i32 + TimeDelta::seconds(jitter as i64)
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    fn count(kind: impl Fn(&Post) -> bool) -> usize {
        posts().iter().filter(|p| kind(p)).count()
    }

    #[test]
    fn about_sixty_posts_with_every_kind() {
        assert_eq!(posts().len(), 60);
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
        for post in posts().iter().filter(|p| album(p)) {
            let children = post.media.children();
            assert!((2..=5).contains(&children.len()));
            assert_eq!(children[0].media_type(), "IMAGE", "the cover is an image");
            assert!(post.media.media_file().is_some());
        }
        let video_children = posts()
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
        let captions: Vec<&str> = posts().iter().filter_map(|p| p.caption).collect();
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
        let shortcodes: HashSet<&str> = posts().iter().map(|p| p.shortcode.as_str()).collect();
        assert_eq!(shortcodes.len(), posts().len());
    }

    #[test]
    fn timestamps_are_distinct_newest_first_over_three_months() {
        let times: Vec<DateTime<Utc>> = posts().iter().map(|p| p.timestamp).collect();
        assert!(times.windows(2).all(|pair| pair[0] > pair[1]));
        let span = times[0] - times[times.len() - 1];
        assert!((80..=100).contains(&span.num_days()), "{span}");
    }

    /// Pinned values: a change here means every demo's data (and snapshot version) changes,
    /// or the derivation is not the same on every machine.
    #[test]
    fn the_catalogue_is_deterministic() {
        let fingerprint = all_media()
            .map(|m| format!("{} {} {:?}", m.id, m.media_type(), m.media_file()))
            .chain(
                posts()
                    .iter()
                    .map(|p| format!("{} {}", p.shortcode, p.timestamp)),
            )
            .collect::<Vec<_>>()
            .join("\n");
        let first = &posts()[0];
        assert_eq!(first.media.id, "17950000000857678");
        assert_eq!(first.shortcode, "XqXzhbFqRfA");
        assert_eq!(first.timestamp.to_rfc3339(), "2026-11-01T12:34:59+00:00");
        assert_eq!(format!("{:016x}", hash64(&fingerprint)), "eaea98fd44353a90");
    }
}
