//! The subcommands, one module each.

pub mod check;
pub mod run;
pub mod split;
