//! `ca_file` against a TLS server on 127.0.0.1: OpenSSL's test server (`openssl s_server
//! -www`, which answers any GET with a status page) with a certificate made for the test
//! and trusted only through that file.

use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use newsflow::registry::{RegistryClient, RegistryConfig, RegistryError};

struct TlsServer {
    child: Child,
    port: u16,
    certificate: PathBuf,
    _dir: tempfile::TempDir,
}

impl Drop for TlsServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn openssl(args: &[&str]) -> Command {
    let mut command = Command::new("openssl");
    command
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null());
    command
}

impl TlsServer {
    fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let certificate = dir.path().join("cert.pem");
        let key = dir.path().join("key.pem");
        let (certificate_arg, key_arg) = (certificate.to_str().unwrap(), key.to_str().unwrap());
        let made = openssl(&[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-keyout",
            key_arg,
            "-out",
            certificate_arg,
        ])
        .stderr(Stdio::null())
        .status()
        .expect("the openssl command (Debian's package openssl) makes the test certificate");
        assert!(made.success(), "openssl req failed");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let accept = format!("127.0.0.1:{port}");
        let child = openssl(&[
            "s_server",
            "-accept",
            &accept,
            "-cert",
            certificate_arg,
            "-key",
            key_arg,
            "-www",
        ])
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
        let server = Self {
            child,
            port,
            certificate,
            _dir: dir,
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "openssl s_server did not listen on {accept}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        server
    }
}

#[tokio::test]
async fn trusts_the_ca_file_and_nothing_else() {
    let server = TlsServer::start();
    let config = RegistryConfig {
        url: format!("https://127.0.0.1:{}", server.port),
        ..RegistryConfig::default()
    };
    // The handshake succeeds; the status page that follows is no registry's answer.
    let trusted = RegistryClient::new(&RegistryConfig {
        ca_file: Some(server.certificate.clone()),
        ..config.clone()
    })
    .unwrap()
    .schema(1)
    .await
    .unwrap_err();
    assert!(
        matches!(trusted, RegistryError::BadResponse { .. }),
        "{trusted:?}"
    );

    let untrusted = RegistryClient::new(&config)
        .unwrap()
        .schema(1)
        .await
        .unwrap_err();
    assert!(
        matches!(untrusted, RegistryError::Transport(_)),
        "{untrusted:?}"
    );
    assert!(untrusted.to_string().contains("certificate"), "{untrusted}");
}
