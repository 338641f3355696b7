//! A sweep as plots (SVG): latency against catalog size, throughput against concurrency, bytes
//! per query against catalog size.

use std::path::Path;

use plotters::prelude::*;

use crate::study::Outcome;

const COLORS: [RGBColor; 6] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
];

/// One line of a plot.
struct Series {
    label: String,
    points: Vec<(f64, f64)>,
    dashed: bool,
}

fn err(e: impl std::fmt::Debug) -> String {
    format!("plot: {e:?}")
}

fn sorted_unique(values: impl Iterator<Item = usize>) -> Vec<usize> {
    let mut v: Vec<usize> = values.collect();
    v.sort_unstable();
    v.dedup();
    v
}

/// Draws `series` on log-log axes into `path`.
fn draw(
    path: &Path,
    caption: &str,
    (x_desc, y_desc): (&str, &str),
    series: &[Series],
) -> Result<(), String> {
    let xs = series.iter().flat_map(|s| s.points.iter().map(|p| p.0));
    let ys = series.iter().flat_map(|s| s.points.iter().map(|p| p.1));
    let (x0, x1) = xs.fold((f64::MAX, f64::MIN), |(a, b), x| (a.min(x), b.max(x)));
    let (y0, y1) = ys.fold((f64::MAX, f64::MIN), |(a, b), y| (a.min(y), b.max(y)));
    if x0 > x1 || y0 > y1 {
        return Ok(());
    }
    let root = SVGBackend::new(path, (760, 460)).into_drawing_area();
    root.fill(&WHITE).map_err(err)?;
    let mut builder = ChartBuilder::on(&root);
    builder
        .caption(caption, ("sans-serif", 20))
        .margin(14)
        .x_label_area_size(42)
        .y_label_area_size(64);
    let mut chart = builder
        .build_cartesian_2d(
            ((x0 / 1.3)..(x1 * 1.3)).log_scale(),
            ((y0 / 1.5)..(y1 * 1.5)).log_scale(),
        )
        .map_err(err)?;
    chart
        .configure_mesh()
        .x_desc(x_desc)
        .y_desc(y_desc)
        .draw()
        .map_err(err)?;
    for (i, s) in series.iter().enumerate() {
        let color = COLORS[i % COLORS.len()];
        let style = color.stroke_width(if s.dashed { 1 } else { 2 });
        chart
            .draw_series(LineSeries::new(s.points.clone(), style).point_size(3))
            .map_err(err)?
            .label(s.label.clone())
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], style));
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .position(SeriesLabelPosition::UpperLeft)
        .draw()
        .map_err(err)?;
    root.present().map_err(err)
}

/// Writes `latency.svg`, `throughput.svg` and `bytes.svg` into `dir`.
pub fn write_all(dir: &Path, outcomes: &[Outcome]) -> Result<(), String> {
    let dims = sorted_unique(outcomes.iter().map(|o| o.dim));
    let sizes = sorted_unique(outcomes.iter().map(|o| o.items));
    let lowest = outcomes.iter().map(|o| o.concurrency).min().unwrap_or(1);
    let at = |dim: usize, f: &dyn Fn(&Outcome) -> f64| -> Vec<(f64, f64)> {
        let mut points: Vec<(f64, f64)> = outcomes
            .iter()
            .filter(|o| o.dim == dim && o.concurrency == lowest)
            .map(|o| (o.items as f64, f(o)))
            .collect();
        points.sort_by(|a, b| a.0.total_cmp(&b.0));
        points
    };

    let mut latency = Vec::new();
    for &dim in &dims {
        latency.push(Series {
            label: format!("d={dim} p50"),
            points: at(dim, &|o| o.latency_p50_ms),
            dashed: false,
        });
        latency.push(Series {
            label: format!("d={dim} p99"),
            points: at(dim, &|o| o.latency_p99_ms),
            dashed: true,
        });
    }
    draw(
        &dir.join("latency.svg"),
        &format!("End-to-end latency, {lowest} client(s)"),
        ("catalog items", "milliseconds"),
        &latency,
    )?;

    let mut bytes = Vec::new();
    for &dim in &dims {
        bytes.push(Series {
            label: format!("d={dim} query (up)"),
            points: at(dim, &|o| o.upload_bytes as f64 / 1e3),
            dashed: true,
        });
        bytes.push(Series {
            label: format!("d={dim} response (down)"),
            points: at(dim, &|o| o.download_bytes as f64 / 1e3),
            dashed: false,
        });
    }
    draw(
        &dir.join("bytes.svg"),
        "Bytes per query",
        ("catalog items", "kilobytes"),
        &bytes,
    )?;

    let dim = dims.get(dims.len() / 2).copied().unwrap_or(64);
    let throughput: Vec<Series> = sizes
        .iter()
        .map(|&items| {
            let mut points: Vec<(f64, f64)> = outcomes
                .iter()
                .filter(|o| o.dim == dim && o.items == items)
                .map(|o| (o.concurrency as f64, o.throughput_qps))
                .collect();
            points.sort_by(|a, b| a.0.total_cmp(&b.0));
            Series {
                label: format!("{items} items"),
                points,
                dashed: false,
            }
        })
        .collect();
    draw(
        &dir.join("throughput.svg"),
        &format!("Throughput, d={dim}"),
        ("concurrent clients", "queries per second"),
        &throughput,
    )
}

/// The fidelity study as one plot: for each dimension and scale scheme, the share of users whose
/// top 10 differs from float32's (floored at 0.1%, the resolution of a few hundred users)
/// against the response bytes per item of the precision as built (the precisions veilrank
/// carries, global scales), or, when none was costed, against the bits a score needs.
pub fn fidelity(path: &Path, rows: &[crate::fidelity::Fidelity]) -> Result<(), String> {
    let by_bytes = rows.iter().any(|r| r.cost.is_some());
    let x = |r: &crate::fidelity::Fidelity| match (&r.cost, by_bytes) {
        (Some(c), true) => Some(c.response_bytes_per_item),
        (None, true) => None,
        (_, false) => Some(r.score_bits),
    };
    let mut keys: Vec<(usize, crate::fidelity::Scales)> =
        rows.iter().map(|r| (r.dim, r.precision.scales)).collect();
    keys.dedup();
    keys.sort_by_key(|&(dim, scales)| (std::cmp::Reverse(dim), scales.name()));
    keys.dedup();
    let series: Vec<Series> = keys
        .iter()
        .map(|&(dim, scales)| {
            let mut points: Vec<(f64, f64)> = rows
                .iter()
                .filter(|r| r.dim == dim && r.precision.scales == scales)
                .filter_map(|r| Some((x(r)?, (1.0 - r.top10_set_equal).max(1e-3))))
                .collect();
            points.sort_by(|a, b| a.0.total_cmp(&b.0));
            Series {
                label: format!("d={dim} {}", scales.name()),
                points,
                dashed: scales != crate::fidelity::Scales::Global,
            }
        })
        .filter(|s| !s.points.is_empty())
        .collect();
    draw(
        path,
        "Users whose top 10 differs from float32's",
        (
            if by_bytes {
                "response bytes per item"
            } else {
                "bits per score"
            },
            "share of users",
        ),
        &series,
    )
}
