//! Property checks shared by the fuzz targets and by the corpus replay in
//! the main workspace's `cargo test`. The HTTP properties live here (the
//! replay includes them by path); the ring properties live in ring-core's
//! tests, so that the published crate's corpus test compiles, and are
//! included from there.

pub mod http_props;
#[path = "../../ring-core/tests/fuzz/owned_drop.rs"]
pub mod owned_drop;
#[path = "../../ring-core/tests/fuzz/ring_props.rs"]
pub mod ring_props;
