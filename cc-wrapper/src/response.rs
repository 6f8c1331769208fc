//! Response files (`@file`), expanded before any argument is classified.
//!
//! The syntax is GCC's (libiberty `buildargv`), which clang also follows on Unix: whitespace
//! separates arguments; single and double quotes group text containing whitespace; a backslash
//! makes the next character literal everywhere, including inside quotes. A response file may
//! name further response files. Like gcc and clang, an `@file` whose file cannot be read is kept
//! as an ordinary argument (it then names an input that does not exist, and clang says so).

use anyhow::{bail, Result};
use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::Path;

/// How deep `@file` references may nest before we assume a cycle (gcc gives up similarly).
const MAX_NESTING: usize = 64;

/// Returns `args` with every readable `@file` replaced by the arguments it contains.
pub fn expand(args: impl IntoIterator<Item = OsString>) -> Result<Vec<OsString>> {
    let mut out = Vec::new();
    for arg in args {
        expand_one(arg, 0, &mut out)?;
    }
    Ok(out)
}

fn expand_one(arg: OsString, depth: usize, out: &mut Vec<OsString>) -> Result<()> {
    let Some(file) = arg.as_bytes().strip_prefix(b"@") else {
        out.push(arg);
        return Ok(());
    };
    let Ok(contents) = std::fs::read(Path::new(OsStr::from_bytes(file))) else {
        out.push(arg);
        return Ok(());
    };
    if depth >= MAX_NESTING {
        bail!(
            "{}: response files nested more than {MAX_NESTING} deep",
            arg.to_string_lossy()
        );
    }
    for inner in split(&contents) {
        expand_one(inner, depth + 1, out)?;
    }
    Ok(())
}

/// Splits the contents of a response file into arguments.
pub fn split(text: &[u8]) -> Vec<OsString> {
    let mut args = Vec::new();
    let mut bytes = text.iter().copied().peekable();
    loop {
        while bytes.next_if(u8::is_ascii_whitespace).is_some() {}
        if bytes.peek().is_none() {
            return args;
        }
        let mut arg = Vec::new();
        let mut quote: Option<u8> = None;
        while let Some(byte) = bytes.next() {
            match (byte, quote) {
                (b'\\', _) => {
                    // A trailing lone backslash is kept, as libiberty does.
                    arg.push(bytes.next().unwrap_or(b'\\'));
                }
                (b'\'' | b'"', None) => quote = Some(byte),
                (_, Some(open)) if byte == open => quote = None,
                (_, None) if byte.is_ascii_whitespace() => break,
                _ => arg.push(byte),
            }
        }
        args.push(OsString::from_vec(arg));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    fn strings(args: Vec<OsString>) -> Vec<String> {
        args.into_iter().map(|a| a.into_string().unwrap()).collect()
    }

    #[test]
    fn splits_like_gcc() {
        let text = br#"  -DA=1	"-DB=two words" 'single "q"' back\ slash "esc\"aped" '' -c
"#;
        assert_eq!(
            strings(split(text)),
            [
                "-DA=1",
                "-DB=two words",
                "single \"q\"",
                "back slash",
                "esc\"aped",
                "",
                "-c"
            ]
        );
        assert!(split(b" \n\t ").is_empty());
        // A backslash escapes inside single quotes too (libiberty, unlike a POSIX shell).
        assert_eq!(strings(split(br"'a\'b'")), ["a'b"]);
    }

    #[test]
    fn expands_nested_files_in_place() {
        let dir = tempfile::tempdir().unwrap();
        let inner = dir.path().join("inner.rsp");
        let outer = dir.path().join("outer.rsp");
        fs::write(&inner, "-DINNER 'x y.c'").unwrap();
        fs::write(&outer, format!("-O2 @{} -g", inner.display())).unwrap();
        let args = [
            "-c".into(),
            format!("@{}", outer.display()).into(),
            "z.c".into(),
        ];
        assert_eq!(
            strings(expand(args).unwrap()),
            ["-c", "-O2", "-DINNER", "x y.c", "-g", "z.c"]
        );
    }

    #[test]
    fn keeps_missing_response_files_as_arguments() {
        let args = ["@/nonexistent/unimig.rsp".into(), "@".into()];
        assert_eq!(
            strings(expand(args).unwrap()),
            ["@/nonexistent/unimig.rsp", "@"]
        );
    }

    #[test]
    fn refuses_cycles() {
        let dir = tempfile::tempdir().unwrap();
        let me = dir.path().join("self.rsp");
        fs::write(&me, format!("-c @{}", me.display())).unwrap();
        let err = expand([format!("@{}", me.display()).into()]).unwrap_err();
        assert!(err.to_string().contains("nested"), "{err}");
    }
}
