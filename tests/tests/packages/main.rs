//! Real C packages from Debian's sources, each built with its own build system and
//! `CC=unimig-cc`, its own tests run, and its programs run on both ISAs with identical output.
//!
//! One test binary with one module per package, so that libtest runs the packages in parallel
//! (cargo runs separate test binaries one after another). The build scripts are
//! tests/packages/NAME.sh; see [`build_package`] for their logs.

mod bzip2;
mod gzip;
mod jansson;
mod libyaml;
mod lua;
mod zlib;

use std::path::PathBuf;
use unimig_tests::*;

/// A package's extracted source tree, in a temporary directory removed after the test.
pub struct Package {
    pub tmp: TempDir,
    pub src: PathBuf,
}

/// Fetches Debian source package `name` (cached) and builds it in a fresh temporary directory
/// with tests/packages/SCRIPT; panics with the log's tail if the build or its tests fail. The
/// log is written next to the source tree (kept when the test fails) and, after a successful
/// build, copied to build/test-logs/NAME.log.
pub fn build_package(name: &str, script: &str, timer: &Timer) -> Package {
    let tmp = temp_dir(name);
    let src = debian_source_tree(name, tmp.path());
    timer.lap("fetched and extracted");
    let log = tmp.path().join(format!("{name}.log"));
    run_package_script(script, &src, &log);
    timer.lap("built and tested by its own build system");
    let logs = source_root().join("build/test-logs");
    if std::fs::create_dir_all(&logs).is_ok() {
        let _ = std::fs::copy(&log, logs.join(format!("{name}.log")));
    }
    Package { tmp, src }
}

/// Deterministic test data: text with some structure plus pseudo-random bytes, `len` bytes.
pub fn test_data(len: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(len);
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    let words = [
        "unimig",
        "migrate",
        "x86_64",
        "aarch64",
        "stack",
        "frame",
        "heap",
        "0123456789",
        "\n",
    ];
    while out.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        if x & 7 == 0 {
            out.extend((0..(x >> 8) % 64).map(|i| (x >> (i % 56)) as u8));
        } else {
            out.extend_from_slice(words[(x >> 3) as usize % words.len()].as_bytes());
            out.push(b' ');
        }
    }
    out.truncate(len);
    out
}
