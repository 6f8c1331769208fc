//! The request-driven commands on a running program: `unimig migrate PID` moves it while it
//! runs, `unimig checkpoint PID -o DIR` stops it into a directory that `unimig restore DIR`
//! resumes (on the other ISA), `unimig inspect DIR` describes the checkpoint; a corrupted
//! checkpoint is refused. Every run's complete output must equal the native run's.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};
use unimig_tests::*;

fn build(dir: &Path) -> PathBuf {
    let app = dir.join("ticker");
    check(
        command(cc())
            .args(["-O2", "-funimig-points=all", "-funimig-stackmaps"])
            .arg(tests_dir().join("migration/ticker.c"))
            .arg("-o")
            .arg(&app),
    );
    app
}

/// `unimig run APP` with stdout piped; waits until the program printed its first line, so its
/// supervisor is listening for requests.
fn start(app: &Path, isa: Isa) -> (Child, Vec<u8>) {
    let mut child = command(tool("unimig"))
        .args(["run", "--isa", isa.name()])
        .arg(app)
        .stdout(Stdio::piped())
        .spawn()
        .expect("unimig run");
    let mut first = Vec::new();
    let out = child.stdout.as_mut().unwrap();
    let mut byte = [0u8; 1];
    while out.read(&mut byte).unwrap() == 1 {
        first.push(byte[0]);
        if byte[0] == b'\n' {
            break;
        }
    }
    (child, first)
}

fn finish(mut child: Child, mut first: Vec<u8>) -> (std::process::ExitStatus, Vec<u8>) {
    child
        .stdout
        .as_mut()
        .unwrap()
        .read_to_end(&mut first)
        .unwrap();
    let deadline = Instant::now() + RUN_TIMEOUT;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return (status, first);
        }
        assert!(Instant::now() < deadline, "unimig run did not finish");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn migrate_a_running_program_both_ways() {
    let dir = temp_dir("migrate-cli");
    let app = build(dir.path());
    let native = check(&mut command(&app)).stdout;
    for isa in [Isa::X86_64, Isa::Aarch64] {
        let (child, first) = start(&app, isa);
        let pid = child.id().to_string();
        let mut moved = Vec::new();
        for _ in 0..2 {
            let out = check(command(tool("unimig")).args(["migrate", &pid]));
            moved.push(String::from_utf8_lossy(&out.stdout).into_owned());
        }
        let (status, output) = finish(child, first);
        assert!(status.success(), "{isa:?}: {status}");
        assert_same_bytes(
            &format!("migrated from {}", isa.name()),
            &native,
            &output,
            "native",
            "migrated",
        );
        let (a, b) = (isa.name(), isa.other().name());
        assert!(moved[0].contains(&format!("from {a} to {b}")), "{moved:?}");
        assert!(moved[1].contains(&format!("from {b} to {a}")), "{moved:?}");
        assert!(moved.iter().all(|m| m.contains("downtime")), "{moved:?}");
        // The response time (signal to the first probe) is measured for these requests.
        for m in &moved {
            let ms: f64 = m
                .split("; response ")
                .nth(1)
                .and_then(|r| r.split(" ms").next())
                .and_then(|v| v.parse().ok())
                .unwrap_or_else(|| panic!("no response time in {m:?}"));
            assert!(ms > 0.0, "{m:?}");
        }
    }
}

#[test]
fn checkpoint_then_restore_on_the_other_isa() {
    let dir = temp_dir("checkpoint-cli");
    let app = build(dir.path());
    let native = check(&mut command(&app)).stdout;
    let ckpt = dir.path().join("ckpt");
    let (child, first) = start(&app, Isa::X86_64);
    let pid = child.id().to_string();
    check(
        command(tool("unimig"))
            .args(["checkpoint", &pid, "-o"])
            .arg(&ckpt),
    );
    let (status, before) = finish(child, first);
    assert!(status.success(), "{status}");
    assert!(before.len() < native.len(), "the program was not stopped");

    // inspect DIR: the ISA, frames down to main, regions.
    let text =
        String::from_utf8_lossy(&check(command(tool("unimig")).arg("inspect").arg(&ckpt)).stdout)
            .into_owned();
    assert!(text.contains("checkpoint of x86_64"), "{text}");
    assert!(text.contains(" main record "), "{text}");
    assert!(text.contains("(main stack)"), "{text}");

    // A corrupted copy is refused, never resumed.
    let bad = dir.path().join("bad");
    std::fs::create_dir_all(&bad).unwrap();
    std::fs::copy(ckpt.join("app"), bad.join("app")).unwrap();
    let mut data = std::fs::read(ckpt.join("checkpoint.bin")).unwrap();
    let at = data.len() / 2;
    data[at] ^= 1;
    std::fs::write(bad.join("checkpoint.bin"), data).unwrap();
    for isa in ["x86_64", "aarch64"] {
        let out = run(command(tool("unimig"))
            .args(["restore", "--isa", isa])
            .arg(&bad));
        assert!(
            !out.status.success(),
            "{isa}: a corrupted checkpoint was resumed"
        );
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("checksum"), "{isa}: {err}");
        assert!(
            out.stdout.is_empty(),
            "{isa}: output from a refused checkpoint"
        );
    }

    // Resumed on AArch64: the rest of the output.
    let out = check(
        command(tool("unimig"))
            .args(["restore", "--isa", "aarch64"])
            .arg(&ckpt),
    );
    let mut whole = before;
    whole.extend(&out.stdout);
    assert_same_bytes(
        "checkpoint + restore",
        &native,
        &whole,
        "native",
        "restored",
    );
}
