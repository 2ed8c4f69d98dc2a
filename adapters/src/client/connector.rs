//! The transport: hyper-util's legacy client over a plain TCP connector,
//! or (feature `client-rustls`) hyper-rustls in front of it.

use bytes::Bytes;
use http_body_util::Full;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

#[cfg(feature = "client-rustls")]
pub(crate) type Connector = hyper_rustls::HttpsConnector<HttpConnector>;
#[cfg(not(feature = "client-rustls"))]
pub(crate) type Connector = HttpConnector;

/// The hyper client the driver sends its requests with.
pub(crate) type HttpClient = Client<Connector, Full<Bytes>>;

fn tcp() -> HttpConnector {
    let mut http = HttpConnector::new();
    http.set_nodelay(true);
    // The TLS layer, when there is one, checks the scheme instead.
    http.enforce_http(cfg!(not(feature = "client-rustls")));
    http
}

/// A client that keeps no idle connection: an event stream's connection
/// is never reused, and a pooled one would outlive the `EventSource`.
fn client(connector: Connector) -> HttpClient {
    Client::builder(TokioExecutor::new())
        .pool_max_idle_per_host(0)
        .build(connector)
}

#[cfg(not(feature = "client-rustls"))]
pub(crate) fn http_client() -> HttpClient {
    client(tcp())
}

/// With `tls`, that configuration; otherwise rustls with the `ring`
/// provider and the Mozilla roots of `webpki-roots`.
#[cfg(feature = "client-rustls")]
pub(crate) fn http_client(tls: Option<rustls::ClientConfig>) -> Result<HttpClient, rustls::Error> {
    let builder = hyper_rustls::HttpsConnectorBuilder::new();
    let builder = match tls {
        Some(config) => builder.with_tls_config(config),
        None => builder.with_provider_and_webpki_roots(rustls::crypto::ring::default_provider())?,
    };
    Ok(client(
        builder.https_or_http().enable_http1().wrap_connector(tcp()),
    ))
}
