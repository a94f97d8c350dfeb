//! The picture pipeline's processing step on many pictures, for `bench/assets.sh`.
//!
//! Usage:
//!   bench-assets generate <dir> <count>     photo-like JPEGs of Instagram's shapes (q90)
//!   bench-assets process <dir> <threads>    every JPEG in <dir> through `assets::process`
//!                                           (widths 320, 640, 1080, WebP q80); prints
//!                                           `pictures=<n> seconds=<s> source_bytes=<b> copy_bytes=<b>`
//!   bench-assets quality <dir> <count>      PSNR of the copies of the first <count> JPEGs: the
//!                                           widest (the source's size) against the decoded
//!                                           source, each narrower one against a Lanczos3
//!                                           downscale of it; prints `width=<w> min_db=<x> mean_db=<y>`

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use image::{ImageEncoder, Rgb, RgbImage};
use instagram_gateway::assets::{Encoding, SourceLimits, process};

const SHAPES: [(u32, u32); 3] = [(1080, 1350), (1080, 1080), (1080, 566)];

fn main() -> Result<(), String> {
    let args: Vec<String> = std::env::args().collect();
    match args.as_slice() {
        [_, cmd, dir, count] if cmd == "generate" => generate(
            Path::new(dir),
            count.parse().map_err(|_| "count: a number")?,
        ),
        [_, cmd, dir, threads] if cmd == "process" => process_all(
            Path::new(dir),
            threads.parse().map_err(|_| "threads: a number")?,
        ),
        [_, cmd, dir, count] if cmd == "quality" => quality(
            Path::new(dir),
            count.parse().map_err(|_| "count: a number")?,
        ),
        _ => Err(
            "usage: bench-assets generate <dir> <count> | process <dir> <threads> | quality <dir> <count>"
                .into(),
        ),
    }
}

/// Smooth gradients with soft texture: compresses like a photo, not like flat colour.
fn generate(dir: &Path, count: usize) -> Result<(), String> {
    std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
    for i in 0..count {
        let (width, height) = SHAPES[i % SHAPES.len()];
        let seed = i as f32 * 0.7;
        let picture = RgbImage::from_fn(width, height, |x, y| {
            let (fx, fy) = (x as f32 / width as f32, y as f32 / height as f32);
            let wave = ((fx * 9.0 + seed).sin() * (fy * 7.0 - seed).cos() + 1.0) * 60.0;
            let grain = ((x.wrapping_mul(7919) ^ y.wrapping_mul(104_729)) % 17) as f32;
            Rgb([
                (fx * 150.0 + wave + grain) as u8,
                (fy * 120.0 + wave * 0.6 + grain) as u8,
                (90.0 + (1.0 - fx) * 80.0 + grain) as u8,
            ])
        });
        let mut out = Vec::new();
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 90)
            .write_image(
                picture.as_raw(),
                width,
                height,
                image::ExtendedColorType::Rgb8,
            )
            .map_err(|e| e.to_string())?;
        std::fs::write(dir.join(format!("{i:04}.jpg")), out).map_err(|e| e.to_string())?;
    }
    Ok(())
}

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

/// The JPEGs of `dir`, in name order.
fn sources(dir: &Path) -> Result<Vec<Vec<u8>>, String> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| e.to_string())?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.extension().is_some_and(|ext| ext == "jpg"))
        .collect();
    files.sort();
    files
        .iter()
        .map(std::fs::read)
        .collect::<Result<_, _>>()
        .map_err(|e| e.to_string())
}

fn quality(dir: &Path, count: usize) -> Result<(), String> {
    use std::collections::BTreeMap;

    let mut by_width: BTreeMap<u32, Vec<f64>> = BTreeMap::new();
    for source in sources(dir)?.iter().take(count) {
        let original = image::load_from_memory(source)
            .map_err(|e| e.to_string())?
            .to_rgb8();
        let processed = process(source, LIMITS, &encoding()).map_err(|e| e.to_string())?;
        for copy in &processed.copies {
            let decoded =
                image::load_from_memory_with_format(&copy.bytes, image::ImageFormat::WebP)
                    .map_err(|e| e.to_string())?
                    .to_rgb8();
            let reference = if (copy.width, copy.height) == original.dimensions() {
                original.clone()
            } else {
                lanczos(&original, copy.width, copy.height)?
            };
            by_width
                .entry(copy.width)
                .or_default()
                .push(psnr(reference.as_raw(), decoded.as_raw()));
        }
    }
    for (width, values) in by_width {
        let min = values.iter().copied().fold(f64::INFINITY, f64::min);
        let mean = values.iter().sum::<f64>() / values.len() as f64;
        println!("width={width} min_db={min:.1} mean_db={mean:.1}");
    }
    Ok(())
}

fn lanczos(source: &RgbImage, width: u32, height: u32) -> Result<RgbImage, String> {
    use fast_image_resize::images::Image;
    use fast_image_resize::{FilterType, PixelType, ResizeAlg, ResizeOptions, Resizer};

    let src = Image::from_vec_u8(
        source.width(),
        source.height(),
        source.as_raw().clone(),
        PixelType::U8x3,
    )
    .map_err(|e| e.to_string())?;
    let mut dst = Image::new(width, height, PixelType::U8x3);
    Resizer::new()
        .resize(
            &src,
            &mut dst,
            &ResizeOptions::new().resize_alg(ResizeAlg::Convolution(FilterType::Lanczos3)),
        )
        .map_err(|e| e.to_string())?;
    RgbImage::from_raw(width, height, dst.into_vec()).ok_or_else(|| "resize: size".to_owned())
}

/// Peak signal-to-noise ratio of two RGB buffers of the same size, in dB.
fn psnr(a: &[u8], b: &[u8]) -> f64 {
    let squared: f64 = a
        .iter()
        .zip(b)
        .map(|(x, y)| (f64::from(*x) - f64::from(*y)).powi(2))
        .sum();
    let mse = squared / a.len().max(1) as f64;
    if mse == 0.0 {
        return f64::INFINITY;
    }
    10.0 * (255.0f64 * 255.0 / mse).log10()
}

fn process_all(dir: &Path, threads: usize) -> Result<(), String> {
    let sources = sources(dir)?;
    let limits = LIMITS;
    let encoding = encoding();
    let next = AtomicUsize::new(0);
    let copy_bytes = AtomicUsize::new(0);
    let started = Instant::now();
    std::thread::scope(|scope| {
        for _ in 0..threads.max(1) {
            scope.spawn(|| {
                while let Some(source) = sources.get(next.fetch_add(1, Ordering::Relaxed)) {
                    match process(source, limits, &encoding) {
                        Ok(processed) => {
                            let bytes = processed.copies.iter().map(|c| c.bytes.len()).sum();
                            copy_bytes.fetch_add(bytes, Ordering::Relaxed);
                        }
                        Err(e) => eprintln!("failed: {e}"),
                    }
                }
            });
        }
    });
    println!(
        "pictures={} seconds={:.3} source_bytes={} copy_bytes={}",
        sources.len(),
        started.elapsed().as_secs_f64(),
        sources.iter().map(Vec::len).sum::<usize>(),
        copy_bytes.into_inner()
    );
    Ok(())
}
