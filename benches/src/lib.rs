//! Benchmarks of ring-core and http-demo against peers.
