//! The fidelity numbers on cases computed by hand.

use super::*;

/// Item `i` of 12 is `[i / 11, 0]`; the user `[1, 0]` ranks them 11, 10, ..., 0.
fn ramp() -> (Matrix, Matrix) {
    let items = (0..12).flat_map(|i| [i as f32 / 11.0, 0.0]).collect();
    (
        Matrix::try_new(2, items).unwrap(),
        Matrix::try_new(2, vec![1.0, 0.0]).unwrap(),
    )
}

fn global(bits: u32) -> Precision {
    Precision {
        catalog_bits: bits,
        query_bits: bits,
        scales: Scales::Global,
    }
}

#[test]
fn two_bits_keep_eight_of_the_best_ten() {
    let (items, users) = ramp();
    let f = measure(&items, &users, global(2)).unwrap();
    // values round(i / 11) in {0, 1}: items 6..=11 score 1 and the rest 0, so the top 10 by
    // score then position is 6..=11, 0..=3 where float32's is 11..=2: 8 in common
    assert_eq!(f.top10_set_equal, 0.0);
    assert_eq!(f.top10_order_equal, 0.0);
    assert_eq!(f.recall_at_10, 0.8);
    assert_eq!(f.recall_at_100, 1.0, "all 12 items in both top 100s");
    // float32 scores i / 11: the best ten sum to 65 / 11, the quantized ten to 57 / 11 (within
    // the rounding of i / 11 to float32)
    assert!(
        (f.score_loss_at_10 - 8.0 / 65.0).abs() < 1e-6,
        "{}",
        f.score_loss_at_10
    );
    // 2 d (2^1 - 1)^2 + 1 = 5 values of a score at d = 2
    assert!((f.score_bits - 5f64.log2()).abs() < 1e-12);
    let row = table(&[f]);
    assert!(
        row.contains("global") && row.contains("2/2") && row.contains("0.8000"),
        "{row}"
    );
}

#[test]
fn bits_parse_as_both_sides_or_catalog_over_query() {
    assert_eq!(parse_bits("12"), Ok((12, 12)));
    assert_eq!(parse_bits("12/8"), Ok((12, 8)));
    assert!(parse_bits("40").unwrap_err().contains("2 to 24"));
    assert!(parse_bits("8/x").is_err());
}

#[test]
fn sixteen_bits_rank_the_ramp_exactly() {
    let (items, users) = ramp();
    let f = measure(&items, &users, global(16)).unwrap();
    assert_eq!(
        (f.top10_set_equal, f.top10_order_equal, f.recall_at_10),
        (1.0, 1.0, 1.0)
    );
    assert_eq!(f.score_loss_at_10, 0.0);
}

/// Dimension 0 is 1.0 for every item and dimension 1 is `i / 1000`: one global scale of 8 bits
/// leaves dimension 1 at most 1.4 units (0 for items 0..=3, 1 for 4..=11), a scale of its own
/// the full 127.
#[test]
fn per_dimension_scales_rescue_a_narrow_dimension() {
    let items = (0..12).flat_map(|i| [1.0, i as f32 / 1000.0]).collect();
    let items = Matrix::try_new(2, items).unwrap();
    let users = Matrix::try_new(2, vec![0.0, 1.0]).unwrap();
    let global = measure(&items, &users, global(8)).unwrap();
    // top 10 by score then position: 4..=11, 0, 1 against float32's 11..=2
    assert_eq!(global.recall_at_10, 0.8);
    let per_dim = measure(
        &items,
        &users,
        Precision {
            scales: Scales::PerDimension,
            ..global.precision
        },
    )
    .unwrap();
    assert_eq!(
        (per_dim.top10_set_equal, per_dim.top10_order_equal),
        (1.0, 1.0)
    );
}

#[test]
fn ties_rank_by_position_and_top_takes_the_best() {
    let scores = [1.0, 3.0, 3.0, 2.0, -1.0];
    assert_eq!(top(&scores, 3), vec![1, 2, 3]);
    assert_eq!(top(&scores, 10), vec![1, 2, 3, 0, 4]);
}

#[test]
fn bad_inputs_say_what_is_wrong() {
    let (items, _) = ramp();
    let three = Matrix::try_new(3, vec![1.0; 3]).unwrap();
    assert!(measure(&items, &three, global(8))
        .unwrap_err()
        .contains("3 dimensions"));
    assert!(measure(&items, &items, global(1))
        .unwrap_err()
        .contains("bits"));
    assert!(Matrix::try_new(2, vec![1.0; 3]).is_err());
    assert!(Matrix::try_new(2, vec![1.0, f32::NAN])
        .unwrap_err()
        .contains("row 0"));
}

#[test]
fn the_plot_draws_one_line_per_dimension_and_scheme() {
    let (items, users) = ramp();
    let rows: Vec<Fidelity> = [2, 4, 8]
        .into_iter()
        .flat_map(|bits| {
            [Scales::Global, Scales::PerDimension].map(|scales| {
                measure(
                    &items,
                    &users,
                    Precision {
                        scales,
                        ..global(bits)
                    },
                )
                .unwrap()
            })
        })
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("fidelity.svg");
    crate::plots::fidelity(&path, &rows).unwrap();
    let svg = std::fs::read_to_string(&path).unwrap();
    assert!(svg.contains("<svg"), "not an SVG document");
    assert!(svg.contains("d=2 global") && svg.contains("d=2 per-dimension"));
}

/// The cost columns on the ramp: rows per item, bytes as limbs times the plan's width, the
/// server's encrypted scores checked against the plaintext ones, and precisions veilrank does
/// not carry left out.
#[test]
fn costs_follow_the_limbs_and_the_plan() {
    let (items, users) = ramp();
    let narrow = cost::measure(&items, users.row(0), 8, 8, Some(1))
        .unwrap()
        .unwrap();
    let wide = cost::measure(&items, users.row(0), 12, 10, Some(1))
        .unwrap()
        .unwrap();
    assert_eq!((narrow.limbs, wide.limbs), (1, 2));
    for c in [&narrow, &wide] {
        assert_eq!(
            c.response_bytes_per_item,
            (c.limbs as u32 * c.response_bits) as f64 / 8.0
        );
        assert!(c.server_ms.is_some_and(|ms| ms > 0.0));
        // the rounded hint: a few bits more than the plaintext's, far from the exact 7 bytes
        assert_eq!(
            c.hint_bytes_per_item,
            (c.limbs as u32 * c.hint_bits) as f64 / 8.0
        );
        assert!((24..40).contains(&c.hint_bits), "{}", c.hint_bits);
    }
    assert!(cost::measure(&items, users.row(0), 8, 8, None)
        .unwrap()
        .unwrap()
        .server_ms
        .is_none());
    // 2 bits are not a veilrank precision
    assert!(cost::measure(&items, users.row(0), 2, 2, None)
        .unwrap()
        .is_none());
}

/// Item `i` of 12 is `[i / 1100, 0]` for `i < 6` and `[i / 11, 0]` above: one global scale of 8
/// bits rounds items 0..=5 to 0 (their order lost); a scale per item keeps every item at 127 in
/// dimension 0, so the client's `score * scale` is `127 * max|v_i| * q`, the float order.
#[test]
fn per_item_scales_rescue_small_items() {
    let items = (0..12)
        .flat_map(|i| {
            [
                if i < 6 {
                    i as f32 / 1100.0
                } else {
                    i as f32 / 11.0
                },
                0.0,
            ]
        })
        .collect();
    let items = Matrix::try_new(2, items).unwrap();
    let users = Matrix::try_new(2, vec![1.0, 0.0]).unwrap();
    let global = measure(&items, &users, global(8)).unwrap();
    // float32's top 10 is 11..=2; the global scale ties 0..=5 at 0, so 0 and 1 come before 2, 3
    assert_eq!(global.top10_order_equal, 0.0);
    let per_item = measure(
        &items,
        &users,
        Precision {
            scales: Scales::PerItem,
            ..global.precision
        },
    )
    .unwrap();
    assert_eq!(
        (per_item.top10_set_equal, per_item.top10_order_equal),
        (1.0, 1.0)
    );
}
