//! A stored profile's 404 takes as long whether or not the profile exists: its id's existence
//! does not leak through the time of an answer.

use std::sync::Arc;
use std::time::Duration;

use veilrank_client::{Client, SecretKey};
use veilrank_core::V1_128;
use veilrank_e2e::{integer_catalog, random_values, serve};

fn prefs(values: &[i8]) -> Vec<f32> {
    values.iter().map(|&v| f32::from(v)).collect()
}

/// The time of a 404 on the score route does not tell an existing id (with a wrong token) from
/// an unknown or an erased one: their latency distributions, sampled interleaved, are the same
/// by a two-sample Kolmogorov-Smirnov test. (When the content was read before the token check,
/// an existing id of d = 64 answered later by the time its content took to copy.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_404_takes_as_long_whether_or_not_the_profile_exists() {
    let dim = 64;
    let server = serve(integer_catalog(dim, random_values(40, dim * 1000))).await;
    let client = Client::connect(&server.url(), Duration::from_secs(10))
        .await
        .unwrap();
    let key = Arc::new(SecretKey::generate(&V1_128).unwrap());
    let existing = client
        .create_profile(&key, &prefs(&random_values(41, dim)))
        .await
        .unwrap();
    let erased = client
        .create_profile(&key, &prefs(&random_values(42, dim)))
        .await
        .unwrap();
    client.delete_profile(&erased).await.unwrap();
    let ids = [
        existing.info.id.clone(),
        "0123456789abcdef0123456789abcdef".to_string(),
        erased.info.id.clone(),
    ];
    let wrong_token = "ab".repeat(32);
    let http = reqwest::Client::new();
    let time = |id: &str| {
        let request = http
            .post(format!("{}/v1/profiles/{id}/score", server.url()))
            .bearer_auth(&wrong_token);
        async move {
            let started = std::time::Instant::now();
            let response = request.send().await.unwrap();
            assert_eq!(response.status(), 404);
            started.elapsed().as_secs_f64()
        }
    };
    for id in &ids {
        time(id).await; // warm the connection and the caches
    }
    let mut samples: [Vec<f64>; 3] = Default::default();
    for round in 0..400 {
        // each round in a rotated order, so that drift in the machine's speed hits all three
        for k in 0..3 {
            let which = (round + k) % 3;
            samples[which].push(time(&ids[which]).await);
        }
    }
    let [existing_ms, unknown_ms, erased_ms] = &samples;
    for (name, other) in [("unknown", unknown_ms), ("erased", erased_ms)] {
        let d = ks_statistic(existing_ms, other);
        // the 0.1% critical value for 400 and 400 samples is 0.14
        assert!(
            d < 0.2,
            "an existing id's 404 is told from an {name} one's: KS statistic {d:.2} \
             (medians {:.0} us and {:.0} us)",
            median(existing_ms) * 1e6,
            median(other) * 1e6
        );
    }
}

/// The largest gap between the two samples' empirical distribution functions.
fn ks_statistic(a: &[f64], b: &[f64]) -> f64 {
    let (mut a, mut b) = (a.to_vec(), b.to_vec());
    a.sort_by(f64::total_cmp);
    b.sort_by(f64::total_cmp);
    let (mut i, mut j, mut d) = (0, 0, 0f64);
    while i < a.len() && j < b.len() {
        if a[i] <= b[j] {
            i += 1;
        } else {
            j += 1;
        }
        d = d.max((i as f64 / a.len() as f64 - j as f64 / b.len() as f64).abs());
    }
    d
}

fn median(x: &[f64]) -> f64 {
    let mut x = x.to_vec();
    x.sort_by(f64::total_cmp);
    x[x.len() / 2]
}
