//! Writes the seed corpus: real messages and files for each target, made for the fuzzed catalog.
//!
//!   cargo +nightly run --release --example seed_corpus -- corpus    (in fuzz/)

use std::path::Path;

use veilrank_core::{bitpack, wire, Query, V1_128};
use veilrank_fuzz::{catalog, fixture, values, DIM, ITEMS};
use veilrank_server::store::{encode_meta, ProfileMeta};

fn main() {
    let root = std::env::args().nth(1).unwrap_or_else(|| "corpus".into());
    let root = Path::new(&root);
    let write = |target: &str, name: &str, bytes: &[u8]| {
        let dir = root.join(target);
        std::fs::create_dir_all(&dir).expect("corpus directory");
        std::fs::write(dir.join(name), bytes).expect("seed written");
    };
    let (reference, key) = fixture();
    let params = V1_128;
    let catalog = catalog();
    for (n, prefs) in [[1i8, -2, 3, -4], [127, -127, 0, 5]].iter().enumerate() {
        let query = Query::encrypt(key, prefs).expect("a query");
        let query_bytes = wire::encode_query(&params, &catalog, &query).expect("encoded");
        let response = reference.score(&query).expect("scored");
        let response_bytes = wire::encode_response(&params, &catalog, &response).expect("encoded");
        write("query", &format!("query{n}"), &query_bytes);
        write("response", &format!("response{n}"), &response_bytes);
        write("wire_envelope", &format!("query{n}"), &query_bytes);
        write("wire_envelope", &format!("response{n}"), &response_bytes);
        write("sdk_answers", &format!("response{n}"), &response_bytes);
    }
    let hint = wire::encode_hint(&params, &catalog, reference.hint()).expect("encoded");
    write("hint", "hint", &hint);
    write("wire_envelope", "hint", &hint);
    let chosen = reference.noise_plan().hint_bits;
    for bits in [
        1,
        chosen,
        veilrank_core::noise::max_hint_bits(&params, reference.noise_plan().prime),
    ] {
        let rounded =
            wire::encode_rounded_hint(&params, &catalog, reference.hint(), bits).expect("encoded");
        write("rounded_hint", &format!("bits{bits}"), &rounded);
        write("hint", &format!("rounded{bits}"), &rounded);
    }
    write(
        "wire_envelope",
        "rounded_hint",
        &wire::encode_rounded_hint(&params, &catalog, reference.hint(), chosen).expect("encoded"),
    );
    // the same catalog's hint under crt54, whose values are words of two residues
    let crt = veilrank_core::ReferenceCatalog::prepare_among(
        &params,
        DIM,
        &values(),
        &[veilrank_core::ntt::ServerPrime::Crt54],
    )
    .expect("a crt54 catalog");
    write(
        "hint",
        "crt54",
        &wire::encode_hint(&params, &catalog, crt.hint()).expect("encoded"),
    );
    let bits = crt.noise_plan().hint_bits;
    let rounded = wire::encode_rounded_hint(&params, &catalog, crt.hint(), bits).expect("encoded");
    write("hint", "crt54_rounded", &rounded);
    write("rounded_hint", "crt54", &rounded);
    write("key_file", "key", &key.to_bytes()[..]);

    let values = values();
    let mut jsonl = String::from("{\"topic\": \"first\", \"vector\": [1, 0, 0, 0]}\n");
    let mut csv = String::from("id,title,f0,f1,f2,f3\n");
    for (i, row) in values.chunks(DIM).take(5).enumerate() {
        let vector: Vec<String> = row
            .iter()
            .map(|v| format!("{}", f32::from(*v) / 10.0))
            .collect();
        jsonl += &format!(
            "{{\"id\": \"i{i}\", \"title\": \"Item {i}\", \"vector\": [{}]}}\n",
            vector.join(", ")
        );
        csv += &format!("i{i},\"Item, {i}\",{}\n", vector.join(","));
    }
    write("catalog_jsonl", "small", jsonl.as_bytes());
    write("catalog_csv", "small", csv.as_bytes());
    write("catalog_parquet", "small", &parquet_catalog(&values));

    let meta = ProfileMeta {
        verifier: [3; 32],
        catalog: "fuzz".into(),
        dim: DIM as u32,
        fingerprint: params.fingerprint().0,
        created: 1_800_000_000,
        expires: 1_802_592_000,
        last_used: 1_800_000_100,
        size: 1234,
    };
    write(
        "profile_record",
        "meta",
        &encode_meta(&meta).expect("encoded"),
    );

    for bits in [5u32, 24, 48] {
        let count = ITEMS;
        let data: Vec<u64> = (0..count as u64).map(|i| i * 2_654_435_761).collect();
        let mut seed = vec![(bits - 1) as u8, count as u8, 0, 0];
        seed.extend(bitpack::pack(&data, bits));
        write("bitpack", &format!("bits{bits}"), &seed);
    }
    let error = br#"{"error": {"code": "rate_limited", "message": "slow down"}}"#;
    let mut answer = vec![29u8, 5];
    answer.extend_from_slice(error);
    write("sdk_answers", "error", &answer);
    write(
        "sdk_answers",
        "profile",
        br#"{"server": "http://127.0.0.1:8080", "id": "0123456789abcdef0123456789abcdef"}"#,
    );
    println!("seeds written under {}", root.display());
}

/// Five items as pyarrow writes them: string ids and titles, a list of float32, snappy.
fn parquet_catalog(values: &[i8]) -> Vec<u8> {
    use std::sync::Arc;

    use arrow_array::types::Float32Type;
    use arrow_array::{ArrayRef, ListArray, RecordBatch, StringArray};

    let rows = values.chunks(DIM).take(5);
    let ids: Vec<String> = (0..rows.len()).map(|i| format!("i{i}")).collect();
    let titles: Vec<String> = (0..rows.len()).map(|i| format!("Item {i}")).collect();
    let vectors = ListArray::from_iter_primitive::<Float32Type, _, _>(rows.map(|row| {
        Some(
            row.iter()
                .map(|v| Some(f32::from(*v) / 10.0))
                .collect::<Vec<_>>(),
        )
    }));
    let batch = RecordBatch::try_from_iter([
        ("id", Arc::new(StringArray::from(ids)) as ArrayRef),
        ("title", Arc::new(StringArray::from(titles)) as ArrayRef),
        ("vector", Arc::new(vectors) as ArrayRef),
    ])
    .expect("a batch");
    let mut out = Vec::new();
    let mut writer =
        parquet::arrow::ArrowWriter::try_new(&mut out, batch.schema(), None).expect("a writer");
    writer.write(&batch).expect("written");
    writer.close().expect("closed");
    out
}
