//! Checkpoints between the runtime's files and the transformer (crate unimig-migrate): read,
//! check, transform to the destination ISA, write.

use anyhow::{anyhow, Context, Result};
use std::path::Path;
use std::sync::OnceLock;
use std::time::Instant;
use unimig_common::Isa;
use unimig_migrate::{Checkpoint, Image};

/// Both images of the program, parsed when first needed (a run that never migrates does not
/// pay for reading the unwind tables and stackmaps), then kept.
pub struct Transfer {
    fat: &'static [u8],
    images: OnceLock<Result<[Image; 2], String>>,
}

/// What one conversion did.
pub struct Converted {
    pub from: Isa,
    pub point: u64,
    /// Size of the destination checkpoint.
    pub bytes: u64,
    pub transform_us: u64,
    /// What the transformation rebuilt (zero for a same-ISA copy).
    pub stats: unimig_migrate::Stats,
}

impl Transfer {
    /// `fat` is the fat executable's content (kept for the supervisor's lifetime).
    pub fn new(fat: &'static [u8]) -> Transfer {
        Transfer {
            fat,
            images: OnceLock::new(),
        }
    }

    pub fn image(&self, isa: Isa) -> Result<&Image> {
        let images = self.images.get_or_init(|| {
            let parse = |isa| {
                Image::from_executable(self.fat, isa)
                    .map_err(|e| format!("reading the {} image: {e:#}", isa.name()))
            };
            Ok([parse(Isa::X86_64)?, parse(Isa::Aarch64)?])
        });
        match images {
            Ok(images) => Ok(&images[isa as usize]),
            Err(e) => Err(anyhow!("{e}")),
        }
    }

    /// Transforms the checkpoint in `data` to `to` (a no-op copy when it already is).
    pub fn transform(&self, data: &[u8], to: Isa) -> Result<(Vec<u8>, Converted)> {
        let ckpt = Checkpoint::parse(data)?;
        let from = checkpoint_isa(&ckpt)?;
        let start = Instant::now();
        let (out, stats) = if from == to {
            (data.to_vec(), unimig_migrate::Stats::default())
        } else {
            let (c, stats) = unimig_migrate::transform_with_stats(
                self.image(from)?,
                self.image(to)?,
                &ckpt,
                &unimig_migrate::Options::default(),
            )?;
            (c.to_bytes(), stats)
        };
        let transform_us = start.elapsed().as_micros() as u64;
        Ok((
            Converted {
                from,
                point: ckpt.header.point,
                bytes: out.len() as u64,
                transform_us,
                stats,
            },
            out,
        ))
        .map(|(c, o)| (o, c))
    }

    /// Checks that the (partial) checkpoint in `file` can be transformed to `to`.
    pub fn probe(&self, file: &Path, to: Isa) -> Result<()> {
        let data = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
        self.transform(&data, to).map(|_| ())
    }

    /// Transforms the checkpoint in `file` to `to` into `out`.
    pub fn convert(&self, file: &Path, to: Isa, out: &Path) -> Result<Converted> {
        let data = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
        let (bytes, converted) = self.transform(&data, to)?;
        std::fs::write(out, bytes).with_context(|| format!("writing {}", out.display()))?;
        Ok(converted)
    }
}

/// The ISA whose registers and stack `ckpt` holds.
pub fn checkpoint_isa(ckpt: &Checkpoint) -> Result<Isa> {
    u16::try_from(ckpt.header.isa)
        .ok()
        .and_then(Isa::from_elf_machine)
        .ok_or_else(|| {
            anyhow!(
                "checkpoint of an unknown ISA (ELF machine {})",
                ckpt.header.isa
            )
        })
}
