//! What `unimig run --report FILE` writes: one JSON object (docs/migration.md).

use super::control::Exit;
use serde_json::{json, Value};
use unimig_common::Isa;

/// One completed migration.
pub struct Migration {
    pub from: Isa,
    pub to: Isa,
    pub point: u64,
    /// From the source stopping (its probe) to the destination running program code.
    pub downtime_us: u64,
    /// From signalling the program (`unimig migrate`) to its first probe: the time to reach a
    /// migration point, plus writing the probe (the stack) and one message. `None` for
    /// `--migrate-at` (the program is stopped at a point it counted to).
    pub response_us: Option<u64>,
    pub checkpoint_bytes: u64,
    /// The runtime's own measurement of writing the checkpoint, when it sent one.
    pub checkpoint_write_us: Option<u64>,
    pub transform_us: u64,
    /// Frames the transformation rebuilt, and live jmp_bufs it rewrote.
    pub frames: usize,
    pub jmp_bufs: usize,
    /// From starting the destination to its `running`.
    pub restore_us: u64,
    /// Probes refused before this one succeeded (e.g. a libc frame on the stack).
    pub retries: u64,
}

/// An attempt that did not migrate; the program went on where it was.
pub struct Failure {
    pub from: Isa,
    pub point: Option<u64>,
    pub stage: &'static str,
    pub reason: String,
}

#[derive(Default)]
pub struct Report {
    pub migrations: Vec<Migration>,
    pub failures: Vec<Failure>,
    pub points_retried: u64,
    /// Why the last probe was refused (a frame in the way), if any was.
    pub last_retry_reason: Option<String>,
    /// Migration points the program reached in all (the runtime says so at exit).
    pub points: Option<u64>,
}

impl Report {
    pub fn to_json(&self, exit: Option<Exit>, final_isa: Isa) -> Value {
        let migrations: Vec<Value> = self
            .migrations
            .iter()
            .map(|m| {
                json!({
                    "from": m.from.name(),
                    "to": m.to.name(),
                    "point": m.point,
                    "downtime_us": m.downtime_us,
                    "response_us": m.response_us,
                    "checkpoint_bytes": m.checkpoint_bytes,
                    "checkpoint_write_us": m.checkpoint_write_us,
                    "transform_us": m.transform_us,
                    "frames": m.frames,
                    "jmp_bufs": m.jmp_bufs,
                    "restore_us": m.restore_us,
                    "retries": m.retries,
                })
            })
            .collect();
        let failures: Vec<Value> = self
            .failures
            .iter()
            .map(|f| {
                json!({
                    "from": f.from.name(),
                    "point": f.point,
                    "stage": f.stage,
                    "reason": f.reason,
                })
            })
            .collect();
        let exit = match exit {
            Some(Exit::Code(c)) => json!({ "code": c }),
            Some(Exit::Signal(s)) => json!({ "signal": s }),
            None => Value::Null,
        };
        json!({
            "migrations": migrations,
            "failures": failures,
            "probe_retries": self.points_retried,
            "last_retry_reason": self.last_retry_reason,
            "points": self.points,
            "final_isa": final_isa.name(),
            "exit": exit,
        })
    }
}
