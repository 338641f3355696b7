//! Every kernel against u128 arithmetic, on the stores they score.

use super::*;
use veilrank_core::ntt::crt;

/// Scores `blocks` blocks of `dim` polynomials against a batch of `count` queries (two per
/// slot, the last slot one where `count` is odd) on `kernel`'s store, and checks every coefficient
/// against a direct computation mod q in u128.
fn check(
    kernel: Kernel,
    prime: ServerPrime,
    dim: usize,
    n: usize,
    blocks: usize,
    count: usize,
    value: &dyn Fn(usize) -> u64,
) {
    let batch = count.div_ceil(2);
    // per block, feature-major polynomials
    let polys: Vec<Vec<u64>> = (0..blocks)
        .map(|k| (0..dim * n).map(|i| value(i + k * dim * n + 1)).collect())
        .collect();
    // per slot, two queries' feature-major bodies
    let queries: Vec<[Vec<u64>; 2]> = (0..batch)
        .map(|j| {
            [0, 1].map(|h| {
                (0..dim * n)
                    .map(|i| value(i + 7_777 * (2 * j + h + 1)))
                    .collect()
            })
        })
        .collect();
    // an odd batch's last slot holds one query, as a pass's does: its second output is zero
    let alone = |j: usize| count % 2 == 1 && j + 1 == batch;
    let mut expected = vec![0u64; batch * blocks * 2 * n];
    for (j, [first, second]) in queries.iter().enumerate() {
        for (k, block) in polys.iter().enumerate() {
            let e = &mut expected[(j * blocks + k) * 2 * n..];
            for x in 0..n {
                let bodies = if alone(j) { 1 } else { 2 };
                for (h, body) in [first, second].into_iter().take(bodies).enumerate() {
                    let pairs = (0..dim).map(|i| (block[i * n + x], body[i * n + x]));
                    e[h * n + x] = dot(prime, pairs);
                }
            }
        }
    }
    let values = blocks * dim * n;
    let mut store = Store::new(kernel, prime, values);
    assert_eq!(
        store.kernel(),
        kernel,
        "{kernel} runs here and covers {prime:?}"
    );
    for mut superblock in store.superblocks_mut(values) {
        for (k, block) in polys.iter().enumerate() {
            superblock.put_block(block, dim, n, k);
        }
    }
    let slots: Vec<Tiles> = queries
        .iter()
        .enumerate()
        .map(|(j, [first, second])| store.slot(first, (!alone(j)).then_some(second), dim, n))
        .collect();
    let refs: Vec<&[u64]> = slots.iter().map(|s| s.as_slice()).collect();
    let mut tiled = vec![1u64; batch * blocks * 2 * n];
    let shape = Shape { blocks, dim, n };
    for superblock in store.superblocks(values) {
        superblock.score(&refs, count, shape, &mut tiled);
    }
    let mut acc = vec![0u64; batch * blocks * 2 * n];
    for (j, out) in acc.chunks_exact_mut(blocks * 2 * n).enumerate() {
        kernel::untile(&tiled, shape, j, out);
    }
    assert_eq!(
        acc, expected,
        "{kernel} {prime:?}, d = {dim}, {blocks} blocks, {count} queries"
    );
}

/// `sum v x` in the transform domain of `prime`, in u128: mod q, or per residue for `crt54`.
fn dot(prime: ServerPrime, pairs: impl Iterator<Item = (u64, u64)>) -> u64 {
    let sum = |p: u64, pairs: &[(u64, u64)]| -> u64 {
        let p = u128::from(p);
        (pairs
            .iter()
            .map(|&(v, x)| u128::from(v) * u128::from(x) % p)
            .sum::<u128>()
            % p) as u64
    };
    let pairs: Vec<(u64, u64)> = pairs.collect();
    match prime {
        ServerPrime::Crt54 => {
            let (low, high): (Vec<_>, Vec<_>) = pairs
                .iter()
                .map(|&(v, x)| {
                    let ((v1, v2), (x1, x2)) = (crt::residues(v), crt::residues(x));
                    (
                        (u64::from(v1), u64::from(x1)),
                        (u64::from(v2), u64::from(x2)),
                    )
                })
                .unzip();
            crt::word(
                sum(crt::P1.into(), &low) as u32,
                sum(crt::P2.into(), &high) as u32,
            )
        }
        _ => sum(prime.modulus(), &pairs),
    }
}

/// Values for `prime`'s transform domain: `at(i)` below the modulus, as a word of residues for
/// `crt54`.
fn transform_value(prime: ServerPrime, at: u64) -> u64 {
    match prime {
        ServerPrime::Crt54 => crt::split(at),
        _ => at,
    }
}

/// The kernels this CPU runs for `prime`, saying which it cannot.
fn kernels_here(test: &str, prime: ServerPrime) -> Vec<Kernel> {
    Kernel::ALL
        .into_iter()
        .filter(|k| k.covers(prime))
        .filter(|k| {
            k.runs_here() || {
                kernel::skipped(&format!("{test} ({k} kernel)"), k.name());
                false
            }
        })
        .collect()
}

/// Every kernel this CPU has, every register-blocking shape and superblock size (odd
/// remainders of slots and blocks included), against u128 arithmetic.
#[test]
fn every_kernel_scores_exactly() {
    let (dim, n) = (5usize, 64usize);
    for prime in veilrank_core::ntt::SERVER_PRIMES {
        let q = prime.modulus();
        // the largest values first: a packing that dropped a high bit would show
        let value = |i: usize| match i % 7 {
            0 => transform_value(prime, q - 1),
            1 if prime == ServerPrime::Crt54 => crt::word(crt::P1 - 1, crt::P2 - 1),
            _ => transform_value(
                prime,
                ((i as u128 * 0x9E37_79B9_7F4A_7C15u128) % u128::from(q)) as u64,
            ),
        };
        for kernel in kernels_here("every_kernel_scores_exactly", prime) {
            println!("every_kernel_scores_exactly: {kernel} kernel, {prime:?}");
            // every register block of the kernels, the slots of the last one full or not: one
            // to eight queries (up to four slots), and more
            for (blocks, queries) in [
                (1, 1),
                (3, 1),
                (9, 1),
                (1, 2),
                (3, 3),
                (3, 4),
                (2, 5),
                (2, 6),
                (4, 7),
                (3, 8),
                (7, 9),
                (16, 3),
            ] {
                check(kernel, prime, dim, n, blocks, queries, &value);
            }
        }
    }
}

/// The largest lazy sums each kernel can meet: d = 1024 features of q - 1 on both sides, and
/// of the value with the widest sum of halves; under `crt54`, of the largest residues, and of
/// each residue largest with the other zero.
#[test]
fn every_kernel_is_exact_on_worst_case_values() {
    let q = ServerPrime::Ifma50.modulus();
    let widest = ((((q - 1) >> 25) - 1) << 25) | ((1 << 25) - 1);
    let (p1, p2) = (crt::P1 - 1, crt::P2 - 1);
    let cases = [
        (ServerPrime::Ifma50, vec![q - 1, widest]),
        (
            ServerPrime::Crt54,
            vec![crt::word(p1, p2), crt::word(p1, 0), crt::word(0, p2)],
        ),
    ];
    for (prime, tops) in cases {
        for kernel in kernels_here("every_kernel_is_exact_on_worst_case_values", prime) {
            println!("every_kernel_is_exact_on_worst_case_values: {kernel} kernel, {prime:?}");
            for &top in &tops {
                // every shape of register block: 1 to 4 queries of one or two slots
                for queries in 1..=4 {
                    check(kernel, prime, 1024, 16, 2, queries, &|_| top);
                }
                check(kernel, prime, 1, 8, 3, 1, &|_| top);
            }
        }
    }
}

#[test]
fn each_store_holds_its_bytes_per_value() {
    let wide = Store::new(Kernel::Ifma, ServerPrime::Wide62, 64);
    assert_eq!(
        wide.kernel(),
        Kernel::Portable,
        "no lazy kernel covers wide62"
    );
    assert_eq!(wide.bytes(), 64 * 8);
    for prime in [ServerPrime::Ifma50, ServerPrime::Crt54] {
        for kernel in kernels_here("each_store_holds_its_bytes_per_value", prime) {
            let store = Store::new(kernel, prime, 64);
            assert_eq!(store.kernel(), kernel);
            let per_value = if kernel == Kernel::Ifma { 7 } else { 8 };
            assert_eq!(store.bytes(), 64 * per_value, "{kernel} {prime:?}");
        }
    }
}

#[test]
fn the_best_kernel_runs_here() {
    for prime in veilrank_core::ntt::SERVER_PRIMES {
        let best = Kernel::best(prime);
        assert!(best.runs_here() && best.covers(prime));
        assert_eq!(Store::new(best, prime, 8).kernel(), best);
        // every faster kernel is missing or out of bounds
        for faster in Kernel::ALL.into_iter().take_while(|&k| k != best) {
            assert!(faster.check(prime).is_err(), "{faster} before {best}");
        }
        println!("{prime:?}: the {best} kernel");
    }
    assert_eq!(Kernel::best(ServerPrime::Wide62), Kernel::Portable);
    for kernel in Kernel::ALL {
        assert_eq!(kernel.name().parse::<Kernel>(), Ok(kernel));
    }
    assert!("sse".parse::<Kernel>().is_err());
}
