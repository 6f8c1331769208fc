//! unimig's stack transformer (docs/migration.md sections 3 and 6): the checkpoint format, one
//! ISA's image metadata, and the pure function that rewrites a checkpoint's registers and main
//! stack from one ISA to the other, with the unsafe sites and fixups code generation recorded.
//!
//! ```no_run
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use unimig_common::Isa;
//! use unimig_migrate::{transform, Checkpoint, Image};
//! let exe = std::fs::read("app")?;
//! let (x86, a64) = (Image::from_executable(&exe, Isa::X86_64)?, Image::from_executable(&exe, Isa::Aarch64)?);
//! let bytes = std::fs::read("7.ckpt")?;
//! let ckpt = Checkpoint::parse(&bytes)?;
//! std::fs::write("7.aarch64.ckpt", transform(&x86, &a64, &ckpt)?.to_bytes())?;
//! # Ok(()) }
//! ```

pub mod checkpoint;
pub mod fixups;
pub mod image;
pub mod jmpbuf;
pub mod regs;
pub mod transform;

pub use checkpoint::{Checkpoint, CheckpointError, Header, Record};
pub use image::{Image, ImageError};
pub use transform::{
    describe, describe_with, transform, transform_with, transform_with_stats, FrameError,
    FrameFault, FrameInfo, FrameRef, Options, Stats, Stop, TransformError, UNIMIG_MAIN_STACK_TOP,
};
