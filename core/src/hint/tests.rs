use super::*;
use crate::params::V1_128;

#[test]
fn public_seeds_differ_per_feature_and_parameter_set() {
    let seeds: std::collections::HashSet<u128> = (0..V1_128.max_dim)
        .map(|i| public_seed(&V1_128, i))
        .collect();
    assert_eq!(seeds.len(), V1_128.max_dim);
    let other = ParameterSet {
        name: "other",
        ..V1_128
    };
    assert_ne!(public_seed(&V1_128, 0), public_seed(&other, 0));
    assert_eq!(public_seed(&V1_128, 3), public_seed(&V1_128, 3));
}

/// `count` reduced transform-domain values under `prime`, spread over their range, the
/// largest first.
fn reduced_values(prime: ServerPrime, count: u64) -> Vec<u64> {
    let q = prime.modulus();
    (0..count)
        .map(|i| (i * 0x9E37_79B9 + q - 1) % q)
        .map(|v| match prime {
            ServerPrime::Crt54 => crate::ntt::crt::split(v),
            _ => v,
        })
        .collect()
}

#[test]
fn the_message_round_trips_and_the_id_follows_the_content() {
    for prime in crate::ntt::SERVER_PRIMES {
        let values = reduced_values(prime, 2 * 2048);
        let hint = Hint::try_new(&V1_128, prime, 4, 3000, values.clone()).unwrap();
        let message = hint.to_message().unwrap();
        assert_eq!(message.values.len(), 2 * 2048 * Hint::value_bytes(prime));
        let back = Hint::from_message(&V1_128, message).unwrap();
        assert_eq!(back, hint, "{prime:?}");
        let mut changed = values;
        changed[5] ^= 1;
        let other = Hint::try_new(&V1_128, prime, 4, 3000, changed).unwrap();
        assert_ne!(other.id(), hint.id());
    }
}

#[test]
fn crt_values_must_have_both_residues_reduced() {
    use crate::ntt::crt::{word, P1, P2};
    let prime = ServerPrime::Crt54;
    for bad in [word(P1, 0), word(0, P2), u64::MAX] {
        let mut values = reduced_values(prime, 2048);
        values[7] = bad;
        let err = Hint::try_new(&V1_128, prime, 4, 10, values.clone()).unwrap_err();
        assert!(err.to_string().contains("value 7 is not reduced"), "{err}");
        // from the network too: the message of a valid hint with one word changed
        let mut message = Hint::try_new(&V1_128, prime, 4, 10, reduced_values(prime, 2048))
            .unwrap()
            .to_message()
            .unwrap();
        message.values[7 * 8..][..8].copy_from_slice(&bad.to_le_bytes());
        assert!(Hint::from_message(&V1_128, message).is_err());
    }
}

#[test]
fn parts_join_into_the_whole_and_refuse_partial_blocks() {
    let prime = ServerPrime::Ifma50;
    let q = prime.modulus();
    let values: Vec<u64> = (0..3 * 2048u64).map(|i| (i * 0x9E37_79B9) % q).collect();
    let whole = Hint::try_new(&V1_128, prime, 4, 5000, values.clone()).unwrap();
    let a = Hint::try_new(&V1_128, prime, 4, 4096, values[..4096].to_vec()).unwrap();
    let b = Hint::try_new(&V1_128, prime, 4, 904, values[4096..].to_vec()).unwrap();
    let joined = Hint::join(&V1_128, vec![a.clone(), b.clone()]).unwrap();
    assert_eq!(joined, whole);
    assert_eq!(joined.id(), whole.id());
    // out of order, a partial block before the end, another dimension
    assert!(Hint::join(&V1_128, vec![b.clone(), a.clone()]).is_err());
    let other_dim = Hint::try_new(&V1_128, prime, 5, 904, values[4096..].to_vec()).unwrap();
    assert!(Hint::join(&V1_128, vec![a, other_dim]).is_err());
    assert!(Hint::join(&V1_128, Vec::new()).is_err());
}

#[test]
fn malformed_hints_are_rejected() {
    let prime = ServerPrime::Ifma50;
    let q = prime.modulus();
    assert!(Hint::try_new(&V1_128, prime, 4, 3000, vec![0; 2048]).is_err());
    assert!(Hint::try_new(&V1_128, prime, 4, 3000, vec![q; 4096]).is_err());
    let mut message = Hint::try_new(&V1_128, prime, 4, 10, vec![1; 2048])
        .unwrap()
        .to_message()
        .unwrap();
    message.modulus = 12289;
    assert!(Hint::from_message(&V1_128, message).is_err());
    // a huge item count with few bytes is an error, not a huge allocation (nor an overflow)
    for (items, says) in [(1 << 20, "items need"), (u32::MAX, "more than a catalog")] {
        let mut message = Hint::try_new(&V1_128, prime, 4, 10, vec![1; 2048])
            .unwrap()
            .to_message()
            .unwrap();
        message.items = items;
        assert!(matches!(
            Hint::from_message(&V1_128, message),
            Err(Error::Malformed(m)) if m.contains(says)
        ));
    }
}
