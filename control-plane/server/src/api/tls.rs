//! Optional TLS for the API (rustls, ring provider): `api.tls_cert` / `api.tls_key` are PEM
//! files. Handshakes run in their own tasks with a deadline, so a slow or silent client never
//! holds up the others.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::rustls::{self, ServerConfig};
use tokio_rustls::server::TlsStream;
use tokio_rustls::TlsAcceptor;
use warden_config::ApiConfig;

use crate::error::ControlError;

/// Longest a TLS handshake may take.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// Handshaken connections waiting for the HTTP server.
const ACCEPT_QUEUE: usize = 256;

/// The rustls configuration from `api.tls_cert` / `api.tls_key`, or `None` for plain HTTP.
pub(crate) fn server_config(api: &ApiConfig) -> Result<Option<Arc<ServerConfig>>, ControlError> {
    let (Some(cert), Some(key)) = (&api.tls_cert, &api.tls_key) else {
        return Ok(None);
    };
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .and_then(|it| it.collect::<Result<_, _>>())
        .map_err(|e| {
            ControlError::Config(format!("api.tls_cert: cannot read {}: {e}", cert.display()))
        })?;
    if certs.is_empty() {
        return Err(ControlError::Config(format!(
            "api.tls_cert: no certificate in {}",
            cert.display()
        )));
    }
    let key = PrivateKeyDer::from_pem_file(key).map_err(|e| {
        ControlError::Config(format!(
            "api.tls_key: cannot read a private key from {}: {e}",
            key.display()
        ))
    })?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| ControlError::Config(format!("api TLS: {e}")))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| {
            ControlError::Config(format!("api.tls_key: does not match api.tls_cert: {e}"))
        })?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Some(Arc::new(config)))
}

/// A listener that yields TLS connections whose handshake completed.
pub(crate) struct TlsListener {
    rx: mpsc::Receiver<(TlsStream<TcpStream>, SocketAddr)>,
    local: SocketAddr,
}

impl TlsListener {
    /// Accepts on `tcp` in the background and handshakes each connection in its own task.
    pub(crate) fn spawn(tcp: TcpListener, config: Arc<ServerConfig>) -> Self {
        let local = tcp
            .local_addr()
            .unwrap_or_else(|_| SocketAddr::from(([0, 0, 0, 0], 0)));
        let (tx, rx) = mpsc::channel(ACCEPT_QUEUE);
        let acceptor = TlsAcceptor::from(config);
        tokio::spawn(async move {
            loop {
                let (stream, peer) = match tcp.accept().await {
                    Ok(c) => c,
                    Err(e) => {
                        tracing::warn!(error = %e, "api accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                if tx.is_closed() {
                    break;
                }
                let acceptor = acceptor.clone();
                let tx = tx.clone();
                tokio::spawn(async move {
                    match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
                        Ok(Ok(tls)) => {
                            let _ = tx.send((tls, peer)).await;
                        }
                        Ok(Err(e)) => {
                            tracing::debug!(%peer, error = %e, "api tls handshake failed")
                        }
                        Err(_) => tracing::debug!(%peer, "api tls handshake timed out"),
                    }
                });
            }
        });
        TlsListener { rx, local }
    }
}

/// The client address of a TLS connection, for `ConnectInfo`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct TlsPeer(pub(crate) SocketAddr);

impl axum::extract::connect_info::Connected<axum::serve::IncomingStream<'_, TlsListener>>
    for TlsPeer
{
    fn connect_info(stream: axum::serve::IncomingStream<'_, TlsListener>) -> Self {
        TlsPeer(*stream.remote_addr())
    }
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.rx.recv().await {
            Some(conn) => conn,
            // The accept task only stops when this listener is gone.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        Ok(self.local)
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;

    /// A self-signed certificate for `localhost`, written as PEM files.
    fn self_signed(dir: &std::path::Path) -> (PathBuf, PathBuf, CertificateDer<'static>) {
        let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
        let (cert_path, key_path) = (dir.join("api.crt"), dir.join("api.key"));
        std::fs::write(&cert_path, cert.cert.pem()).unwrap();
        std::fs::write(&key_path, cert.key_pair.serialize_pem()).unwrap();
        (cert_path, key_path, cert.cert.der().clone())
    }

    #[tokio::test]
    async fn serves_https_with_the_configured_certificate() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};

        let dir = tempfile::tempdir().unwrap();
        let (cert, key, der) = self_signed(dir.path());
        let api = ApiConfig {
            tls_cert: Some(cert),
            tls_key: Some(key),
            ..ApiConfig::default()
        };
        let config = server_config(&api).unwrap().expect("TLS configured");
        let tcp = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = tcp.local_addr().unwrap();
        let listener = TlsListener::spawn(tcp, config);
        let app = axum::Router::new()
            .route("/ping", axum::routing::get(|| async { "pong" }))
            .into_make_service_with_connect_info::<TlsPeer>();
        tokio::spawn(async move { axum::serve(listener, app).await });

        // A silent client that never handshakes does not block the next one.
        let _idle = TcpStream::connect(addr).await.unwrap();

        let mut roots = rustls::RootCertStore::empty();
        roots.add(der).unwrap();
        let client = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
        let connector = tokio_rustls::TlsConnector::from(Arc::new(client));
        let tcp = TcpStream::connect(addr).await.unwrap();
        let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
        let mut tls = connector.connect(name, tcp).await.unwrap();
        tls.write_all(b"GET /ping HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
            .await
            .unwrap();
        let mut response = String::new();
        tls.read_to_string(&mut response).await.unwrap();
        assert!(response.starts_with("HTTP/1.1 200"), "{response}");
        assert!(response.ends_with("pong"), "{response}");

        // Plain HTTP on the TLS port gets no HTTP answer.
        let mut plain = TcpStream::connect(addr).await.unwrap();
        plain
            .write_all(b"GET /ping HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .unwrap();
        let mut buf = Vec::new();
        let _ = tokio::time::timeout(Duration::from_secs(5), plain.read_to_end(&mut buf)).await;
        assert!(!String::from_utf8_lossy(&buf).contains("pong"));
    }

    #[test]
    fn mismatched_key_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let (cert, _, _) = self_signed(dir.path());
        let other = tempfile::tempdir().unwrap();
        let (_, key, _) = self_signed(other.path());
        let api = ApiConfig {
            tls_cert: Some(cert),
            tls_key: Some(key),
            ..ApiConfig::default()
        };
        let err = server_config(&api).unwrap_err().to_string();
        assert!(err.contains("api.tls_key"), "{err}");
    }

    #[test]
    fn no_files_means_plain_http() {
        assert!(server_config(&ApiConfig::default()).unwrap().is_none());
    }

    #[test]
    fn unreadable_files_name_the_key() {
        let api = ApiConfig {
            tls_cert: Some(PathBuf::from("/nonexistent/cert.pem")),
            tls_key: Some(PathBuf::from("/nonexistent/key.pem")),
            ..ApiConfig::default()
        };
        let err = server_config(&api).unwrap_err().to_string();
        assert!(err.contains("api.tls_cert"), "{err}");

        let dir = tempfile::tempdir().unwrap();
        let cert = dir.path().join("cert.pem");
        std::fs::write(&cert, "not a certificate").unwrap();
        let api = ApiConfig {
            tls_cert: Some(cert),
            ..api
        };
        let err = server_config(&api).unwrap_err().to_string();
        assert!(err.contains("api.tls_cert"), "{err}");
    }
}
