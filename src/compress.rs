//! Compression: an image's latent code as L half-precision floats (2·L bytes against the image's
//! 784), and back.

use half::f16;

/// The code of latent point `z`: each value as an IEEE 754 half, little-endian, 2·L bytes.
pub fn latent_to_f16_bytes(z: &[f32]) -> Vec<u8> {
    z.iter().flat_map(|&v| f16::from_f32(v).to_le_bytes()).collect()
}

/// The latent point stored in `bytes` by [`latent_to_f16_bytes`]; `None` for an odd length.
pub fn latent_from_f16_bytes(bytes: &[u8]) -> Option<Vec<f32>> {
    if !bytes.len().is_multiple_of(2) {
        return None;
    }
    Some(bytes.chunks_exact(2).map(|b| f16::from_le_bytes([b[0], b[1]]).to_f32()).collect())
}
