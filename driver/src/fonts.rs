//! The font every plot's text uses. plotters' `ab_glyph` backend lays text out (SVG) and
//! rasterises it (PNG) without a system font library, but only with a registered font:
//! DejaVu Sans (Bitstream Vera licence, `assets/fonts/`) is embedded in the binary and
//! registered as `sans-serif`; SVGs name `sans-serif`, so browsers use their own.

use std::sync::OnceLock;

use anyhow::{anyhow, Result};
use plotters::style::FontStyle;

pub(crate) static DEJAVU_SANS: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");

/// Registers the embedded font once per process; call before drawing any text.
pub fn register() -> Result<()> {
    static REGISTERED: OnceLock<bool> = OnceLock::new();
    let ok = *REGISTERED
        .get_or_init(|| plotters::style::register_font("sans-serif", FontStyle::Normal, DEJAVU_SANS).is_ok());
    if ok {
        Ok(())
    } else {
        Err(anyhow!("the embedded DejaVu Sans font could not be loaded"))
    }
}
