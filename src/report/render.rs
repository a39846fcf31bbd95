//! Pictures to bytes: SVG text (for the page and the `.svg` exports) and PNG (an RGB bitmap
//! drawn by plotters, encoded with the `png` crate).
//!
//! Text needs a font both to lay out (SVG and PNG) and to rasterise (PNG). To need no
//! system font library, DejaVu Sans (Bitstream Vera licence, `assets/fonts/`) is embedded
//! in the binary and registered with plotters' `ab_glyph` backend as `sans-serif`; the SVG
//! itself names `sans-serif`, so browsers use their own.

use std::sync::OnceLock;

use anyhow::{anyhow, Result};
use plotters::prelude::*;
use plotters::style::FontStyle;

use super::plots::Plot;
use super::ReportData;

static DEJAVU_SANS: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");

/// Registers the embedded font once per process.
fn font() -> Result<()> {
    static REGISTERED: OnceLock<bool> = OnceLock::new();
    let ok = *REGISTERED
        .get_or_init(|| plotters::style::register_font("sans-serif", FontStyle::Normal, DEJAVU_SANS).is_ok());
    if ok {
        Ok(())
    } else {
        Err(anyhow!("the embedded DejaVu Sans font could not be loaded"))
    }
}

/// The picture as a standalone SVG document.
pub fn svg(plot: Plot, d: &ReportData) -> Result<String> {
    font()?;
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
    font()?;
    let (w, h) = plot.size();
    let mut rgb = vec![255u8; w as usize * h as usize * 3];
    {
        let area = BitMapBackend::with_buffer(&mut rgb, (w, h)).into_drawing_area();
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
