//! What the engine's test files share.

use veilrank_core::noise::{error_std_dev, CatalogNoiseStats, NoisePlan};
use veilrank_core::ParameterSet;

/// Prints the worst observed decryption error (in units of Delta, over the exact and rounded
/// hints) beside the analysis' standard deviations, for the worst catalog of the dimension and
/// for this very catalog (`rows`), and asserts the observed error within 8 of the latter (a
/// Gaussian exceeds that once in 10^15) and below the 0.5 where a score would decrypt wrongly.
pub fn assert_observed_noise_within_analysis(
    params: &ParameterSet,
    dim: usize,
    rows: &[i8],
    plan: &NoisePlan,
    max_error: f64,
) {
    let delta = 2f64.powi(params.delta_log2(dim).unwrap() as i32);
    let sigma = |stats: &CatalogNoiseStats| {
        error_std_dev(
            params,
            stats,
            plan.prime,
            plan.response_bits,
            Some(plan.hint_bits),
        ) / delta
    };
    let worst = sigma(&CatalogNoiseStats::worst_case(params, dim));
    let actual = sigma(&CatalogNoiseStats::of_catalog(params, dim, rows));
    println!(
        "precision {} d={dim} rows={} prime={} response_bits={} hint_bits={} \
         log2_failure_bound={:.1} max_observed_error={max_error:.4} Delta (exact and rounded \
         hints; analysis sigma: {actual:.4} Delta for this catalog, {worst:.4} for the worst one \
         under the same prime and widths)",
        params.precision,
        rows.len() / dim,
        plan.prime.name(),
        plan.response_bits,
        plan.hint_bits,
        plan.log2_failure
    );
    assert!(
        max_error < (8.0 * actual).min(0.5),
        "max error {max_error} Delta, sigma {actual}"
    );
}
