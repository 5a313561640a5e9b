//! Photos and short videos of a report. The type is read from the bytes, never trusted from the
//! client; every public copy has its metadata taken out (EXIF with its GPS position, XMP, IPTC,
//! comments, the camera's text chunks) and may have faces, plates or names pixelated by an
//! operator, while the original is kept for the roles allowed to see it.

use serde::{Deserialize, Serialize};

use crate::error::{CoreError, CoreResult};

pub const MAX_PHOTO_BYTES: usize = 8 * 1024 * 1024;
pub const MAX_VIDEO_BYTES: usize = 30 * 1024 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MediaType {
    Jpeg,
    Png,
    Webp,
    Mp4,
}

impl MediaType {
    pub fn content_type(&self) -> &'static str {
        match self {
            MediaType::Jpeg => "image/jpeg",
            MediaType::Png => "image/png",
            MediaType::Webp => "image/webp",
            MediaType::Mp4 => "video/mp4",
        }
    }

    pub fn is_video(&self) -> bool {
        matches!(self, MediaType::Mp4)
    }

    pub fn max_bytes(&self) -> usize {
        if self.is_video() {
            MAX_VIDEO_BYTES
        } else {
            MAX_PHOTO_BYTES
        }
    }

    /// What the bytes are, from their signature.
    pub fn sniff(bytes: &[u8]) -> Option<MediaType> {
        if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
            Some(MediaType::Jpeg)
        } else if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
            Some(MediaType::Png)
        } else if bytes.len() > 12 && bytes.starts_with(b"RIFF") && bytes.get(8..12) == Some(b"WEBP") {
            Some(MediaType::Webp)
        } else if bytes.get(4..8) == Some(b"ftyp") {
            Some(MediaType::Mp4)
        } else {
            None
        }
    }
}

/// Why an upload is refused: too large (413) or not a type we take (415).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MediaRefusal {
    TooLarge { max: usize },
    Unsupported,
}

/// Checks an upload and answers its type and a copy without metadata.
pub fn accept(bytes: &[u8]) -> Result<(MediaType, Vec<u8>), MediaRefusal> {
    let kind = MediaType::sniff(bytes).ok_or(MediaRefusal::Unsupported)?;
    if bytes.len() > kind.max_bytes() {
        return Err(MediaRefusal::TooLarge { max: kind.max_bytes() });
    }
    let clean = match kind {
        MediaType::Jpeg => strip_jpeg(bytes),
        MediaType::Png => strip_png(bytes),
        MediaType::Webp => strip_webp(bytes),
        MediaType::Mp4 => strip_mp4(bytes),
    }
    .ok_or(MediaRefusal::Unsupported)?;
    Ok((kind, clean))
}

/// A JPEG without its APP1 (EXIF, XMP), APP12/APP13 (IPTC, Photoshop) and comment segments.
/// None when the segments do not add up (not a JPEG we can vouch for).
pub fn strip_jpeg(bytes: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(bytes.len());
    out.extend_from_slice(bytes.get(..2)?);
    let mut i = 2;
    loop {
        let marker = *bytes.get(i + 1)?;
        if *bytes.get(i)? != 0xFF {
            return None;
        }
        // Start of scan: the rest is image data (and the end marker).
        if marker == 0xDA {
            out.extend_from_slice(bytes.get(i..)?);
            return Some(out);
        }
        if marker == 0xD9 {
            out.extend_from_slice(bytes.get(i..i + 2)?);
            return Some(out);
        }
        let len = usize::from(u16::from_be_bytes([*bytes.get(i + 2)?, *bytes.get(i + 3)?]));
        let segment = bytes.get(i..i + 2 + len)?;
        let drop = matches!(marker, 0xE1 | 0xEC | 0xED | 0xFE);
        if !drop {
            out.extend_from_slice(segment);
        }
        i += 2 + len;
    }
}

/// A PNG without its text, time and EXIF chunks.
pub fn strip_png(bytes: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(bytes.len());
    out.extend_from_slice(bytes.get(..8)?);
    let mut i = 8;
    while i < bytes.len() {
        let len = u32::from_be_bytes(bytes.get(i..i + 4)?.try_into().ok()?) as usize;
        let kind = bytes.get(i + 4..i + 8)?;
        let chunk = bytes.get(i..i + 12 + len)?;
        if !matches!(kind, b"tEXt" | b"iTXt" | b"zTXt" | b"eXIf" | b"tIME") {
            out.extend_from_slice(chunk);
        }
        i += 12 + len;
        if kind == b"IEND" {
            break;
        }
    }
    Some(out)
}

/// A WebP without its EXIF and XMP chunks (and the extended header's flags saying they are there).
pub fn strip_webp(bytes: &[u8]) -> Option<Vec<u8>> {
    let mut body = Vec::with_capacity(bytes.len());
    let mut i = 12;
    while i + 8 <= bytes.len() {
        let kind = bytes.get(i..i + 4)?;
        let len = u32::from_le_bytes(bytes.get(i + 4..i + 8)?.try_into().ok()?) as usize;
        let padded = len + (len & 1);
        let chunk = bytes.get(i..(i + 8 + padded).min(bytes.len()))?;
        match kind {
            b"EXIF" | b"XMP " => {}
            b"VP8X" => {
                let mut c = chunk.to_vec();
                if let Some(flags) = c.get_mut(8) {
                    *flags &= !(0x08 | 0x04); // EXIF and XMP present
                }
                body.extend_from_slice(&c);
            }
            _ => body.extend_from_slice(chunk),
        }
        i += 8 + padded;
    }
    let mut out = Vec::with_capacity(body.len() + 12);
    out.extend_from_slice(b"RIFF");
    out.extend_from_slice(&((body.len() + 4) as u32).to_le_bytes());
    out.extend_from_slice(b"WEBP");
    out.extend_from_slice(&body);
    Some(out)
}

/// An MP4 whose user-data and metadata boxes (where phones put the GPS position, "©xyz") are
/// blanked into `free` boxes of the same size, so every offset in the file stays right.
pub fn strip_mp4(bytes: &[u8]) -> Option<Vec<u8>> {
    let mut out = bytes.to_vec();
    blank_boxes(&mut out, 0, bytes.len(), 0)?;
    Some(out)
}

fn blank_boxes(data: &mut [u8], start: usize, end: usize, depth: u8) -> Option<()> {
    if depth > 8 {
        return Some(());
    }
    let mut i = start;
    while i + 8 <= end {
        let size32 = u32::from_be_bytes(data.get(i..i + 4)?.try_into().ok()?) as usize;
        let (size, header) = match size32 {
            0 => (end - i, 8),
            1 => (u64::from_be_bytes(data.get(i + 8..i + 16)?.try_into().ok()?) as usize, 16),
            n => (n, 8),
        };
        if size < header || i + size > end {
            return None;
        }
        let kind: [u8; 4] = data.get(i + 4..i + 8)?.try_into().ok()?;
        match &kind {
            b"udta" | b"meta" | b"uuid" => {
                data.get_mut(i + 4..i + 8)?.copy_from_slice(b"free");
                data.get_mut(i + header..i + size)?.fill(0);
            }
            b"moov" | b"trak" | b"mdia" | b"minf" => blank_boxes(data, i + header, i + size, depth + 1)?,
            _ => {}
        }
        i += size;
    }
    Some(())
}

/// A rectangle to pixelate, in pixels of the image.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize, Serialize)]
pub struct Rect {
    pub x: u32,
    pub y: u32,
    pub w: u32,
    pub h: u32,
}

/// The photo with each rectangle pixelated beyond recognition (blocks of 1/8 of the rectangle's
/// shorter side, at least 12 px), re-encoded in its own format without metadata.
pub fn redact(bytes: &[u8], rects: &[Rect]) -> CoreResult<Vec<u8>> {
    let kind = MediaType::sniff(bytes).ok_or_else(|| CoreError::validation("media", "not a photo"))?;
    let format = match kind {
        MediaType::Jpeg => image::ImageFormat::Jpeg,
        MediaType::Png => image::ImageFormat::Png,
        MediaType::Webp => image::ImageFormat::WebP,
        MediaType::Mp4 => return Err(CoreError::validation("media", "videos cannot be redacted here")),
    };
    if rects.is_empty() {
        return Err(CoreError::validation("rects", "mark at least one area"));
    }
    let img = image::load_from_memory_with_format(bytes, format)
        .map_err(|e| CoreError::validation("media", format!("the photo cannot be read: {e}")))?;
    let mut rgb = img.to_rgba8();
    let (width, height) = rgb.dimensions();
    for r in rects {
        if r.w == 0 || r.h == 0 || r.x >= width || r.y >= height {
            return Err(CoreError::validation(
                "rects",
                format!("the area {}×{} at {},{} is outside the photo", r.w, r.h, r.x, r.y),
            ));
        }
        let (x1, y1) = ((r.x + r.w).min(width), (r.y + r.h).min(height));
        let block = (r.w.min(r.h) / 8).max(12);
        let mut by = r.y;
        while by < y1 {
            let mut bx = r.x;
            while bx < x1 {
                let (ex, ey) = ((bx + block).min(x1), (by + block).min(y1));
                let mut sum = [0u64; 4];
                let mut n = 0u64;
                for y in by..ey {
                    for x in bx..ex {
                        let p = rgb.get_pixel(x, y).0;
                        for (s, v) in sum.iter_mut().zip(p) {
                            *s += u64::from(v);
                        }
                        n += 1;
                    }
                }
                let avg = sum.map(|s| (s / n.max(1)) as u8);
                for y in by..ey {
                    for x in bx..ex {
                        rgb.put_pixel(x, y, image::Rgba(avg));
                    }
                }
                bx = ex;
            }
            by = (by + block).min(y1);
        }
    }
    let mut out = std::io::Cursor::new(Vec::new());
    let encoded = match format {
        image::ImageFormat::Jpeg => image::DynamicImage::ImageRgba8(rgb).to_rgb8().write_to(&mut out, format),
        _ => rgb.write_to(&mut out, format),
    };
    encoded.map_err(|e| CoreError::Internal(format!("encoding the redacted photo: {e}")))?;
    Ok(out.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 64×48 JPEG from the encoder, with an EXIF segment (GPS tag text) and a comment spliced
    /// in after SOI, as a phone writes them.
    fn jpeg_with_exif() -> Vec<u8> {
        let img = image::RgbImage::from_fn(64, 48, |x, y| image::Rgb([(x * 4) as u8, (y * 5) as u8, 128]));
        let mut plain = std::io::Cursor::new(Vec::new());
        image::DynamicImage::ImageRgb8(img).write_to(&mut plain, image::ImageFormat::Jpeg).unwrap();
        let plain = plain.into_inner();
        let exif = b"Exif\0\0GPSLatitude 22.39 GPSLongitude 103.45";
        let mut out = plain[..2].to_vec();
        out.extend_from_slice(&[0xFF, 0xE1]);
        out.extend_from_slice(&((exif.len() + 2) as u16).to_be_bytes());
        out.extend_from_slice(exif);
        let comment = b"Nguyen Van A's phone";
        out.extend_from_slice(&[0xFF, 0xFE]);
        out.extend_from_slice(&((comment.len() + 2) as u16).to_be_bytes());
        out.extend_from_slice(comment);
        out.extend_from_slice(&plain[2..]);
        out
    }

    fn contains(hay: &[u8], needle: &[u8]) -> bool {
        hay.windows(needle.len()).any(|w| w == needle)
    }

    #[test]
    fn a_phone_photo_loses_its_position_and_comment_and_still_opens() {
        let photo = jpeg_with_exif();
        assert!(contains(&photo, b"GPSLatitude"));
        let (kind, clean) = accept(&photo).unwrap();
        assert_eq!(kind, MediaType::Jpeg);
        assert!(!contains(&clean, b"GPSLatitude") && !contains(&clean, b"Nguyen Van A"));
        let img = image::load_from_memory(&clean).unwrap();
        assert_eq!((img.width(), img.height()), (64, 48));
    }

    #[test]
    fn png_text_chunks_go_and_the_image_stays() {
        let img = image::RgbaImage::from_pixel(10, 10, image::Rgba([200, 10, 10, 255]));
        let mut buf = std::io::Cursor::new(Vec::new());
        img.write_to(&mut buf, image::ImageFormat::Png).unwrap();
        let png = buf.into_inner();
        // Insert a tEXt chunk after IHDR (8 + 25 bytes).
        let data = b"Author\0Lo Thi Mai";
        let mut chunk = (data.len() as u32).to_be_bytes().to_vec();
        chunk.extend_from_slice(b"tEXt");
        chunk.extend_from_slice(data);
        chunk.extend_from_slice(&[0, 0, 0, 0]);
        let mut with_text = png[..33].to_vec();
        with_text.extend_from_slice(&chunk);
        with_text.extend_from_slice(&png[33..]);
        let (_, clean) = accept(&with_text).unwrap();
        assert!(!contains(&clean, b"Lo Thi Mai"));
        assert_eq!(clean, png, "exactly the original without the text chunk");
    }

    #[test]
    fn an_mp4_keeps_its_size_and_loses_its_user_data() {
        let mut mp4 = Vec::new();
        mp4.extend_from_slice(&16u32.to_be_bytes());
        mp4.extend_from_slice(b"ftypisom\0\0\0\0");
        let udta_body = b"\xa9xyz+22.3946+103.4580/";
        let mut moov = Vec::new();
        moov.extend_from_slice(&((8 + udta_body.len()) as u32).to_be_bytes());
        moov.extend_from_slice(b"udta");
        moov.extend_from_slice(udta_body);
        mp4.extend_from_slice(&((8 + moov.len()) as u32).to_be_bytes());
        mp4.extend_from_slice(b"moov");
        mp4.extend_from_slice(&moov);
        let (kind, clean) = accept(&mp4).unwrap();
        assert_eq!(kind, MediaType::Mp4);
        assert_eq!(clean.len(), mp4.len());
        assert!(!contains(&clean, b"+22.3946") && contains(&clean, b"free"));
    }

    #[test]
    fn other_types_and_oversized_files_are_refused() {
        assert_eq!(accept(b"%PDF-1.7 ..."), Err(MediaRefusal::Unsupported));
        assert_eq!(accept(b"<svg xmlns=..."), Err(MediaRefusal::Unsupported));
        let mut big = vec![0xFF, 0xD8, 0xFF];
        big.resize(MAX_PHOTO_BYTES + 1, 0);
        assert_eq!(accept(&big), Err(MediaRefusal::TooLarge { max: MAX_PHOTO_BYTES }));
    }

    #[test]
    fn a_redacted_area_no_longer_shows_what_was_there() {
        // A checkerboard: after pixelating, each block of the area is one flat colour.
        let img = image::RgbImage::from_fn(96, 96, |x, y| {
            if (x / 2 + y / 2) % 2 == 0 {
                image::Rgb([0, 0, 0])
            } else {
                image::Rgb([255, 255, 255])
            }
        });
        let mut buf = std::io::Cursor::new(Vec::new());
        image::DynamicImage::ImageRgb8(img).write_to(&mut buf, image::ImageFormat::Png).unwrap();
        let out = redact(&buf.into_inner(), &[Rect { x: 0, y: 0, w: 48, h: 48 }]).unwrap();
        let red = image::load_from_memory(&out).unwrap().to_rgb8();
        let block: Vec<_> =
            (0..12).flat_map(|y| (0..12).map(move |x| (x, y))).map(|(x, y)| red.get_pixel(x, y).0).collect();
        assert!(block.iter().all(|p| *p == block[0]), "flat inside a block");
        // Outside the area the checkerboard is intact.
        assert_ne!(red.get_pixel(60, 60).0, red.get_pixel(62, 60).0);
        assert!(redact(&out, &[Rect { x: 500, y: 0, w: 10, h: 10 }]).is_err());
    }
}
