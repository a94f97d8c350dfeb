//! One picture in, its re-hosted copies out: decode (JPEG, PNG, WebP; EXIF orientation
//! applied), resize to the configured widths (never upscaled, aspect ratio kept), encode lossy
//! WebP, and describe the picture for frontends (ThumbHash placeholder, average colour).
//! Pure and synchronous: the pipeline runs it on a blocking thread.

use std::io::Cursor;

use super::AssetKey;
use base64::Engine as _;
use fast_image_resize::images::Image;
use fast_image_resize::{FilterType, PixelType, ResizeAlg, ResizeOptions, Resizer};
use image::{DynamicImage, ImageDecoder, ImageFormat, ImageReader};

/// What a source may be: checked before anything is decoded.
#[derive(Debug, Clone, Copy)]
pub struct SourceLimits {
    pub max_bytes: usize,
    /// Width × height, read from the header.
    pub max_pixels: u64,
}

/// What the copies are.
#[derive(Debug, Clone)]
pub struct Encoding {
    /// Target widths; a source narrower than a width yields one copy at its own width.
    pub widths: Vec<u32>,
    /// libwebp's lossy quality, 0–100.
    pub webp_quality: f32,
}

/// A processed picture: its copies and what a frontend shows before they load.
#[derive(Debug, Clone)]
pub struct Processed {
    /// The upright source's size (after EXIF orientation).
    pub width: u32,
    pub height: u32,
    /// ThumbHash of the picture, base64.
    pub placeholder: String,
    /// Average colour, `#rrggbb`.
    pub color: String,
    /// Narrowest first.
    pub copies: Vec<Copy>,
}

/// One WebP copy, named by its content.
#[derive(Debug, Clone)]
pub struct Copy {
    pub width: u32,
    pub height: u32,
    /// Hex of the first 128 bits of the SHA-256 of `bytes`: the same bytes, the same key.
    pub key: AssetKey,
    pub bytes: Vec<u8>,
}

#[derive(Debug, thiserror::Error)]
pub enum ProcessError {
    #[error("the source is {bytes} bytes, more than the {max} allowed")]
    TooManyBytes { bytes: usize, max: usize },
    #[error("the source is {width}x{height} pixels, more than the {max} allowed")]
    TooManyPixels { width: u32, height: u32, max: u64 },
    #[error("not a JPEG, PNG or WebP picture")]
    NotAPicture,
    #[error("the picture cannot be decoded: {0}")]
    Corrupt(String),
    #[error("the picture cannot be resized: {0}")]
    Resize(String),
}

/// The largest side of the picture a ThumbHash is computed from (the crate's own limit).
const PLACEHOLDER_SIDE: u32 = 100;

pub fn process(
    source: &[u8],
    limits: SourceLimits,
    encoding: &Encoding,
) -> Result<Processed, ProcessError> {
    let picture = decode(source, limits)?;
    let (width, height) = (picture.width(), picture.height());
    let pixels = Pixels::of(picture);
    let mut resizer = Resizer::new();
    let copies = copy_sizes(width, height, &encoding.widths)
        .into_iter()
        .map(|(w, h)| {
            let resized = pixels.resize(&mut resizer, w, h)?;
            let bytes = pixels.encode(&resized, w, h, encoding.webp_quality);
            Ok(Copy {
                width: w,
                height: h,
                key: AssetKey::of(&bytes),
                bytes,
            })
        })
        .collect::<Result<Vec<_>, ProcessError>>()?;
    let (small_width, small_height) = fit_within(width, height, PLACEHOLDER_SIDE);
    let small = pixels.resize(&mut resizer, small_width, small_height)?;
    let rgba = pixels.to_rgba(&small);
    let hash = thumbhash::rgba_to_thumb_hash(small_width as usize, small_height as usize, &rgba);
    Ok(Processed {
        width,
        height,
        placeholder: base64::engine::general_purpose::STANDARD.encode(hash),
        color: average_color(&rgba),
        copies,
    })
}

/// Decodes the upright picture, refusing what is too big before decoding it.
fn decode(source: &[u8], limits: SourceLimits) -> Result<DynamicImage, ProcessError> {
    if source.len() > limits.max_bytes {
        return Err(ProcessError::TooManyBytes {
            bytes: source.len(),
            max: limits.max_bytes,
        });
    }
    let reader = ImageReader::new(Cursor::new(source))
        .with_guessed_format()
        .map_err(|e| ProcessError::Corrupt(e.to_string()))?;
    match reader.format() {
        // The JPEG decoder fills a cut-off picture with grey rather than failing: a download
        // that stopped early must not become a re-hosted copy.
        Some(ImageFormat::Jpeg) if !ends_with_eoi(source) => {
            return Err(ProcessError::Corrupt(
                "truncated JPEG (no end-of-image marker)".to_owned(),
            ));
        }
        Some(ImageFormat::Jpeg | ImageFormat::Png | ImageFormat::WebP) => {}
        _ => return Err(ProcessError::NotAPicture),
    }
    let mut decoder = reader
        .into_decoder()
        .map_err(|e| ProcessError::Corrupt(e.to_string()))?;
    let (width, height) = decoder.dimensions();
    if u64::from(width) * u64::from(height) > limits.max_pixels {
        return Err(ProcessError::TooManyPixels {
            width,
            height,
            max: limits.max_pixels,
        });
    }
    let orientation = decoder
        .orientation()
        .map_err(|e| ProcessError::Corrupt(e.to_string()))?;
    let mut picture =
        DynamicImage::from_decoder(decoder).map_err(|e| ProcessError::Corrupt(e.to_string()))?;
    picture.apply_orientation(orientation);
    Ok(picture)
}

/// Whether a JPEG ends with its EOI marker (`FF D9`), allowing zero padding after it.
fn ends_with_eoi(jpeg: &[u8]) -> bool {
    let end = jpeg.iter().rposition(|b| *b != 0).map_or(0, |i| i + 1);
    jpeg[..end].ends_with(&[0xFF, 0xD9])
}

/// The copies' sizes: each width at most the source's, no duplicates, the height from the
/// source's aspect ratio (rounded, at least 1 px).
fn copy_sizes(width: u32, height: u32, widths: &[u32]) -> Vec<(u32, u32)> {
    let mut targets: Vec<u32> = widths
        .iter()
        .map(|w| (*w).min(width))
        .filter(|w| *w > 0)
        .collect();
    targets.sort_unstable();
    targets.dedup();
    targets
        .into_iter()
        .map(|w| (w, scaled(height, w, width)))
        .collect()
}

/// Fits `width`×`height` within `side`×`side`, aspect ratio kept, never upscaled.
fn fit_within(width: u32, height: u32, side: u32) -> (u32, u32) {
    if width <= side && height <= side {
        (width, height)
    } else if width >= height {
        (side, scaled(height, side, width))
    } else {
        (scaled(width, side, height), side)
    }
}

/// `value × numerator / denominator`, rounded, at least 1.
fn scaled(value: u32, numerator: u32, denominator: u32) -> u32 {
    let exact = u64::from(value) * u64::from(numerator);
    let rounded = (exact + u64::from(denominator) / 2) / u64::from(denominator.max(1));
    u32::try_from(rounded).unwrap_or(u32::MAX).max(1)
}

/// The decoded source as resizable pixels: RGB when it is opaque (smaller WebP files), RGBA
/// when it has an alpha channel.
struct Pixels {
    image: Image<'static>,
    alpha: bool,
}

impl Pixels {
    fn of(picture: DynamicImage) -> Self {
        let (width, height) = (picture.width(), picture.height());
        let alpha = picture.color().has_alpha();
        let (buffer, pixel_type) = if alpha {
            (picture.into_rgba8().into_raw(), PixelType::U8x4)
        } else {
            (picture.into_rgb8().into_raw(), PixelType::U8x3)
        };
        // A buffer of exactly width × height pixels of this type (u8 needs no alignment).
        let image = Image::from_vec_u8(width, height, buffer, pixel_type)
            .unwrap_or_else(|_| Image::new(width, height, pixel_type));
        Self { image, alpha }
    }

    fn resize(
        &self,
        resizer: &mut Resizer,
        width: u32,
        height: u32,
    ) -> Result<Image<'static>, ProcessError> {
        let mut resized = Image::new(width, height, self.image.pixel_type());
        resizer
            .resize(
                &self.image,
                &mut resized,
                &ResizeOptions::new().resize_alg(ResizeAlg::Convolution(FilterType::Lanczos3)),
            )
            .map_err(|e| ProcessError::Resize(e.to_string()))?;
        Ok(resized)
    }

    fn encode(&self, image: &Image<'_>, width: u32, height: u32, quality: f32) -> Vec<u8> {
        let encoder = if self.alpha {
            webp::Encoder::from_rgba(image.buffer(), width, height)
        } else {
            webp::Encoder::from_rgb(image.buffer(), width, height)
        };
        encoder.encode(quality).to_vec()
    }

    fn to_rgba(&self, image: &Image<'_>) -> Vec<u8> {
        if self.alpha {
            return image.buffer().to_vec();
        }
        image
            .buffer()
            .chunks_exact(3)
            .flat_map(|rgb| [rgb[0], rgb[1], rgb[2], u8::MAX])
            .collect()
    }
}

/// The alpha-weighted mean colour; black for a fully transparent picture.
fn average_color(rgba: &[u8]) -> String {
    let mut sums = [0u64; 3];
    let mut weight = 0u64;
    for pixel in rgba.chunks_exact(4) {
        let alpha = u64::from(pixel[3]);
        for (sum, channel) in sums.iter_mut().zip(pixel) {
            *sum += u64::from(*channel) * alpha;
        }
        weight += alpha;
    }
    let [r, g, b] = sums.map(|sum| (sum + weight / 2).checked_div(weight).unwrap_or(0));
    format!("#{r:02x}{g:02x}{b:02x}")
}

#[cfg(test)]
mod tests {
    use image::{ImageEncoder, Rgb, RgbImage, Rgba, RgbaImage};

    use super::*;

    const LIMITS: SourceLimits = SourceLimits {
        max_bytes: 20 * 1024 * 1024,
        max_pixels: 40_000_000,
    };

    fn encoding() -> Encoding {
        Encoding {
            widths: vec![320, 640, 1080],
            webp_quality: 80.0,
        }
    }

    /// A photo-like gradient with some texture.
    fn photo(width: u32, height: u32) -> RgbImage {
        RgbImage::from_fn(width, height, |x, y| {
            let r = (x * 255 / width.max(1)) as u8;
            let g = (y * 255 / height.max(1)) as u8;
            let b = ((x ^ y) & 0x3f) as u8 + 96;
            Rgb([r, g, b])
        })
    }

    fn jpeg(picture: &RgbImage) -> Vec<u8> {
        let mut out = Vec::new();
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 90)
            .encode_image(picture)
            .unwrap();
        out
    }

    fn png(picture: &RgbaImage) -> Vec<u8> {
        let mut out = Vec::new();
        image::codecs::png::PngEncoder::new(&mut out)
            .write_image(
                picture.as_raw(),
                picture.width(),
                picture.height(),
                image::ExtendedColorType::Rgba8,
            )
            .unwrap();
        out
    }

    fn sizes(processed: &Processed) -> Vec<(u32, u32)> {
        processed
            .copies
            .iter()
            .map(|c| (c.width, c.height))
            .collect()
    }

    /// Each copy is a WebP of the size it claims.
    fn assert_webp_copies(processed: &Processed) {
        for copy in &processed.copies {
            assert_eq!(&copy.bytes[..4], b"RIFF");
            assert_eq!(&copy.bytes[8..12], b"WEBP");
            let decoded = image::load_from_memory_with_format(&copy.bytes, ImageFormat::WebP)
                .expect("a decodable WebP");
            assert_eq!(
                (decoded.width(), decoded.height()),
                (copy.width, copy.height)
            );
        }
    }

    #[test]
    fn instagram_shapes_get_every_width_with_their_aspect_ratio() {
        for ((width, height), expected) in [
            ((1080, 1350), vec![(320, 400), (640, 800), (1080, 1350)]),
            ((1080, 1080), vec![(320, 320), (640, 640), (1080, 1080)]),
            ((1080, 566), vec![(320, 168), (640, 335), (1080, 566)]),
        ] {
            let processed = process(&jpeg(&photo(width, height)), LIMITS, &encoding()).unwrap();
            assert_eq!((processed.width, processed.height), (width, height));
            assert_eq!(sizes(&processed), expected, "{width}x{height}");
            assert_webp_copies(&processed);
            // Photo-like content compresses: less than one byte per pixel.
            for copy in &processed.copies {
                assert!(
                    copy.bytes.len() < (copy.width * copy.height) as usize,
                    "{copy:?}"
                );
            }
        }
    }

    #[test]
    fn a_narrow_source_is_never_upscaled_nor_duplicated() {
        let processed = process(&jpeg(&photo(500, 400)), LIMITS, &encoding()).unwrap();
        assert_eq!(sizes(&processed), vec![(320, 256), (500, 400)]);
        let tiny = process(&jpeg(&photo(200, 300)), LIMITS, &encoding()).unwrap();
        assert_eq!(sizes(&tiny), vec![(200, 300)]);
        assert_webp_copies(&tiny);
    }

    #[test]
    fn transparency_survives_and_is_left_out_of_the_colour() {
        // Left half opaque red, right half fully transparent (green underneath).
        let picture = RgbaImage::from_fn(400, 200, |x, _| {
            if x < 200 {
                Rgba([255, 0, 0, 255])
            } else {
                Rgba([0, 255, 0, 0])
            }
        });
        let processed = process(&png(&picture), LIMITS, &encoding()).unwrap();
        assert_eq!(sizes(&processed), vec![(320, 160), (400, 200)]);
        assert_eq!(processed.color, "#ff0000");
        let copy = &processed.copies[1];
        let decoded = image::load_from_memory(&copy.bytes).unwrap();
        assert!(
            decoded.color().has_alpha(),
            "the copy keeps its alpha channel"
        );
        let decoded = decoded.into_rgba8();
        assert!(
            decoded.get_pixel(390, 100)[3] < 16,
            "transparent stays transparent"
        );
        assert!(decoded.get_pixel(10, 100)[3] > 240, "opaque stays opaque");
    }

    #[test]
    fn an_exif_rotated_jpeg_is_turned_upright() {
        // Stored 200x100 (landscape), EXIF orientation 6: shown rotated 90° clockwise.
        let processed = process(
            &with_exif_orientation(&jpeg(&photo(200, 100)), 6),
            LIMITS,
            &encoding(),
        )
        .unwrap();
        assert_eq!((processed.width, processed.height), (100, 200));
        assert_eq!(sizes(&processed), vec![(100, 200)]);
    }

    #[test]
    fn placeholder_and_colour_describe_the_picture() {
        let solid = RgbImage::from_pixel(600, 300, Rgb([200, 40, 10]));
        let processed = process(&jpeg(&solid), LIMITS, &encoding()).unwrap();
        // JPEG is lossy: the mean of a solid colour stays within a few levels.
        let channel = |i: usize| u8::from_str_radix(&processed.color[1 + 2 * i..3 + 2 * i], 16);
        let (r, g, b) = (
            channel(0).unwrap(),
            channel(1).unwrap(),
            channel(2).unwrap(),
        );
        assert!(
            r.abs_diff(200) <= 3 && g.abs_diff(40) <= 3 && b.abs_diff(10) <= 3,
            "{processed:?}"
        );
        let hash = base64::engine::general_purpose::STANDARD
            .decode(&processed.placeholder)
            .unwrap();
        assert!(
            hash.len() <= 25,
            "a ThumbHash is small: {} bytes",
            hash.len()
        );
        // ThumbHash keeps the aspect ratio roughly (through its number of components).
        let ratio = thumbhash::thumb_hash_to_approximate_aspect_ratio(&hash).unwrap();
        assert!((1.5..=2.5).contains(&ratio), "aspect ratio {ratio}");
        let portrait = process(&jpeg(&photo(300, 600)), LIMITS, &encoding()).unwrap();
        let hash = base64::engine::general_purpose::STANDARD
            .decode(&portrait.placeholder)
            .unwrap();
        let ratio = thumbhash::thumb_hash_to_approximate_aspect_ratio(&hash).unwrap();
        assert!((0.4..=0.67).contains(&ratio), "aspect ratio {ratio}");
    }

    #[test]
    fn keys_name_the_content() {
        let source = jpeg(&photo(700, 700));
        let first = process(&source, LIMITS, &encoding()).unwrap();
        let again = process(&source, LIMITS, &encoding()).unwrap();
        let keys = |p: &Processed| p.copies.iter().map(|c| c.key).collect::<Vec<_>>();
        assert_eq!(keys(&first), keys(&again), "the same bytes, the same keys");
        assert!(first.copies.iter().all(|c| c.key == AssetKey::of(&c.bytes)));
        let other = Encoding {
            webp_quality: 50.0,
            ..encoding()
        };
        let lower = process(&source, LIMITS, &other).unwrap();
        assert_ne!(keys(&first), keys(&lower), "other bytes, other keys");
    }

    #[test]
    fn oversized_and_broken_sources_are_refused_before_decoding() {
        let source = jpeg(&photo(400, 300));
        let err = process(
            &source,
            SourceLimits {
                max_bytes: source.len() - 1,
                ..LIMITS
            },
            &encoding(),
        )
        .unwrap_err();
        assert!(matches!(err, ProcessError::TooManyBytes { .. }), "{err}");
        let err = process(
            &source,
            SourceLimits {
                max_pixels: 400 * 300 - 1,
                ..LIMITS
            },
            &encoding(),
        )
        .unwrap_err();
        assert!(
            matches!(
                err,
                ProcessError::TooManyPixels {
                    width: 400,
                    height: 300,
                    ..
                }
            ),
            "{err}"
        );
        assert!(matches!(
            process(b"<html>not a picture</html>", LIMITS, &encoding()),
            Err(ProcessError::NotAPicture)
        ));
        let gif = b"GIF89a\x01\x00\x01\x00\x00\x00\x00;";
        assert!(matches!(
            process(gif, LIMITS, &encoding()),
            Err(ProcessError::NotAPicture)
        ));
        let truncated = &source[..source.len() / 2];
        assert!(matches!(
            process(truncated, LIMITS, &encoding()),
            Err(ProcessError::Corrupt(_))
        ));
        let mut padded = source.clone();
        padded.extend_from_slice(&[0, 0, 0]);
        process(&padded, LIMITS, &encoding()).expect("zero padding after EOI is fine");
        let mut garbled = source.clone();
        let middle = garbled.len() / 2;
        garbled[20..middle].fill(0xFF);
        assert!(
            process(&garbled, LIMITS, &encoding()).is_err(),
            "corrupt data is refused"
        );
    }

    #[test]
    fn sizes_round_and_fit() {
        assert_eq!(copy_sizes(1080, 566, &[320]), vec![(320, 168)]);
        assert_eq!(copy_sizes(10, 1, &[320, 3]), vec![(3, 1), (10, 1)]);
        assert_eq!(copy_sizes(1000, 1, &[320]), vec![(320, 1)], "at least 1 px");
        assert_eq!(fit_within(1080, 1350, 100), (80, 100));
        assert_eq!(fit_within(1080, 566, 100), (100, 52));
        assert_eq!(fit_within(60, 40, 100), (60, 40));
    }

    /// Inserts an EXIF APP1 segment holding only an orientation tag right after the SOI marker.
    fn with_exif_orientation(jpeg: &[u8], orientation: u16) -> Vec<u8> {
        let mut tiff = Vec::new();
        tiff.extend_from_slice(b"MM\x00\x2a\x00\x00\x00\x08"); // big-endian, IFD0 at offset 8
        tiff.extend_from_slice(&1u16.to_be_bytes()); // one entry
        tiff.extend_from_slice(&0x0112u16.to_be_bytes()); // Orientation
        tiff.extend_from_slice(&3u16.to_be_bytes()); // SHORT
        tiff.extend_from_slice(&1u32.to_be_bytes()); // count
        tiff.extend_from_slice(&orientation.to_be_bytes());
        tiff.extend_from_slice(&[0, 0]); // value padding
        tiff.extend_from_slice(&0u32.to_be_bytes()); // no next IFD
        let mut payload = b"Exif\x00\x00".to_vec();
        payload.extend_from_slice(&tiff);
        let length = u16::try_from(payload.len() + 2).unwrap();
        let mut out = jpeg[..2].to_vec(); // SOI
        out.extend_from_slice(&[0xFF, 0xE1]);
        out.extend_from_slice(&length.to_be_bytes());
        out.extend_from_slice(&payload);
        out.extend_from_slice(&jpeg[2..]);
        out
    }
}
