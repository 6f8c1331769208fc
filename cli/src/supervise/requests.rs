//! Requests from other `unimig` processes to a running supervisor: `unimig migrate PID` and
//! `unimig checkpoint PID`. Each supervisor listens on a Unix socket named after its pid in a
//! per-user directory; a request is one line, the answer one line (`ok ...` or `error ...`),
//! sent when the request is done.

use super::control::Event;
use anyhow::{anyhow, bail, Context, Result};
use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::PathBuf;
use std::sync::mpsc::Sender;
use unimig_common::Isa;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    /// Migrate at the next migration point (to `to`, or to the other ISA).
    Migrate { to: Option<Isa> },
    /// Write a checkpoint into `dir`; the program stops unless `leave_running`.
    Checkpoint { dir: PathBuf, leave_running: bool },
}

#[derive(Debug)]
pub struct Request {
    pub kind: Kind,
    pub reply: UnixStream,
    /// When the supervisor signalled the program (for the response time: request to point).
    pub signalled: Option<std::time::Instant>,
}

impl Request {
    pub fn answer(mut self, line: &str) {
        let _ = self.reply.write_all(format!("{line}\n").as_bytes());
    }
}

/// The directory of the supervisors' sockets: `$XDG_RUNTIME_DIR/unimig`, else
/// `/tmp/unimig-<uid>` (mode 0700).
fn socket_dir() -> PathBuf {
    match std::env::var_os("XDG_RUNTIME_DIR") {
        Some(d) if !d.is_empty() => PathBuf::from(d).join("unimig"),
        // SAFETY: getuid has no preconditions.
        _ => PathBuf::from(format!("/tmp/unimig-{}", unsafe { libc::getuid() })),
    }
}

pub fn socket_path(pid: u32) -> PathBuf {
    socket_dir().join(format!("{pid}.sock"))
}

/// Listens for requests to this supervisor; the socket file is removed when this is dropped.
pub struct Listener {
    path: PathBuf,
}

impl Drop for Listener {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

pub fn listen(events: &Sender<Event>) -> Result<Listener> {
    let dir = socket_dir();
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700))
        .with_context(|| format!("restricting {}", dir.display()))?;
    let path = socket_path(std::process::id());
    let _ = std::fs::remove_file(&path);
    let listener =
        UnixListener::bind(&path).with_context(|| format!("binding {}", path.display()))?;
    let tx = events.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut line = String::new();
            let Ok(reader) = stream.try_clone() else {
                continue;
            };
            if BufReader::new(reader).read_line(&mut line).is_err() {
                continue;
            }
            match parse(line.trim_end()) {
                Ok(kind) => {
                    if tx
                        .send(Event::Request(Request {
                            kind,
                            reply: stream,
                            signalled: None,
                        }))
                        .is_err()
                    {
                        break;
                    }
                }
                Err(e) => {
                    let mut s = stream;
                    let _ = s.write_all(format!("error {e}\n").as_bytes());
                }
            }
        }
    });
    Ok(Listener { path })
}

fn parse(line: &str) -> Result<Kind> {
    let mut words = line.splitn(2, ' ');
    match (words.next(), words.next()) {
        (Some("migrate"), None) => Ok(Kind::Migrate { to: None }),
        (Some("migrate"), Some(isa)) => Ok(Kind::Migrate {
            to: Some(isa.parse().map_err(|e| anyhow!("{e}"))?),
        }),
        (Some("checkpoint"), Some(rest)) => {
            let (flag, dir) = rest.split_once(' ').unwrap_or(("", rest));
            Ok(Kind::Checkpoint {
                dir: PathBuf::from(dir),
                leave_running: flag == "leave-running",
            })
        }
        _ => bail!("unknown request {line:?}"),
    }
}

/// Encodes a request for [`parse`].
pub fn encode(kind: &Kind) -> String {
    match kind {
        Kind::Migrate { to: None } => "migrate".to_string(),
        Kind::Migrate { to: Some(isa) } => format!("migrate {}", isa.name()),
        Kind::Checkpoint { dir, leave_running } => format!(
            "checkpoint {} {}",
            if *leave_running {
                "leave-running"
            } else {
                "stop"
            },
            dir.display()
        ),
    }
}

/// Sends a request to the supervisor `pid` and waits for its answer.
pub fn send(pid: u32, kind: &Kind) -> Result<String> {
    let path = socket_path(pid);
    let mut stream = UnixStream::connect(&path).with_context(|| {
        format!(
            "no unimig supervisor with pid {pid} ({} does not answer); is it a `unimig run`?",
            path.display()
        )
    })?;
    stream.write_all(format!("{}\n", encode(kind)).as_bytes())?;
    let mut answer = String::new();
    BufReader::new(stream).read_line(&mut answer)?;
    if answer.is_empty() {
        bail!("the supervisor {pid} ended without answering");
    }
    Ok(answer.trim_end().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_round_trip() {
        for kind in [
            Kind::Migrate { to: None },
            Kind::Migrate {
                to: Some(Isa::Aarch64),
            },
            Kind::Checkpoint {
                dir: PathBuf::from("/tmp/a b"),
                leave_running: true,
            },
            Kind::Checkpoint {
                dir: PathBuf::from("d"),
                leave_running: false,
            },
        ] {
            assert_eq!(parse(&encode(&kind)).unwrap(), kind);
        }
        assert!(parse("explode").is_err());
    }
}
