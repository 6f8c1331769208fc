//! The subcommands, one module each.

pub mod check;
pub mod checkpoint;
pub mod inspect;
pub mod inspect_checkpoint;
pub mod migrate;
pub mod restore;
pub mod run;
pub mod split;
