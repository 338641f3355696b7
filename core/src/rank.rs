//! Ranking decrypted scores, on the client.
//!
//! Order: higher score first; equal scores by catalog position, earlier first. The order is
//! total, so a ranking is reproducible from the scores alone.

use std::cmp::Ordering;

/// The positions of the `k` best scores, best first (all of them when `k >= scores.len()`).
///
/// Linear time selection, then a sort of the `k` selected.
pub fn top_k(scores: &[i32], k: usize) -> Vec<usize> {
    let order = |&a: &usize, &b: &usize| -> Ordering { scores[b].cmp(&scores[a]).then(a.cmp(&b)) };
    let mut positions: Vec<usize> = (0..scores.len()).collect();
    if k == 0 {
        return Vec::new();
    }
    if k < positions.len() {
        positions.select_nth_unstable_by(k - 1, order);
        positions.truncate(k);
    }
    positions.sort_unstable_by(order);
    positions
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn matches_a_full_stable_sort(scores in proptest::collection::vec(-5i32..5, 0..300), k in 0usize..320) {
            let mut expected: Vec<usize> = (0..scores.len()).collect();
            expected.sort_by(|&a, &b| scores[b].cmp(&scores[a])); // stable: ties by position
            expected.truncate(k);
            prop_assert_eq!(top_k(&scores, k), expected);
        }
    }

    #[test]
    fn ties_go_to_the_earlier_item() {
        assert_eq!(top_k(&[1, 3, 3, 2], 2), vec![1, 2]);
        assert_eq!(top_k(&[], 3), Vec::<usize>::new());
    }
}
