//! The zoo's architectures as layer lists on a [`Builder`]: VGG-11/16, ResNet-19 and
//! SEW-ResNet, with LIF neurons, pooling and affine heads.
//!
//! Needs: a checked [`ZooSpec`]. Establishes: a graph whose every LIF is listed in the
//! builder (in topological order) for calibration. Residual additions are two edges into
//! one node: a node's input is the sum of its incoming edges (IR and NIR alike), so
//! ResNet-19's `LIF(conv2 + shortcut)` is a LIF with two incoming edges and SEW-ResNet's
//! spike-element-wise `ADD(S, A)` is the pooling (or Flatten) node both edges enter.

use super::builder::{Builder, Value};
use super::{ZooError, ZooSpec};

/// Channels scaled by the width multiplier, at least 1.
fn scaled(c: usize, width: f64) -> usize {
    ((c as f64 * width).round() as usize).max(1)
}

/// `M` is a 2×2 pooling, a number a 3×3 conv + LIF with that many channels.
const VGG11: &[Option<usize>] = &[
    Some(64),
    None,
    Some(128),
    None,
    Some(256),
    Some(256),
    None,
    Some(512),
    Some(512),
    None,
    Some(512),
    Some(512),
    None,
];
const VGG16: &[Option<usize>] = &[
    Some(64),
    Some(64),
    None,
    Some(128),
    Some(128),
    None,
    Some(256),
    Some(256),
    Some(256),
    None,
    Some(512),
    Some(512),
    Some(512),
    None,
    Some(512),
    Some(512),
    Some(512),
    None,
];

/// VGG (CIFAR variant): the configuration's conv/pool stack, then flatten → Affine
/// (512·width) → LIF → Affine (classes) → LIF.
pub fn vgg(b: &mut Builder, spec: &ZooSpec, deep: bool) -> Result<(), ZooError> {
    let cfg = if deep { VGG16 } else { VGG11 };
    let mut x = b.input(&spec.input_shape)?;
    let (mut conv_i, mut pool_i) = (0, 0);
    for layer in cfg {
        match layer {
            Some(c) => {
                conv_i += 1;
                let conv = b.conv(&format!("conv{conv_i}"), &x, scaled(*c, spec.width), 3, 1)?;
                x = b.lif(&format!("lif{conv_i}"), &[&conv])?;
            }
            None => {
                pool_i += 1;
                if let Some(p) = b.halve(&format!("pool{pool_i}"), &[&x], spec.pool)? {
                    x = p;
                }
            }
        }
    }
    let flat = b.flatten("flatten", &[&x])?;
    let fc1 = b.affine("fc1", &flat, scaled(512, spec.width))?;
    let h = b.lif("lif_fc1", &[&fc1])?;
    head(b, &h, spec.classes)
}

/// Affine to the classes, LIF, Output.
fn head(b: &mut Builder, x: &Value, classes: usize) -> Result<(), ZooError> {
    let fc = b.affine("fc_out", x, classes)?;
    let out = b.lif("lif_out", &[&fc])?;
    b.output(&out)?;
    Ok(())
}

/// ResNet-19 (Zheng et al., AAAI 2021, tdBN): conv3×3 128 → LIF, three stages of basic
/// blocks (3 × 128, 3 × 256 stride 2, 2 × 512 stride 2), global average pooling,
/// Affine 256 → LIF → Affine classes → LIF. A block is
/// `LIF(conv3×3(LIF(conv3×3(x))) + shortcut(x))`, the shortcut being `x` itself or a
/// 1×1 stride-2 convolution where the shape changes.
pub fn resnet19(b: &mut Builder, spec: &ZooSpec) -> Result<(), ZooError> {
    let x0 = b.input(&spec.input_shape)?;
    let stem = b.conv("stem_conv", &x0, scaled(128, spec.width), 3, 1)?;
    let mut x = b.lif("stem_lif", &[&stem])?;
    for (s, (channels, blocks, stride)) in [(128, 3, 1), (256, 3, 2), (512, 2, 2)].into_iter().enumerate() {
        let c = scaled(channels, spec.width);
        for k in 0..blocks {
            let stride = if k == 0 { stride } else { 1 };
            let p = format!("s{}b{k}", s + 1);
            let c1 = b.conv(&format!("{p}_conv1"), &x, c, 3, stride)?;
            let l1 = b.lif(&format!("{p}_lif1"), &[&c1])?;
            let c2 = b.conv(&format!("{p}_conv2"), &l1, c, 3, 1)?;
            let shortcut = if stride != 1 || x.shape.dims()[0] != c {
                b.conv(&format!("{p}_down"), &x, c, 1, stride)?
            } else {
                x.clone()
            };
            x = b.lif(&format!("{p}_lif2"), &[&c2, &shortcut])?;
        }
    }
    let d = x.shape.dims().to_vec();
    if let Some(p) = b.pool("gap", &[&x], spec.pool, [d[1], d[2]])? {
        x = p;
    }
    let flat = b.flatten("flatten", &[&x])?;
    let fc1 = b.affine("fc1", &flat, scaled(256, spec.width))?;
    let h = b.lif("lif_fc1", &[&fc1])?;
    head(b, &h, spec.classes)
}

/// Most SEW blocks (the DVS-Gesture network of Fang et al., NeurIPS 2021, has 7 on
/// 128×128 input).
const SEW_MAX_BLOCKS: usize = 7;

/// SEW-ResNet for event input (Fang et al., NeurIPS 2021, DVS-Gesture network): conv3×3
/// 32 → LIF, then SEW blocks `ADD(LIF(conv(LIF(conv(A)))), A)` each followed by 2×2
/// pooling (NIR has no max pooling), as many as halvings of the smaller side (at most
/// 7), then flatten → Affine classes → LIF.
pub fn sew_resnet(b: &mut Builder, spec: &ZooSpec) -> Result<(), ZooError> {
    let x0 = b.input(&spec.input_shape)?;
    let c = scaled(32, spec.width);
    let stem = b.conv("stem_conv", &x0, c, 3, 1)?;
    let mut a = b.lif("stem_lif", &[&stem])?;
    let side = spec.input_shape[1].min(spec.input_shape[2]);
    let blocks = (usize::BITS - 1 - side.leading_zeros()).clamp(1, SEW_MAX_BLOCKS as u32) as usize;
    for k in 0..blocks {
        let p = format!("b{}", k + 1);
        let c1 = b.conv(&format!("{p}_conv1"), &a, c, 3, 1)?;
        let l1 = b.lif(&format!("{p}_lif1"), &[&c1])?;
        let c2 = b.conv(&format!("{p}_conv2"), &l1, c, 3, 1)?;
        let s = b.lif(&format!("{p}_lif2"), &[&c2])?;
        // ADD(S, A): the pooling node's input is the sum of both edges.
        a = match b.halve(&format!("{p}_pool"), &[&s, &a], spec.pool)? {
            Some(p) => p,
            None => {
                let flat = b.flatten("flatten", &[&s, &a])?;
                return head(b, &flat, spec.classes);
            }
        };
    }
    let flat = b.flatten("flatten", &[&a])?;
    head(b, &flat, spec.classes)
}
