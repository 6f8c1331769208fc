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

impl Exit {
    fn from_status(status: i32) -> Exit {
        if libc::WIFSIGNALED(status) {
            Exit::Signal(libc::WTERMSIG(status))
        } else {
            Exit::Code(libc::WEXITSTATUS(status))
        }
    }
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
        let mut status = 0;
        loop {
            // SAFETY: waitpid on our own child with a valid status pointer.
            let r = unsafe { libc::waitpid(pid, &mut status, 0) };
            if r == pid {
                break;
            }
            if r < 0 && std::io::Error::last_os_error().kind() != std::io::ErrorKind::Interrupted {
                status = 127 << 8;
                break;
            }
        }
        if let Some(reader) = reader {
            let _ = reader.join();
        }
        let _ = tx.send(Event::Exited(id, Exit::from_status(status)));
    });
}

/// Sends one message; a child that is gone is not an error here (its exit event follows).
pub fn send(control: &UnixStream, message: &str) {
    let mut stream = control;
    let _ = stream.write_all(format!("{message}\n").as_bytes());
}
