//! The unimig LLVM pass: migration points, cross-ISA stackmaps and the shadow stack.
//!
//! Not implemented yet: the dual-ISA build does not instrument code. This crate exists so the
//! workspace has its final shape; the instrumentation issue fills it in (inkwell on LLVM 19,
//! run in-process by unimig-cc between the front end and code generation).
