//! The picture pipeline's processing step on many pictures, for `bench/assets.sh`.
//!
//! Usage:
//!   bench-assets generate <dir> <count>     photo-like JPEGs of Instagram's shapes (q90)
//!   bench-assets process <dir> <threads>    every JPEG in <dir> through `assets::process`
//!                                           (widths 320, 640, 1080, WebP q80); prints
//!                                           `pictures=<n> seconds=<s> source_bytes=<b> copy_bytes=<b>`

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
        _ => Err("usage: bench-assets generate <dir> <count> | process <dir> <threads>".into()),
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

fn process_all(dir: &Path, threads: usize) -> Result<(), String> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| e.to_string())?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.extension().is_some_and(|ext| ext == "jpg"))
        .collect();
    files.sort();
    let sources: Vec<Vec<u8>> = files
        .iter()
        .map(std::fs::read)
        .collect::<Result<_, _>>()
        .map_err(|e| e.to_string())?;
    let limits = SourceLimits {
        max_bytes: 20 * 1024 * 1024,
        max_pixels: 40_000_000,
    };
    let encoding = Encoding {
        widths: vec![320, 640, 1080],
        webp_quality: 80.0,
    };
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
