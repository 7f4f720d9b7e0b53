//! Descriptor and file helpers with no `unsafe`, so that tests written
//! under `#![forbid(unsafe_code)]` can use them too.
#![allow(dead_code)]

/// A temporary file path unique to this process and `name`.
pub fn temp_path(name: &str) -> std::path::PathBuf {
    std::env::temp_dir().join(format!("ring-core-test-{}-{name}", std::process::id()))
}

/// The descriptors of this process that point at `path`.
pub fn fds_on(path: &std::path::Path) -> usize {
    std::fs::read_dir("/proc/self/fd")
        .unwrap()
        .filter_map(|e| std::fs::read_link(e.ok()?.path()).ok())
        .filter(|target| target == path)
        .count()
}

/// A pipe as two files (read end, write end).
pub fn pipe() -> (std::fs::File, std::fs::File) {
    let (r, w) = rustix::pipe::pipe().unwrap();
    (std::fs::File::from(r), std::fs::File::from(w))
}

/// A connected TCP pair on loopback (client, server side).
pub fn connected_pair() -> (std::net::TcpStream, std::net::TcpStream) {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let c = std::net::TcpStream::connect(l.local_addr().unwrap()).unwrap();
    let (s, _) = l.accept().unwrap();
    (c, s)
}

/// A fresh read/write temporary file unique to this process and `name`.
pub fn temp_file(name: &str) -> (std::path::PathBuf, std::fs::File) {
    let path = temp_path(name);
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(true)
        .open(&path)
        .unwrap();
    (path, file)
}

/// A share of a descriptor for the safe tier, duplicated from one the test
/// keeps using itself.
pub fn share(fd: &impl std::os::fd::AsFd) -> ring_core::owned::SharedFd {
    ring_core::owned::SharedFd::try_clone_from(fd).expect("dup")
}
