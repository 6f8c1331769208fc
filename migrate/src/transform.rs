//! Stack transformation (docs/migration.md section 6): unwind the source stack with the
//! source image's stackmaps and CFI, then build the same frames for the destination image.
//!
//! Values are at most 8 bytes (the instrumentation splits everything else into such pieces),
//! so a live value travels as a zero-extended `u64`.

use std::borrow::Cow;

use unimig_common::Isa;

use crate::checkpoint::{kind, Checkpoint, CheckpointError, Record, MAP_MAIN_STACK};
use crate::fixups::{Place, Recipe};
use crate::image::{fp_reg, sp_reg, Image, ImageError, Site, Value};
use crate::jmpbuf::{self, Entry, Registry, RegistryError};
use crate::regs::{self, Regs};

/// `main`'s CFA on both ISAs: the top of the runtime's fixed main stack.
pub const UNIMIG_MAIN_STACK_TOP: u64 = 0x2010_8000_0000;

/// No real stack is deeper than this; a longer chain is a cycle in corrupt data.
const MAX_FRAMES: usize = 1 << 20;
/// Largest destination stack the transformer builds (the runtime's main stack is smaller).
const MAX_STACK: u64 = 1 << 30;

/// Where unwinding stops.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stop {
    /// At the frame that returns to `__unimig_main_return`, whose CFA must be
    /// [`UNIMIG_MAIN_STACK_TOP`] (the contract).
    MainReturn,
    /// At the frame of the function at this source address (e.g. `main` in images whose
    /// runtime does not call `main` from `__unimig_main_return` yet). The outermost frame keeps
    /// its source CFA and return address.
    Function(u64),
}

/// How [`transform_with`] and [`describe_with`] treat the outermost frame and the image id.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Options {
    pub stop: Stop,
    /// Refuse images without `__unimig_image_id` (otherwise only the ISA is checked).
    pub require_image_id: bool,
    /// Rebuild frames at sites `.unimig.unsafe_sites` lists instead of refusing them. Such a
    /// frame's recorded values move correctly but a value the record misses is lost, so this
    /// is only for checks that compare record values (tests of the transformation itself).
    pub allow_unsafe_sites: bool,
}

impl Default for Options {
    /// The contract: stop at `__unimig_main_return`, check the image id.
    fn default() -> Self {
        Options {
            stop: Stop::MainReturn,
            require_image_id: true,
            allow_unsafe_sites: false,
        }
    }
}

/// Which frame a refusal is about.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FrameRef {
    /// 0 is the innermost frame (the caller of `__unimig_migration_point`).
    pub index: usize,
    pub function: String,
    pub record: Option<u64>,
    /// The address at which the frame resumes.
    pub return_address: u64,
    /// The frame's stack pointer at its call (source frames; 0 for destination frames).
    pub sp: u64,
    pub isa: Isa,
}

impl std::fmt::Display for FrameRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} frame #{} ({}", self.isa, self.index, self.function)?;
        if let Some(id) = self.record {
            write!(f, ", record {id:#x}")?;
        }
        write!(f, ", return address {:#x})", self.return_address)
    }
}

/// What is wrong with one frame.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum FrameFault {
    #[error("no stackmap record at its return address (not an instrumented call site)")]
    NoRecord,
    #[error("unusable frame layout: {0}")]
    Layout(String),
    #[error("CFA {cfa:#x} minus sp {sp:#x} is not the fixed frame size {size}")]
    FrameSize { cfa: u64, sp: u64, size: u64 },
    #[error("live value {index} has size {size}; only 1 to 8 bytes can migrate")]
    ValueSize { index: usize, size: u16 },
    #[error("live value {index} is the address of a stack object (Direct location)")]
    Direct { index: usize },
    #[error("live value {index} is in register {reg}, which does not survive a call")]
    Register { index: usize, reg: u16 },
    #[error(
        "live value {index} is addressed from register {reg}, neither sp nor the frame pointer"
    )]
    Base { index: usize, reg: u16 },
    #[error("stack memory at {addr:#x} ({len} bytes) is not in the checkpoint")]
    Memory { addr: u64, len: u64 },
    #[error("the destination image has no record with this ID")]
    NoCounterpart,
    #[error("{listed_in} code generation kept a value live across this call that the record does not list (.unimig.unsafe_sites): the frame cannot be rebuilt")]
    UnsafeSite { listed_in: Isa },
    #[error("fixup of {place:?}: {reason}")]
    Fixup {
        place: crate::fixups::Place,
        reason: &'static str,
    },
    #[error("several destination records carry this ID")]
    AmbiguousId,
    #[error("the destination record has {dst} locations of sizes {dst_sizes:?}, the source {src} of sizes {src_sizes:?}")]
    Shape {
        src: usize,
        dst: usize,
        src_sizes: Vec<u16>,
        dst_sizes: Vec<u16>,
    },
    #[error("live value {index}: constant {dst:#x} in the destination, {src:#x} in the source")]
    Constant { index: usize, src: u64, dst: u64 },
    #[error("main's CFA is {cfa:#x}, not UNIMIG_MAIN_STACK_TOP {UNIMIG_MAIN_STACK_TOP:#x}")]
    MainCfa { cfa: u64 },
    #[error("its CFA {cfa:#x} is not above its sp {sp:#x}")]
    NotAbove { cfa: u64, sp: u64 },
    #[error(
        "the destination stack would start at {sp:#x}, below the main stack mapping at {map:#x}"
    )]
    Overflow { sp: u64, map: u64 },
    #[error("its jmp_buf at {buf:#x}: {reason}")]
    JmpBuf { buf: u64, reason: String },
}

/// A refusal about one frame: which frame, and what is wrong with it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FrameError {
    pub frame: FrameRef,
    pub fault: FrameFault,
}

impl TransformError {
    /// For a refusal because a source frame's call site is not an instrumented one (a library
    /// frame under a callback) or is unsafe: what the runtime can watch instead of trying again
    /// at every migration point (`retry SP PC`). A frame other than the innermost one: its
    /// stack pointer and return address; it stays in the way as long as it is on the stack,
    /// which the runtime can check cheaply (its return address is still stored just below its
    /// stack pointer). The innermost frame: 0 and its return address; a loop's poll comes back
    /// to that same site at once, so the runtime probes it less and less often.
    pub fn refusing_site(&self) -> Option<(u64, u64)> {
        let TransformError::Frame(e) = self else {
            return None;
        };
        if !matches!(
            e.fault,
            FrameFault::NoRecord | FrameFault::UnsafeSite { .. }
        ) {
            return None;
        }
        match (e.frame.index, e.frame.sp) {
            (0, _) => Some((0, e.frame.return_address)),
            (_, 0) => None,
            (_, sp) => Some((sp, e.frame.return_address)),
        }
    }
}

fn frame_error(frame: FrameRef, fault: FrameFault) -> TransformError {
    TransformError::Frame(Box::new(FrameError { frame, fault }))
}

#[derive(Debug, thiserror::Error)]
pub enum TransformError {
    #[error(transparent)]
    Checkpoint(#[from] CheckpointError),
    #[error(transparent)]
    Image(#[from] ImageError),
    #[error("checkpoint has no REGS record")]
    NoRegs,
    #[error("REGS record is {len} bytes, {isa} needs {expected}")]
    RegsSize {
        isa: Isa,
        len: usize,
        expected: usize,
    },
    /// A frame that cannot be mapped (boxed: it is the common refusal, and large).
    #[error("{}: {}", .0.frame, .0.fault)]
    Frame(Box<FrameError>),
    #[error("the stack has more than {MAX_FRAMES} frames")]
    TooDeep,
    #[error("the destination stack would be {0} bytes")]
    TooLarge(u64),
    #[error(transparent)]
    JmpBufRegistry(#[from] RegistryError),
    #[error("a registered jmp_buf at {0:#x} lies in the machine stack being rebuilt")]
    JmpBufOnStack(u64),
}

/// One frame of a checkpoint's stack, for `unimig inspect` and reports.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FrameInfo {
    /// 0 is the innermost frame.
    pub index: usize,
    pub function: String,
    pub record_id: u64,
    /// The address at which the frame resumes (the return address of its call).
    pub return_address: u64,
    pub cfa: u64,
    pub sp: u64,
    /// The live values (without the statepoint's header constants), zero-extended.
    pub live_values: Vec<u64>,
}

/// Stack memory of a checkpoint: its `DATA` records, plus zeros inside the `MAIN_STACK` mapping
/// (the runtime writes only non-zero pages).
struct Memory<'c> {
    chunks: Vec<(u64, &'c [u8])>,
    zero: Vec<(u64, u64)>,
}

impl<'c> Memory<'c> {
    fn new(ckpt: &'c Checkpoint<'_>) -> Memory<'c> {
        let mut chunks: Vec<(u64, &[u8])> =
            ckpt.records.iter().filter_map(|r| r.as_data()).collect();
        chunks.sort_by_key(|c| c.0);
        let zero = ckpt
            .records
            .iter()
            .filter_map(|r| r.as_map())
            .filter(|m| m.3 & MAP_MAIN_STACK != 0)
            .map(|m| (m.0, m.0.saturating_add(m.1)))
            .collect();
        Memory { chunks, zero }
    }

    /// `len` (1..=8) bytes at `addr`, zero-extended.
    fn read(&self, addr: u64, len: u64) -> Option<u64> {
        let end = addr.checked_add(len)?;
        let i = self.chunks.partition_point(|c| c.0 <= addr);
        if i > 0 {
            let (base, bytes) = self.chunks[i - 1];
            if end - base <= bytes.len() as u64 {
                let s = &bytes[(addr - base) as usize..(end - base) as usize];
                let mut w = [0u8; 8];
                w[..s.len()].copy_from_slice(s);
                return Some(u64::from_le_bytes(w));
            }
        }
        self.zero
            .iter()
            .any(|&(lo, hi)| lo <= addr && end <= hi)
            .then_some(0)
    }
}

/// A source frame after unwinding.
struct SrcFrame<'i> {
    site: &'i Site,
    sp: u64,
    cfa: u64,
    /// Every location's value (statepoint header included), zero-extended.
    values: Vec<u64>,
    /// Where this frame returns to (its caller's resume address).
    return_to: u64,
}

fn mask(size: u64) -> u64 {
    if size >= 8 {
        u64::MAX
    } else {
        (1u64 << (size * 8)) - 1
    }
}

fn regs_of(isa: Isa, ckpt: &Checkpoint<'_>) -> Result<Regs, TransformError> {
    let payload = ckpt.regs().ok_or(TransformError::NoRegs)?;
    Regs::decode(isa, payload).ok_or(TransformError::RegsSize {
        isa,
        len: payload.len(),
        expected: regs::payload_len(isa),
    })
}

fn check_source(img: &Image, ckpt: &Checkpoint<'_>, opts: &Options) -> Result<(), TransformError> {
    let machine = img.isa().elf_machine();
    let id = match img.image_id() {
        Ok(id) => id,
        Err(e) if opts.require_image_id => return Err(e.into()),
        Err(_) => ckpt.header.image_id,
    };
    ckpt.check_target(machine, id)?;
    Ok(())
}

/// The value of every location of `site`, zero-extended, in a frame whose callee-saved
/// registers are `regs` and whose stack pointer is `sp`: registers, `[sp or frame pointer +
/// offset]` in `mem`, constants. (The unwound frames, and a `jmp_buf`'s frame as a `longjmp`
/// would find it.)
fn record_values(
    site: &Site,
    isa: Isa,
    regs: &Regs,
    sp: u64,
    mem: &Memory,
) -> Result<Vec<u64>, FrameFault> {
    let mut values = Vec::with_capacity(site.locations.len());
    for (i, loc) in site.locations.iter().enumerate() {
        let size = u64::from(loc.size);
        if !(1..=8).contains(&size) {
            return Err(FrameFault::ValueSize {
                index: i,
                size: loc.size,
            });
        }
        let v = match loc.value {
            Value::Register(r) => regs
                .get(r)
                .ok_or(FrameFault::Register { index: i, reg: r })?,
            Value::Indirect(r, off) => {
                let b = if r == sp_reg(isa) {
                    sp
                } else if r == fp_reg(isa) {
                    regs.get(r).unwrap_or(0)
                } else {
                    return Err(FrameFault::Base { index: i, reg: r });
                };
                let addr = b.wrapping_add_signed(off.into());
                mem.read(addr, size)
                    .ok_or(FrameFault::Memory { addr, len: size })?
            }
            Value::Constant(c) => c,
            Value::Direct(..) => return Err(FrameFault::Direct { index: i }),
        };
        values.push(v & mask(size));
    }
    Ok(values)
}

/// Unwinds the stack of `ckpt` (taken on `img`'s ISA), innermost frame first.
fn unwind<'i>(
    img: &'i Image,
    ckpt: &Checkpoint<'_>,
    mem: &Memory,
    opts: &Options,
) -> Result<Vec<SrcFrame<'i>>, TransformError> {
    let isa = img.isa();
    let mut regs = regs_of(isa, ckpt)?;
    let main_return = match opts.stop {
        Stop::MainReturn => Some(img.main_return()?),
        Stop::Function(_) => None,
    };
    let (mut sp, mut pc) = (regs.sp, regs.pc);
    let mut frames = Vec::new();
    loop {
        let index = frames.len();
        if index >= MAX_FRAMES {
            return Err(TransformError::TooDeep);
        }
        let site = img.site_at(pc);
        let fail = |fault| {
            frame_error(
                FrameRef {
                    index,
                    function: img.function_name(pc).unwrap_or("?").to_string(),
                    record: site.map(|s| s.id),
                    return_address: pc,
                    sp,
                    isa,
                },
                fault,
            )
        };
        let site = site.ok_or_else(|| fail(FrameFault::NoRecord))?;
        let rule = site
            .frame
            .as_ref()
            .map_err(|e| fail(FrameFault::Layout(e.clone())))?;
        let base = if rule.cfa_reg == sp_reg(isa) {
            sp
        } else {
            regs.get(rule.cfa_reg).unwrap_or(0)
        };
        let cfa = base.wrapping_add_signed(rule.cfa_offset);
        if cfa.wrapping_sub(sp) != rule.size {
            return Err(fail(FrameFault::FrameSize {
                cfa,
                sp,
                size: rule.size,
            }));
        }
        let read = |addr: u64, len: u64| {
            mem.read(addr, len)
                .ok_or_else(|| fail(FrameFault::Memory { addr, len }))
        };
        let values = record_values(site, isa, &regs, sp, mem).map_err(fail)?;
        // Only the migration point's own call (preserve_all) keeps the other registers.
        regs.forget_caller_saved();
        let return_to = read(cfa.wrapping_add_signed(rule.return_address), 8)?;
        for &(r, off) in &rule.saved {
            let v = read(cfa.wrapping_add_signed(off), 8)?;
            regs.set(r, v);
        }
        let last = match opts.stop {
            Stop::MainReturn => return_to == main_return.unwrap_or(0),
            Stop::Function(f) => site.function == f,
        };
        if last && opts.stop == Stop::MainReturn && cfa != UNIMIG_MAIN_STACK_TOP {
            return Err(fail(FrameFault::MainCfa { cfa }));
        }
        if cfa <= sp {
            return Err(fail(FrameFault::NotAbove { cfa, sp }));
        }
        frames.push(SrcFrame {
            site,
            sp,
            cfa,
            values,
            return_to,
        });
        if last {
            return Ok(frames);
        }
        sp = cfa;
        pc = return_to;
    }
}

/// A registered `jmp_buf` whose frame is on the source stack ([`crate::jmpbuf`]).
struct LiveJmpBuf<'i> {
    /// Index of its frame.
    frame: usize,
    buf: u64,
    /// The `setjmp` call's record in the destination image.
    dst_site: &'i Site,
    /// Every location's value at the `setjmp` call (statepoint header included), as a `longjmp`
    /// on the source would find them.
    values: Vec<u64>,
}

/// The source's `jmp_buf` registry: its address and the live entries, innermost frame first.
fn live_jmpbufs<'i>(
    src: &Image,
    dst: &'i Image,
    mem: &Memory,
    frames: &[SrcFrame],
    opts: &Options,
) -> Result<Option<(u64, Vec<LiveJmpBuf<'i>>)>, TransformError> {
    let Some(addr) = src.jmpbuf_registry() else {
        return Ok(None);
    };
    if dst.jmpbuf_registry() != Some(addr) {
        return Err(RegistryError::Moved {
            src: addr,
            dst: dst.jmpbuf_registry(),
        }
        .into());
    }
    let registry = Registry::read(addr, |a, len| mem.read(a, len))?;
    if registry.dropped_key != 0 {
        return Err(RegistryError::Overflow.into());
    }
    let sisa = src.isa();
    let mut live = Vec::new();
    for &Entry { buf, .. } in &registry.entries {
        let words: Option<Vec<u8>> = (0..jmpbuf::used_bytes(sisa) / 8)
            .map(|k| mem.read(buf + 8 * k, 8))
            .collect::<Option<Vec<u64>>>()
            .map(|w| w.iter().flat_map(|x| x.to_le_bytes()).collect());
        let Some(saved) = words.and_then(|w| jmpbuf::decode(sisa, &w)) else {
            continue; // not in the checkpoint: freed memory
        };
        let Some(site) = src.site_at(saved.pc) else {
            continue;
        };
        let Some(index) = frames
            .iter()
            .position(|f| f.sp == saved.sp && f.site.function == site.function)
        else {
            continue; // its frame has returned
        };
        if live.iter().any(|l: &LiveJmpBuf| l.buf == buf) {
            continue;
        }
        let f = &frames[index];
        let frame = FrameRef {
            index,
            function: src.function_name(f.site.address).unwrap_or("?").to_string(),
            record: Some(f.site.id),
            return_address: f.site.address,
            sp: f.sp,
            isa: sisa,
        };
        let bad = |reason: String| frame_error(frame.clone(), FrameFault::JmpBuf { buf, reason });
        // The frame cannot move while a longjmp may return into a call that is not safe.
        if let Some(img) = [src, dst].into_iter().find(|i| i.is_unsafe(site.id)) {
            if !opts.allow_unsafe_sites {
                return Err(frame_error(
                    frame,
                    FrameFault::UnsafeSite {
                        listed_in: img.isa(),
                    },
                ));
            }
        }
        let dst_site = dst
            .site_by_id(site.id)
            .map_err(|()| {
                bad(format!(
                    "several records carry its setjmp's ID {:#x}",
                    site.id
                ))
            })?
            .ok_or_else(|| {
                bad(format!(
                    "no destination record for its setjmp ({:#x})",
                    site.id
                ))
            })?;
        let sizes = |s: &Site| s.locations.iter().map(|l| l.size).collect::<Vec<_>>();
        if sizes(dst_site) != sizes(site) {
            return Err(bad("its setjmp's records differ between the images".into()));
        }
        let values = record_values(site, sisa, &saved, saved.sp, mem)
            .map_err(|fault| bad(fault.to_string()))?;
        live.push(LiveJmpBuf {
            frame: index,
            buf,
            dst_site,
            values,
        });
    }
    live.sort_by_key(|l| l.frame);
    Ok(Some((addr, live)))
}

/// The frames of `ckpt`'s stack, innermost first, per the contract ([`Options::default`]).
pub fn describe(img: &Image, ckpt: &Checkpoint<'_>) -> Result<Vec<FrameInfo>, TransformError> {
    describe_with(img, ckpt, &Options::default())
}

/// [`describe`] with explicit [`Options`].
pub fn describe_with(
    img: &Image,
    ckpt: &Checkpoint<'_>,
    opts: &Options,
) -> Result<Vec<FrameInfo>, TransformError> {
    check_source(img, ckpt, opts)?;
    let frames = unwind(img, ckpt, &Memory::new(ckpt), opts)?;
    Ok(frames
        .iter()
        .enumerate()
        .map(|(index, f)| {
            let skip = f.site.locations.len() - f.site.live().len();
            FrameInfo {
                index,
                function: img.function_name(f.site.address).unwrap_or("?").to_string(),
                record_id: f.site.id,
                return_address: f.site.address,
                cfa: f.cfa,
                sp: f.sp,
                live_values: f.values[skip..].to_vec(),
            }
        })
        .collect())
}

/// Transforms a checkpoint taken on `src`'s ISA into one for `dst`, per the contract
/// ([`Options::default`]).
pub fn transform<'c>(
    src: &Image,
    dst: &Image,
    ckpt: &'c Checkpoint<'_>,
) -> Result<Checkpoint<'c>, TransformError> {
    transform_with(src, dst, ckpt, &Options::default())
}

/// Where a callee-saved register's value for the frames further out must be written.
#[derive(Clone, Copy)]
enum Home {
    /// The output register file.
    Reg,
    /// A save slot on the new stack.
    Slot(u64),
    /// Nowhere: a register only the migration point's call preserves, which frames further
    /// out than the innermost cannot hold a value in.
    Clobbered,
}

/// The destination stack under construction: bytes from `lo` (the innermost sp) to `hi`.
struct NewStack {
    lo: u64,
    bytes: Vec<u8>,
}

impl NewStack {
    fn write(&mut self, addr: u64, value: u64, size: u64) -> bool {
        let Some(off) = addr.checked_sub(self.lo) else {
            return false;
        };
        let (off, size) = (off as usize, size as usize);
        match self.bytes.get_mut(off..off + size) {
            Some(s) => {
                s.copy_from_slice(&value.to_le_bytes()[..size]);
                true
            }
            None => false,
        }
    }
}

/// The destination's registers and stack while frames are built, innermost first.
struct Dest {
    stack: NewStack,
    out: Regs,
    /// Per callee-saved register: where the value the frames further out give it goes.
    homes: [Home; regs::DWARF_REGS],
    /// Per callee-saved register: the [`Dest::bufs`] (indexes) that also take that value (their
    /// frame does not save the register, so while it runs the register holds an outer value).
    waiting: Vec<Vec<usize>>,
    /// The rewritten jmp_bufs: (address, registers).
    bufs: Vec<(u64, Regs)>,
    /// Stack slots the current frame's record and fixups wrote: (address, size, value).
    frame_writes: Vec<(u64, u64, u64)>,
}

impl Dest {
    /// Gives register `reg` the value `v` for the frames built so far; `false` if the
    /// transformer does not carry `reg`, or the frame is not the innermost and `reg` is not
    /// callee-saved.
    fn put_reg(&mut self, reg: u16, v: u64) -> bool {
        let ok = match self.homes.get(reg as usize) {
            Some(Home::Reg) => self.out.set(reg, v),
            Some(&Home::Slot(a)) => self.stack.write(a, v, 8),
            Some(Home::Clobbered) | None => false,
        };
        if ok {
            for &b in &self.waiting[reg as usize] {
                self.bufs[b].1.set(reg, v);
            }
        }
        ok
    }

    fn write_slot(&mut self, addr: u64, v: u64, size: u64) -> bool {
        self.frame_writes.push((addr, size, v));
        self.stack.write(addr, v, size)
    }

    /// Writes a value a jmp_buf's record puts in a slot of the current frame, which must not
    /// contradict what the frame's own record put there.
    fn write_slot_agreeing(&mut self, addr: u64, v: u64, size: u64) -> Result<(), &'static str> {
        for &(a, s, w) in &self.frame_writes {
            let overlaps = a < addr + size && addr < a + s;
            if overlaps && (a, s, w & mask(s)) != (addr, size, v & mask(size)) {
                return Err(
                    "a slot its setjmp's record uses holds another value at the current call",
                );
            }
        }
        self.write_slot(addr, v, size)
            .then_some(())
            .ok_or("a slot outside the new stack")
    }
}

/// What a transformation rebuilt.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Frames of the stack.
    pub frames: usize,
    /// Live `jmp_buf`s rewritten for the destination ([`crate::jmpbuf`]).
    pub jmp_bufs: usize,
}

/// [`transform`] with explicit [`Options`].
pub fn transform_with<'c>(
    src: &Image,
    dst: &Image,
    ckpt: &'c Checkpoint<'_>,
    opts: &Options,
) -> Result<Checkpoint<'c>, TransformError> {
    transform_with_stats(src, dst, ckpt, opts).map(|(c, _)| c)
}

/// [`transform_with`], also saying what it rebuilt.
pub fn transform_with_stats<'c>(
    src: &Image,
    dst: &Image,
    ckpt: &'c Checkpoint<'_>,
    opts: &Options,
) -> Result<(Checkpoint<'c>, Stats), TransformError> {
    check_source(src, ckpt, opts)?;
    if let (Ok(s), Ok(d)) = (src.image_id(), dst.image_id()) {
        if s != d {
            return Err(CheckpointError::WrongImage {
                found: s,
                expected: d,
            }
            .into());
        }
    }
    let mem = Memory::new(ckpt);
    let frames = unwind(src, ckpt, &mem, opts)?;
    let n = frames.len();
    let disa = dst.isa();
    let live_bufs = live_jmpbufs(src, dst, &mem, &frames, opts)?;

    // The destination sites, with the source frame each one replaces.
    let mut dsites = Vec::with_capacity(n);
    for (index, f) in frames.iter().enumerate() {
        let fail = |fault| {
            frame_error(
                FrameRef {
                    index,
                    function: src.function_name(f.site.address).unwrap_or("?").to_string(),
                    record: Some(f.site.id),
                    return_address: f.site.address,
                    sp: f.sp,
                    isa: src.isa(),
                },
                fault,
            )
        };
        // Listed in either image (the lists are meant to be equal; a stale one must not pass).
        let listed = [src, dst].into_iter().find(|i| i.is_unsafe(f.site.id));
        if let (Some(img), false) = (listed, opts.allow_unsafe_sites) {
            return Err(fail(FrameFault::UnsafeSite {
                listed_in: img.isa(),
            }));
        }
        let d = dst
            .site_by_id(f.site.id)
            .map_err(|()| fail(FrameFault::AmbiguousId))?
            .ok_or_else(|| fail(FrameFault::NoCounterpart))?;
        let sizes = |s: &Site| s.locations.iter().map(|l| l.size).collect::<Vec<_>>();
        if sizes(d) != sizes(f.site) {
            return Err(fail(FrameFault::Shape {
                src: f.site.locations.len(),
                dst: d.locations.len(),
                src_sizes: sizes(f.site),
                dst_sizes: sizes(d),
            }));
        }
        let rule = d
            .frame
            .as_ref()
            .map_err(|e| fail(FrameFault::Layout(e.clone())))?;
        dsites.push((d, rule));
    }
    let dfail = |index: usize, fault| {
        let d = dsites[index].0;
        frame_error(
            FrameRef {
                index,
                function: dst.function_name(d.address).unwrap_or("?").to_string(),
                record: Some(d.id),
                return_address: d.address,
                sp: 0,
                isa: disa,
            },
            fault,
        )
    };

    // CFAs and stack pointers, outermost first: a callee's CFA is its caller's sp.
    let outer = &frames[n - 1];
    let top = match opts.stop {
        Stop::MainReturn => UNIMIG_MAIN_STACK_TOP,
        Stop::Function(_) => outer.cfa,
    };
    let mut cfa = vec![0u64; n];
    let mut sp = vec![0u64; n];
    let mut next = top;
    for i in (0..n).rev() {
        cfa[i] = next;
        sp[i] = next.wrapping_sub(dsites[i].1.size);
        next = sp[i];
    }
    let lo = sp[0];
    let len = top.wrapping_sub(lo);
    if len > MAX_STACK {
        return Err(TransformError::TooLarge(len));
    }
    if let Some(map) = ckpt
        .records
        .iter()
        .filter_map(|r| r.as_map())
        .find(|m| m.3 & MAP_MAIN_STACK != 0)
    {
        if lo < map.0 {
            return Err(dfail(0, FrameFault::Overflow { sp: lo, map: map.0 }));
        }
    }
    // The registry keeps the live entries, keyed just below their frame's new stack pointer.
    let (registry, jmpbufs) = match live_bufs {
        Some((address, live)) => {
            let entries = live
                .iter()
                .map(|l| Entry {
                    buf: l.buf,
                    key: sp[l.frame] - 1,
                })
                .rev() // registration order: outermost first
                .collect();
            let table = Registry {
                entries,
                dropped_key: 0,
            };
            (Some((address, table)), live)
        }
        None => (None, Vec::new()),
    };
    let mut dest = Dest {
        stack: NewStack {
            lo,
            bytes: vec![0; len as usize],
        },
        out: Regs::new(disa),
        homes: [Home::Reg; regs::DWARF_REGS],
        waiting: vec![Vec::new(); regs::DWARF_REGS],
        bufs: Vec::new(),
        frame_writes: Vec::new(),
    };
    let mut jmpbufs = jmpbufs.into_iter().peekable();

    // Values, innermost first, so each frame's save slots become homes for the frames outside.
    for i in 0..n {
        let (d, rule) = dsites[i];
        let fail = |fault| dfail(i, fault);
        dest.frame_writes.clear();
        let fp = fp_reg(disa);
        let fp_value = cfa[i].wrapping_add_signed(-rule.cfa_offset);
        if rule.cfa_reg == fp && !dest.put_reg(fp, fp_value) {
            return Err(fail(FrameFault::Register { index: 0, reg: fp }));
        }
        let slot_base = |r: u16| {
            if r == sp_reg(disa) {
                Some(sp[i])
            } else if r == fp && rule.cfa_reg == fp {
                Some(fp_value)
            } else {
                None
            }
        };
        for (index, (loc, &v)) in d.locations.iter().zip(&frames[i].values).enumerate() {
            let size = u64::from(loc.size);
            match loc.value {
                Value::Register(r) => {
                    if !dest.put_reg(r, v) {
                        return Err(fail(FrameFault::Register { index, reg: r }));
                    }
                }
                Value::Indirect(r, off) => {
                    let base =
                        slot_base(r).ok_or_else(|| fail(FrameFault::Base { index, reg: r }))?;
                    let addr = base.wrapping_add_signed(off.into());
                    if !dest.write_slot(addr, v, size) {
                        return Err(fail(FrameFault::Memory { addr, len: size }));
                    }
                }
                Value::Constant(c) => {
                    if c & mask(size) != v {
                        return Err(fail(FrameFault::Constant {
                            index,
                            src: v,
                            dst: c & mask(size),
                        }));
                    }
                }
                Value::Direct(..) => return Err(fail(FrameFault::Direct { index })),
            }
        }
        // Values code generation kept outside the record (constants, and second copies of
        // recorded values), after the live values (a fixup's place is never a recorded one, so
        // the order does not matter for correctness).
        for fx in dst.fixups(d.id) {
            let bad = |reason| {
                fail(FrameFault::Fixup {
                    place: fx.place,
                    reason,
                })
            };
            let v = fx
                .value(dst.thread_pointer(), &frames[i].values)
                .ok_or_else(|| match fx.recipe {
                    Recipe::LiveValue { .. } => bad("its record location does not exist"),
                    _ => bad("the destination thread pointer is unknown"),
                })?;
            match fx.place {
                Place::Register(r) => {
                    if !dest.put_reg(r, v) {
                        return Err(bad("not a callee-saved register"));
                    }
                }
                Place::Slot(r, off) => {
                    let base = slot_base(r)
                        .ok_or_else(|| bad("its base is neither sp nor the frame pointer"))?;
                    let addr = base.wrapping_add_signed(off.into());
                    if !dest.write_slot(addr, v, u64::from(fx.size)) {
                        return Err(bad("the slot is outside the new stack"));
                    }
                }
            }
        }
        if i == 0 {
            for r in regs::caller_saved(disa) {
                dest.homes[r as usize] = Home::Clobbered;
            }
        }
        let resume_caller = if i + 1 < n {
            dsites[i + 1].0.address
        } else {
            match opts.stop {
                Stop::MainReturn => dst.main_return()?,
                Stop::Function(_) => frames[i].return_to,
            }
        };
        let ra = cfa[i].wrapping_add_signed(rule.return_address);
        if !dest.stack.write(ra, resume_caller, 8) {
            return Err(fail(FrameFault::Memory { addr: ra, len: 8 }));
        }
        for &(r, off) in &rule.saved {
            if let Some(h) = dest.homes.get_mut(r as usize) {
                *h = Home::Slot(cfa[i].wrapping_add_signed(off));
            }
            if let Some(w) = dest.waiting.get_mut(r as usize) {
                w.clear();
            }
        }
        // This frame's jmp_bufs: the state a longjmp restores, at the setjmp call.
        while let Some(jb) = jmpbufs.next_if(|j| j.frame == i) {
            let bad = |reason: String| {
                fail(FrameFault::JmpBuf {
                    buf: jb.buf,
                    reason,
                })
            };
            let mut regs = Regs::new(disa);
            regs.sp = sp[i];
            regs.pc = jb.dst_site.address;
            let mut set: Vec<u16> = Vec::new();
            if rule.cfa_reg == fp {
                regs.set(fp, fp_value);
                set.push(fp);
            }
            let mut place =
                |dest: &mut Dest, regs: &mut Regs, at: Place, v: u64, size: u64| match at {
                    Place::Register(r) => {
                        set.push(r);
                        (regs::is_callee_saved(disa, r) && regs.set(r, v))
                            .then_some(())
                            .ok_or_else(|| bad(format!("register {r} is not callee-saved")))
                    }
                    Place::Slot(r, off) => {
                        let base = slot_base(r).ok_or_else(|| {
                            bad(format!(
                                "a slot based on register {r}, not sp or the frame pointer"
                            ))
                        })?;
                        let addr = base.wrapping_add_signed(off.into());
                        dest.write_slot_agreeing(addr, v, size)
                            .map_err(|e| bad(e.into()))
                    }
                };
            for (index, (loc, &v)) in jb.dst_site.locations.iter().zip(&jb.values).enumerate() {
                let size = u64::from(loc.size);
                match loc.value {
                    Value::Register(r) => place(&mut dest, &mut regs, Place::Register(r), v, size)?,
                    Value::Indirect(r, off) => {
                        place(&mut dest, &mut regs, Place::Slot(r, off), v, size)?
                    }
                    Value::Constant(c) if c & mask(size) == v => {}
                    Value::Constant(c) => {
                        return Err(bad(format!(
                            "live value {index} is the constant {:#x} here, {v:#x} in the source",
                            c & mask(size)
                        )))
                    }
                    Value::Direct(..) => {
                        return Err(bad(format!("live value {index} is a Direct location")))
                    }
                }
            }
            for fx in dst.fixups(jb.dst_site.id) {
                let v = fx
                    .value(dst.thread_pointer(), &jb.values)
                    .ok_or_else(|| bad(format!("fixup of {:?} has no value", fx.place)))?;
                place(&mut dest, &mut regs, fx.place, v, u64::from(fx.size))?;
            }
            // A callee-saved register the frame does not save holds, while it runs, the value
            // of a frame further out: filled in as those frames are built.
            let index = dest.bufs.len();
            for r in jmpbuf::saved_registers(disa) {
                if !set.contains(&r) && !rule.saved.iter().any(|&(s, _)| s == r) {
                    dest.waiting[r as usize].push(index);
                }
            }
            dest.bufs.push((jb.buf, regs));
        }
    }
    let Dest {
        stack,
        mut out,
        bufs,
        ..
    } = dest;
    let stats = Stats {
        frames: n,
        jmp_bufs: bufs.len(),
    };
    // Memory outside the stack to patch: (address, new bytes).
    let rewritten: Vec<(u64, Vec<u8>)> = bufs
        .iter()
        .map(|(buf, regs)| (*buf, jmpbuf::encode(regs)))
        .chain(registry.map(|(address, table)| (address, table.encode())))
        .collect();
    out.sp = sp[0];
    out.pc = dsites[0].0.address;

    // The new checkpoint: REGS replaced, the old stack's bytes below `top` replaced by the new
    // stack, everything else borrowed as it is.
    let clip_lo = lo.min(frames[0].sp);
    let mut records: Vec<Record<'c>> = Vec::with_capacity(ckpt.records.len() + 2);
    let mut new_stack = Some(Record::data(lo, &stack.bytes));
    for r in &ckpt.records {
        if r.kind == kind::REGS {
            records.push(Record::new(kind::REGS, out.encode()));
            continue;
        }
        if let Some((addr, bytes)) = r.as_data() {
            let end = addr + bytes.len() as u64;
            if end > clip_lo && addr < top {
                if addr < clip_lo {
                    records.push(Record::data(addr, &bytes[..(clip_lo - addr) as usize]));
                }
                if let Some(s) = new_stack.take() {
                    records.push(s);
                }
                if end > top {
                    records.push(Record::data(top, &bytes[(top - addr) as usize..]));
                }
                continue;
            }
        }
        records.push(Record::new(r.kind, Cow::Borrowed(&*r.payload)));
    }
    records.extend(new_stack);
    for (addr, bytes) in &rewritten {
        if *addr < top && addr + bytes.len() as u64 > clip_lo.min(lo) {
            return Err(TransformError::JmpBufOnStack(*addr));
        }
        patch_memory(&mut records, *addr, bytes);
    }
    let mut header = ckpt.header;
    header.isa = disa.elf_machine().into();
    if let Ok(id) = dst.image_id() {
        header.image_id = id;
    }
    Ok((Checkpoint { header, records }, stats))
}

/// Overwrites `bytes.len()` bytes at `addr` in the `DATA` records (copying the ones it
/// touches), adding a record for any of them no record holds (a page that was all zero).
fn patch_memory(records: &mut Vec<Record<'_>>, addr: u64, bytes: &[u8]) {
    let end = addr + bytes.len() as u64;
    let mut covered = vec![false; bytes.len()];
    for r in records.iter_mut() {
        let Some((base, data)) = r.as_data() else {
            continue;
        };
        let (lo, hi) = (base.max(addr), (base + data.len() as u64).min(end));
        if lo >= hi {
            continue;
        }
        let mut copy = data.to_vec();
        copy[(lo - base) as usize..(hi - base) as usize]
            .copy_from_slice(&bytes[(lo - addr) as usize..(hi - addr) as usize]);
        covered[(lo - addr) as usize..(hi - addr) as usize].fill(true);
        *r = Record::data(base, &copy);
    }
    let mut k = 0;
    while k < bytes.len() {
        if covered[k] {
            k += 1;
            continue;
        }
        let run = covered[k..]
            .iter()
            .position(|&c| c)
            .unwrap_or(bytes.len() - k);
        records.push(Record::data(addr + k as u64, &bytes[k..k + run]));
        k += run;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checkpoint::Header;

    #[test]
    fn patch_memory_copies_touched_records_and_adds_missing_bytes() {
        let mut records = vec![
            Record::data(0x1000, &[1; 16]),
            Record::data(0x1010, &[2; 8]),
            Record::new(kind::REGS, vec![0u8; 64]),
        ];
        patch_memory(&mut records, 0x100c, &[9; 20]);
        assert_eq!(records[0].as_data().unwrap().1[12..], [9; 4]);
        assert_eq!(records[0].as_data().unwrap().1[..12], [1; 12]);
        assert_eq!(records[1].as_data().unwrap().1, [9; 8]);
        assert_eq!(records[2].kind, kind::REGS);
        assert_eq!(records[3].as_data().unwrap(), (0x1018, &[9u8; 8][..]));
        assert_eq!(records.len(), 4);
    }

    #[test]
    fn memory_reads_data_and_zero_pages_of_the_main_stack() {
        let mut map = Vec::new();
        map.extend_from_slice(&0x1_0000u64.to_le_bytes());
        map.extend_from_slice(&0x3000u64.to_le_bytes());
        map.extend_from_slice(&3u32.to_le_bytes());
        map.extend_from_slice(&MAP_MAIN_STACK.to_le_bytes());
        let c = Checkpoint {
            header: Header {
                isa: 62,
                image_id: 0,
                point: 0,
                flags: 0,
            },
            records: vec![
                Record::new(kind::MAP, map),
                Record::data(0x1_2000, &[0x11; 0x1000]),
                Record::data(0x9000, &[1, 2, 3, 4, 5, 6, 7, 8, 9]),
            ],
        };
        let m = Memory::new(&c);
        assert_eq!(m.read(0x9001, 8), Some(0x0908_0706_0504_0302));
        assert_eq!(m.read(0x9002, 8), None, "past the end of a DATA record");
        assert_eq!(m.read(0x1_2ff8, 8), Some(0x1111_1111_1111_1111));
        assert_eq!(m.read(0x1_1000, 4), Some(0), "a zero page of the stack");
        assert_eq!(m.read(0x1_2ffc, 8), None, "past the mapping");
        assert_eq!(m.read(0x8000, 8), None);
        assert_eq!(mask(4), 0xffff_ffff);
        assert_eq!(mask(8), u64::MAX);
    }
}
