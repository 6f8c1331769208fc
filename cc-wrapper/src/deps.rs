//! Dependency files (`-MD`, `-MMD`, `-MF`, `-MT`, `-MQ`, `-MP`, `-Wp,-MD,file`, ...).
//!
//! Only the host compile writes the `.d` file, so it is written once. That compile writes its
//! object into a temporary directory, so the names clang would derive from its `-o` (the `.d`
//! path and the make target) would be wrong; we spell out clang's defaults for the real output
//! instead: the file is the `-o` value with its extension replaced by `.d` (or `STEM.d` in the
//! current directory without `-o`), the target is the `-o` value (or `STEM.o`), make-quoted by
//! clang (`-MQ`).

use crate::args::{Input, Invocation};
use crate::options::DepFlag;
use std::ffi::OsString;
use std::path::Path;

/// The dependency options for the host compile of `input`.
pub fn host_flags(invocation: &Invocation, input: &Input) -> Vec<OsString> {
    let mut flags = Vec::new();
    let (mut generates, mut has_file, mut has_target) = (false, false, false);
    for (flag, tokens) in invocation.dependency_args() {
        match flag {
            DepFlag::Generate => generates = true,
            DepFlag::GenerateInto => (generates, has_file) = (true, true),
            DepFlag::File => has_file = true,
            DepFlag::Target => has_target = true,
            DepFlag::Other => {}
        }
        flags.extend(tokens.iter().cloned());
    }
    if generates && !has_file {
        flags.push("-MF".into());
        flags.push(default_file(invocation, input));
    }
    if generates && !has_target {
        flags.push("-MQ".into());
        flags.push(default_target(invocation, input));
    }
    flags
}

fn default_file(invocation: &Invocation, input: &Input) -> OsString {
    match invocation.output() {
        Some(output) => Path::new(output).with_extension("d").into_os_string(),
        None => with_suffix(input.stem(), ".d"),
    }
}

fn default_target(invocation: &Invocation, input: &Input) -> OsString {
    match invocation.output() {
        Some(output) => output.to_os_string(),
        None => with_suffix(input.stem(), ".o"),
    }
}

fn with_suffix(mut stem: OsString, suffix: &str) -> OsString {
    stem.push(suffix);
    stem
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flags(args: &[&str]) -> Vec<String> {
        let invocation = Invocation::parse(args.iter().map(OsString::from).collect()).unwrap();
        let input = invocation.c_inputs().next().unwrap();
        host_flags(&invocation, input)
            .into_iter()
            .map(|f| f.into_string().unwrap())
            .collect()
    }

    #[test]
    fn defaults_name_the_real_output() {
        assert_eq!(
            flags(&["-c", "-MD", "src/foo.c"]),
            ["-MD", "-MF", "foo.d", "-MQ", "foo.o"]
        );
        assert_eq!(
            flags(&["-c", "-MMD", "foo.c", "-o", "out/x.o"]),
            ["-MMD", "-MF", "out/x.d", "-MQ", "out/x.o"]
        );
        assert_eq!(
            flags(&["-MD", "foo.c", "-o", "prog"]),
            ["-MD", "-MF", "prog.d", "-MQ", "prog"]
        );
    }

    #[test]
    fn explicit_choices_are_kept() {
        assert_eq!(
            flags(&["-c", "-MD", "-MF", "d/x.d", "-MT", "t", "-MP", "x.c"]),
            ["-MD", "-MF", "d/x.d", "-MT", "t", "-MP"]
        );
        assert_eq!(
            flags(&["-c", "-Wp,-MMD,.x.d", "x.c", "-o", "x.o"]),
            ["-Wp,-MMD,.x.d", "-MQ", "x.o"]
        );
        // Without -MD/-MMD nothing is generated, so nothing is added.
        assert_eq!(flags(&["-c", "-MP", "x.c"]), ["-MP"]);
        assert!(flags(&["-c", "x.c"]).is_empty());
    }
}
