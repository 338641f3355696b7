//! The wire format: round trips, and a typed error for every kind of bad input.

#![expect(clippy::unwrap_used, reason = "in tests a panic is the failure report")]

use proptest::prelude::*;
use veilrank_core::wire::{self, CatalogRef, ContentVersion};
use veilrank_core::{Error, ParameterSet, Query, ReferenceCatalog, SecretKey, V1_128};

fn catalog_ref() -> CatalogRef {
    CatalogRef {
        id: "demo".into(),
        version: ContentVersion([7; 32]),
    }
}

fn small_query(key: &SecretKey, dim: usize) -> Query {
    Query::encrypt(key, &vec![5i8; dim]).unwrap()
}

#[test]
fn query_and_response_round_trip() {
    let key = SecretKey::generate(&V1_128).unwrap();
    let query = small_query(&key, 3);
    let bytes = wire::encode_query(&V1_128, &catalog_ref(), &query).unwrap();
    assert!(bytes.len() <= wire::query_size_limit(&V1_128, 3));
    let back = wire::decode_query(&V1_128, &catalog_ref(), 3, &bytes).unwrap();
    assert_eq!(back, query);

    let catalog = ReferenceCatalog::prepare(&V1_128, 3, &[1i8; 3 * 2050]).unwrap();
    let response = catalog.score(&back).unwrap();
    let bytes = wire::encode_response(&V1_128, &catalog_ref(), &response).unwrap();
    assert!(bytes.len() <= wire::response_size_limit(&V1_128, 2050));
    let back = wire::decode_response(&V1_128, &catalog_ref(), 2050, &bytes).unwrap();
    assert_eq!(
        back.decrypt(&key, catalog.hint(), 2050).unwrap(),
        vec![15; 2050]
    );

    let bytes = wire::encode_hint(&V1_128, &catalog_ref(), catalog.hint()).unwrap();
    assert!(bytes.len() <= wire::hint_size_limit(&V1_128, 2050));
    let hint = wire::decode_hint(&V1_128, &catalog_ref(), 2050, &bytes).unwrap();
    assert_eq!(&hint, catalog.hint());
    assert_eq!(back.decrypt(&key, &hint, 2050).unwrap(), vec![15; 2050]);
}

#[test]
fn bad_hints_are_errors() {
    let catalog = ReferenceCatalog::prepare(&V1_128, 3, &[1i8; 3 * 2050]).unwrap();
    let bytes = wire::encode_hint(&V1_128, &catalog_ref(), catalog.hint()).unwrap();
    let decode = |bytes: &[u8], catalog: &CatalogRef, items| {
        wire::decode_hint(&V1_128, catalog, items, bytes)
    };
    assert!(decode(&bytes, &catalog_ref(), 2050).is_ok());
    // a hint is for exactly one content version
    let other_version = CatalogRef {
        version: ContentVersion([8; 32]),
        ..catalog_ref()
    };
    assert!(matches!(
        decode(&bytes, &other_version, 2050),
        Err(Error::StaleCatalog { .. })
    ));
    // another catalog size: beyond the limit, or the wrong count of values
    assert!(matches!(
        decode(&bytes, &catalog_ref(), 10),
        Err(Error::TooLarge { .. })
    ));
    assert!(decode(&bytes, &catalog_ref(), 4096).is_err());
    assert!(decode(&bytes[..bytes.len() - 1], &catalog_ref(), 2050).is_err());
    // a query is not a hint
    let key = SecretKey::generate(&V1_128).unwrap();
    let query = wire::encode_query(&V1_128, &catalog_ref(), &small_query(&key, 3)).unwrap();
    assert!(decode(&query, &catalog_ref(), 2050).is_err());
    let mut kind = bytes.clone();
    kind[6] = 2;
    assert!(matches!(
        decode(&kind, &catalog_ref(), 2050),
        Err(Error::WrongKind { .. })
    ));
}

#[test]
fn response_parts_are_the_encoded_response_split() {
    let key = SecretKey::generate(&V1_128).unwrap();
    // 1, 2 and 3 blocks, the last one partial or full
    for items in [5usize, 2048, 2049, 3 * 2048] {
        let catalog = ReferenceCatalog::prepare(&V1_128, 2, &vec![3i8; 2 * items]).unwrap();
        let response = catalog.score(&small_query(&key, 2)).unwrap();
        let whole = wire::encode_response(&V1_128, &catalog_ref(), &response).unwrap();
        let blocks = response.blocks.len();
        let parts = wire::encode_response_parts(&V1_128, &catalog_ref(), response).unwrap();
        assert_eq!(parts.len(), blocks + 1, "{items} items");
        assert_eq!(parts.concat(), whole, "{items} items");
    }
    // no blocks at all
    let empty = veilrank_core::Response {
        bits: 20,
        dim: 2,
        items: 0,
        nonce: 0,
        hint: veilrank_core::hint::HintId([0; 16]),
        blocks: Vec::new(),
    };
    let whole = wire::encode_response(&V1_128, &catalog_ref(), &empty).unwrap();
    let parts = wire::encode_response_parts(&V1_128, &catalog_ref(), empty).unwrap();
    assert_eq!(parts, vec![whole]);
}

#[test]
fn every_header_mismatch_has_its_own_error() {
    let key = SecretKey::generate(&V1_128).unwrap();
    let bytes = wire::encode_query(&V1_128, &catalog_ref(), &small_query(&key, 2)).unwrap();
    let decode =
        |bytes: &[u8], catalog: &CatalogRef, dim| wire::decode_query(&V1_128, catalog, dim, bytes);

    assert_eq!(decode(b"GARBAGE!", &catalog_ref(), 2), Err(Error::BadMagic));
    let mut future = bytes.clone();
    future[4] = 9;
    assert!(matches!(
        decode(&future, &catalog_ref(), 2),
        Err(Error::UnsupportedVersion { found: 9, .. })
    ));
    let mut kind = bytes.clone();
    kind[6] = 2;
    assert!(matches!(
        decode(&kind, &catalog_ref(), 2),
        Err(Error::WrongKind { .. })
    ));
    let mut fingerprint = bytes.clone();
    fingerprint[7] ^= 1;
    assert!(matches!(
        decode(&fingerprint, &catalog_ref(), 2),
        Err(Error::FingerprintMismatch { .. })
    ));
    let other_id = CatalogRef {
        id: "other".into(),
        ..catalog_ref()
    };
    assert!(matches!(
        decode(&bytes, &other_id, 2),
        Err(Error::CatalogMismatch { .. })
    ));
    let other_version = CatalogRef {
        version: ContentVersion([8; 32]),
        ..catalog_ref()
    };
    // a query's ciphertext does not depend on the items: any content version is scored
    assert!(decode(&bytes, &other_version, 2).is_ok());
    assert!(matches!(
        decode(&bytes, &catalog_ref(), 3),
        Err(Error::TooLarge { .. }) | Err(Error::DimensionMismatch { .. })
    ));
    assert!(matches!(
        decode(&bytes, &catalog_ref(), 1),
        Err(Error::TooLarge { .. })
    ));
    assert!(matches!(
        decode(&bytes[..bytes.len() - 10], &catalog_ref(), 2),
        Err(Error::Malformed(_))
    ));
    let mut longer = bytes.clone();
    longer.push(0);
    assert!(decode(&longer, &catalog_ref(), 2).is_err());

    let other_params = ParameterSet {
        name: "x",
        ..V1_128
    };
    assert!(matches!(
        wire::decode_query(&other_params, &catalog_ref(), 2, &bytes),
        Err(Error::FingerprintMismatch { .. })
    ));
}

#[test]
fn responses_insist_on_the_content_version_and_headers_can_be_peeked() {
    let key = SecretKey::generate(&V1_128).unwrap();
    let catalog = ReferenceCatalog::prepare(&V1_128, 2, &[1i8; 2 * 5]).unwrap();
    let response = catalog.score(&small_query(&key, 2)).unwrap();
    let bytes = wire::encode_response(&V1_128, &catalog_ref(), &response).unwrap();
    let other_version = CatalogRef {
        version: ContentVersion([8; 32]),
        ..catalog_ref()
    };
    assert!(matches!(
        wire::decode_response(&V1_128, &other_version, 5, &bytes),
        Err(Error::StaleCatalog { .. })
    ));

    let header = wire::peek(&bytes).unwrap();
    assert_eq!(header.catalog, catalog_ref());
    assert_eq!(header.kind, 2);
    assert_eq!(header.fingerprint, V1_128.fingerprint().0);
    let query = wire::encode_query(&V1_128, &other_version, &small_query(&key, 2)).unwrap();
    assert_eq!(wire::peek(&query).unwrap().catalog, other_version);
    assert_eq!(wire::peek(b"VRNK"), Err(Error::BadMagic));
    assert!(matches!(wire::peek(&query[..20]), Err(Error::Malformed(_))));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Arbitrary bytes never panic; they decode to an error (or, by a miracle, a valid query).
    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2000)) {
        let _ = wire::decode_query(&V1_128, &catalog_ref(), 1, &bytes);
        let _ = wire::decode_response(&V1_128, &catalog_ref(), 10, &bytes);
        let _ = wire::peek(&bytes);
    }

    /// A valid message with one byte changed is rejected or decodes to something valid-shaped;
    /// it never panics.
    #[test]
    fn corrupted_messages_never_panic(position in 0usize..12_400, byte in any::<u8>()) {
        let key = SecretKey::generate(&V1_128).unwrap();
        let mut bytes = wire::encode_query(&V1_128, &catalog_ref(), &small_query(&key, 1)).unwrap();
        let position = position % bytes.len();
        bytes[position] = byte;
        if let Ok(query) = wire::decode_query(&V1_128, &catalog_ref(), 1, &bytes) {
            prop_assert_eq!(query.dim, 1);
        }
    }

    #[test]
    fn content_versions_round_trip_through_hex(bytes in any::<[u8; 32]>()) {
        let v = ContentVersion(bytes);
        prop_assert_eq!(ContentVersion::from_hex(&v.to_hex()).unwrap(), v);
    }
}
