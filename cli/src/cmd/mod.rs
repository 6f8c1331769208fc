//! The subcommands, one module each.

pub mod check;
pub mod inspect;
pub mod run;
pub mod split;
