//! `unimig inspect DIR`: a checkpoint directory (`unimig checkpoint -o DIR`): the ISA it was
//! taken on, the migration point, the stack's frames (function, call-site record, return
//! address, live values), the memory regions and the open files.

use crate::checkpoint_dir::{APP, CHECKPOINT};
use crate::supervise::transfer::checkpoint_isa;
use crate::Failure;
use anyhow::Context;
use serde_json::{json, Value};
use std::path::Path;
use unimig_common::fat;
use unimig_migrate::checkpoint::{kind, MAP_MAIN_STACK};
use unimig_migrate::{describe, Checkpoint, Image};

pub fn inspect(dir: &Path, as_json: bool) -> Result<(), Failure> {
    let file = dir.join(CHECKPOINT);
    let data = std::fs::read(&file).with_context(|| format!("reading {}", file.display()))?;
    let ckpt = Checkpoint::parse(&data)
        .with_context(|| format!("{} is not a usable checkpoint", file.display()))?;
    let isa = checkpoint_isa(&ckpt)?;
    let app = dir.join(APP);
    let fat_bytes = std::fs::read(&app).with_context(|| format!("reading {}", app.display()))?;
    fat::aarch64_image(&fat_bytes)
        .with_context(|| format!("{} is not a fat executable", app.display()))?;
    let image = Image::from_executable(&fat_bytes, isa).map_err(anyhow::Error::from)?;
    let frames = describe(&image, &ckpt).map_err(anyhow::Error::from)?;

    let mut regions = Vec::new();
    let mut files = Vec::new();
    let mut data_bytes = 0u64;
    for r in &ckpt.records {
        match r.kind {
            kind::MAP => {
                if let Some((addr, len, prot, flags)) = r.as_map() {
                    regions.push(json!({
                        "addr": addr, "len": len, "prot": prot,
                        "main_stack": flags & MAP_MAIN_STACK != 0,
                    }));
                }
            }
            kind::DATA => data_bytes += r.payload.len().saturating_sub(8) as u64,
            kind::FILE => {
                let p = &r.payload;
                if p.len() > 24 {
                    let fd = i32::from_le_bytes(p[0..4].try_into().unwrap());
                    let offset = i64::from_le_bytes(p[16..24].try_into().unwrap());
                    let path =
                        String::from_utf8_lossy(p[24..].split(|&b| b == 0).next().unwrap_or(&[]));
                    files.push(json!({ "fd": fd, "offset": offset, "path": path }));
                }
            }
            _ => {}
        }
    }
    let frames_json: Vec<Value> = frames
        .iter()
        .map(|f| {
            json!({
                "index": f.index, "function": f.function, "record_id": f.record_id,
                "return_address": f.return_address, "cfa": f.cfa, "sp": f.sp,
                "live_values": f.live_values,
            })
        })
        .collect();
    if as_json {
        let v = json!({
            "format": "unimig-checkpoint-inspect", "version": 1,
            "isa": isa.name(), "image_id": ckpt.header.image_id, "point": ckpt.header.point,
            "partial": ckpt.header.partial(), "bytes": data.len(), "memory_bytes": data_bytes,
            "frames": frames_json, "regions": regions, "files": files,
        });
        println!("{v:#}");
        return Ok(());
    }
    println!(
        "{}: checkpoint of {} at migration point {} ({} bytes, {} of memory; image id {:#018x})",
        dir.display(),
        isa.name(),
        ckpt.header.point,
        data.len(),
        data_bytes,
        ckpt.header.image_id
    );
    println!("frames ({}, innermost first):", frames.len());
    for f in &frames {
        let values: Vec<String> = f.live_values.iter().map(|v| format!("{v:#x}")).collect();
        println!(
            "  #{:<3} {} record {:#018x} return {:#x} cfa {:#x} live [{}]",
            f.index,
            f.function,
            f.record_id,
            f.return_address,
            f.cfa,
            values.join(", ")
        );
    }
    println!("regions ({}):", regions.len());
    for r in &regions {
        println!(
            "  {:#x} +{:#x} prot {}{}",
            r["addr"].as_u64().unwrap_or(0),
            r["len"].as_u64().unwrap_or(0),
            r["prot"],
            if r["main_stack"] == true {
                " (main stack)"
            } else {
                ""
            }
        );
    }
    println!("files ({}):", files.len());
    for f in &files {
        println!(
            "  fd {} at offset {}: {}",
            f["fd"],
            f["offset"],
            f["path"].as_str().unwrap_or("")
        );
    }
    Ok(())
}
