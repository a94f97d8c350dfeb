//! Generated pictures for the sandbox CDN: photo-like JPEGs of exactly the still's size (the
//! SVG stills' gradient sky, sun, bokeh and two ranges of hills, now with textured fields, a
//! ragged tree line and film grain; a label; a play button on video thumbnails), all drawn from
//! a hash of the media id, so each post looks different and identical on every run. Each
//! account's skies keep to its own hues. Profile pictures are the same landscape, small, with
//! the account's initial.
//!
//! The grain and textures make them weigh what photos do (at quality 85: about 80 KB for
//! 1080x566, 125 KB for 1080x1080, 145 KB for 1080x1350, 195 KB for 1080x1920), so re-hosting
//! them exercises realistic sizes.
//!
//! This module is compiled unoptimized in dev builds: the per-pixel work is table lookups and
//! integer arithmetic, everything else is computed once per row or per column, and only the
//! boxes around the sun, bokeh, labels and play button are visited for those. Drawing a
//! 1080x1350 picture takes about 70 ms there; encoding it about 300 ms more, as `JpegEncoder` is
//! generic and so compiled with this crate, unoptimized, whatever the `image` package's
//! opt-level. Callers keep the bytes.

use image::ExtendedColorType;
use image::codecs::jpeg::JpegEncoder;

use super::posts::hash64;
use super::users::User;

/// JPEG quality: Instagram's own files are encoded around 80–90.
const QUALITY: u8 = 85;
const BOKEH_CIRCLES: usize = 14;
const HILL_POINTS: usize = 8;
/// Samples in a [`Wave`] (a power of two: indices wrap with a mask).
const WAVE_LEN: usize = 4096;
/// Film grain is looked up in a table this long (a power of two), at a different offset on each
/// row, so it never visibly repeats.
const GRAIN_LEN: usize = 1 << 16;
/// Film grain, ± this much luminance (triangular distribution).
const GRAIN: i32 = 5;

/// What the CDN draws: an image, a video's thumbnail or a profile picture.
pub(super) struct Still {
    pub width: u32,
    pub height: u32,
    /// Whose picture it is: its hues, and the `@username` on a post's.
    pub owner: &'static User,
    pub overlay: Overlay,
}

pub(super) enum Overlay {
    /// `@username` at the top, `label` (short ASCII, e.g. `No. 42 - 2/3`) and the size at the
    /// bottom; video thumbnails get a play button.
    Post { label: String, video: bool },
    /// The account's initial, large, in the middle.
    Avatar,
}

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

    /// A number in `-amplitude..=amplitude`.
    fn signed(&mut self, amplitude: i32) -> i32 {
        let span = amplitude.unsigned_abs() * 2 + 1;
        self.below(span) as i32 - amplitude.abs()
    }
}

/// The JPEG for `still`, drawn from `seed` (a media id, say): exactly `still.width` x
/// `still.height`, deterministic. CPU-bound for a few hundred milliseconds in a dev build: not
/// for an async worker.
pub(super) fn jpeg(seed: &str, still: &Still) -> Result<Vec<u8>, image::ImageError> {
    let canvas = draw(seed, still);
    let mut bytes = Vec::with_capacity(canvas.pixels.len() / 8);
    JpegEncoder::new_with_quality(&mut bytes, QUALITY).encode(
        &canvas.pixels,
        still.width,
        still.height,
        ExtendedColorType::Rgb8,
    )?;
    Ok(bytes)
}

/// RGB, 8 bits a channel, rows top to bottom.
///
/// The loops over its pixels are written for unoptimized builds: `while` rather than range
/// iterators and indexing of slices rather than of `Vec`s, which cost a call each at opt-level 0.
struct Canvas {
    width: usize,
    height: usize,
    pixels: Vec<u8>,
}

type Rgb = [i32; 3];

impl Canvas {
    fn new(width: u32, height: u32) -> Self {
        let (width, height) = (width as usize, height as usize);
        Self {
            width,
            height,
            pixels: vec![0; width * height * 3],
        }
    }

    /// A box clipped to the canvas: `(left, top, right, bottom)`, right and bottom excluded.
    fn clip(&self, left: i32, top: i32, right: i32, bottom: i32) -> (usize, usize, usize, usize) {
        let clamp = |v: i32, max: usize| v.clamp(0, max as i32) as usize;
        (
            clamp(left, self.width),
            clamp(top, self.height),
            clamp(right, self.width),
            clamp(bottom, self.height),
        )
    }
}

/// Moves the pixel at byte `at` towards `colour` by `alpha`/256.
fn blend(pixels: &mut [u8], at: usize, colour: Rgb, alpha: i32) {
    let [r, g, b] = colour;
    let (pr, pg, pb) = (
        i32::from(pixels[at]),
        i32::from(pixels[at + 1]),
        i32::from(pixels[at + 2]),
    );
    pixels[at] = (pr + (((r - pr) * alpha) >> 8)) as u8;
    pixels[at + 1] = (pg + (((g - pg) * alpha) >> 8)) as u8;
    pixels[at + 2] = (pb + (((b - pb) * alpha) >> 8)) as u8;
}

/// `SATURATE[v + 256]` is `v` clamped to `0..=255`, for `v` in `-256..512`.
fn saturate_table() -> [u8; 768] {
    std::array::from_fn(|i| (i as i32 - 256).clamp(0, 255) as u8)
}

fn draw(seed: &str, still: &Still) -> Canvas {
    let mut rng = Rng(hash64(seed));
    let mut canvas = Canvas::new(still.width, still.height);
    let h = canvas.height as i32;
    let (first_hue, hues) = still.owner.hues;
    let sky_hue = (first_hue + rng.below(hues)) % 360;
    let ground_hue = (sky_hue + 20 + rng.below(60)) % 360;
    sky(&mut canvas, hsl(sky_hue, 72, 66), hsl(ground_hue, 58, 38));
    sun(&mut canvas, &mut rng);
    let hill = hsl(ground_hue, 45, 18);
    hills(&mut canvas, &mut rng, h * 3 / 5, hill, 115, 5);
    hills(&mut canvas, &mut rng, h * 3 / 4, hill, 205, 12);
    for _ in 0..BOKEH_CIRCLES {
        bokeh(&mut canvas, &mut rng);
    }
    grain(&mut canvas, &mut rng);
    match &still.overlay {
        Overlay::Post { label, video } => {
            if *video {
                play_button(&mut canvas);
            }
            labels(&mut canvas, still, label);
        }
        Overlay::Avatar => initial(&mut canvas, still.owner),
    }
    canvas
}

/// CSS `hsl(hue, saturation%, lightness%)` as RGB.
fn hsl(hue: u32, saturation: u32, lightness: u32) -> Rgb {
    let (s, l) = (saturation as f32 / 100.0, lightness as f32 / 100.0);
    let a = s * l.min(1.0 - l);
    let channel = |n: u32| {
        let k = (n as f32 + hue as f32 / 30.0) % 12.0;
        let v = l - a * (k - 3.0).min(9.0 - k).clamp(-1.0, 1.0);
        (v * 255.0).round() as i32
    };
    [channel(0), channel(8), channel(4)]
}

/// Smooth 1-D noise, two octaves of eased random steps within about `±amplitude`, and
/// seamless: the hills' tree line and fields are read from it along slanted lines.
fn wave(rng: &mut Rng, amplitude: i32) -> Vec<i32> {
    let mut samples = vec![0; WAVE_LEN];
    for (period, weight) in [(256, 3), (64, 1)] {
        let knots: Vec<i32> = (0..WAVE_LEN / period)
            .map(|_| rng.signed(amplitude))
            .collect();
        let p = period as i64;
        for (i, sample) in samples.iter_mut().enumerate() {
            let (k, t) = (i / period, (i % period) as i64);
            // Smoothstep, 0..=p³.
            let eased = t * t * (3 * p - 2 * t);
            let a = i64::from(knots[k]);
            let b = i64::from(knots[(k + 1) % knots.len()]);
            *sample += (a + (b - a) * eased / (p * p * p)) as i32 * weight / 4;
        }
    }
    samples
}

/// The diagonal gradient of the SVG stills (`x2="0.35"`): the colour depends on
/// `x + y·w/(0.35·h)` only, so every row is a slice of one strip, copied in.
fn sky(canvas: &mut Canvas, top: Rgb, bottom: Rgb) {
    let (w, h) = (canvas.width, canvas.height);
    let shift = |y: usize| y * w * 100 / (35 * h);
    let length = w + shift(h - 1);
    let mut strip = vec![0; length * 3];
    for (j, pixel) in strip.chunks_exact_mut(3).enumerate() {
        // The position along the gradient, 0..=1024.
        let t = (j * 35 * 1024 / (135 * w)).min(1024) as i32;
        for ((channel, a), b) in pixel.iter_mut().zip(top).zip(bottom) {
            *channel = (a + (b - a) * t / 1024) as u8;
        }
    }
    let row_bytes = w * 3;
    for (y, row) in canvas.pixels.chunks_exact_mut(row_bytes).enumerate() {
        let start = shift(y) * 3;
        row.copy_from_slice(&strip[start..start + row_bytes]);
    }
}

/// A soft glow with a bright core, where the SVG's radial gradient was.
fn sun(canvas: &mut Canvas, rng: &mut Rng) {
    const WARM: Rgb = [255, 248, 225];
    let (w, h) = (canvas.width as u32, canvas.height as u32);
    let cx = (w / 5 + rng.below(w * 3 / 5)) as i32;
    let cy = (h / 8 + rng.below(h / 3)) as i32;
    let r = (140 + rng.below(120)) as i32;
    // Opacity by squared distance in 1/256 of r²: the SVG's stops (0.95 at the centre, 0.55 at
    // 0.45 r, 0 at r), and an opaque disc in the middle.
    let falloff: [i32; 257] = std::array::from_fn(|i| {
        let d = (i as f32 / 256.0).sqrt();
        let opacity = if d < 0.12 {
            1.0
        } else if d < 0.45 {
            0.95 - 0.4 * d / 0.45
        } else {
            0.55 * (1.0 - d) / 0.55
        };
        (opacity * 256.0) as i32
    });
    let r2 = r * r;
    let width = canvas.width;
    let (left, top, right, bottom) = canvas.clip(cx - r, cy - r, cx + r + 1, cy + r + 1);
    let pixels = &mut canvas.pixels[..];
    let mut y = top;
    while y < bottom {
        let dy = y as i32 - cy;
        let mut x = left;
        while x < right {
            let dx = x as i32 - cx;
            let d2 = dx * dx + dy * dy;
            if d2 < r2 {
                blend(
                    pixels,
                    (y * width + x) * 3,
                    WARM,
                    falloff[(d2 * 256 / r2) as usize],
                );
            }
            x += 1;
        }
        y += 1;
    }
}

/// A range of hills whose crest wanders around `crest` (a y coordinate), eased between
/// [`HILL_POINTS`] random heights, with a ragged tree line and fields of `texture` contrast.
/// `opacity` is in 1/256.
fn hills(canvas: &mut Canvas, rng: &mut Rng, crest: i32, colour: Rgb, opacity: i32, texture: i32) {
    let (w, h) = (canvas.width, canvas.height);
    let spread = h as i32 / 10;
    let points: Vec<i32> = (0..=HILL_POINTS)
        .map(|_| crest - spread / 2 + rng.below(spread as u32) as i32)
        .collect();
    let trees = wave(rng, 10);
    // The crest of each column, in 1/256 pixel.
    let tops: Vec<i32> = (0..w)
        .map(|x| {
            let scaled = x * HILL_POINTS;
            let (i, t) = (scaled / w, (scaled % w) as i64);
            let p = w as i64;
            let eased = (t * t * (3 * p - 2 * t) * 256 / (p * p * p)) as i32;
            let (a, b) = (points[i], points[i + 1]);
            a * 256 + (b - a) * eased + trees[(x * 3) % WAVE_LEN] * 64
        })
        .collect();
    let highest = tops
        .iter()
        .min()
        .map_or(0, |top| (top / 256).max(0) as usize);
    // Fields: two waves read along slanted lines (steps in 1/16 sample a pixel).
    let (across, along) = (wave(rng, texture), wave(rng, texture));
    let (across_offset, along_offset) = (rng.below(1 << 20) as usize, rng.below(1 << 20) as usize);
    let saturate = saturate_table();
    let (tops, across, along) = (&tops[..], &across[..], &along[..]);
    let pixels = &mut canvas.pixels[..];
    let mask = WAVE_LEN - 1;
    let mut y = highest;
    while y < h {
        let y_fp = y as i32 * 256;
        let mut across_at = across_offset + y * 90;
        let mut along_at = along_offset + y * 70 + w * 37;
        let mut at = y * w * 3;
        let mut x = 0;
        while x < w {
            let below = y_fp - tops[x];
            if below > -256 {
                // The crest row is partly covered: a smooth edge.
                let alpha = if below < 0 {
                    (opacity * (below + 256)) >> 8
                } else {
                    opacity
                };
                let shade = across[(across_at >> 4) & mask] + along[(along_at >> 4) & mask]
                    - (below >> 13)
                    + 256;
                blend(
                    pixels,
                    at,
                    [
                        i32::from(saturate[(colour[0] + shade) as usize]),
                        i32::from(saturate[(colour[1] + shade) as usize]),
                        i32::from(saturate[(colour[2] + shade) as usize]),
                    ],
                    alpha,
                );
            }
            across_at += 21;
            along_at -= 37;
            at += 3;
            x += 1;
        }
        y += 1;
    }
}

/// An out-of-focus highlight: a faint disc with a brighter, soft rim, in the upper two thirds.
fn bokeh(canvas: &mut Canvas, rng: &mut Rng) {
    const WHITE: Rgb = [255, 255, 255];
    let (w, h) = (canvas.width as u32, canvas.height as u32);
    let cx = rng.below(w) as i32;
    let cy = rng.below(h * 2 / 3) as i32;
    let r = 12 + rng.below(70) as i32;
    let opacity = (6 + rng.below(20)) as i32 * 256 / 100;
    let (inner, outer) = ((r - 2) * (r - 2), r * r);
    let width = canvas.width;
    let (left, top, right, bottom) = canvas.clip(cx - r, cy - r, cx + r + 1, cy + r + 1);
    let pixels = &mut canvas.pixels[..];
    let mut y = top;
    while y < bottom {
        let dy = y as i32 - cy;
        let mut x = left;
        while x < right {
            let dx = x as i32 - cx;
            let d2 = dx * dx + dy * dy;
            if d2 < outer {
                let alpha = if d2 < inner {
                    // Slightly brighter towards the rim, like a lens's.
                    opacity + opacity * d2 / inner / 3
                } else {
                    opacity * (outer - d2) / (outer - inner)
                };
                blend(pixels, (y * width + x) * 3, WHITE, alpha);
            }
            x += 1;
        }
        y += 1;
    }
}

/// Luminance grain over the whole picture, read from a table at a different offset on each
/// row, so it never visibly repeats. This is what makes the files weigh what photos do.
fn grain(canvas: &mut Canvas, rng: &mut Rng) {
    let table: Vec<i32> = (0..GRAIN_LEN)
        .map(|_| (rng.signed(GRAIN) + rng.signed(GRAIN)) / 2 + 256)
        .collect();
    let saturate = saturate_table();
    let table = &table[..];
    let pixels = &mut canvas.pixels[..];
    let row_bytes = canvas.width * 3;
    let mut y = 0;
    while y < canvas.height {
        let mut noise_at = y * 7919;
        let mut at = y * row_bytes;
        let end = at + row_bytes;
        while at < end {
            let noise = table[noise_at & (GRAIN_LEN - 1)];
            pixels[at] = saturate[(i32::from(pixels[at]) + noise) as usize];
            pixels[at + 1] = saturate[(i32::from(pixels[at + 1]) + noise) as usize];
            pixels[at + 2] = saturate[(i32::from(pixels[at + 2]) + noise) as usize];
            noise_at += 1;
            at += 3;
        }
        y += 1;
    }
}

/// The play button Instagram-like feeds overlay on video thumbnails: a dark disc and a white
/// triangle pointing right.
fn play_button(canvas: &mut Canvas) {
    const RADIUS: i32 = 110;
    let (cx, cy) = (canvas.width as i32 / 2, canvas.height as i32 / 2);
    let (outer, inner) = (RADIUS * RADIUS, (RADIUS - 2) * (RADIUS - 2));
    let width = canvas.width;
    let (left, top, right, bottom) =
        canvas.clip(cx - RADIUS, cy - RADIUS, cx + RADIUS + 1, cy + RADIUS + 1);
    let pixels = &mut canvas.pixels[..];
    let mut y = top;
    while y < bottom {
        let dy = y as i32 - cy;
        let mut x = left;
        while x < right {
            let dx = x as i32 - cx;
            let d2 = dx * dx + dy * dy;
            let at = (y * width + x) * 3;
            // The triangle (-36,-62), (68,0), (-36,62) around the centre.
            if (-36..68).contains(&dx) && dy.abs() * 104 <= (68 - dx) * 62 {
                blend(pixels, at, [255, 255, 255], 256);
            } else if d2 < outer {
                let alpha = if d2 < inner {
                    115
                } else {
                    115 * (outer - d2) / (outer - inner)
                };
                blend(pixels, at, [0, 0, 0], alpha);
            }
            x += 1;
        }
        y += 1;
    }
}

/// `@username` at the top, the still's label and its size at the bottom, white on a soft
/// shadow, in a 5x7 pixel font (where the SVG stills had text).
fn labels(canvas: &mut Canvas, still: &Still, label: &str) {
    let (w, h) = (still.width, still.height);
    let bottom = canvas.height as i32;
    text(
        canvas,
        &format!("@{}", still.owner.username),
        (60, 100),
        5,
        218,
    );
    text(canvas, label, (60, bottom - 130), 9, 256);
    text(
        canvas,
        &format!("{w} x {h} - sandbox"),
        (60, bottom - 70),
        4,
        205,
    );
}

/// The first letter of the username's last part (`c` for `sandbox.cafe`), centred: the
/// accounts' names all start with `sandbox`.
fn initial(canvas: &mut Canvas, owner: &User) {
    let letter = owner.username.rsplit('.').next().unwrap_or_default();
    let letter = letter.get(..1).unwrap_or_default();
    let scale = canvas.width.min(canvas.height) as i32 / 16;
    let (cx, cy) = (canvas.width as i32 / 2, canvas.height as i32 / 2);
    // A glyph is 5 pixels wide and, above its baseline, 7 high.
    text(
        canvas,
        letter,
        (cx - 5 * scale / 2, cy + 7 * scale / 2),
        scale,
        256,
    );
}

/// Draws `line` from `left` with its baseline at `baseline`, each font pixel `scale` pixels
/// square.
fn text(canvas: &mut Canvas, line: &str, (left, baseline): (i32, i32), scale: i32, opacity: i32) {
    let shadow = scale / 2;
    for (colour, offset, alpha) in [([0, 0, 0], shadow, 90), ([255, 255, 255], 0, opacity)] {
        for (i, c) in line.chars().enumerate() {
            let x0 = left + i as i32 * 6 * scale + offset;
            for (row, bits) in (0..).zip(glyph(c)) {
                let y0 = baseline - (7 - row) * scale + offset;
                for column in 0..5 {
                    if bits & (0x10 >> column) != 0 {
                        let x = x0 + column * scale;
                        fill(canvas, (x, y0, x + scale, y0 + scale), colour, alpha);
                    }
                }
            }
        }
    }
}

fn fill(canvas: &mut Canvas, square: (i32, i32, i32, i32), colour: Rgb, alpha: i32) {
    let (left, top, right, bottom) = canvas.clip(square.0, square.1, square.2, square.3);
    let width = canvas.width;
    for y in top..bottom {
        for x in left..right {
            blend(&mut canvas.pixels, (y * width + x) * 3, colour, alpha);
        }
    }
}

/// The rows of a 5x7 glyph and its two rows of descender, top first, the leftmost column in
/// bit 4: the characters the sandbox writes (lower case, digits, `N`, `@./- `); anything else
/// is blank.
fn glyph(c: char) -> [u8; 9] {
    match c {
        'a' => [0x00, 0x00, 0x0E, 0x01, 0x0F, 0x11, 0x0F, 0x00, 0x00],
        'b' => [0x10, 0x10, 0x16, 0x19, 0x11, 0x11, 0x1E, 0x00, 0x00],
        'c' => [0x00, 0x00, 0x0E, 0x10, 0x10, 0x11, 0x0E, 0x00, 0x00],
        'd' => [0x01, 0x01, 0x0D, 0x13, 0x11, 0x11, 0x0F, 0x00, 0x00],
        'e' => [0x00, 0x00, 0x0E, 0x11, 0x1F, 0x10, 0x0E, 0x00, 0x00],
        'f' => [0x06, 0x09, 0x08, 0x1C, 0x08, 0x08, 0x08, 0x00, 0x00],
        'g' => [0x00, 0x00, 0x0F, 0x11, 0x11, 0x11, 0x0F, 0x01, 0x0E],
        'h' => [0x10, 0x10, 0x16, 0x19, 0x11, 0x11, 0x11, 0x00, 0x00],
        'i' => [0x04, 0x00, 0x0C, 0x04, 0x04, 0x04, 0x0E, 0x00, 0x00],
        'j' => [0x02, 0x00, 0x06, 0x02, 0x02, 0x02, 0x02, 0x12, 0x0C],
        'k' => [0x10, 0x10, 0x12, 0x14, 0x18, 0x14, 0x12, 0x00, 0x00],
        'l' => [0x0C, 0x04, 0x04, 0x04, 0x04, 0x04, 0x0E, 0x00, 0x00],
        'm' => [0x00, 0x00, 0x1A, 0x15, 0x15, 0x11, 0x11, 0x00, 0x00],
        'n' => [0x00, 0x00, 0x16, 0x19, 0x11, 0x11, 0x11, 0x00, 0x00],
        'o' => [0x00, 0x00, 0x0E, 0x11, 0x11, 0x11, 0x0E, 0x00, 0x00],
        'p' => [0x00, 0x00, 0x1E, 0x11, 0x11, 0x11, 0x1E, 0x10, 0x10],
        'q' => [0x00, 0x00, 0x0F, 0x11, 0x11, 0x11, 0x0F, 0x01, 0x01],
        'r' => [0x00, 0x00, 0x16, 0x19, 0x10, 0x10, 0x10, 0x00, 0x00],
        's' => [0x00, 0x00, 0x0E, 0x10, 0x0E, 0x01, 0x1E, 0x00, 0x00],
        't' => [0x08, 0x08, 0x1C, 0x08, 0x08, 0x09, 0x06, 0x00, 0x00],
        'u' => [0x00, 0x00, 0x11, 0x11, 0x11, 0x13, 0x0D, 0x00, 0x00],
        'v' => [0x00, 0x00, 0x11, 0x11, 0x11, 0x0A, 0x04, 0x00, 0x00],
        'w' => [0x00, 0x00, 0x11, 0x11, 0x15, 0x15, 0x0A, 0x00, 0x00],
        'x' => [0x00, 0x00, 0x11, 0x0A, 0x04, 0x0A, 0x11, 0x00, 0x00],
        'y' => [0x00, 0x00, 0x11, 0x11, 0x11, 0x11, 0x0F, 0x01, 0x0E],
        'z' => [0x00, 0x00, 0x1F, 0x02, 0x04, 0x08, 0x1F, 0x00, 0x00],
        '0' => [0x0E, 0x11, 0x13, 0x15, 0x19, 0x11, 0x0E, 0x00, 0x00],
        '1' => [0x04, 0x0C, 0x04, 0x04, 0x04, 0x04, 0x0E, 0x00, 0x00],
        '2' => [0x0E, 0x11, 0x01, 0x02, 0x04, 0x08, 0x1F, 0x00, 0x00],
        '3' => [0x1F, 0x02, 0x04, 0x02, 0x01, 0x11, 0x0E, 0x00, 0x00],
        '4' => [0x02, 0x06, 0x0A, 0x12, 0x1F, 0x02, 0x02, 0x00, 0x00],
        '5' => [0x1F, 0x10, 0x1E, 0x01, 0x01, 0x11, 0x0E, 0x00, 0x00],
        '6' => [0x06, 0x08, 0x10, 0x1E, 0x11, 0x11, 0x0E, 0x00, 0x00],
        '7' => [0x1F, 0x01, 0x02, 0x04, 0x08, 0x08, 0x08, 0x00, 0x00],
        '8' => [0x0E, 0x11, 0x11, 0x0E, 0x11, 0x11, 0x0E, 0x00, 0x00],
        '9' => [0x0E, 0x11, 0x11, 0x0F, 0x01, 0x02, 0x0C, 0x00, 0x00],
        'N' => [0x11, 0x11, 0x19, 0x15, 0x13, 0x11, 0x11, 0x00, 0x00],
        '@' => [0x0E, 0x11, 0x01, 0x0D, 0x15, 0x15, 0x0E, 0x00, 0x00],
        '.' => [0x00, 0x00, 0x00, 0x00, 0x00, 0x0C, 0x0C, 0x00, 0x00],
        '-' => [0x00, 0x00, 0x00, 0x1F, 0x00, 0x00, 0x00, 0x00, 0x00],
        '/' => [0x00, 0x01, 0x02, 0x04, 0x08, 0x10, 0x00, 0x00, 0x00],
        _ => [0; 9],
    }
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use super::super::users;
    use super::*;

    fn still(width: u32, height: u32, video: bool) -> Still {
        Still {
            width,
            height,
            owner: &users::all()[0],
            overlay: Overlay::Post {
                label: "No. 7 - video".to_owned(),
                video,
            },
        }
    }

    #[test]
    fn pictures_are_jpegs_of_the_stills_size() {
        for (width, height) in [(1080, 1350), (1080, 1080), (1080, 566), (1080, 1920)] {
            let bytes = jpeg("17900000000000001", &still(width, height, false)).unwrap();
            let decoded = image::load_from_memory(&bytes).unwrap();
            assert_eq!((decoded.width(), decoded.height()), (width, height));
        }
    }

    #[test]
    fn pictures_are_deterministic_and_differ_by_id() {
        let a = jpeg("17900000000000001", &still(1080, 1080, false)).unwrap();
        assert_eq!(
            a,
            jpeg("17900000000000001", &still(1080, 1080, false)).unwrap()
        );
        assert_ne!(
            a,
            jpeg("17900000000000002", &still(1080, 1080, false)).unwrap()
        );
        assert_ne!(
            a,
            jpeg("17900000000000001", &still(1080, 1080, true)).unwrap()
        );
    }

    #[test]
    fn pictures_weigh_what_photos_do() {
        let started = Instant::now();
        let canvas = draw("17900000000000001", &still(1080, 1350, true));
        eprintln!("drawn in {:?}", started.elapsed());
        drop(canvas);
        let started = Instant::now();
        let size = jpeg("17900000000000001", &still(1080, 1350, true))
            .unwrap()
            .len();
        eprintln!("1080x1350: {size} bytes in {:?}", started.elapsed());
        assert!((100_000..300_000).contains(&size), "{size} bytes");
    }

    #[test]
    fn video_thumbnails_have_a_white_play_button_in_the_middle() {
        let still = still(1080, 1350, true);
        let canvas = draw("1", &still);
        let at = (675 * 1080 + 540) * 3;
        assert!(canvas.pixels[at..at + 3].iter().all(|&c| c > 230));
    }

    /// The same seed drawn for another account: its own hues, so a different picture.
    #[test]
    fn accounts_have_their_own_palettes() {
        let gallery = still(1080, 566, false);
        let cafe = Still {
            owner: &users::all()[1],
            ..still(1080, 566, false)
        };
        assert_ne!(draw("1", &gallery).pixels, draw("1", &cafe).pixels);
    }

    #[test]
    fn avatars_are_small_squares_with_the_initial() {
        let avatar = Still {
            width: 320,
            height: 320,
            owner: &users::all()[2],
            overlay: Overlay::Avatar,
        };
        let decoded = image::load_from_memory(&jpeg("sandbox.shop", &avatar).unwrap()).unwrap();
        assert_eq!((decoded.width(), decoded.height()), (320, 320));
        // Font pixels of 20: the `s`'s middle stroke (glyph row 4, columns 1-3) covers y
        // 170..190 and x 130..190, its baseline being at y 230 and its left edge at x 110.
        let canvas = draw("sandbox.shop", &avatar);
        let at = (180 * 320 + 160) * 3;
        assert!(canvas.pixels[at..at + 3].iter().all(|&c| c > 230));
    }

    #[test]
    fn every_label_character_has_a_glyph() {
        let labels = super::super::posts::all_media()
            .filter_map(|m| match &m.still()?.1.overlay {
                Overlay::Post { label, .. } => Some(label.clone()),
                Overlay::Avatar => None,
            })
            .chain(
                users::all()
                    .iter()
                    .map(|u| format!("@{} 1080 x 1350 - sandbox", u.username)),
            );
        for label in labels {
            for c in label.chars().filter(|c| *c != ' ') {
                assert_ne!(glyph(c), [0; 9], "{c:?} in {label:?}");
            }
        }
    }
}
