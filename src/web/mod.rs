//! The wasm bindings: thin `#[wasm_bindgen]` types over the model code. Errors reach JavaScript
//! as thrown `Error`s (rejected promises in async callers) with readable messages.

use wasm_bindgen::prelude::*;

use crate::{grid, preprocess, scatter};

mod apps;
mod model;
mod pictures;
mod trainer;

pub use apps::Inpainter;
pub use model::{ImageSet, Model};
pub use pictures::{PictureOptions, ZipPictures};
pub use trainer::Trainer;

fn js_error(e: impl std::fmt::Display) -> JsError {
    JsError::new(&crate::error_message(e))
}

/// A plain JavaScript object of named values: what crosses the boundary instead of a positional
/// array. Plain objects survive `postMessage`, so a worker can pass one on as it is.
fn named(fields: &[(&str, JsValue)]) -> Result<JsValue, JsError> {
    let object = js_sys::Object::new();
    for (name, value) in fields {
        js_sys::Reflect::set(&object, &JsValue::from_str(name), value).map_err(|_| JsError::new("could not build a result object"))?;
    }
    Ok(object.into())
}

/// Every size limit the model crate enforces ([`crate::limits`]), as a JSON object string, so the
/// page checks its fields against the same bounds.
#[wasm_bindgen]
pub fn limits() -> String {
    use crate::limits::*;
    serde_json::json!({
        "maxLatent": MAX_LATENT, "maxHidden": MAX_HIDDEN, "maxClasses": MAX_CLASSES, "maxChannels": MAX_CHANNELS,
        "maxImageSide": MAX_IMAGE_SIDE, "maxConvChannels": MAX_CONV_CHANNELS, "maxBatch": MAX_BATCH,
    })
    .to_string()
}

#[wasm_bindgen(start)]
pub fn start() {
    console_error_panic_hook::set_once();
}

/// Panics on purpose. Debug-only: the page calls it only through `window.vaeDebug` (with `?debug`
/// in the URL), so tests can check that a crashed engine or worker is replaced and the app goes on.
#[wasm_bindgen(js_name = debugPanic)]
pub fn debug_panic(message: &str) {
    panic!("{message}");
}

/// Turns a drawing's ink (`width`×`height` bytes, 0 = paper) into the model input of [`drawing_shape`];
/// returns an empty array when there is no ink.
#[wasm_bindgen(js_name = drawingToInput)]
pub fn drawing_to_input(ink: &[u8], width: usize, height: usize) -> Vec<f32> {
    preprocess::mnist_input(ink, width, height).unwrap_or_default()
}

/// The shape of the input [`drawing_to_input`] makes, as a JSON object string
/// (`{"channels":1,"height":28,"width":28}`).
#[wasm_bindgen(js_name = drawingShape)]
pub fn drawing_shape() -> String {
    let s = preprocess::DRAWING_SHAPE;
    serde_json::json!({ "channels": s.channels, "height": s.height, "width": s.width }).to_string()
}

/// Φ⁻¹(p), the standard normal quantile function.
#[wasm_bindgen(js_name = normalQuantile)]
pub fn normal_quantile(p: f64) -> f64 {
    grid::normal_quantile(p.clamp(1e-12, 1.0 - 1e-12))
}

/// Φ(z), the standard normal CDF.
#[wasm_bindgen(js_name = normalCdf)]
pub fn normal_cdf(z: f64) -> f64 {
    grid::normal_cdf(z)
}

/// (Φ(z[dx]), Φ(z[dy])) for each latent of `means` [count, latent], as [count, 2]: the scatter's
/// points in probability space, in one call rather than two per point.
#[wasm_bindgen(js_name = probabilityPoints)]
pub fn probability_points(means: &[f32], latent: usize, dx: usize, dy: usize) -> Result<Vec<f32>, JsError> {
    scatter::probability_points(means, latent, dx, dy)
        .ok_or_else(|| JsError::new(&format!("cannot scatter dimensions {dx} and {dy} of {} numbers as {latent}-D points", means.len())))
}

/// The scatter's pixels (straight RGBA, `width`·`height`·4 bytes) for the `points` of
/// [`probability_points`] with their `labels`; `colours` holds an RGB triple per label and `view`
/// is [u0, u1, v0, v1] (see `scatter::scatter_rgba`).
#[wasm_bindgen(js_name = scatterRgba)]
pub fn scatter_rgba(
    points: &[f32],
    labels: &[u8],
    colours: &[u8],
    view: &[f32],
    width: usize,
    height: usize,
    radius: f32,
) -> Result<Vec<u8>, JsError> {
    let [u0, u1, v0, v1] = <[f32; 4]>::try_from(view).map_err(|_| JsError::new("the scatter's view takes four numbers: u0, u1, v0, v1"))?;
    if width.saturating_mul(height) > crate::limits::MAX_CANVAS_PIXELS {
        return Err(JsError::new(&format!("a {width}×{height} scatter is over the {} pixel limit", crate::limits::MAX_CANVAS_PIXELS)));
    }
    let colours: Vec<[u8; 3]> = colours.chunks_exact(3).map(|c| [c[0], c[1], c[2]]).collect();
    Ok(scatter::scatter_rgba(points, labels, &colours, scatter::View { u0, u1, v0, v1 }, width, height, radius))
}

/// Φ⁻¹((i + ½)/n), i = 0..n: grid coordinates at the Gaussian quantiles.
#[wasm_bindgen(js_name = quantileAxis)]
pub fn quantile_axis(n: usize) -> Vec<f32> {
    grid::quantile_axis(n)
}
