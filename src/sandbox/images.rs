//! Generated pictures for the sandbox CDN: a few KB of SVG per still (a gradient sky, a sun,
//! soft bokeh, two ranges of hills, a label), all drawn from a hash of the media id, so each
//! post looks different and identical on every run.
//!
//! Explicit `width`/`height` attributes make browsers report a natural size, like a photo's.

use super::USERNAME;
use super::posts::{Still, hash64};

const BOKEH_CIRCLES: usize = 14;
const HILL_POINTS: u32 = 8;

/// A small deterministic generator (SplitMix64): enough variety for pictures, seeded by id.
struct Rng(u64);

impl Rng {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n`.
    fn below(&mut self, n: u32) -> u32 {
        (self.next_u64() % u64::from(n.max(1))) as u32
    }
}

/// The SVG document for `still` of media `id`.
pub(super) fn svg(id: &str, still: &Still) -> String {
    let mut rng = Rng(hash64(id));
    let (w, h) = (still.width, still.height);
    let sky = rng.below(360);
    let ground = (sky + 20 + rng.below(60)) % 360;
    let mut parts = vec![
        format!(
            r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}">"#
        ),
        defs(sky, ground),
        format!(r#"<rect width="{w}" height="{h}" fill="url(#sky)"/>"#),
        sun(&mut rng, w, h),
    ];
    parts.extend((0..BOKEH_CIRCLES).map(|_| bokeh(&mut rng, w, h)));
    parts.push(hills(&mut rng, w, h, h * 3 / 5, ground, 0.45));
    parts.push(hills(&mut rng, w, h, h * 3 / 4, ground, 0.8));
    if still.video {
        parts.push(play_button(w, h));
    }
    parts.push(labels(still));
    parts.push("</svg>\n".to_owned());
    parts.join("\n")
}

fn defs(sky: u32, ground: u32) -> String {
    format!(
        r##"<defs><linearGradient id="sky" x1="0" y1="0" x2="0.35" y2="1"><stop offset="0" stop-color="hsl({sky},72%,66%)"/><stop offset="1" stop-color="hsl({ground},58%,38%)"/></linearGradient><radialGradient id="sun"><stop offset="0" stop-color="#fff8e1" stop-opacity="0.95"/><stop offset="0.45" stop-color="#fff8e1" stop-opacity="0.55"/><stop offset="1" stop-color="#fff8e1" stop-opacity="0"/></radialGradient></defs>"##
    )
}

fn sun(rng: &mut Rng, w: u32, h: u32) -> String {
    let (cx, cy) = (w / 5 + rng.below(w * 3 / 5), h / 8 + rng.below(h / 3));
    let r = 140 + rng.below(120);
    format!(r#"<circle cx="{cx}" cy="{cy}" r="{r}" fill="url(#sun)"/>"#)
}

fn bokeh(rng: &mut Rng, w: u32, h: u32) -> String {
    let (cx, cy, r) = (rng.below(w), rng.below(h * 2 / 3), 12 + rng.below(70));
    let opacity = 6 + rng.below(20);
    format!(
        r##"<circle cx="{cx}" cy="{cy}" r="{r}" fill="#ffffff" fill-opacity="0.{opacity:02}"/>"##
    )
}

/// A range of hills whose crest wanders around `crest` (a y coordinate).
fn hills(rng: &mut Rng, w: u32, h: u32, crest: u32, hue: u32, opacity: f32) -> String {
    let spread = h / 10;
    let points: Vec<String> = (0..=HILL_POINTS)
        .map(|i| {
            let x = w * i / HILL_POINTS;
            let y = crest - spread / 2 + rng.below(spread);
            format!("L{x} {y}")
        })
        .collect();
    format!(
        r#"<path d="M0 {h} {} L{w} {h} Z" fill="hsl({hue},45%,18%)" fill-opacity="{opacity}"/>"#,
        points.join(" ")
    )
}

/// The play button Instagram-like feeds overlay on video thumbnails.
fn play_button(w: u32, h: u32) -> String {
    let (cx, cy) = (w / 2, h / 2);
    format!(
        r##"<g id="play"><circle cx="{cx}" cy="{cy}" r="110" fill="#000000" fill-opacity="0.45"/><path d="M{} {} L{} {cy} L{} {} Z" fill="#ffffff"/></g>"##,
        cx - 36,
        cy - 62,
        cx + 68,
        cx - 36,
        cy + 62
    )
}

/// The labels are ASCII the sandbox wrote itself (post number, kind, size, the username), so
/// they need no XML escaping.
fn labels(still: &Still) -> String {
    let (w, h) = (still.width, still.height);
    format!(
        r##"<g font-family="Helvetica, Arial, sans-serif" fill="#ffffff"><text x="60" y="100" font-size="40" fill-opacity="0.85">@{USERNAME}</text><text x="60" y="{}" font-size="72" font-weight="700">{}</text><text x="60" y="{}" font-size="36" fill-opacity="0.8">{w} x {h} - sandbox</text></g>"##,
        h - 130,
        still.label,
        h - 70
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn still(video: bool) -> Still {
        Still {
            width: 1080,
            height: 1350,
            label: "No. 7 - video".to_owned(),
            video,
        }
    }

    #[test]
    fn pictures_are_deterministic_and_differ_by_id() {
        let a = svg("17900000000000001", &still(false));
        assert_eq!(a, svg("17900000000000001", &still(false)));
        assert_ne!(a, svg("17900000000000002", &still(false)));
        assert!(
            a.starts_with(r#"<svg xmlns="http://www.w3.org/2000/svg" width="1080" height="1350""#)
        );
        assert!(a.contains("No. 7 - video") && !a.contains(r#"id="play""#));
        assert!(svg("1", &still(true)).contains(r#"<g id="play">"#));
    }

    #[test]
    fn pictures_weigh_a_few_kilobytes() {
        let size = svg("17900000000000001", &still(true)).len();
        assert!((1500..8000).contains(&size), "{size} bytes");
    }
}
