//! Builds cxx/*.cpp: C entry points for the few LLVM C++ APIs the C API lacks (shim.cpp: target
//! options such as function sections, block and edge splitting, option parsing that reports
//! errors; emit.cpp: code generation with the statepoint check of statepoint_check.cpp, its recipe
//! tracing in remat.cpp and the `.unimig.fixups` writer in fixup_section.cpp), and
//! links LLVM's static libraries (see `link_llvm_statically`). Both come from the LLVM 19 of
//! LLVM_SYS_191_PREFIX, else llvm-config-19 on PATH.
use std::path::PathBuf;
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=cxx");
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
    build
        .cpp(true)
        .files([
            "cxx/shim.cpp",
            "cxx/emit.cpp",
            "cxx/statepoint_check.cpp",
            "cxx/remat.cpp",
            "cxx/fixup_section.cpp",
            "cxx/value_classes.cpp",
        ])
        .warnings(false);
    for flag in flags.split_whitespace() {
        // Keep include paths, the language standard and defines; drop warning and
        // optimisation choices of LLVM's own build.
        if flag.starts_with("-I") || flag.starts_with("-D") || flag.starts_with("-std=") {
            build.flag(flag);
        }
    }
    build.flag("-fno-exceptions").flag("-fno-rtti");
    build.compile("unimig_llvm_shim");
    link_llvm_statically(&llvm_config);
}

/// Links the LLVM components the pipeline uses from LLVM's static libraries (inkwell's
/// `no-llvm-linking`). Against libLLVM.so every process start ran all of LLVM's static
/// constructors and relocations, ~11 ms per unimig-cc run (configure scripts run it dozens of
/// times); linking only what is used takes ~4 ms.
fn link_llvm_statically(llvm_config: &std::path::Path) {
    let query = |args: &[&str]| -> String {
        let out = Command::new(llvm_config)
            .args(args)
            .output()
            .unwrap_or_else(|e| panic!("running {}: {e}", llvm_config.display()));
        assert!(
            out.status.success(),
            "{} {args:?} failed",
            llvm_config.display()
        );
        String::from_utf8(out.stdout).expect("llvm-config output is UTF-8")
    };
    println!(
        "cargo:rustc-link-search=native={}",
        query(&["--libdir"]).trim()
    );
    let components = [
        "--link-static",
        "--libs",
        "passes",
        "irreader",
        "bitreader",
        "x86",
        "aarch64",
    ];
    for lib in query(&components).split_whitespace() {
        let name = lib.trim_start_matches("-l");
        // Not bundled into the rlib: the final link reads LLVM's archives in this order.
        println!("cargo:rustc-link-lib=static:-bundle={name}");
    }
    for lib in query(&["--link-static", "--system-libs"]).split_whitespace() {
        match lib.strip_prefix("-l") {
            Some(name) => println!("cargo:rustc-link-lib={name}"),
            None => {
                // A full path such as /usr/lib/x86_64-linux-gnu/libz3.so.
                let path = std::path::Path::new(lib);
                if let (Some(dir), Some(stem)) = (path.parent(), path.file_stem()) {
                    println!("cargo:rustc-link-search=native={}", dir.display());
                    let stem = stem.to_string_lossy();
                    println!("cargo:rustc-link-lib={}", stem.trim_start_matches("lib"));
                }
            }
        }
    }
    println!("cargo:rustc-link-lib=stdc++");
}
