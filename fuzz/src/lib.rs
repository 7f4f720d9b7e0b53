//! Property checks shared by the fuzz targets and by the corpus replay in
//! the main workspace's `cargo test` (which includes these files by path).

pub mod http_props;
pub mod ring_props;
