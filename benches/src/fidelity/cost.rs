//! What a precision costs as built: the noise plan the server would choose for this very
//! catalog, the response and hint bytes per item that follow, and (on request) the server's
//! scoring time for one encrypted query, its scores checked exactly against the plaintext ones.

use std::time::Instant;

use veilrank_core::noise::{choose, CatalogNoiseStats};
use veilrank_core::quantize::{quantize_bits, quantize_wide_with_scale, scale_for_bound};
use veilrank_core::{plain, Encryptor, ParameterSet, Precision, SecretKey, V1_128};
use veilrank_engine::PreparedCatalog;

use super::{measure as fidelity, table, Fidelity, Precision as Bits, Scales};
use crate::matrix::Matrix;

/// The cost of one precision on one catalog.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Cost {
    /// Catalog rows per item (limbs).
    pub limbs: usize,
    /// The server's prime for this catalog.
    pub prime: &'static str,
    /// Bits per response coefficient.
    pub response_bits: u32,
    /// Response bytes per item: `limbs * response_bits / 8`.
    pub response_bytes_per_item: f64,
    /// Bits per coefficient of the rounded hint.
    pub hint_bits: u32,
    /// Bytes per item of the rounded hint (downloaded once per catalog version):
    /// `limbs * hint_bits / 8`.
    pub hint_bytes_per_item: f64,
    /// Median server scoring time of one query, milliseconds (`None`: not measured).
    pub server_ms: Option<f64>,
}

/// The catalog's rows at `precision`, quantized as the server does (one global scale).
fn rows(items: &Matrix, precision: Precision) -> Result<Vec<i8>, String> {
    let bound = precision.catalog_bound();
    let scale = scale_for_bound(items.values(), bound).map_err(|e| e.to_string())?;
    let values =
        quantize_wide_with_scale(items.values(), scale, bound).map_err(|e| e.to_string())?;
    Ok(precision.rows_of(&values, items.dim()))
}

/// The cost of `catalog_bits`/`query_bits` on `items`; `None` where veilrank does not carry that
/// precision at this dimension (bits outside 8-16, scores beyond 32 bits, or no plan within the
/// noise target). With `timed`, one query of `user` is encrypted, scored `runs` times on the
/// engine and decrypted; a score differing from the plaintext one is an error.
pub fn measure(
    items: &Matrix,
    user: &[f32],
    catalog_bits: u32,
    query_bits: u32,
    timed: Option<usize>,
) -> Result<Option<Cost>, String> {
    let Ok(precision) = Precision::try_new(catalog_bits, query_bits) else {
        return Ok(None);
    };
    let params: ParameterSet = V1_128.with_precision(precision);
    let dim = items.dim();
    if params.plaintext_bits(dim).is_err() {
        return Ok(None);
    }
    let rows = rows(items, precision)?;
    let stats = CatalogNoiseStats::of_catalog(&params, dim, &rows);
    let Ok(plan) = choose(&params, dim, &stats) else {
        return Ok(None);
    };
    let limbs = precision.limbs();
    let server_ms = match timed {
        Some(runs) => Some(time_scoring(&params, &rows, dim, user, runs.max(1))?),
        None => None,
    };
    Ok(Some(Cost {
        limbs,
        prime: plan.prime.name(),
        response_bits: plan.response_bits,
        response_bytes_per_item: (limbs as u32 * plan.response_bits) as f64 / 8.0,
        hint_bits: plan.hint_bits,
        hint_bytes_per_item: (limbs as u32 * plan.hint_bits) as f64 / 8.0,
        server_ms,
    }))
}

fn time_scoring(
    params: &ParameterSet,
    rows: &[i8],
    dim: usize,
    user: &[f32],
    runs: usize,
) -> Result<f64, String> {
    let err = |e: veilrank_core::Error| e.to_string();
    let precision = params.precision;
    let catalog = PreparedCatalog::prepare(params, dim, rows).map_err(err)?;
    let key = SecretKey::generate(&V1_128).map_err(err)?;
    let query = quantize_bits(user, precision.query_bits()).map_err(err)?;
    let encrypted = Encryptor::new(params, dim)
        .map_err(err)?
        .encrypt(&key, &query.values)
        .map_err(err)?;
    let mut times = Vec::with_capacity(runs);
    let mut response = None;
    for _ in 0..runs {
        let started = Instant::now();
        response = Some(catalog.score(&encrypted).map_err(err)?);
        times.push(started.elapsed().as_secs_f64() * 1e3);
    }
    let items = rows.len() / dim / precision.limbs();
    let response = response.ok_or("no run")?;
    let scores = response.decrypt(&key, catalog.hint(), items).map_err(err)?;
    let rounded = catalog
        .hint()
        .rounded(params, catalog.noise_plan().hint_bits)
        .map_err(err)?;
    let with_rounded = response.decrypt(&key, &rounded, items).map_err(err)?;
    let expected = plain::item_scores(precision, rows, dim, &query.values);
    if scores != expected || with_rounded != expected {
        return Err(format!(
            "{precision}: decrypted scores differ from the plaintext ones"
        ));
    }
    times.sort_by(f64::total_cmp);
    Ok(times[times.len() / 2])
}

/// Every precision and scale scheme in every space (the vectors as given, then their PCA
/// reductions): fidelity, and for global scales the cost as built; each row printed to stderr as
/// it is measured.
pub fn study(
    spaces: &[(Matrix, Matrix)],
    scales: &[Scales],
    precisions: &[(u32, u32)],
    server_time: Option<usize>,
) -> Result<Vec<Fidelity>, String> {
    let mut rows = Vec::new();
    for (items, users) in spaces {
        for &scales in scales {
            for &(catalog_bits, query_bits) in precisions {
                let bits = Bits {
                    catalog_bits,
                    query_bits,
                    scales,
                };
                let mut row = fidelity(items, users, bits)?;
                if scales == Scales::Global && users.rows() > 0 {
                    row.cost = measure(items, users.row(0), catalog_bits, query_bits, server_time)?;
                }
                rows.push(row);
                // progress: the row just measured, without the header
                let last = table(&rows[rows.len() - 1..]);
                eprintln!("{}", last.lines().nth(1).unwrap_or_default());
            }
        }
    }
    Ok(rows)
}
