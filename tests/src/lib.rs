//! Helpers shared by the end-to-end tests.
//!
//! * where the unimig tools are ([`prefix`], [`tool`], [`cc`]): `UNIMIG_PREFIX` (set by
//!   `make test`) or `build/stage` of this source tree;
//! * running commands with their full output shown on failure ([`check`], [`run_logged`]);
//! * running a fat executable on both ISAs and comparing the runs byte for byte
//!   ([`run_both_isas`], [`assert_same_output`], [`assert_expected`]);
//! * fetching Debian source packages into a shared cache ([`debian_orig_tarball`]).
//!
//! Every helper panics with a message that says what to do: a test never silently skips.

use std::ffi::OsString;
use std::fmt::Write as _;
use std::fs;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Output, Stdio};
use std::sync::OnceLock;
use std::thread;
use std::time::{Duration, Instant};

/// How long one program run may take before it counts as hung (qemu is ~15x slower).
pub const RUN_TIMEOUT: Duration = Duration::from_secs(300);
/// How long a whole package build script may take.
pub const BUILD_TIMEOUT: Duration = Duration::from_secs(1800);

/// The unimig source tree (the workspace root).
pub fn source_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// The test crate's own directory (`tests/`), where `projects/` and `packages/` live.
pub fn tests_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A checked-in C project under `tests/projects/`.
pub fn project_dir(name: &str) -> PathBuf {
    tests_dir().join("projects").join(name)
}

/// The installation under test: `UNIMIG_PREFIX`, else `build/stage` of this tree.
pub fn prefix() -> PathBuf {
    match std::env::var_os("UNIMIG_PREFIX") {
        Some(p) if !p.is_empty() => PathBuf::from(p),
        _ => source_root().join("build/stage"),
    }
}

/// The installation's `bin/`, checked to hold the three tools.
pub fn bin_dir() -> PathBuf {
    static CHECKED: OnceLock<PathBuf> = OnceLock::new();
    CHECKED
        .get_or_init(|| {
            let bin = prefix().join("bin");
            for name in ["unimig-cc", "ld.unimig", "unimig"] {
                let p = bin.join(name);
                if !p.is_file() {
                    panic!(
                        "{} not found: run `make build` in {} (or point UNIMIG_PREFIX at an \
                         installation)",
                        p.display(),
                        source_root().display()
                    );
                }
            }
            bin
        })
        .clone()
}

/// One of the installation's executables (`unimig-cc`, `ld.unimig`, `unimig`).
pub fn tool(name: &str) -> PathBuf {
    bin_dir().join(name)
}

/// Absolute path of `unimig-cc`.
pub fn cc() -> PathBuf {
    tool("unimig-cc")
}

/// `PATH` with the installation's `bin/` first, so build systems find `unimig-cc` by name.
pub fn path_with_stage() -> OsString {
    let mut dirs = vec![bin_dir()];
    if let Some(path) = std::env::var_os("PATH") {
        dirs.extend(std::env::split_paths(&path));
    }
    std::env::join_paths(dirs).unwrap()
}

/// A command with the installation's `bin/` first on `PATH` and `UNIMIG_PREFIX` set.
pub fn command(program: impl AsRef<std::ffi::OsStr>) -> Command {
    let mut cmd = Command::new(program);
    cmd.env("PATH", path_with_stage())
        .env("UNIMIG_PREFIX", prefix());
    cmd
}

/// Number of parallel jobs for `make -j`.
pub fn jobs() -> usize {
    thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2)
}

/// A fresh temporary directory, removed when dropped; kept (and its path printed) when the test
/// fails or `UNIMIG_KEEP_TMP` is set.
pub fn temp_dir(tag: &str) -> TempDir {
    let dir = tempfile::Builder::new()
        .prefix(&format!("unimig-test-{tag}-"))
        .tempdir()
        .expect("creating a temporary directory");
    TempDir(Some(dir))
}

/// See [`temp_dir`].
pub struct TempDir(Option<tempfile::TempDir>);

impl TempDir {
    pub fn path(&self) -> &Path {
        self.0.as_ref().unwrap().path()
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let dir = self.0.take().unwrap();
        if std::env::var_os("UNIMIG_KEEP_TMP").is_some() || thread::panicking() {
            let kept = dir.keep();
            eprintln!("(kept {})", kept.display());
        }
    }
}

/// Copies a directory tree (the checked-in projects are built in a temporary copy).
pub fn copy_tree(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for entry in fs::read_dir(from).unwrap_or_else(|e| panic!("reading {}: {e}", from.display())) {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            fs::copy(entry.path(), &target).unwrap();
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Running commands

/// A shell-like rendering of a command, for messages.
pub fn describe(cmd: &Command) -> String {
    let mut s = String::new();
    if let Some(dir) = cmd.get_current_dir() {
        let _ = write!(s, "(cd {} && ", dir.display());
    }
    for (k, v) in cmd.get_envs() {
        if k != "PATH" {
            let _ = write!(
                s,
                "{}={} ",
                k.to_string_lossy(),
                v.map(|v| v.to_string_lossy()).unwrap_or_default()
            );
        }
    }
    s.push_str(&cmd.get_program().to_string_lossy());
    for a in cmd.get_args() {
        let a = a.to_string_lossy();
        if a.is_empty() || a.contains(|c: char| c.is_whitespace() || "'\"$`\\".contains(c)) {
            let _ = write!(s, " '{}'", a.replace('\'', "'\\''"));
        } else {
            let _ = write!(s, " {a}");
        }
    }
    if cmd.get_current_dir().is_some() {
        s.push(')');
    }
    s
}

/// Runs `cmd` with `stdin` as its input, collecting stdout and stderr; kills it after `timeout`.
/// Panics only if it cannot be started or times out; the exit status is the caller's business.
pub fn run_with_input(cmd: &mut Command, stdin: &[u8], timeout: Duration) -> Output {
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", describe(cmd)));
    let mut input = child.stdin.take().unwrap();
    let data = stdin.to_vec();
    let writer = thread::spawn(move || {
        // A program that does not read all its input gets EPIPE here: not an error.
        let _ = input.write_all(&data);
    });
    let mut out_pipe = child.stdout.take().unwrap();
    let mut err_pipe = child.stderr.take().unwrap();
    let out_reader = thread::spawn(move || {
        let mut v = Vec::new();
        let _ = out_pipe.read_to_end(&mut v);
        v
    });
    let err_reader = thread::spawn(move || {
        let mut v = Vec::new();
        let _ = err_pipe.read_to_end(&mut v);
        v
    });
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if start.elapsed() > timeout {
            kill_tree(&mut child);
            panic!("timed out after {:?}: {}", timeout, describe(cmd));
        }
        thread::sleep(Duration::from_millis(5));
    };
    let _ = writer.join();
    Output {
        status,
        stdout: out_reader.join().unwrap(),
        stderr: err_reader.join().unwrap(),
    }
}

/// Kills a child and all its descendants (a hung build's make, compilers, qemu), found
/// through /proc.
fn kill_tree(child: &mut std::process::Child) {
    let mut parents = Vec::new();
    if let Ok(dir) = fs::read_dir("/proc") {
        for entry in dir.flatten() {
            let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
                continue;
            };
            let Ok(stat) = fs::read_to_string(entry.path().join("stat")) else {
                continue;
            };
            // pid (comm) state ppid ...: comm may contain spaces, so parse after the last ')'.
            let ppid = stat
                .rsplit_once(')')
                .and_then(|(_, rest)| rest.split_whitespace().nth(1))
                .and_then(|p| p.parse::<u32>().ok());
            if let Some(ppid) = ppid {
                parents.push((pid, ppid));
            }
        }
    }
    let mut victims = vec![child.id()];
    let mut i = 0;
    while i < victims.len() {
        let p = victims[i];
        victims.extend(parents.iter().filter(|(_, pp)| *pp == p).map(|(c, _)| *c));
        i += 1;
    }
    let _ = Command::new("kill")
        .arg("-KILL")
        .args(victims.iter().map(|p| p.to_string()))
        .stderr(Stdio::null())
        .status();
    let _ = child.wait();
}

/// Runs `cmd` (empty stdin) and returns its output, whatever its exit status.
pub fn run(cmd: &mut Command) -> Output {
    run_with_input(cmd, b"", RUN_TIMEOUT)
}

/// Runs `cmd` and panics, showing the command, its exit status, stdout and stderr, unless it
/// succeeds.
pub fn check(cmd: &mut Command) -> Output {
    let out = run(cmd);
    if !out.status.success() {
        panic!(
            "command failed ({}):\n  {}\n{}",
            out.status,
            describe(cmd),
            show_output(&out)
        );
    }
    out
}

/// Renders stdout and stderr of a run, truncated to the last 200 lines each.
pub fn show_output(out: &Output) -> String {
    format!(
        "--- stdout ---\n{}--- stderr ---\n{}--------------",
        tail_lines(&out.stdout, 200),
        tail_lines(&out.stderr, 200)
    )
}

fn tail_lines(bytes: &[u8], n: usize) -> String {
    let text = String::from_utf8_lossy(bytes);
    let lines: Vec<&str> = text.lines().collect();
    let mut s = String::new();
    if lines.len() > n {
        let _ = writeln!(s, "[... {} earlier lines ...]", lines.len() - n);
    }
    for l in &lines[lines.len().saturating_sub(n)..] {
        s.push_str(l);
        s.push('\n');
    }
    s
}

/// Runs `cmd` with stdout and stderr going to `log`; on failure panics with the log's tail.
pub fn run_logged(cmd: &mut Command, log: &Path) {
    let file = fs::File::create(log).unwrap_or_else(|e| panic!("creating {}: {e}", log.display()));
    cmd.stdin(Stdio::null())
        .stdout(file.try_clone().unwrap())
        .stderr(file);
    let start = Instant::now();
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", describe(cmd)));
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if start.elapsed() > BUILD_TIMEOUT {
            kill_tree(&mut child);
            panic!(
                "timed out after {:?}: {}\nlog: {}",
                BUILD_TIMEOUT,
                describe(cmd),
                log.display()
            );
        }
        thread::sleep(Duration::from_millis(50));
    };
    if !status.success() {
        let text = fs::read(log).unwrap_or_default();
        panic!(
            "command failed ({status}):\n  {}\nfull log: {}\n--- last 80 lines of the log ---\n{}",
            describe(cmd),
            log.display(),
            tail_lines(&text, 80)
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Running fat executables on both ISAs

/// One run of a program: arguments, standard input, working directory and extra environment.
#[derive(Clone, Debug, Default)]
pub struct RunSpec {
    pub args: Vec<OsString>,
    pub stdin: Vec<u8>,
    pub cwd: Option<PathBuf>,
    pub env: Vec<(OsString, OsString)>,
}

impl RunSpec {
    pub fn new<S: AsRef<std::ffi::OsStr>>(args: &[S]) -> RunSpec {
        RunSpec {
            args: args.iter().map(|a| a.as_ref().to_os_string()).collect(),
            ..RunSpec::default()
        }
    }
    pub fn stdin(mut self, data: impl Into<Vec<u8>>) -> RunSpec {
        self.stdin = data.into();
        self
    }
    pub fn cwd(mut self, dir: impl Into<PathBuf>) -> RunSpec {
        self.cwd = Some(dir.into());
        self
    }
    pub fn env(mut self, key: impl Into<OsString>, value: impl Into<OsString>) -> RunSpec {
        self.env.push((key.into(), value.into()));
        self
    }
}

/// The two ISAs a fat executable runs on (unimig's own definition).
pub use unimig_common::Isa;

/// The command that runs `app` on `isa`: `app ARGS` natively, `unimig run --isa aarch64 app
/// ARGS` for the AArch64 half (under qemu-aarch64).
pub fn isa_command(isa: Isa, app: &Path, spec: &RunSpec) -> Command {
    let mut cmd = match isa {
        Isa::X86_64 => command(app),
        Isa::Aarch64 => {
            let mut c = command(tool("unimig"));
            c.arg("run").arg("--isa").arg("aarch64").arg(app);
            c
        }
    };
    cmd.args(&spec.args);
    if let Some(dir) = &spec.cwd {
        cmd.current_dir(dir);
    }
    for (k, v) in &spec.env {
        cmd.env(k, v);
    }
    cmd
}

/// Runs `app` on one ISA.
pub fn run_on(isa: Isa, app: &Path, spec: &RunSpec) -> Output {
    run_with_input(&mut isa_command(isa, app, spec), &spec.stdin, RUN_TIMEOUT)
}

/// Runs `app ARGS` natively and `unimig run --isa aarch64 app ARGS`, both with `stdin`, and
/// returns (x86-64 output, AArch64 output).
pub fn run_both_isas<S: AsRef<std::ffi::OsStr>>(
    app: &Path,
    args: &[S],
    stdin: &[u8],
) -> (Output, Output) {
    run_both_isas_spec(app, &RunSpec::new(args).stdin(stdin))
}

/// [`run_both_isas`] with a full [`RunSpec`]. Every program compared across ISAs is first
/// verified by `unimig check` (identical addresses for every symbol and identical data bytes
/// in both images), once per file.
pub fn run_both_isas_spec(app: &Path, spec: &RunSpec) -> (Output, Output) {
    assert_layout_checked(app);
    (
        run_on(Isa::X86_64, app, spec),
        run_on(Isa::Aarch64, app, spec),
    )
}

/// Runs `unimig check APP` (once per path and modification time) and panics with its report
/// unless the two images of APP agree on every program-visible address.
pub fn assert_layout_checked(app: &Path) {
    use std::collections::HashSet;
    use std::sync::Mutex;
    static CHECKED: Mutex<Option<HashSet<(PathBuf, std::time::SystemTime)>>> = Mutex::new(None);
    let key = (
        app.to_path_buf(),
        fs::metadata(app)
            .and_then(|m| m.modified())
            .unwrap_or(std::time::UNIX_EPOCH),
    );
    if CHECKED
        .lock()
        .unwrap()
        .get_or_insert_with(HashSet::new)
        .contains(&key)
    {
        return;
    }
    let out = run(command(tool("unimig")).arg("check").arg(app));
    assert!(
        out.status.success(),
        "unimig check {} failed:\n{}",
        app.display(),
        show_output(&out)
    );
    CHECKED
        .lock()
        .unwrap()
        .get_or_insert_with(HashSet::new)
        .insert(key);
}

/// Runs on both ISAs, asserts identical stdout, stderr and exit status, and returns the output.
pub fn run_both_same(what: &str, app: &Path, spec: &RunSpec) -> Output {
    let (x86, a64) = run_both_isas_spec(app, spec);
    assert_same_output(what, &x86, &a64);
    x86
}

/// Panics with a diff unless the two runs have identical stdout, stderr and exit status.
pub fn assert_same_output(what: &str, x86: &Output, a64: &Output) {
    let mut problems = String::new();
    if !same_status(&x86.status, &a64.status) {
        let _ = writeln!(
            problems,
            "exit status differs: x86_64 {}, aarch64 {}",
            x86.status, a64.status
        );
    }
    for (name, a, b) in [
        ("stdout", &x86.stdout, &a64.stdout),
        ("stderr", &x86.stderr, &a64.stderr),
    ] {
        if a != b {
            let _ = writeln!(
                problems,
                "{name} differs (--- x86_64, +++ aarch64):\n{}",
                diff(a, b)
            );
        }
    }
    if !problems.is_empty() {
        panic!("{what}: the two ISAs disagree\n{problems}");
    }
}

fn same_status(a: &ExitStatus, b: &ExitStatus) -> bool {
    use std::os::unix::process::ExitStatusExt;
    a.code() == b.code() && a.signal() == b.signal()
}

/// Panics with a diff unless `out` has exactly this stdout, stderr and exit code.
pub fn assert_expected(what: &str, out: &Output, stdout: &[u8], stderr: &[u8], code: i32) {
    let mut problems = String::new();
    if out.status.code() != Some(code) {
        let _ = writeln!(
            problems,
            "exit status: expected code {code}, got {}",
            out.status
        );
    }
    for (name, want, got) in [
        ("stdout", stdout, &out.stdout),
        ("stderr", stderr, &out.stderr),
    ] {
        if want != got.as_slice() {
            let _ = writeln!(
                problems,
                "{name} differs (--- expected, +++ actual):\n{}",
                diff(want, got)
            );
        }
    }
    if !problems.is_empty() {
        panic!("{what}: output differs from the expected output\n{problems}");
    }
}

/// Panics unless the two files have the same bytes (says where they first differ).
pub fn assert_same_file(what: &str, a: &Path, b: &Path) {
    let x = fs::read(a).unwrap_or_else(|e| panic!("{what}: reading {}: {e}", a.display()));
    let y = fs::read(b).unwrap_or_else(|e| panic!("{what}: reading {}: {e}", b.display()));
    assert_same_bytes(
        what,
        &x,
        &y,
        &a.display().to_string(),
        &b.display().to_string(),
    );
}

/// Panics unless `x == y`, saying where they first differ.
pub fn assert_same_bytes(what: &str, x: &[u8], y: &[u8], xname: &str, yname: &str) {
    if x != y {
        let first = x
            .iter()
            .zip(y)
            .position(|(a, b)| a != b)
            .unwrap_or(x.len().min(y.len()));
        panic!(
            "{what}: {xname} ({} bytes) and {yname} ({} bytes) differ, first at byte {first}",
            x.len(),
            y.len()
        );
    }
}

/// A line diff of two byte strings in unified style (`-` only in `a`, `+` only in `b`), with
/// three lines of context, for failure messages. Very long inputs show the first difference.
pub fn diff(a: &[u8], b: &[u8]) -> String {
    if !looks_like_text(a) || !looks_like_text(b) {
        let first = a
            .iter()
            .zip(b)
            .position(|(p, q)| p != q)
            .unwrap_or(a.len().min(b.len()));
        let window = |d: &[u8]| {
            let lo = first.saturating_sub(8);
            d[lo.min(d.len())..(first + 8).min(d.len())]
                .iter()
                .map(|x| format!("{x:02x}"))
                .collect::<Vec<_>>()
                .join(" ")
        };
        return format!(
            "binary data: {} vs {} bytes, first difference at byte {first}\n-[{}]\n+[{}]\n",
            a.len(),
            b.len(),
            window(a),
            window(b)
        );
    }
    let a = String::from_utf8_lossy(a);
    let b = String::from_utf8_lossy(b);
    let x: Vec<&str> = a.split_inclusive('\n').collect();
    let y: Vec<&str> = b.split_inclusive('\n').collect();
    let mut out = String::new();
    if x.len() * y.len() > 25_000_000 {
        let i = x
            .iter()
            .zip(&y)
            .position(|(p, q)| p != q)
            .unwrap_or(x.len().min(y.len()));
        let _ = writeln!(
            out,
            "@@ first difference at line {} ({} vs {} lines) @@",
            i + 1,
            x.len(),
            y.len()
        );
        for l in x.iter().skip(i).take(5) {
            push_line(&mut out, '-', l);
        }
        for l in y.iter().skip(i).take(5) {
            push_line(&mut out, '+', l);
        }
        return out;
    }
    // LCS table, then walk it into an edit script.
    let (n, m) = (x.len(), y.len());
    let mut lcs = vec![0u32; (n + 1) * (m + 1)];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            lcs[i * (m + 1) + j] = if x[i] == y[j] {
                lcs[(i + 1) * (m + 1) + j + 1] + 1
            } else {
                lcs[(i + 1) * (m + 1) + j].max(lcs[i * (m + 1) + j + 1])
            };
        }
    }
    let mut ops: Vec<(char, &str)> = Vec::new();
    let (mut i, mut j) = (0, 0);
    while i < n || j < m {
        if i < n && j < m && x[i] == y[j] {
            ops.push((' ', x[i]));
            i += 1;
            j += 1;
        } else if i < n && (j == m || lcs[(i + 1) * (m + 1) + j] >= lcs[i * (m + 1) + j + 1]) {
            ops.push(('-', x[i]));
            i += 1;
        } else {
            ops.push(('+', y[j]));
            j += 1;
        }
    }
    // Print changed lines with 3 lines of context; elide the rest.
    let changed: Vec<usize> = ops
        .iter()
        .enumerate()
        .filter(|(_, o)| o.0 != ' ')
        .map(|(k, _)| k)
        .collect();
    let mut last_printed: Option<usize> = None;
    for (k, (tag, line)) in ops.iter().enumerate() {
        let near = changed.iter().any(|&c| c.abs_diff(k) <= 3);
        if !near {
            continue;
        }
        if let Some(p) = last_printed {
            if k > p + 1 {
                out.push_str("@@ ... @@\n");
            }
        } else if k > 0 {
            out.push_str("@@ ... @@\n");
        }
        push_line(&mut out, *tag, line);
        last_printed = Some(k);
        if out.len() > 20_000 {
            out.push_str("[diff truncated]\n");
            break;
        }
    }
    out
}

/// Mostly printable UTF-8 (a few stray bytes are fine): diff by lines, else as binary.
fn looks_like_text(data: &[u8]) -> bool {
    let text = String::from_utf8_lossy(data);
    let odd = text
        .chars()
        .filter(|c| *c == '\u{fffd}' || (c.is_control() && !"\n\t\r".contains(*c)))
        .count();
    odd * 100 <= text.chars().count().max(1)
}

fn push_line(out: &mut String, tag: char, line: &str) {
    out.push(tag);
    out.push_str(line);
    if !line.ends_with('\n') {
        out.push_str("\n\\ No newline at end of file\n");
    }
}

/// Asserts that `out` succeeded (exit code 0), showing its output otherwise.
pub fn assert_success(what: &str, out: &Output) {
    if !out.status.success() {
        panic!("{what}: failed ({})\n{}", out.status, show_output(out));
    }
}

// ---------------------------------------------------------------------------------------------
// Debian source packages

/// Directory where Debian source packages are cached (`build/debsrc`, gitignored).
pub fn debsrc_cache() -> PathBuf {
    source_root().join("build/debsrc")
}

/// The pristine upstream tarball (`NAME_VERSION.orig.tar.*`) of Debian source package `name`,
/// downloaded with `apt-get source --download-only` into [`debsrc_cache`] on first use. Runs
/// under a file lock (`build/debsrc/.lock`, the one scripts/fetch-debsrc.sh takes too), so
/// parallel tests do not race on apt. The versions `apt-cache showsrc` lists are tried newest
/// first (a mirror may lack one). Panics with a clear message when none can be fetched.
pub fn debian_orig_tarball(name: &str) -> PathBuf {
    let cache = debsrc_cache();
    fs::create_dir_all(&cache).unwrap();
    let versions = debian_source_versions(name);
    let find = |version: &str| -> Option<PathBuf> {
        let base = format!("{name}_{}.orig.tar.", upstream_version(version));
        let mut found: Vec<PathBuf> = fs::read_dir(&cache)
            .ok()?
            .filter_map(|e| e.ok())
            .map(|e| e.path())
            .filter(|p| {
                let f = p.file_name().unwrap().to_string_lossy().to_string();
                f.starts_with(&base) && !f.ends_with(".asc")
            })
            .collect();
        found.sort();
        found.into_iter().next()
    };
    if let Some(p) = versions.iter().find_map(|v| find(v)) {
        return p;
    }
    // `flock` serialises with other tests and with scripts/fetch-debsrc.sh; the check inside
    // the lock avoids a second download when another process fetched it while we waited.
    let mut attempts = String::new();
    for version in &versions {
        let base = format!("{name}_{}.orig.tar.", upstream_version(version));
        let script = format!(
            "ls {base}* >/dev/null 2>&1 || apt-get source --download-only -q {name}={version}"
        );
        let mut cmd = Command::new("flock");
        cmd.arg(cache.join(".lock"))
            .arg("sh")
            .arg("-c")
            .arg(&script)
            .current_dir(&cache);
        let out = run_with_input(&mut cmd, b"", Duration::from_secs(600));
        let _ = fs::write(
            cache.join(format!("{name}.fetch.log")),
            [&out.stdout[..], &out.stderr[..]].concat(),
        );
        if out.status.success() {
            if let Some(p) = find(version) {
                // A failed download can leave a broken file: check that tar can read it.
                let ok = Command::new("tar")
                    .arg("-tf")
                    .arg(&p)
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .status();
                if ok.map(|s| s.success()).unwrap_or(false) {
                    return p;
                }
                let _ = fs::remove_file(&p);
            }
        }
        let _ = writeln!(attempts, "== {name}={version}:\n{}", show_output(&out));
    }
    panic!(
        "cannot fetch the Debian source package {name} (`apt-get source --download-only {name}` \
         in {}): it needs network access and deb-src in the apt sources (`make setup` enables \
         it)\n{attempts}",
        cache.display()
    )
}

/// The versions of Debian source package `name` that `apt-cache showsrc` knows, newest first.
pub fn debian_source_versions(name: &str) -> Vec<String> {
    let out = run(Command::new("apt-cache")
        .arg("showsrc")
        .arg("--only-source")
        .arg(name));
    let text = String::from_utf8_lossy(&out.stdout);
    let mut versions: Vec<String> = text
        .lines()
        .filter_map(|l| l.strip_prefix("Version: "))
        .map(|v| v.trim().to_string())
        .collect();
    if !out.status.success() || versions.is_empty() {
        panic!(
            "apt-cache showsrc {name} found no source package: enable deb-src and run apt-get \
             update (`make setup` does both)\n{}",
            show_output(&out)
        );
    }
    versions.dedup();
    versions.sort_by(|a, b| {
        let newer = |x: &str, y: &str| {
            Command::new("dpkg")
                .args(["--compare-versions", x, "gt", y])
                .status()
                .map(|s| s.success())
                .unwrap_or(false)
        };
        if a == b {
            std::cmp::Ordering::Equal
        } else if newer(a, b) {
            std::cmp::Ordering::Less
        } else {
            std::cmp::Ordering::Greater
        }
    });
    versions
}

/// `1:1.2.13.dfsg-1` -> `1.2.13.dfsg` (no epoch, no Debian revision).
pub fn upstream_version(version: &str) -> String {
    let v = version.split_once(':').map(|(_, v)| v).unwrap_or(version);
    match v.rfind('-') {
        Some(i) => v[..i].to_string(),
        None => v.to_string(),
    }
}

/// Extracts `tarball` into `dest` and returns the one top-level directory it contains.
pub fn extract(tarball: &Path, dest: &Path) -> PathBuf {
    fs::create_dir_all(dest).unwrap();
    check(
        Command::new("tar")
            .arg("--no-same-owner")
            .arg("-xf")
            .arg(tarball)
            .arg("-C")
            .arg(dest),
    );
    let dirs: Vec<PathBuf> = fs::read_dir(dest)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_type().map(|t| t.is_dir()).unwrap_or(false))
        .map(|e| e.path())
        .collect();
    assert_eq!(
        dirs.len(),
        1,
        "{} should hold one top-level directory",
        tarball.display()
    );
    dirs.into_iter().next().unwrap()
}

/// Fetches and extracts Debian source package `name` into `dest`; returns the source tree.
pub fn debian_source_tree(name: &str, dest: &Path) -> PathBuf {
    extract(&debian_orig_tarball(name), dest)
}

/// Runs `tests/packages/SCRIPT` in `src` with `CC=unimig-cc`, the installation on `PATH`, and
/// `JOBS`; its output goes to `log` (tail shown on failure).
pub fn run_package_script(script: &str, src: &Path, log: &Path) {
    let mut cmd = command("bash");
    cmd.arg(tests_dir().join("packages").join(script))
        .current_dir(src)
        .env("CC", cc())
        .env("UNIMIG", tool("unimig"))
        .env("JOBS", jobs().to_string())
        .env("TESTS_DIR", tests_dir());
    run_logged(&mut cmd, log);
}

// ---------------------------------------------------------------------------------------------
// Timing

/// Measures a test's wall time; on drop prints it and appends it to `build/test-times.log`.
pub struct Timer {
    name: String,
    start: Instant,
}

impl Timer {
    pub fn start(name: &str) -> Timer {
        Timer {
            name: name.to_string(),
            start: Instant::now(),
        }
    }
    /// Prints the time since the start under a sub-label (a build phase).
    pub fn lap(&self, label: &str) {
        eprintln!(
            "[time] {} / {label}: {:.1} s",
            self.name,
            self.start.elapsed().as_secs_f64()
        );
    }
}

impl Drop for Timer {
    fn drop(&mut self) {
        let secs = self.start.elapsed().as_secs_f64();
        let result = if thread::panicking() { "FAILED" } else { "ok" };
        let line = format!(
            "{} {:.1} s {result} (prefix {})",
            self.name,
            secs,
            prefix().display()
        );
        eprintln!("[time] {line}");
        let log = source_root().join("build/test-times.log");
        if let Ok(mut f) = fs::OpenOptions::new().create(true).append(true).open(log) {
            let _ = writeln!(f, "{line}");
        }
    }
}

/// What a supervised run of a migrating program gave: its output and `--report` (JSON).
pub struct MigratedRun {
    pub out: Output,
    pub report: serde_json::Value,
}

/// `unimig run --isa START [--migrate-at POINTS | --count-points] --report REPORT`, to which
/// the caller adds the program and its arguments.
pub fn unimig_run_command(start: Isa, points: &[u64], report: &Path) -> Command {
    let mut cmd = command(tool("unimig"));
    cmd.arg("run").arg("--isa").arg(start.name());
    if points.is_empty() {
        cmd.arg("--count-points");
    } else {
        let list: Vec<String> = points.iter().map(u64::to_string).collect();
        cmd.arg("--migrate-at").arg(list.join(","));
    }
    cmd.arg("--report").arg(report);
    cmd
}

/// `unimig run --isa START [--migrate-at POINTS | --count-points] --report R APP ARGS` with
/// `spec`'s stdin, directory and environment.
pub fn run_supervised(app: &Path, spec: &RunSpec, start: Isa, points: &[u64]) -> MigratedRun {
    let dir = temp_dir("supervised-report");
    let report = dir.path().join("report.json");
    let mut cmd = unimig_run_command(start, points, &report);
    cmd.arg(app).args(&spec.args);
    if let Some(d) = &spec.cwd {
        cmd.current_dir(d);
    }
    for (k, v) in &spec.env {
        cmd.env(k, v);
    }
    let out = run_with_input(&mut cmd, &spec.stdin, RUN_TIMEOUT);
    let text = std::fs::read_to_string(&report)
        .unwrap_or_else(|e| panic!("no report {}: {e}\n{}", report.display(), show_output(&out)));
    MigratedRun {
        out,
        report: serde_json::from_str(&text).expect("the report is JSON"),
    }
}

/// Runs `app` natively, then migrating `count` times at points spread over its run, starting
/// on each ISA; panics unless stdout, stderr and the exit status equal the native run's and
/// the migrations alternate ISAs (at least `count / 2` of them: points inside a library call
/// wait until it returns, so nearby ones can merge). Returns the native output.
pub fn assert_migrates(what: &str, app: &Path, spec: &RunSpec, count: u64) -> Output {
    assert_migrates_at_least(what, app, spec, count, count / 2)
}

/// [`assert_migrates`] for a program whose hot frames are often at unsafe call sites: at
/// least `min` of the `count` requested migrations happen (the others are refused and retried
/// until the program ends), and the output is still the native one.
pub fn assert_migrates_at_least(
    what: &str,
    app: &Path,
    spec: &RunSpec,
    count: u64,
    min: u64,
) -> Output {
    let native = run_on(Isa::X86_64, app, spec);
    let counted = run_supervised(app, spec, Isa::X86_64, &[]);
    assert_same_output(&format!("{what}: counting run"), &native, &counted.out);
    let total = counted.report["points"]
        .as_u64()
        .unwrap_or_else(|| panic!("{what}: no point count: {:#}", counted.report));
    assert!(total > count * 4, "{what}: only {total} migration points");
    let points: Vec<u64> = (1..=count).map(|i| i * total / (count + 1)).collect();
    for start in Isa::ALL {
        let run = run_supervised(app, spec, start, &points);
        let label = format!("{what} migrating from {}", start.name());
        assert_same_output(&label, &native, &run.out);
        let moves = run.report["migrations"].as_array().expect("migrations");
        assert!(
            moves.len() as u64 >= min,
            "{label}: {} migrations: {:#}",
            moves.len(),
            run.report
        );
        let mut on = start;
        for m in moves {
            assert_eq!(m["from"], on.name(), "{label}: {:#}", run.report);
            on = on.other();
        }
        // Refused probes back off per call site (sysroots/runtime/src/point.c): bzip2 -9 on
        // 1 MB, whose sort cycles through many unsafe loop sites, takes 10234 starting on
        // x86-64 (4087 with the cost-model-free middle end); when only one site was remembered
        // it took 351128 (and 100 s instead of 2).
        let probes = run.report["probe_retries"].as_u64().unwrap_or(0);
        assert!(
            probes <= MAX_PROBE_RETRIES,
            "{label}: {probes} refused probes: {:#}",
            run.report
        );
    }
    native
}

/// The most refused probes a supervised run of a package's workload may take.
const MAX_PROBE_RETRIES: u64 = 20_000;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions() {
        assert_eq!(upstream_version("1:1.2.13.dfsg-1"), "1.2.13.dfsg");
        assert_eq!(upstream_version("5.4.4-3+deb12u1"), "5.4.4");
        assert_eq!(upstream_version("1.0"), "1.0");
    }

    #[test]
    fn timeout_kills_descendants() {
        let dir = temp_dir("timeout");
        let pidfile = dir.path().join("pid");
        let script = format!("sleep 60 & echo $! > {}; wait", pidfile.display());
        let result = std::panic::catch_unwind(|| {
            run_with_input(
                Command::new("sh").arg("-c").arg(&script),
                b"",
                Duration::from_millis(500),
            )
        });
        assert!(result.is_err(), "the run should time out");
        let pid = fs::read_to_string(&pidfile).unwrap().trim().to_string();
        thread::sleep(Duration::from_millis(200));
        let state = fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        assert!(
            state.is_empty() || state.contains(") Z"),
            "the background sleep survived: {state}"
        );
    }

    #[test]
    fn diff_shows_changes() {
        let d = diff(b"a\nb\nc\n", b"a\nx\nc\n");
        assert!(d.contains("-b\n") && d.contains("+x\n"), "{d}");
        assert!(diff(b"same\n", b"same\n").is_empty());
    }
}
