//! A catalog cut in shards of whole blocks: each shard's responses and hint, joined in block
//! order, are byte for byte the whole catalog's, and decrypt to the plaintext scores.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use veilrank_core::hint::Hint;
use veilrank_core::noise::CatalogNoiseStats;
use veilrank_core::{plain, Query, SecretKey, V1_128};
use veilrank_engine::{Pins, PreparedCatalog, Shard, Whole};

#[test]
fn shards_join_into_the_whole_catalog() {
    let mut rng = ChaCha8Rng::seed_from_u64(19);
    let n = V1_128.polynomial_size;
    let dim = 8;
    let items = 5 * n / 2 + 7;
    let mut values: Vec<i8> = (0..items * dim)
        .map(|_| rng.random_range(-40i8..=40))
        .collect();
    // one extreme item in the last shard only: the plan (prime, width) must still be the
    // whole catalog's in every shard
    for v in &mut values[(items - 1) * dim..] {
        *v = 127;
    }
    let whole = PreparedCatalog::prepare(&V1_128, dim, &values).unwrap();
    let key = SecretKey::generate(&V1_128).unwrap();
    let preferences: Vec<i8> = (0..dim).map(|_| rng.random_range(-127i8..=127)).collect();
    let query = Query::encrypt(&key, &preferences).unwrap();
    let expected = whole.score(&query).unwrap();
    let plaintext = plain::scores(&values, dim, &preferences);
    for count in 1..=3 {
        let mut blocks = Vec::new();
        let mut hints = Vec::new();
        let mut first = 0;
        for index in 0..count {
            let shard = Shard::try_new(index, count).unwrap();
            let part = PreparedCatalog::prepare_shard(
                &V1_128,
                dim,
                &values,
                shard,
                Pins::NONE,
                &|_, _| {},
            )
            .unwrap();
            assert_eq!(part.noise_plan(), whole.noise_plan(), "shard {shard}");
            assert_eq!(part.first_item(), first);
            assert_eq!(part.catalog_items(), items);
            first += part.items();
            let response = part.score(&query).unwrap();
            // the same shard from its part alone (a split catalog): the same bytes
            let whole_facts = Whole {
                items,
                stats: CatalogNoiseStats::of_catalog(&V1_128, dim, &values),
            };
            let own = &values[part.first_item() * dim..(part.first_item() + part.items()) * dim];
            let alone = PreparedCatalog::prepare_part(
                &V1_128,
                dim,
                own,
                shard,
                &whole_facts,
                Pins::NONE,
                &|_, _| {},
            )
            .unwrap();
            assert_eq!(alone.score(&query).unwrap().blocks, response.blocks);
            assert_eq!(alone.hint(), part.hint());
            // a part of the wrong size for its shard is refused
            let short = &own[..own.len() - dim];
            assert!(PreparedCatalog::prepare_part(
                &V1_128,
                dim,
                short,
                shard,
                &whole_facts,
                Pins::NONE,
                &|_, _| {}
            )
            .is_err());
            assert_eq!(response.items as usize, part.items());
            assert_eq!(response.hint, part.hint().id());
            blocks.extend(response.blocks);
            hints.push(part.hint().clone());
        }
        assert_eq!(first, items);
        assert_eq!(blocks, expected.blocks, "{count} shards");
        let hint = Hint::join(&V1_128, hints).unwrap();
        assert_eq!(&hint, whole.hint(), "{count} shards");
        let mut joined = expected.clone();
        joined.blocks = blocks;
        assert_eq!(joined.decrypt(&key, &hint, items).unwrap(), plaintext);
    }
    // more shards than blocks is refused, not served with an empty part
    let shard = Shard::try_new(3, 4).unwrap();
    assert!(
        PreparedCatalog::prepare_shard(&V1_128, dim, &values, shard, Pins::NONE, &|_, _| {})
            .is_err()
    );
}
