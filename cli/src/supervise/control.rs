//! The supervisor's side of a child's control socket: one text line per message
//! (docs/migration.md, section 2). A reader thread per child turns lines, end of file and the
//! child's exit into [`Event`]s on one channel, so the session is a single loop.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::sync::mpsc::Sender;

/// Children are numbered in start order.
pub type ChildId = usize;

/// How a child ended (`waitpid`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exit {
    Code(i32),
    Signal(i32),
}

#[derive(Debug)]
pub enum Event {
    /// A line from a child's runtime, without the newline.
    Line(ChildId, String),
    /// A child ended.
    Exited(ChildId, Exit),
    /// A request from `unimig migrate|checkpoint` (crate::supervise::requests).
    Request(crate::supervise::requests::Request),
}

/// Starts the reader and waiter threads of child `id`. The waiter reports the exit only after
/// the reader has passed on every line the child wrote (it reads to the end of the stream,
/// which the child's exit closes), so a last message (the points count at exit) is never
/// overtaken by the exit event.
pub fn watch(id: ChildId, pid: libc::pid_t, control: &UnixStream, events: &Sender<Event>) {
    let reader = control.try_clone().ok().map(|stream| {
        let tx = events.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stream).lines() {
                let Ok(line) = line else { break };
                if tx.send(Event::Line(id, line)).is_err() {
                    break;
                }
            }
        })
    });
    let tx = events.clone();
    std::thread::spawn(move || {
        // WNOWAIT: the child stays a zombie until the session reaps it ([`reap`]) while
        // handling this event, so its pid cannot be reused meanwhile and a kill() the session
        // sends to it can never reach an unrelated process.
        let status = loop {
            // SAFETY: waitid on our own child with a zeroed siginfo to fill.
            let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
            let r = unsafe {
                libc::waitid(
                    libc::P_PID,
                    pid as libc::id_t,
                    &mut info,
                    libc::WEXITED | libc::WNOWAIT,
                )
            };
            if r == 0 {
                // SAFETY: waitid filled a SIGCHLD siginfo.
                let (code, value) = unsafe { (info.si_code, info.si_status()) };
                break if code == libc::CLD_EXITED {
                    Exit::Code(value)
                } else {
                    Exit::Signal(value)
                };
            }
            if std::io::Error::last_os_error().kind() != std::io::ErrorKind::Interrupted {
                break Exit::Code(127);
            }
        };
        if let Some(reader) = reader {
            let _ = reader.join();
        }
        let _ = tx.send(Event::Exited(id, status));
    });
}

/// Collects a child whose exit [`watch`] reported (after which its pid may be reused).
pub fn reap(pid: libc::pid_t) {
    let mut status = 0;
    // SAFETY: waitpid on our own (already exited) child.
    unsafe { libc::waitpid(pid, &mut status, 0) };
}

/// Sends one message; a child that is gone is not an error here (its exit event follows).
pub fn send(control: &UnixStream, message: &str) {
    let mut stream = control;
    let _ = stream.write_all(format!("{message}\n").as_bytes());
}
