//! A checkpoint directory (`unimig checkpoint PID -o DIR`, `unimig restore DIR`,
//! `unimig inspect DIR`): the checkpoint file as the runtime wrote it (format:
//! docs/migration.md, section 3) and a copy of the fat executable, so the directory is
//! everything needed to resume, on either ISA, on another machine.

pub const CHECKPOINT: &str = "checkpoint.bin";
pub const APP: &str = "app";
