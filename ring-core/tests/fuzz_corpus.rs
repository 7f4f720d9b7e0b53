//! Replays the checked-in fuzz corpora of the ring targets, on the real
//! kernel, through the property functions the fuzz targets call. Those live
//! here, in `tests/fuzz/`, so that the packaged crate's tests compile;
//! `fuzz/src/lib.rs` includes them from here.

#[path = "fuzz/owned_drop.rs"]
mod owned_drop;
#[path = "fuzz/replay.rs"]
mod replay;
#[path = "fuzz/ring_props.rs"]
mod ring_props;

use replay::replay;

#[test]
fn ring_ops_corpus() {
    replay("ring_ops", ring_props::ring_ops);
}

#[test]
fn buf_ring_corpus() {
    replay("buf_ring", ring_props::buf_ring);
}

#[test]
fn owned_drop_corpus() {
    replay("owned_drop", owned_drop::owned_drop);
}
