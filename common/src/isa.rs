//! The two instruction set architectures an image is built for.

use std::fmt;
use std::str::FromStr;

/// An ISA unimig builds for. `X86_64` is always the host: its half of a fat file is the file
/// itself, the `Aarch64` half travels inside it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Isa {
    X86_64,
    Aarch64,
}

impl Isa {
    /// Both ISAs, host first.
    pub const ALL: [Isa; 2] = [Isa::X86_64, Isa::Aarch64];
    /// The ISA whose code the fat files are on the outside.
    pub const HOST: Isa = Isa::X86_64;

    /// Short name used on the command line and in file suffixes (`app.aarch64`).
    pub fn name(self) -> &'static str {
        match self {
            Isa::X86_64 => "x86_64",
            Isa::Aarch64 => "aarch64",
        }
    }

    /// The target triple given to clang (`--target=`); also the sysroot directory name.
    pub fn triple(self) -> &'static str {
        match self {
            Isa::X86_64 => "x86_64-linux-musl",
            Isa::Aarch64 => "aarch64-linux-musl",
        }
    }

    /// lld's `-m` emulation name.
    pub fn lld_emulation(self) -> &'static str {
        match self {
            Isa::X86_64 => "elf_x86_64",
            Isa::Aarch64 => "aarch64linux",
        }
    }

    /// The ELF machine this ISA's objects carry.
    pub fn elf_machine(self) -> u16 {
        match self {
            Isa::X86_64 => object::elf::EM_X86_64,
            Isa::Aarch64 => object::elf::EM_AARCH64,
        }
    }

    /// The other ISA (the migration target).
    /// The ISA of ELF machine number `machine`, if unimig targets it.
    pub fn from_elf_machine(machine: u16) -> Option<Isa> {
        Isa::ALL
            .into_iter()
            .find(|isa| isa.elf_machine() == machine)
    }

    pub fn other(self) -> Isa {
        match self {
            Isa::X86_64 => Isa::Aarch64,
            Isa::Aarch64 => Isa::X86_64,
        }
    }
}

impl fmt::Display for Isa {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[derive(Debug, thiserror::Error)]
#[error("unknown ISA '{0}' (expected x86_64 or aarch64)")]
pub struct UnknownIsa(String);

impl FromStr for Isa {
    type Err = UnknownIsa;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "x86_64" | "x86-64" | "amd64" => Ok(Isa::X86_64),
            "aarch64" | "arm64" => Ok(Isa::Aarch64),
            other => Err(UnknownIsa(other.to_string())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for isa in Isa::ALL {
            assert_eq!(isa.name().parse::<Isa>().unwrap(), isa);
            assert_eq!(isa.other().other(), isa);
            assert_ne!(isa.other(), isa);
        }
        assert!("riscv64".parse::<Isa>().is_err());
    }
}
