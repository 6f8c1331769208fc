//! Test helpers: build the C programs of `tests/programs` with the staged `unimig-cc`, and
//! capture a real stack from a native x86-64 run as a PARTIAL checkpoint, the way the runtime's
//! probe will: stop at the entry of `__unimig_migration_point` under ptrace, read the
//! callee-saved registers, and copy the stack from the caller's sp to the top of its mapping.

#![allow(dead_code)]

use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use nix::sys::ptrace;
use nix::sys::signal::Signal;
use nix::sys::wait::{waitpid, WaitStatus};
use nix::unistd::Pid;
use object::{Object, ObjectSymbol};
use unimig_migrate::checkpoint::{kind, Header, FLAG_PARTIAL};
use unimig_migrate::{Checkpoint, Record};

/// Compiles `tests/programs/<name>.c` into `dir` as an instrumented fat executable.
pub fn build(name: &str, dir: &Path) -> PathBuf {
    let src = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/programs")
        .join(format!("{name}.c"));
    let out = dir.join(name);
    let mut cmd = Command::new(unimig_tests::cc());
    cmd.args(["-O2", "-funimig-points=all", "-funimig-stackmaps"])
        .arg(&src)
        .arg("-o")
        .arg(&out);
    unimig_tests::check(&mut cmd);
    out
}

/// Address of symbol `name` in the ELF file `bytes`.
pub fn symbol(bytes: &[u8], name: &str) -> Option<u64> {
    let file = object::File::parse(bytes).unwrap();
    file.symbols()
        .find(|s| s.name() == Ok(name))
        .map(|s| s.address())
}

fn read_mem(mem: &mut File, addr: u64, len: usize) -> Vec<u8> {
    let mut buf = vec![0; len];
    mem.seek(SeekFrom::Start(addr)).unwrap();
    mem.read_exact(&mut buf).unwrap();
    buf
}

/// The end of the mapping of `pid` that contains `addr` (from /proc/PID/maps).
fn mapping_end(pid: Pid, addr: u64) -> u64 {
    let maps = std::fs::read_to_string(format!("/proc/{pid}/maps")).unwrap();
    for line in maps.lines() {
        let range = line.split_whitespace().next().unwrap();
        let (lo, hi) = range.split_once('-').unwrap();
        let (lo, hi) = (
            u64::from_str_radix(lo, 16).unwrap(),
            u64::from_str_radix(hi, 16).unwrap(),
        );
        if lo <= addr && addr < hi {
            return hi;
        }
    }
    panic!("no mapping holds {addr:#x}")
}

/// The low 64 bits of xmm0..15 of a stopped tracee.
fn xmm_low_halves(pid: Pid) -> [u64; 16] {
    use nix::libc;
    // SAFETY: PTRACE_GETFPREGS fills a user_fpregs_struct of a stopped tracee.
    let mut fp: libc::user_fpregs_struct = unsafe { std::mem::zeroed() };
    let rc = unsafe {
        libc::ptrace(
            libc::PTRACE_GETFPREGS,
            pid.as_raw(),
            std::ptr::null_mut::<libc::c_void>(),
            (&mut fp as *mut libc::user_fpregs_struct).cast::<libc::c_void>(),
        )
    };
    assert_eq!(rc, 0, "PTRACE_GETFPREGS");
    std::array::from_fn(|i| {
        u64::from(fp.xmm_space[4 * i]) | u64::from(fp.xmm_space[4 * i + 1]) << 32
    })
}

/// Runs `exe` natively, stops it at the first call of `__unimig_migration_point`, and returns a
/// PARTIAL checkpoint of that moment (image id `__unimig_image_id`, 0 in images without it).
pub fn capture_x86_64(exe: &Path, args: &[&str]) -> Checkpoint<'static> {
    let bytes = std::fs::read(exe).unwrap();
    let point = symbol(&bytes, "__unimig_migration_point").unwrap();
    let image_id = symbol(&bytes, "__unimig_image_id").unwrap_or(0);
    let mut cmd = Command::new(exe);
    cmd.args(args);
    // SAFETY: only an async-signal-safe system call runs between fork and exec.
    unsafe {
        cmd.pre_exec(|| ptrace::traceme().map_err(std::io::Error::from));
    }
    let mut child = cmd.spawn().unwrap();
    let pid = Pid::from_raw(child.id() as i32);
    let stopped = |status| matches!(status, WaitStatus::Stopped(_, Signal::SIGTRAP));
    assert!(stopped(waitpid(pid, None).unwrap()), "no stop at exec");
    let mut mem = File::options()
        .read(true)
        .write(true)
        .open(format!("/proc/{pid}/mem"))
        .unwrap();
    mem.seek(SeekFrom::Start(point)).unwrap();
    mem.write_all(&[0xcc]).unwrap(); // int3
    ptrace::cont(pid, None).unwrap();
    let status = waitpid(pid, None).unwrap();
    assert!(
        stopped(status),
        "{}: never reached __unimig_migration_point ({status:?})",
        exe.display()
    );
    let r = ptrace::getregs(pid).unwrap();
    assert_eq!(r.rip, point + 1, "stopped elsewhere than the breakpoint");
    let xmm = xmm_low_halves(pid);
    // At the entry of the callee: [rsp] is the return address, the caller's sp is rsp + 8.
    let pc = u64::from_le_bytes(read_mem(&mut mem, r.rsp, 8).try_into().unwrap());
    let sp = r.rsp + 8;
    let top = mapping_end(pid, sp);
    let stack = read_mem(&mut mem, sp, (top - sp) as usize);
    ptrace::kill(pid).unwrap();
    child.wait().unwrap();

    // struct unimig_regs: callee-saved, sp, pc, then the migration point's (preserve_all)
    // caller-saved registers and xmm0..15's low halves.
    let words = [
        r.rbx, r.rbp, r.r12, r.r13, r.r14, r.r15, sp, pc, r.rax, r.rcx, r.rdx, r.rsi, r.rdi, r.r8,
        r.r9, r.r10, r.r11,
    ];
    let regs: Vec<u8> = words
        .iter()
        .chain(&xmm)
        .flat_map(|w| w.to_le_bytes())
        .collect();
    Checkpoint {
        header: Header {
            isa: object::elf::EM_X86_64.into(),
            image_id,
            point: 1,
            flags: FLAG_PARTIAL,
        },
        records: vec![Record::new(kind::REGS, regs), Record::data(sp, &stack)],
    }
}
