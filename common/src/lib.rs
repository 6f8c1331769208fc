//! Definitions shared by every unimig tool: the two ISAs, the names of the sections that carry
//! the second ISA inside host files, and where the toolchain and the sysroots live.
//!
//! Keeping these in one crate is what lets `unimig-cc`, `ld.unimig` and `unimig` agree on the
//! on-disk formats without re-deriving them.

pub mod diag;
pub mod fat;
pub mod isa;
pub mod layout;
pub mod output;
pub mod stackmap;
pub mod toolchain;

pub use isa::Isa;
