use super::*;
use crate::params::V1_128;

fn exact(prime: ServerPrime, items: usize) -> Hint {
    let q = prime.modulus();
    let n = V1_128.polynomial_size;
    let values: Vec<u64> = (0..(items.div_ceil(n) * n) as u64)
        .map(|i| (i.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 3) % q)
        .map(|v| match prime {
            // a crt54 transform value is a word of residues
            ServerPrime::Crt54 => crate::ntt::crt::split(v),
            _ => v,
        })
        .collect();
    Hint::try_new(&V1_128, prime, 4, items, values).unwrap()
}

/// Every rounded coefficient is within half a step of `H_b 2^t / q`, modulo 2^t: checked in
/// exact integers from the transforms' inverses, so the rounding, the lift into Z_q and the
/// transform back are all covered.
#[test]
fn rounded_coefficients_are_within_half_a_step_of_the_exact_ones() {
    for prime in crate::ntt::SERVER_PRIMES {
        let hint = exact(prime, 3000);
        let (q, plan) = (prime.modulus(), prime.plan());
        for bits in [1, 20, 31, max_hint_bits(&V1_128, prime)] {
            let rounded = hint.rounded(&V1_128, bits).unwrap();
            assert_eq!(rounded.rounding(), Some(bits));
            assert_eq!(rounded.id(), hint.id());
            for b in 0..2 {
                let (mut x, mut r) = (hint.block(b).to_vec(), rounded.block(b).to_vec());
                plan.inv(&mut x);
                plan.inv(&mut r);
                let modulus = i128::from(q) << bits;
                for (&x, &r) in x.iter().zip(&r) {
                    let centred = if r > q / 2 {
                        i128::from(r) - i128::from(q)
                    } else {
                        i128::from(r)
                    };
                    assert!(
                        centred.abs() <= 1 << (bits - 1),
                        "{prime:?} {bits}: {centred}"
                    );
                    // h' q - x 2^t, modulo 2^t q, within q / 2 of zero
                    let gap =
                        (centred * i128::from(q) - (i128::from(x) << bits)).rem_euclid(modulus);
                    let gap = gap.min(modulus - gap);
                    assert!(gap <= i128::from(q / 2), "{prime:?} {bits}: gap {gap}");
                }
            }
        }
    }
}

#[test]
fn the_message_round_trips_at_its_width_and_keeps_the_exact_id() {
    let hint = exact(ServerPrime::Ifma50, 2049);
    for bits in [17, 31, 39] {
        let message = hint.to_rounded_message(&V1_128, bits).unwrap();
        assert_eq!(message.values.len(), bitpack::packed_len(2 * 2048, bits));
        assert_eq!(message.id, hint.id());
        let back = Hint::from_rounded_message(&V1_128, message).unwrap();
        assert_eq!(back, hint.rounded(&V1_128, bits).unwrap());
        assert_ne!(back, hint);
    }
}

#[test]
fn malformed_rounded_hints_are_refused() {
    let hint = exact(ServerPrime::Ifma50, 10);
    let widest = max_hint_bits(&V1_128, ServerPrime::Ifma50);
    assert_eq!(widest, 39);
    assert_eq!(max_hint_bits(&V1_128, ServerPrime::Wide62), 51);
    for bits in [0, widest + 1] {
        assert!(hint.rounded(&V1_128, bits).is_err());
        assert!(hint.to_rounded_message(&V1_128, bits).is_err());
    }
    let rounded = hint.rounded(&V1_128, 30).unwrap();
    // rounded once only; no exact message from it; parts of a gateway are exact
    assert!(rounded.rounded(&V1_128, 20).is_err());
    assert!(rounded.to_message().is_err());
    assert!(Hint::join(&V1_128, vec![rounded]).is_err());

    let message = || hint.to_rounded_message(&V1_128, 30).unwrap();
    let mut wide = message();
    wide.bits = 60;
    let mut foreign = message();
    foreign.modulus = 12289;
    let mut short = message();
    short.values.pop();
    // a huge item count with few bytes is an error, not a huge allocation
    let mut huge = message();
    huge.items = u32::MAX;
    let mut no_dim = message();
    no_dim.dim = 0;
    for (what, bad) in [
        ("width", wide),
        ("modulus", foreign),
        ("length", short),
        ("items", huge),
        ("dimension", no_dim),
    ] {
        assert!(
            Hint::from_rounded_message(&V1_128, bad).is_err(),
            "{what} accepted"
        );
    }
}
