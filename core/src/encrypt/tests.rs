//! The encryption against tfhe's own, and its inputs' checks.

use super::*;
use crate::params::V1_128;
use proptest::prelude::*;
use tfhe::core_crypto::commons::math::random::{CompressionSeed, Seed};
use tfhe::core_crypto::prelude::{
    encrypt_seeded_glwe_ciphertext_list, CiphertextModulus, GlweCiphertextCount, GlweSize,
    PlaintextList, PolynomialSize, SeededGlweCiphertextList, Seeder, TUniform,
};

/// Hands tfhe a chosen noise seed.
struct Fixed(Seed);

impl Seeder for Fixed {
    fn seed(&mut self) -> Seed {
        self.0
    }

    fn is_available() -> bool {
        true
    }
}

#[test]
fn the_primes_have_plans_and_their_product_holds_every_product() {
    assert!(plans(V1_128.polynomial_size).is_ok());
    let product: u128 = PRIMES.iter().map(|&p| u128::from(p)).product();
    // |A S| < N 2^64 on either side of zero
    assert!(product > (2 * V1_128.polynomial_size as u128) << 64);
}

/// The same ciphertext as tfhe's seeded encryption, bit for bit, for the same secret, the
/// same public mask seed and the same noise seed.
#[test]
fn bodies_are_tfhes_encryption() {
    let key = SecretKey::generate(&V1_128).unwrap();
    let secret = key.query_secret(42);
    let n = V1_128.polynomial_size;
    let dim = 5;
    let values: Vec<i8> = vec![127, -127, 0, 3, -1];
    let noise_seeds: Vec<u128> = (0..dim as u128).map(|i| 0xDEAD_BEEF * (i + 1)).collect();
    let encryptor = Encryptor::new(&V1_128, dim).unwrap();
    let wide: Vec<i32> = values.iter().map(|&v| i32::from(v)).collect();
    let ours = encryptor.bodies(&secret, &wide, &noise_seeds).unwrap();
    let delta_log2 = V1_128.delta_log2(dim).unwrap();
    for i in 0..dim {
        let mut plaintext = vec![0u64; n];
        plaintext[0] = (i64::from(values[i]) as u64) << delta_log2;
        let mut ct = SeededGlweCiphertextList::new(
            0u64,
            GlweSize(2),
            PolynomialSize(n),
            GlweCiphertextCount(1),
            CompressionSeed::from(Seed(public_seed(&V1_128, i))),
            CiphertextModulus::new_native(),
        );
        encrypt_seeded_glwe_ciphertext_list(
            secret.tfhe_key(),
            &mut ct,
            &PlaintextList::from_container(plaintext),
            TUniform::<u64>::new(V1_128.noise_bound_log2),
            &mut Fixed(Seed(noise_seeds[i])),
        );
        assert_eq!(&ours[i * n..][..n], ct.as_ref(), "feature {i}");
    }
}

proptest! {
    #[test]
    fn reconstruction_is_exact_in_the_centred_range(x in -(1i128 << 88)..(1i128 << 88)) {
        let residue = |p: u32| x.rem_euclid(i128::from(p)) as u32;
        let got = reconstruct(residue(PRIMES[0]), residue(PRIMES[1]), residue(PRIMES[2]));
        prop_assert_eq!(got, x as u64);
    }

    #[test]
    fn t_uniform_stays_in_its_range(bytes in any::<[u8; 3]>()) {
        let x = t_uniform(&bytes, 17) as i64;
        prop_assert!((-(1 << 17)..=(1 << 17)).contains(&x));
    }
}

#[test]
fn wrong_shapes_are_errors() {
    let key = SecretKey::generate(&V1_128).unwrap();
    let encryptor = Encryptor::new(&V1_128, 4).unwrap();
    assert!(matches!(
        encryptor.encrypt(&key, &[1i8, 2, 3]),
        Err(Error::DimensionMismatch {
            expected: 4,
            found: 3
        })
    ));
    assert!(matches!(
        encryptor.encrypt(&key, &[1, 128, 0, 0]),
        Err(Error::ValueOutOfRange {
            index: 1,
            value: 128,
            bound: 127
        })
    ));
    assert!(Encryptor::new(&V1_128, 0).is_err());
    let other = ParameterSet {
        name: "other",
        ..V1_128
    };
    let foreign = Encryptor::new(&other, 4).unwrap();
    assert!(matches!(
        foreign.encrypt(&key, &[1, 2, 3, 4]),
        Err(Error::InvalidKey(_))
    ));
}
