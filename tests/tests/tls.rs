//! The SDK over HTTPS: a private CA, a TLS terminator in front of a real server (as an ingress
//! would be), and the scores still exactly the plaintext ones.

#![expect(clippy::unwrap_used, reason = "in tests a panic is the failure report")]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio_rustls::rustls::{crypto::ring, ServerConfig};
use tokio_rustls::TlsAcceptor;
use veilrank_client::{Client, ClientError, ConnectOptions};
use veilrank_core::{plain, rank, SecretKey, V1_128};
use veilrank_e2e::{integer_catalog, random_values, serve};

/// A CA's certificate (PEM) and a TLS config for 127.0.0.1 signed by it.
fn private_ca() -> (String, ServerConfig) {
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca_key = KeyPair::generate().unwrap();
    let ca_pem = ca.self_signed(&ca_key).unwrap().pem();
    let issuer = Issuer::new(ca, ca_key);
    let key = KeyPair::generate().unwrap();
    let leaf = CertificateParams::new(vec!["127.0.0.1".to_string()])
        .unwrap()
        .signed_by(&key, &issuer)
        .unwrap();
    let config = ServerConfig::builder_with_provider(Arc::new(ring::default_provider()))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![leaf.der().clone()],
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
        )
        .unwrap();
    (ca_pem, config)
}

/// Terminates TLS on a free loopback port and forwards the plaintext to `upstream`. Returns its
/// `https://` URL and the count of handshakes that succeeded.
async fn tls_terminator(config: ServerConfig, upstream: String) -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("https://{}", listener.local_addr().unwrap());
    let acceptor = TlsAcceptor::from(Arc::new(config));
    let handshakes = Arc::new(AtomicUsize::new(0));
    let counted = handshakes.clone();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let (acceptor, upstream, counted) =
                (acceptor.clone(), upstream.clone(), counted.clone());
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(tcp).await else {
                    return;
                };
                counted.fetch_add(1, Ordering::SeqCst);
                let mut plain = TcpStream::connect(&upstream).await.unwrap();
                let _ = tokio::io::copy_bidirectional(&mut tls, &mut plain).await;
            });
        }
    });
    (url, handshakes)
}

fn options(roots: Vec<String>) -> ConnectOptions {
    ConnectOptions {
        ready_timeout: Duration::from_secs(30),
        root_certificates_pem: roots,
        ..ConnectOptions::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_through_a_private_ca_ranks_as_plaintext() {
    let dim = 32;
    let values = random_values(41, 3000 * dim);
    let server = serve(integer_catalog(dim, values.clone())).await;
    let (ca_pem, config) = private_ca();
    let upstream = server.url().trim_start_matches("http://").to_string();
    let (url, handshakes) = tls_terminator(config, upstream).await;

    let client = Client::connect_with(&url, options(vec![ca_pem]))
        .await
        .unwrap();
    let key = Arc::new(SecretKey::generate(&V1_128).unwrap());
    let query = random_values(42, dim);
    let prefs: Vec<f32> = query.iter().map(|&v| f32::from(v)).collect();
    let found = client.recommend(&key, &prefs, 50).await.unwrap();
    let expected = plain::scores(&values, dim, &query);
    let want: Vec<(String, i64)> = rank::top_k(&expected, 50)
        .into_iter()
        .map(|i| (format!("i{i}"), i64::from(expected[i])))
        .collect();
    let got: Vec<(String, i64)> = found
        .items
        .iter()
        .map(|i| (i.id.clone(), i64::from(i.raw_score)))
        .collect();
    assert_eq!(got, want);
    assert!(handshakes.load(Ordering::SeqCst) >= 1, "not over TLS");
    server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_certificate_from_an_unknown_ca_is_refused() {
    let server = serve(integer_catalog(2, random_values(43, 20))).await;
    let (_, config) = private_ca();
    let upstream = server.url().trim_start_matches("http://").to_string();
    let (url, handshakes) = tls_terminator(config, upstream).await;
    // Mozilla's roots only: the private CA is not among them
    let e = Client::connect_with(&url, options(Vec::new()))
        .await
        .err()
        .unwrap();
    assert!(matches!(e, ClientError::Http(_)), "{e}");
    let mut chain = String::new();
    let mut source: Option<&dyn std::error::Error> = Some(&e);
    while let Some(s) = source {
        chain.push_str(&format!("{s}; "));
        source = s.source();
    }
    assert!(chain.contains("UnknownIssuer"), "{chain}");
    assert_eq!(handshakes.load(Ordering::SeqCst), 0);
    // and another CA's certificate does not help
    let (other_ca, _) = private_ca();
    let e = Client::connect_with(&url, options(vec![other_ca]))
        .await
        .err()
        .unwrap();
    assert!(matches!(e, ClientError::Http(_)), "{e}");
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_root_certificate_that_is_not_pem_is_a_clear_error() {
    for bad in ["", "not a certificate", "-----BEGIN CERTIFICATE-----\n!!\n"] {
        let e = Client::connect_with("https://127.0.0.1:9", options(vec![bad.to_string()]))
            .await
            .err()
            .unwrap();
        assert!(
            matches!(e, ClientError::InvalidCertificate(_)),
            "{bad:?}: {e}"
        );
    }
}
