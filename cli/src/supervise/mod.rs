//! The supervisor behind `unimig run` and `unimig restore`: runs the program as a child on one
//! ISA, and moves it to the other ISA when asked (docs/migration.md): at given migration
//! points (`--migrate-at`), or on request (`unimig migrate|checkpoint PID`).
//!
//! One loop over [`Event`]s: lines from the children's runtimes, their exits, requests. A
//! migration is: probe (the source's stack only; the transformer says whether every frame can
//! be mapped: `go`, or `retry` at the next point) -> checkpoint -> transform -> start the
//! destination in restore mode -> its `running` -> `commit` to the source -> the source exits
//! -> `go` to the destination. Any failure before `commit` sends `abort` to the source, which
//! continues where it was; the failure goes into the report.

pub mod control;
pub mod report;
pub mod requests;
pub mod spawn;
pub mod transfer;

use anyhow::{anyhow, Context, Result};
use control::{ChildId, Event, Exit};
use report::Report;
use requests::{Kind, Request};
use spawn::Launcher;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Instant;
use transfer::Transfer;
use unimig_common::Isa;

/// Signal the runtime takes as a migration request (docs/migration.md, section 2).
pub const REQUEST_SIGNAL: i32 = 39;

/// The host signal that reaches the program as [`REQUEST_SIGNAL`]. Under qemu-user the guest's
/// real-time signals are the host's shifted: qemu 7.2 maps host `SIGRTMIN + n` (34 + n with
/// glibc, which keeps 32 and 33) to guest `32 + n`, so guest 39 is host 41 (measured: sending
/// host 39 delivers guest 37, whose default action kills the program).
fn request_signal(isa: Isa) -> i32 {
    match isa {
        Isa::X86_64 => REQUEST_SIGNAL,
        Isa::Aarch64 => REQUEST_SIGNAL - 32 + libc::SIGRTMIN(),
    }
}

pub struct Options {
    /// Where the program starts (or, with `restore_from`, resumes).
    pub isa: Isa,
    pub migrate_at: Vec<u64>,
    pub report: Option<PathBuf>,
    /// Count every migration point the program reaches (the report's `points`); slower: every
    /// poll then calls the runtime.
    pub count_points: bool,
    /// A checkpoint for `isa` to resume instead of starting the program.
    pub restore_from: Option<PathBuf>,
}

struct Child {
    pid: libc::pid_t,
    isa: Isa,
    control: std::os::unix::net::UnixStream,
}

/// Why the program is being stopped.
enum Purpose {
    Migrate,
    Checkpoint { dir: PathBuf, leave_running: bool },
}

/// A migration (or checkpoint) in progress.
struct Attempt {
    source: ChildId,
    to: Isa,
    purpose: Purpose,
    requester: Option<Request>,
    /// When the source stopped (its first probe of this attempt).
    stopped: Option<Instant>,
    /// From signalling the program to its first probe (a request from `unimig migrate`).
    response_us: Option<u64>,
    point: Option<u64>,
    retries: u64,
    dest: Option<ChildId>,
    dest_started: Option<Instant>,
    restore_us: u64,
    write_us: Option<u64>,
    converted: Option<transfer::Converted>,
    committed: bool,
}

struct Session {
    launcher: Launcher,
    transfer: Transfer,
    work: tempfile::TempDir,
    migrate_at: Vec<u64>,
    count_points: bool,
    children: Vec<Child>,
    current: ChildId,
    events: mpsc::Sender<Event>,
    attempt: Option<Attempt>,
    /// A request that arrived while another attempt was running.
    queued: Vec<Request>,
    /// The first child resumes from a checkpoint and waits for `go`.
    initial_restore: bool,
    report: Report,
    test_hooks: TestHooks,
}

/// Fault injection for the failure-safety tests (environment of `unimig run`).
#[derive(Default)]
struct TestHooks {
    /// `UNIMIG_TEST_KILL_DESTINATION=1`: kill each destination when it says it is ready, before
    /// the source commits.
    kill_destination: bool,
    /// `UNIMIG_TEST_CORRUPT_CHECKPOINT=1`: flip a byte of each destination checkpoint.
    corrupt_checkpoint: bool,
}

impl TestHooks {
    fn from_env() -> Self {
        let on = |k: &str| std::env::var_os(k).is_some_and(|v| v == "1");
        TestHooks {
            kill_destination: on("UNIMIG_TEST_KILL_DESTINATION"),
            corrupt_checkpoint: on("UNIMIG_TEST_CORRUPT_CHECKPOINT"),
        }
    }
}

/// A fast private directory for checkpoints: /dev/shm when usable.
fn work_dir() -> Result<tempfile::TempDir> {
    let shm = Path::new("/dev/shm");
    let builder = || {
        let mut b = tempfile::Builder::new();
        b.prefix("unimig-");
        b
    };
    if shm.is_dir() {
        if let Ok(d) = builder().tempdir_in(shm) {
            return Ok(d);
        }
    }
    builder()
        .tempdir()
        .context("creating the checkpoint directory")
}

/// `UNIMIG_KEEP_TEMPS=1`: keep the checkpoint directory (its path goes to stderr).
fn keep_work_dir(work: tempfile::TempDir) {
    if std::env::var_os("UNIMIG_KEEP_TEMPS").is_some_and(|v| v == "1") {
        let path = work.keep();
        eprintln!(
            "unimig: UNIMIG_KEEP_TEMPS: checkpoints kept in {}",
            path.display()
        );
    }
}

/// The context of an error starting the program at all (the caller exits with 127 for it).
#[derive(Debug)]
pub struct StartFailed;

impl std::fmt::Display for StartFailed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("cannot start the program")
    }
}

/// Runs the program to its end; returns how it ended.
pub fn supervise(launcher: Launcher, transfer: Transfer, options: Options) -> Result<Exit> {
    // Ctrl-C reaches the program (same process group); the supervisor waits for its verdict.
    // SAFETY: setting dispositions to SIG_IGN has no preconditions.
    unsafe {
        libc::signal(libc::SIGINT, libc::SIG_IGN);
        libc::signal(libc::SIGQUIT, libc::SIG_IGN);
    }
    let (tx, rx) = mpsc::channel();
    let _listener = requests::listen(&tx)?;
    let mut session = Session {
        launcher,
        transfer,
        work: work_dir()?,
        migrate_at: options.migrate_at,
        count_points: options.count_points,
        children: Vec::new(),
        current: 0,
        events: tx,
        attempt: None,
        queued: Vec::new(),
        initial_restore: options.restore_from.is_some(),
        report: Report::default(),
        test_hooks: TestHooks::from_env(),
    };
    session.current = session
        .start(options.isa, options.restore_from.as_deref())
        .context(StartFailed)?;
    let exit = session.run(&rx);
    keep_work_dir(std::mem::replace(&mut session.work, tempfile::tempdir()?));
    if let Some(path) = &options.report {
        let isa = session.children[session.current].isa;
        let json = session.report.to_json(exit.as_ref().ok().copied(), isa);
        std::fs::write(path, format!("{json:#}\n"))
            .with_context(|| format!("writing the report {}", path.display()))?;
    }
    exit
}

impl Session {
    fn start(&mut self, isa: Isa, restore: Option<&Path>) -> Result<ChildId> {
        let mut env = vec![
            ("UNIMIG_CTL".to_string(), spawn::CTL_FD.to_string()),
            (
                "UNIMIG_DIR".to_string(),
                self.work.path().display().to_string(),
            ),
        ];
        if !self.migrate_at.is_empty() {
            let list: Vec<String> = self.migrate_at.iter().map(u64::to_string).collect();
            env.push(("UNIMIG_MIGRATE_AT".to_string(), list.join(",")));
        }
        if self.count_points {
            env.push(("UNIMIG_COUNT_POINTS".to_string(), "1".to_string()));
        }
        if let Some(file) = restore {
            env.push(("UNIMIG_RESTORE".to_string(), file.display().to_string()));
        }
        let spawned = self.launcher.spawn(isa, &env)?;
        let id = self.children.len();
        control::watch(id, spawned.pid, &spawned.control, &self.events);
        self.children.push(Child {
            pid: spawned.pid,
            isa,
            control: spawned.control,
        });
        Ok(id)
    }

    /// Removes a checkpoint file that served its purpose (kept with UNIMIG_KEEP_TEMPS=1).
    fn discard(&self, file: &Path) {
        if std::env::var_os("UNIMIG_KEEP_TEMPS").is_none_or(|v| v != "1") {
            let _ = std::fs::remove_file(file);
        }
    }

    fn send(&self, child: ChildId, message: &str) {
        control::send(&self.children[child].control, message);
    }

    fn run(&mut self, rx: &mpsc::Receiver<Event>) -> Result<Exit> {
        loop {
            let event = rx
                .recv()
                .map_err(|_| anyhow!("lost track of the program"))?;
            match event {
                Event::Line(id, line) => self.line(id, &line)?,
                Event::Request(request) => self.request(request),
                Event::Exited(id, exit) => {
                    let done = self.exited(id, exit);
                    // Only now: until here the zombie keeps its pid from being reused.
                    control::reap(self.children[id].pid);
                    if let Some(exit) = done? {
                        return Ok(exit);
                    }
                }
            }
        }
    }

    fn line(&mut self, id: ChildId, line: &str) -> Result<()> {
        let (word, rest) = line.split_once(' ').unwrap_or((line, ""));
        if id == self.current && self.initial_restore {
            return match word {
                "running" => {
                    self.initial_restore = false;
                    self.send(id, "go");
                    Ok(())
                }
                "fail" => Err(anyhow!("the checkpoint was refused: {rest}")),
                _ => Ok(()),
            };
        }
        if id == self.current {
            match word {
                "probe" => self.probe(Path::new(rest)),
                "ckpt" => self.checkpoint(rest),
                "refuse" => {
                    // The runtime keeps the request pending and tries again at the next
                    // point; only the report learns of it.
                    let from = self.children[id].isa;
                    self.report.failures.push(report::Failure {
                        from,
                        point: None,
                        stage: "runtime",
                        reason: rest.to_string(),
                    });
                }
                "end" => self.report.points = rest.trim().parse().ok(),
                _ => {}
            }
            return Ok(());
        }
        if self.attempt.as_ref().and_then(|a| a.dest) == Some(id) {
            match word {
                "running" if self.test_hooks.kill_destination => {
                    // The destination dies before the source is told to commit: its exit
                    // event aborts the attempt and the source continues.
                    // SAFETY: kill on our own child (not yet reaped: see control::watch).
                    unsafe { libc::kill(self.children[id].pid, libc::SIGKILL) };
                }
                "running" => {
                    let attempt = self.attempt.as_mut().expect("checked");
                    attempt.restore_us = attempt
                        .dest_started
                        .map(|t| t.elapsed().as_micros() as u64)
                        .unwrap_or(0);
                    attempt.committed = true;
                    let source = attempt.source;
                    self.send(source, "commit");
                }
                "fail" => {
                    let point = self.attempt.as_ref().and_then(|a| a.point);
                    self.fail_attempt(point, "restore", rest.to_string(), true);
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// The attempt for the source's current stop: a pending request's, or `--migrate-at`'s.
    fn attempt(&mut self) -> &mut Attempt {
        if self.attempt.is_none() {
            let current = self.current;
            let from = self.children[current].isa;
            let (purpose, requester) = match self.queued.pop() {
                Some(r) => match &r.kind {
                    Kind::Checkpoint { dir, leave_running } => (
                        Purpose::Checkpoint {
                            dir: dir.clone(),
                            leave_running: *leave_running,
                        },
                        Some(r),
                    ),
                    Kind::Migrate { .. } => (Purpose::Migrate, Some(r)),
                },
                None => (Purpose::Migrate, None),
            };
            self.attempt = Some(Attempt {
                source: current,
                to: from.other(),
                purpose,
                requester,
                stopped: None,
                response_us: None,
                point: None,
                retries: 0,
                dest: None,
                dest_started: None,
                restore_us: 0,
                write_us: None,
                converted: None,
                committed: false,
            });
        }
        self.attempt.as_mut().expect("just set")
    }

    fn probe(&mut self, file: &Path) {
        let attempt = self.attempt();
        if attempt.retries == 0 {
            attempt.response_us = attempt
                .requester
                .as_ref()
                .and_then(|r| r.signalled)
                .map(|t| t.elapsed().as_micros() as u64);
        }
        let to = attempt.to;
        let verdict = self.transfer.probe(file, to);
        self.discard(file);
        let attempt = self.attempt();
        match verdict {
            Ok(()) => {
                attempt.stopped = Some(Instant::now());
                let source = attempt.source;
                self.send(source, "go");
            }
            Err(e) => {
                attempt.retries += 1;
                let source = attempt.source;
                self.report.points_retried += 1;
                // The site in the way, if it is one the runtime can watch (see
                // TransformError::refusing_site): an outer frame it waits out, or the innermost
                // frame's site (sp 0), which it probes less often.
                let (sp, pc) = e
                    .downcast_ref::<unimig_migrate::TransformError>()
                    .and_then(|t| t.refusing_site())
                    .unwrap_or((0, 0));
                let reason = one_line(&e);
                self.send(source, &format!("retry {sp:#x} {pc:#x} {reason}"));
                self.report.last_retry_reason = Some(format!("{reason} (watch {sp:#x} {pc:#x})"));
            }
        }
    }

    fn checkpoint(&mut self, rest: &str) {
        let mut words = rest.split(' ');
        let file = PathBuf::from(words.next().unwrap_or(""));
        let write_us = words
            .filter_map(|w| w.strip_prefix("write_us="))
            .find_map(|v| v.parse().ok());
        let attempt = self.attempt();
        attempt.write_us = write_us;
        if attempt.stopped.is_none() {
            attempt.stopped = Some(Instant::now());
        }
        let to = attempt.to;
        if let Purpose::Checkpoint { dir, leave_running } = &attempt.purpose {
            let (dir, leave_running) = (dir.clone(), *leave_running);
            let result = self.save_checkpoint(&file, &dir);
            self.discard(&file);
            let source = self.current;
            let mut attempt = self.attempt.take().expect("in an attempt");
            match result {
                Ok(()) => {
                    if let Some(r) = attempt.requester.take() {
                        r.answer(&format!("ok checkpoint written to {}", dir.display()));
                    }
                    if leave_running {
                        self.send(source, "abort checkpoint written; continuing");
                    } else {
                        // The program stops here; `unimig restore DIR` resumes it.
                        self.send(source, "commit");
                        self.initial_restore = false;
                    }
                }
                Err(e) => {
                    let reason = one_line(&e);
                    self.send(source, &format!("abort {reason}"));
                    if let Some(r) = attempt.requester.take() {
                        r.answer(&format!("error {reason}"));
                    }
                }
            }
            return;
        }
        let out = file.with_extension(format!("{}.ckpt", to.name()));
        let converted = self.transfer.convert(&file, to, &out);
        self.discard(&file);
        let converted = match converted {
            Ok(c) => c,
            Err(e) => {
                let point = self.attempt.as_ref().and_then(|a| a.point);
                self.fail_attempt(point, "transform", one_line(&e), false);
                return;
            }
        };
        if self.test_hooks.corrupt_checkpoint {
            if let Err(e) = flip_a_byte(&out) {
                self.fail_attempt(Some(converted.point), "test hook", one_line(&e), false);
                return;
            }
        }
        let point = converted.point;
        self.attempt().point = Some(point);
        self.attempt().converted = Some(converted);
        match self.start(to, Some(&out)) {
            Ok(dest) => {
                let attempt = self.attempt();
                attempt.dest = Some(dest);
                attempt.dest_started = Some(Instant::now());
            }
            Err(e) => self.fail_attempt(Some(point), "start", one_line(&e), false),
        }
    }

    fn save_checkpoint(&self, file: &Path, dir: &Path) -> Result<()> {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        std::fs::copy(file, dir.join(crate::checkpoint_dir::CHECKPOINT))
            .with_context(|| format!("writing into {}", dir.display()))?;
        std::fs::copy(&self.launcher.path, dir.join(crate::checkpoint_dir::APP))
            .with_context(|| format!("copying the program into {}", dir.display()))?;
        Ok(())
    }

    /// Ends the current attempt without migrating: the source continues.
    fn fail_attempt(
        &mut self,
        point: Option<u64>,
        stage: &'static str,
        reason: String,
        kill_dest: bool,
    ) {
        let Some(mut attempt) = self.attempt.take() else {
            return;
        };
        if let Some(dest) = attempt.dest {
            if kill_dest || !attempt.committed {
                // SAFETY: kill on our own child (it may have exited already).
                unsafe { libc::kill(self.children[dest].pid, libc::SIGKILL) };
            }
        }
        self.send(attempt.source, &format!("abort {reason}"));
        if let Some(r) = attempt.requester.take() {
            r.answer(&format!("error {stage}: {reason}"));
        }
        self.report.failures.push(report::Failure {
            from: self.children[attempt.source].isa,
            point,
            stage,
            reason,
        });
    }

    fn request(&mut self, request: Request) {
        let current = &self.children[self.current];
        if let Kind::Migrate { to: Some(to) } = request.kind {
            if to == current.isa && self.attempt.is_none() {
                request.answer(&format!("ok already on {}", to.name()));
                return;
            }
        }
        // SAFETY: kill on our own child.
        unsafe { libc::kill(current.pid, request_signal(current.isa)) };
        let request = Request {
            signalled: Some(Instant::now()),
            ..request
        };
        self.queued.insert(0, request);
    }

    /// A child ended: the program's end, a committed source, or a failed destination.
    fn exited(&mut self, id: ChildId, exit: Exit) -> Result<Option<Exit>> {
        let committed_source = self
            .attempt
            .as_ref()
            .is_some_and(|a| a.committed && a.source == id);
        if committed_source {
            let mut attempt = self.attempt.take().expect("checked");
            let dest = attempt.dest.expect("a committed attempt has a destination");
            self.send(dest, "go");
            self.current = dest;
            let converted = attempt.converted.take().expect("converted before commit");
            let downtime_us = attempt
                .stopped
                .map(|t| t.elapsed().as_micros() as u64)
                .unwrap_or(0);
            if let Some(r) = attempt.requester.take() {
                r.answer(&format!(
                    "ok migrated from {} to {} at point {} response_us={} downtime_us={}",
                    converted.from.name(),
                    attempt.to.name(),
                    converted.point,
                    attempt.response_us.unwrap_or(0),
                    downtime_us
                ));
            }
            self.report.migrations.push(report::Migration {
                from: converted.from,
                to: attempt.to,
                point: converted.point,
                downtime_us,
                response_us: attempt.response_us,
                checkpoint_bytes: converted.bytes,
                checkpoint_write_us: attempt.write_us,
                transform_us: converted.transform_us,
                frames: converted.stats.frames,
                jmp_bufs: converted.stats.jmp_bufs,
                restore_us: attempt.restore_us,
                retries: attempt.retries,
            });
            return Ok(None);
        }
        if id == self.current {
            if let Some(attempt) = self.attempt.take() {
                if let Some(dest) = attempt.dest {
                    // SAFETY: kill on our own child.
                    unsafe { libc::kill(self.children[dest].pid, libc::SIGKILL) };
                }
                if let Some(r) = attempt.requester {
                    r.answer("error the program ended first");
                }
            }
            for r in self.queued.drain(..) {
                r.answer("error the program ended first");
            }
            return Ok(Some(exit));
        }
        if self.attempt.as_ref().and_then(|a| a.dest) == Some(id) {
            let point = self.attempt.as_ref().and_then(|a| a.point);
            let reason = match exit {
                Exit::Code(c) => format!("the destination exited with status {c} before running"),
                Exit::Signal(s) => {
                    format!("the destination was killed by signal {s} before running")
                }
            };
            self.fail_attempt(point, "restore", reason, false);
        }
        Ok(None)
    }
}

fn one_line(e: &anyhow::Error) -> String {
    format!("{e:#}").replace('\n', " ")
}

fn flip_a_byte(path: &Path) -> Result<()> {
    let mut data = std::fs::read(path)?;
    let at = data.len() / 2;
    data[at] ^= 0x40;
    std::fs::write(path, data)?;
    Ok(())
}
