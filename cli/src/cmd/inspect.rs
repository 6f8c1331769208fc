//! `unimig inspect APP [--json]`: the migration metadata of a fat executable, per ISA
//! (`metadata.rs`): functions (address, size, instrumented, fixed frame size, shadow frame
//! size), call sites (record ID, function, return address, callee, whether it is a migration
//! point, live values with their locations: register names per ISA, `[reg+offset]` stack
//! slots, sizes).
//!
//! The text output lists the instrumented functions with their call sites, after a summary
//! line per ISA; `--json` lists every function and is the stable, machine-readable form:
//!
//! ```text
//! { "format": "unimig-inspect", "version": 1, "app": PATH,
//!   "images": [ { "isa": "x86_64" | "aarch64",
//!                 "functions": [ { "name", "address", "size", "instrumented",
//!                                  "frame_size" (null if none),
//!                                  "shadow_frame_size" (null: not in images yet) } ],
//!                 "call_sites": [ { "id", "function", "function_address", "return_address",
//!                                   "callee" (null: indirect), "migration_point",
//!                                   "live": [ { "kind": "register" | "indirect" | "direct" |
//!                                               "constant" | "constant_index",
//!                                               "register", "offset", "value", "index",
//!                                               "size" } ] } ] } ] }
//! ```
//! Numbers are JSON integers (record IDs are full 64-bit values). Fields are only ever added.
//!
//! A directory argument is a checkpoint, dispatched to [`inspect_checkpoint`].

use crate::fatexe::FatExe;
use crate::metadata::{self, CallSite, ImageMetadata, LiveValue, ValueLoc};
use crate::Failure;
use anyhow::Result;
use serde_json::{json, Value};
use std::io::Write;
use std::path::{Path, PathBuf};
use unimig_common::Isa;

/// Version of the JSON format.
pub const JSON_VERSION: u32 = 1;

#[derive(clap::Args)]
pub struct Args {
    /// A fat executable (or a checkpoint directory)
    path: PathBuf,
    /// Print JSON instead of text
    #[arg(long)]
    json: bool,
}

pub fn run(args: Args) -> Result<(), Failure> {
    if args.path.is_dir() {
        return inspect_checkpoint(&args.path, args.json);
    }
    let images = inspect_app(&args.path)?;
    let mut out = std::io::stdout().lock();
    let text = if args.json {
        let mut s = serde_json::to_string_pretty(&to_json(&args.path, &images))
            .map_err(anyhow::Error::from)?;
        s.push('\n');
        s
    } else {
        to_text(&args.path, &images)
    };
    // A closed stdout (`| head`) is not an error worth reporting.
    let _ = out.write_all(text.as_bytes());
    Ok(())
}

/// The metadata of both images of the fat executable `app`, x86-64 first.
pub fn inspect_app(app: &Path) -> Result<[ImageMetadata; 2]> {
    let fat = FatExe::read(app)?;
    let aarch64 = fat.aarch64_image()?;
    Ok([
        metadata::read(Isa::X86_64, &fat.data)?,
        metadata::read(Isa::Aarch64, aarch64)?,
    ])
}

/// A checkpoint directory (`unimig checkpoint -o DIR`).
fn inspect_checkpoint(dir: &Path, json: bool) -> Result<(), Failure> {
    super::inspect_checkpoint::inspect(dir, json)
}

fn live_json(v: &LiveValue) -> Value {
    match &v.loc {
        ValueLoc::Register { reg } => json!({"kind": "register", "register": reg, "size": v.size}),
        ValueLoc::Indirect { reg, offset } => {
            json!({"kind": "indirect", "register": reg, "offset": offset, "size": v.size})
        }
        ValueLoc::Direct { reg, offset } => {
            json!({"kind": "direct", "register": reg, "offset": offset, "size": v.size})
        }
        ValueLoc::Constant { value } => json!({"kind": "constant", "value": value, "size": v.size}),
        ValueLoc::ConstantIndex { index, value } => {
            json!({"kind": "constant_index", "index": index, "value": value, "size": v.size})
        }
    }
}

fn call_site_json(c: &CallSite) -> Value {
    json!({
        "id": c.id,
        "function": c.function,
        "function_address": c.function_address,
        "return_address": c.return_address,
        "callee": c.callee,
        "migration_point": c.migration_point,
        "live": c.live.iter().map(live_json).collect::<Vec<_>>(),
    })
}

fn to_json(app: &Path, images: &[ImageMetadata]) -> Value {
    let images: Vec<Value> = images
        .iter()
        .map(|m| {
            let functions: Vec<Value> = m
                .functions
                .iter()
                .map(|f| {
                    json!({
                        "name": f.name,
                        "address": f.address,
                        "size": f.size,
                        "instrumented": f.instrumented,
                        "frame_size": f.frame_size,
                        "shadow_frame_size": f.shadow_frame_size,
                    })
                })
                .collect();
            json!({
                "isa": m.isa.name(),
                "functions": functions,
                "call_sites": m.call_sites.iter().map(call_site_json).collect::<Vec<_>>(),
            })
        })
        .collect();
    json!({
        "format": "unimig-inspect",
        "version": JSON_VERSION,
        "app": app.display().to_string(),
        "images": images,
    })
}

/// `rbx (4)`, `[rsp+16] (8)`, `rbp-8 (8)`, `42 (8)`.
fn live_text(v: &LiveValue) -> String {
    let signed = |off: i32| {
        if off < 0 {
            format!("-{}", off.unsigned_abs())
        } else {
            format!("+{off}")
        }
    };
    let place = match &v.loc {
        ValueLoc::Register { reg } => reg.clone(),
        ValueLoc::Indirect { reg, offset } => format!("[{reg}{}]", signed(*offset)),
        ValueLoc::Direct { reg, offset } => format!("{reg}{}", signed(*offset)),
        ValueLoc::Constant { value } => format!("{value}"),
        ValueLoc::ConstantIndex { index, value } => match value {
            Some(v) => format!("{v:#x} (pool #{index})"),
            None => format!("pool #{index} (missing)"),
        },
    };
    format!("{place} ({})", v.size)
}

fn to_text(app: &Path, images: &[ImageMetadata]) -> String {
    use std::fmt::Write as _;
    let mut s = String::new();
    let app = app.display();
    for m in images {
        let instrumented = m.functions.iter().filter(|f| f.instrumented).count();
        let points = m.call_sites.iter().filter(|c| c.migration_point).count();
        let _ = writeln!(
            s,
            "{app}: {}: {} functions, {instrumented} instrumented; {} call sites, {points} \
             migration points",
            m.isa.name(),
            m.functions.len(),
            m.call_sites.len(),
        );
        for f in m.functions.iter().filter(|f| f.instrumented) {
            let frame = f.frame_size.map_or("-".to_string(), |n| n.to_string());
            let shadow = f
                .shadow_frame_size
                .map_or("n/a".to_string(), |n| n.to_string());
            let _ = writeln!(
                s,
                "  {} {:#x} size {} frame {frame} shadow {shadow}",
                f.name, f.address, f.size
            );
            for c in m
                .call_sites
                .iter()
                .filter(|c| c.function_address == f.address)
            {
                let what = if c.migration_point {
                    "migration point".to_string()
                } else {
                    format!("call {}", c.callee.as_deref().unwrap_or("(indirect)"))
                };
                let live: Vec<String> = c.live.iter().map(live_text).collect();
                let _ = writeln!(
                    s,
                    "    {:#x} id {:#018x} {what}; live: {}",
                    c.return_address,
                    c.id,
                    if live.is_empty() {
                        "none".to_string()
                    } else {
                        live.join(", ")
                    }
                );
            }
        }
    }
    s
}
