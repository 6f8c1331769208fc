//! The functions the sysroot's libraries define (musl's libc.a, which includes libm, and the
//! unimig runtime), read from their archive symbol tables.
//!
//! Calls to them stay plain calls, not stackmapped statepoints
//! (`unimig_llvm_pass::Options::library_functions`): a library frame has no stackmap, so a
//! stack with one (qsort under a comparator, exit under an atexit handler) can never be
//! migrated, whatever the caller records; the record of a call into the library would never
//! be used. Skipping them saves the statepoint's cost at every libc and libm call.

use ::object::read::archive::ArchiveFile;
use anyhow::{Context, Result};
use std::collections::BTreeSet;
use std::path::Path;
use unimig_common::toolchain::Sysroot;

/// Archives whose global symbols are library functions.
const ARCHIVES: &[&str] = &["libc.a", "libunimig_rt.a"];

/// Runtime entry points that must stay statepoints: the migration point itself, whose record
/// is where a migrated program resumes.
const KEEP: &[&str] = &["__unimig_migration_point"];

/// The global symbols of the sysroot's library archives (the host sysroot's: both ISAs are
/// built from the same musl and runtime sources, and both compiles of a file must see the
/// same set so that their call sites agree).
pub fn library_functions(sysroot: &Sysroot) -> Result<BTreeSet<String>> {
    let mut names = BTreeSet::new();
    for archive in ARCHIVES {
        read_symbols(&sysroot.lib(archive), &mut names)?;
    }
    for k in KEEP {
        names.remove(*k);
    }
    Ok(names)
}

fn read_symbols(path: &Path, names: &mut BTreeSet<String>) -> Result<()> {
    let data = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let archive =
        ArchiveFile::parse(&*data).with_context(|| format!("reading {}", path.display()))?;
    if let Some(symbols) = archive
        .symbols()
        .with_context(|| format!("reading the symbol table of {}", path.display()))?
    {
        for symbol in symbols {
            let symbol = symbol.with_context(|| format!("reading {}", path.display()))?;
            names.insert(String::from_utf8_lossy(symbol.name()).into_owned());
        }
    }
    Ok(())
}
