//! Ranking fidelity: how often the ranking of quantized vectors is the float32 ranking, for
//! each precision (catalog and query value bits) and scale scheme. Plaintext throughout: the
//! encrypted scores are exactly the quantized ones (every other test says so), so what changes
//! a user's ranking is the quantization alone.

use rayon::prelude::*;

use crate::matrix::Matrix;

pub mod cost;

/// How a catalog's values get their scale.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Scales {
    /// One scale for the whole catalog, `max|v| / (2^(b-1) - 1)`: as built today.
    Global,
    /// One scale per dimension, folded into the query (`q_j s_j`) before it is quantized.
    PerDimension,
    /// One public scale per item, `max|v_i| / (2^(b-1) - 1)`, multiplied into the item's exact
    /// score by the client after decryption.
    PerItem,
}

impl Scales {
    /// The name the command line and the JSON use.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Scales::Global => "global",
            Scales::PerDimension => "per-dimension",
            Scales::PerItem => "per-item",
        }
    }
}

/// Bits of the catalog's values and of the query's, each signed and symmetric.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Precision {
    /// Catalog value bits.
    pub catalog_bits: u32,
    /// Query value bits.
    pub query_bits: u32,
    /// The catalog's scales.
    pub scales: Scales,
}

/// The fidelity of one precision over a set of users. Shares and recalls are in `[0, 1]`.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Fidelity {
    /// The precision measured.
    pub precision: Precision,
    /// The dimension of the vectors compared.
    pub dim: usize,
    /// Users measured.
    pub users: usize,
    /// Users whose top-10 set equals float32's.
    pub top10_set_equal: f64,
    /// Users whose ordered top 10 equals float32's.
    pub top10_order_equal: f64,
    /// Mean share of float32's top 10 in the quantized top 10.
    pub recall_at_10: f64,
    /// The same at 100.
    pub recall_at_100: f64,
    /// Mean of `1 - (float32 scores of the quantized top 10) / (float32's best 10 scores)`:
    /// what a user loses in the float model's own terms.
    pub score_loss_at_10: f64,
    /// Bits a score needs at this precision and dimension:
    /// `log2(2 d (2^(bc-1) - 1)(2^(bq-1) - 1) + 1)`, before any noise margin.
    pub score_bits: f64,
    /// What the precision costs as built (global scales only; `None` where veilrank does not
    /// carry it or it was not asked for).
    pub cost: Option<cost::Cost>,
}

/// `"12"` (both sides) or `"12/8"` (catalog/query) as value bits, each 2 to 24.
pub fn parse_bits(s: &str) -> Result<(u32, u32), String> {
    let parse = |b: &str| {
        b.trim()
            .parse::<u32>()
            .ok()
            .filter(|b| (2..=24).contains(b))
            .ok_or_else(|| format!("{s:?}: bits are 2 to 24, as 12 or 12/8 (catalog/query)"))
    };
    match s.split_once('/') {
        Some((c, q)) => Ok((parse(c)?, parse(q)?)),
        None => parse(s).map(|b| (b, b)),
    }
}

/// The largest value of `bits` signed bits, symmetric.
fn bound(bits: u32) -> f64 {
    f64::from((1u32 << (bits - 1)) - 1)
}

/// Quantized catalog values (exact integers, stored as f64 so that dot products are exact up to
/// 2^53 and vectorize), the per-dimension scales to fold into a query, and the per-item scales to
/// multiply the exact scores by (all 1 but for [`Scales::PerItem`]).
fn quantize_catalog(items: &Matrix, bits: u32, scales: Scales) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
    let d = items.dim();
    if scales == Scales::PerItem {
        let item_steps: Vec<f64> = (0..items.rows())
            .map(|i| {
                let m = items
                    .row(i)
                    .iter()
                    .fold(0f64, |m, &v| m.max(f64::from(v).abs()));
                if m > 0.0 {
                    m / bound(bits)
                } else {
                    1.0
                }
            })
            .collect();
        let values = items
            .values()
            .par_chunks(d)
            .zip(item_steps.par_iter())
            .flat_map_iter(|(row, &s)| {
                row.iter()
                    .map(move |&v| (f64::from(v) / s).round())
                    .collect::<Vec<_>>()
            })
            .collect();
        return (values, vec![1.0; d], item_steps);
    }
    let mut max = vec![0f64; d];
    for i in 0..items.rows() {
        for (m, &v) in max.iter_mut().zip(items.row(i)) {
            *m = m.max(f64::from(v).abs());
        }
    }
    if scales == Scales::Global {
        let all = max.iter().copied().fold(0.0, f64::max);
        max.fill(all);
    }
    let step: Vec<f64> = max
        .iter()
        .map(|&m| if m > 0.0 { m / bound(bits) } else { 1.0 })
        .collect();
    let values = items
        .values()
        .par_chunks(d)
        .flat_map_iter(|row| {
            row.iter()
                .zip(&step)
                .map(|(&v, &s)| (f64::from(v) / s).round())
                .collect::<Vec<_>>()
        })
        .collect();
    (values, step, vec![1.0; items.rows()])
}

/// A query quantized with its own scale after folding the catalog's per-dimension steps in.
fn quantize_query(user: &[f32], step: &[f64], bits: u32) -> Vec<f64> {
    let folded: Vec<f64> = user
        .iter()
        .zip(step)
        .map(|(&u, &s)| f64::from(u) * s)
        .collect();
    let max = folded.iter().fold(0f64, |m, v| m.max(v.abs()));
    let scale = if max > 0.0 { max / bound(bits) } else { 1.0 };
    folded.iter().map(|v| (v / scale).round()).collect()
}

/// Dot products of `query` with every row of `rows` (`dim` each), in eight independent lanes.
fn scores(rows: &[f64], query: &[f64]) -> Vec<f64> {
    let dim = query.len();
    rows.chunks_exact(dim)
        .map(|row| {
            let mut lanes = [0f64; 8];
            let (rc, rt) = row.as_chunks::<8>();
            let (qc, qt) = query.as_chunks::<8>();
            for (r, q) in rc.iter().zip(qc) {
                for l in 0..8 {
                    lanes[l] += r[l] * q[l];
                }
            }
            lanes.iter().sum::<f64>() + rt.iter().zip(qt).map(|(r, q)| r * q).sum::<f64>()
        })
        .collect()
}

/// The `k` best rows by score, highest first, ties by position (as the SDK ranks).
fn top(scores: &[f64], k: usize) -> Vec<usize> {
    let better = |a: &usize, b: &usize| scores[*b].total_cmp(&scores[*a]).then(a.cmp(b));
    let mut order: Vec<usize> = (0..scores.len()).collect();
    let k = k.min(order.len());
    if k < order.len() {
        order.select_nth_unstable_by(k, better);
        order.truncate(k);
    }
    order.sort_by(better);
    order
}

fn overlap(a: &[usize], b: &[usize]) -> usize {
    a.iter().filter(|x| b.contains(x)).count()
}

/// Measures `precision` on `items` against `users` (rows of the same dimension).
pub fn measure(items: &Matrix, users: &Matrix, precision: Precision) -> Result<Fidelity, String> {
    let d = items.dim();
    if users.dim() != d {
        return Err(format!(
            "users have {} dimensions, the items {d}",
            users.dim()
        ));
    }
    for bits in [precision.catalog_bits, precision.query_bits] {
        if !(2..=24).contains(&bits) {
            return Err(format!("{bits} bits: 2 to 24 are measured"));
        }
    }
    let exact: Vec<f64> = items.values().iter().map(|&v| f64::from(v)).collect();
    let (catalog, step, item_steps) =
        quantize_catalog(items, precision.catalog_bits, precision.scales);
    let per_user: Vec<[f64; 5]> = (0..users.rows())
        .into_par_iter()
        .map(|u| {
            let user = users.row(u);
            let float_query: Vec<f64> = user.iter().map(|&v| f64::from(v)).collect();
            let float = scores(&exact, &float_query);
            let query = quantize_query(user, &step, precision.query_bits);
            let mut quantized = scores(&catalog, &query);
            for (s, &item_step) in quantized.iter_mut().zip(&item_steps) {
                *s *= item_step;
            }
            let (f100, q100) = (top(&float, 100), top(&quantized, 100));
            let (f10, q10) = (&f100[..f100.len().min(10)], &q100[..q100.len().min(10)]);
            let best: f64 = f10.iter().map(|&i| float[i]).sum();
            let got: f64 = q10.iter().map(|&i| float[i]).sum();
            [
                f64::from(u8::from(overlap(f10, q10) == f10.len())),
                f64::from(u8::from(f10 == q10)),
                overlap(f10, q10) as f64 / f10.len() as f64,
                overlap(&f100, &q100) as f64 / f100.len() as f64,
                if best > 0.0 { 1.0 - got / best } else { 0.0 },
            ]
        })
        .collect();
    let n = per_user.len().max(1) as f64;
    let mean = |k: usize| per_user.iter().map(|m| m[k]).sum::<f64>() / n;
    let plaintext = 2.0 * d as f64 * bound(precision.catalog_bits) * bound(precision.query_bits);
    Ok(Fidelity {
        precision,
        dim: d,
        users: users.rows(),
        top10_set_equal: mean(0),
        top10_order_equal: mean(1),
        recall_at_10: mean(2),
        recall_at_100: mean(3),
        score_loss_at_10: mean(4),
        score_bits: (plaintext + 1.0).log2(),
        cost: None,
    })
}

/// The table of a study: one row per precision.
#[must_use]
pub fn table(rows: &[Fidelity]) -> String {
    let mut out = format!(
        "{:>5} {:>5} {:>13} {:>6} {:>10} {:>10} {:>7} {:>8} {:>9} {:>10} {:>7} {:>9}\n",
        "dim",
        "users",
        "scales",
        "bits",
        "top10 set",
        "top10 ord",
        "R@10",
        "R@100",
        "loss@10",
        "score bits",
        "B/item",
        "server ms"
    );
    for r in rows {
        let p = r.precision;
        out += &format!(
            "{:>5} {:>5} {:>13} {:>6} {:>9.1}% {:>9.1}% {:>7.4} {:>8.4} {:>9.1e} {:>10.1} {:>7} {:>9}\n",
            r.dim,
            r.users,
            p.scales.name(),
            format!("{}/{}", p.catalog_bits, p.query_bits),
            100.0 * r.top10_set_equal,
            100.0 * r.top10_order_equal,
            r.recall_at_10,
            r.recall_at_100,
            r.score_loss_at_10,
            r.score_bits,
            r.cost
                .as_ref()
                .map_or("-".into(), |c| format!("{:.2}", c.response_bytes_per_item)),
            r.cost
                .as_ref()
                .and_then(|c| c.server_ms)
                .map_or("-".into(), |ms| format!("{ms:.1}")),
        );
    }
    out
}

#[cfg(test)]
mod tests;
