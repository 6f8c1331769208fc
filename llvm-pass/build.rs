//! Builds cxx/shim.cpp: C entry points for the few LLVM C++ APIs the C API lacks (target
//! options such as function sections, block and edge splitting). Compiled against the same
//! LLVM 19 that llvm-sys links (LLVM_SYS_191_PREFIX, else llvm-config-19 on PATH).
use std::path::PathBuf;
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=cxx/shim.cpp");
    println!("cargo:rerun-if-env-changed=LLVM_SYS_191_PREFIX");
    let llvm_config = match std::env::var_os("LLVM_SYS_191_PREFIX") {
        Some(prefix) => PathBuf::from(prefix).join("bin/llvm-config"),
        None => PathBuf::from("llvm-config-19"),
    };
    let out = Command::new(&llvm_config)
        .arg("--cxxflags")
        .output()
        .unwrap_or_else(|e| panic!("running {}: {e}", llvm_config.display()));
    assert!(
        out.status.success(),
        "{} --cxxflags failed",
        llvm_config.display()
    );
    let flags = String::from_utf8(out.stdout).expect("llvm-config output is UTF-8");
    let mut build = cc::Build::new();
    build.cpp(true).file("cxx/shim.cpp").warnings(false);
    for flag in flags.split_whitespace() {
        // Keep include paths, the language standard and defines; drop warning and
        // optimisation choices of LLVM's own build.
        if flag.starts_with("-I") || flag.starts_with("-D") || flag.starts_with("-std=") {
            build.flag(flag);
        }
    }
    build.flag("-fno-exceptions").flag("-fno-rtti");
    build.compile("unimig_llvm_shim");
}
