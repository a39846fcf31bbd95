//! Pictures to bytes: SVG text (for the page and the `.svg` exports) and PNG (an RGB bitmap
//! drawn by plotters, encoded with the `png` crate).
//!
//! Text needs a font both to lay out (SVG and PNG) and to rasterise (PNG): the embedded one
//! of [`crate::fonts`], placed glyph by glyph by [`super::png_text`].

use anyhow::{anyhow, Result};
use plotters::prelude::*;

use super::plots::Plot;
use super::ReportData;

/// The picture as a standalone SVG document.
pub fn svg(plot: Plot, d: &ReportData) -> Result<String> {
    crate::fonts::register()?;
    let mut text = String::new();
    {
        let area = SVGBackend::with_string(&mut text, plot.size()).into_drawing_area();
        plot.draw(&area, d).map_err(|e| anyhow!("drawing the {} picture: {e}", plot.name()))?;
        area.present().map_err(|e| anyhow!("drawing the {} picture: {e}", plot.name()))?;
    }
    Ok(text)
}

/// The picture as PNG bytes.
pub fn png(plot: Plot, d: &ReportData) -> Result<Vec<u8>> {
    crate::fonts::register()?;
    let (w, h) = plot.size();
    let mut rgb = vec![255u8; w as usize * h as usize * 3];
    {
        let area = super::png_text::PngBackend::new(&mut rgb, (w, h))?.into_drawing_area();
        plot.draw(&area, d).map_err(|e| anyhow!("drawing the {} picture: {e}", plot.name()))?;
        area.present().map_err(|e| anyhow!("drawing the {} picture: {e}", plot.name()))?;
    }
    encode_png(&rgb, w, h)
}

/// 8-bit RGB to PNG.
pub fn encode_png(rgb: &[u8], w: u32, h: u32) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut out, w, h);
        enc.set_color(png::ColorType::Rgb);
        enc.set_depth(png::BitDepth::Eight);
        let mut writer = enc.write_header()?;
        writer.write_image_data(rgb)?;
        writer.finish()?;
    }
    Ok(out)
}
