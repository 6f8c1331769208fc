//! clang-style diagnostics for unimig's own tools: `tool: error: message`.

use std::fmt::Display;

/// Prints `tool: error: msg` (with the `anyhow` cause chain) to stderr.
pub fn error(tool: &str, msg: impl Display) {
    eprintln!("{tool}: error: {msg}");
}

/// Prints `tool: warning: msg` to stderr.
pub fn warning(tool: &str, msg: impl Display) {
    eprintln!("{tool}: warning: {msg}");
}

/// Formats an `anyhow::Error` with its causes on one line, `a: b: c`, as clang would.
pub fn chain(err: &anyhow::Error) -> String {
    let mut out = String::new();
    for (i, cause) in err.chain().enumerate() {
        if i > 0 {
            out.push_str(": ");
        }
        out.push_str(&cause.to_string());
    }
    out
}
