//! Replays the checked-in fuzz corpora of the HTTP targets through the very
//! property functions the fuzz targets call, so a regression fails
//! `cargo test` even where cargo-fuzz is not installed.

#[path = "../../fuzz/src/http_props.rs"]
mod http_props;
#[path = "../../ring-core/tests/fuzz/replay.rs"]
mod replay;

use replay::replay;

#[test]
fn parse_request_corpus() {
    replay("parse_request", http_props::parse_request);
}

#[test]
fn conn_chunked_corpus() {
    replay("conn_chunked", http_props::conn_chunked);
}
