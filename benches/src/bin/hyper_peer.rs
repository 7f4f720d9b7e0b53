//! The hyper 1.x + tokio peer: the same fibonacci server, written the way
//! hyper's examples write one. `hyper_peer --port P --runtime current|multi`.

use std::convert::Infallible;
use std::net::SocketAddr;

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;

async fn handle(req: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let n = req
        .uri()
        .path()
        .strip_prefix('/')
        .and_then(|p| p.parse::<i64>().ok());
    let method_ok = req.method() == Method::POST;
    // Read and discard the body, as the other servers do.
    let _ = req.into_body().collect().await;
    let (status, body) = match (method_ok, n) {
        (true, Some(n)) => match http_demo::fibonacci(n) {
            Ok(v) => (StatusCode::OK, v.to_string()),
            Err(e) => (StatusCode::UNPROCESSABLE_ENTITY, e),
        },
        (false, Some(_)) => (StatusCode::METHOD_NOT_ALLOWED, "use POST".into()),
        _ => (StatusCode::NOT_FOUND, "try POST /<n>".into()),
    };
    let mut resp = Response::new(Full::new(Bytes::from(body)));
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        "content-type",
        "application/json".parse().expect("static header"),
    );
    Ok(resp)
}

async fn serve(port: u16) -> std::io::Result<()> {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let listener = tokio::net::TcpListener::bind(addr).await?;
    println!("hyper peer listening on {addr}");
    loop {
        let (stream, _) = listener.accept().await?;
        stream.set_nodelay(true)?;
        tokio::spawn(async move {
            let _ = http1::Builder::new()
                .keep_alive(true)
                .serve_connection(TokioIo::new(stream), service_fn(handle))
                .await;
        });
    }
}

fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let arg = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let port: u16 = arg("--port").and_then(|p| p.parse().ok()).unwrap_or(8001);
    let runtime = arg("--runtime").unwrap_or_else(|| "current".into());
    let rt = if runtime == "multi" {
        tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()?
    } else {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?
    };
    rt.block_on(serve(port))
}
