//! The in-process pipeline: parse -> target-neutral middle end -> instrumentation -> verifier
//! -> code generation.

use std::ffi::CStr;
use std::ptr;
use std::sync::Once;

use anyhow::{anyhow, bail, Result};

use crate::llvm::{self, cstr, llvm_sys, take_message, Context, Module};
use crate::{instrument, Isa, MiddleEnd, OptLevel, Options, Report};

use llvm_sys::target_machine::*;
use llvm_sys::transforms::pass_builder::*;

/// LLVM options set once per process, as `-mllvm` would:
/// * `-use-registers-for-deopt-values=true`: statepoint deopt values may live in (callee-saved)
///   registers instead of being spilled, which is what makes records exact and cheap;
/// * `-restrict-statepoint-remat=true`: spill-fold a statepoint's live values rather than
///   rematerialise them right before it; without it, a call with more rematerialisable live
///   values than registers fails with "ran out of registers during register allocation"
///   (seen on Lua's ltable.c, lparser.c, ldo.c, lauxlib.c, lstrlib.c on both ISAs);
/// * `-tail-dup-placement=false -disable-tail-duplicate`: no post-register-allocation tail
///   duplication, which copies a block holding a call into its predecessors and so emits one
///   call site (one record ID) at two return addresses, on one ISA and not the other (seen on
///   AArch64 in Lua's lauxlib.c). Tail duplication before register allocation already leaves
///   calls alone;
/// * `-aarch64-enable-global-merge=false`: what clang's `-mno-global-merge` does (unimig-cc
///   passes it for AArch64): no `_MergedGlobals` blob, every static variable keeps its own
///   section so the linker can place it at the same address as on x86-64.
pub const LLVM_OPTIONS: &[&str] = &[
    "unimig-llvm-pass",
    "-use-registers-for-deopt-values=true",
    "-restrict-statepoint-remat=true",
    "-tail-dup-placement=false",
    "-disable-tail-duplicate",
    "-aarch64-enable-global-merge=false",
];

static INIT: Once = Once::new();

fn init() {
    INIT.call_once(|| unsafe {
        use llvm_sys::target::*;
        LLVMInitializeX86TargetInfo();
        LLVMInitializeX86Target();
        LLVMInitializeX86TargetMC();
        LLVMInitializeX86AsmPrinter();
        LLVMInitializeX86AsmParser();
        LLVMInitializeAArch64TargetInfo();
        LLVMInitializeAArch64Target();
        LLVMInitializeAArch64TargetMC();
        LLVMInitializeAArch64AsmPrinter();
        LLVMInitializeAArch64AsmParser();
        let args: Vec<_> = LLVM_OPTIONS.iter().map(|s| cstr(s)).collect();
        let ptrs: Vec<_> = args.iter().map(|c| c.as_ptr()).collect();
        llvm_sys::support::LLVMParseCommandLineOptions(
            ptrs.len() as i32,
            ptrs.as_ptr(),
            c"unimig".as_ptr(),
        );
    });
}

/// The result of [`compile_with_report`].
pub struct Output {
    /// ELF relocatable object for the ISA.
    pub object: Vec<u8>,
    pub report: Report,
}

/// Compiles front-end bitcode (or textual IR) for `isa` into an ELF object.
pub fn compile(bitcode: &[u8], isa: Isa, opts: &Options) -> Result<Vec<u8>> {
    Ok(compile_with_report(bitcode, isa, opts)?.object)
}

/// [`compile`], also returning what the instrumentation did.
pub fn compile_with_report(bitcode: &[u8], isa: Isa, opts: &Options) -> Result<Output> {
    init();
    let ctx = Context::new();
    let module = parse_for(&ctx, bitcode, isa)?;
    middle_end(&module, isa, opts)?;
    let report = instrument::instrument_module(&module, isa, opts)?;
    module.verify()?;
    let object = codegen(&module, isa, opts.opt_level)?;
    Ok(Output { object, report })
}

/// The result of [`compile_pair`].
pub struct PairOutput {
    pub x86_64: Output,
    pub aarch64: Output,
}

/// Compiles one translation unit for both ISAs (the front end's bitcode for each), checking
/// that instrumentation gives the same call sites with the same live-value sizes on both. A
/// function where they differ (the front ends lowered it differently, e.g. `va_arg` on a
/// `va_list` parameter) is left uninstrumented on both ISAs and reported as
/// [`crate::SkipReason::IsaDivergent`]; everything else matches by construction.
pub fn compile_pair(x86_64: &[u8], aarch64: &[u8], opts: &Options) -> Result<PairOutput> {
    init();
    let mut opts = opts.clone();
    // Instrument both, compare, and if some functions diverge instrument again without them.
    for attempt in 0..2 {
        let ctx_x = Context::new();
        let ctx_a = Context::new();
        let mx = parse_for(&ctx_x, x86_64, Isa::X86_64)?;
        let ma = parse_for(&ctx_a, aarch64, Isa::Aarch64)?;
        middle_end(&mx, Isa::X86_64, &opts)?;
        middle_end(&ma, Isa::Aarch64, &opts)?;
        let rx = instrument::instrument_module(&mx, Isa::X86_64, &opts)?;
        let ra = instrument::instrument_module(&ma, Isa::Aarch64, &opts)?;
        let divergent = divergent_functions(&rx, &ra);
        if divergent.is_empty() || attempt == 1 {
            if !divergent.is_empty() {
                bail!("functions still differ between the ISAs after skipping: {divergent:?}");
            }
            mx.verify()?;
            ma.verify()?;
            let ox = codegen(&mx, Isa::X86_64, opts.opt_level)?;
            let oa = codegen(&ma, Isa::Aarch64, opts.opt_level)?;
            return Ok(PairOutput {
                x86_64: Output {
                    object: ox,
                    report: rx,
                },
                aarch64: Output {
                    object: oa,
                    report: ra,
                },
            });
        }
        opts.skip_functions.extend(divergent);
    }
    unreachable!()
}

/// Functions whose stackmapped call sites (callee, live-value sizes) differ between reports.
fn divergent_functions(x: &Report, a: &Report) -> Vec<String> {
    use std::collections::BTreeMap;
    type Sites<'r> = BTreeMap<&'r str, Vec<(&'r Option<String>, &'r Vec<u16>)>>;
    fn sites(r: &Report) -> Sites<'_> {
        let mut m: Sites = BTreeMap::new();
        for c in &r.call_sites {
            m.entry(c.function.as_str())
                .or_default()
                .push((&c.callee, &c.live_sizes));
        }
        m
    }
    let (sx, sa) = (sites(x), sites(a));
    let mut out: Vec<String> = Vec::new();
    for (f, v) in &sx {
        if sa.get(f) != Some(v) {
            out.push(f.to_string());
        }
    }
    for f in sa.keys() {
        if !sx.contains_key(f) {
            out.push(f.to_string());
        }
    }
    out
}

/// The module's textual IR after the middle end, and after instrumentation if `instrumented`
/// (for tests and measurements).
pub fn optimized_ir(
    bitcode: &[u8],
    isa: Isa,
    opts: &Options,
    instrumented: bool,
) -> Result<String> {
    init();
    let ctx = Context::new();
    let module = parse_for(&ctx, bitcode, isa)?;
    middle_end(&module, isa, opts)?;
    if instrumented {
        instrument::instrument_module(&module, isa, opts)?;
        module.verify()?;
    }
    Ok(module.to_ir_string())
}

fn parse_for<'c>(ctx: &'c Context, bitcode: &[u8], isa: Isa) -> Result<Module<'c>> {
    let module = ctx.parse(bitcode, "input")?;
    let triple = module.triple();
    match Isa::from_triple(&triple) {
        Some(i) if i == isa => Ok(module),
        _ => bail!(
            "module triple '{triple}' is not for {} (expected {})",
            isa.name(),
            isa.triple()
        ),
    }
}

struct TargetMachine(LLVMTargetMachineRef);

impl Drop for TargetMachine {
    fn drop(&mut self) {
        unsafe { LLVMDisposeTargetMachine(self.0) }
    }
}

fn target_machine(isa: Isa, triple: &str, level: OptLevel) -> Result<TargetMachine> {
    let ctriple = cstr(triple);
    unsafe {
        let mut target = ptr::null_mut();
        let mut msg = ptr::null_mut();
        if LLVMGetTargetFromTriple(ctriple.as_ptr(), &mut target, &mut msg) != 0 {
            return Err(anyhow!(
                "no LLVM target for {triple}: {}",
                take_message(msg)
            ));
        }
        // Baseline CPUs as clang's defaults; functions carry their own target-cpu/features.
        let (cpu, features) = match isa {
            Isa::X86_64 => (c"x86-64", c""),
            Isa::Aarch64 => (c"generic", c"+neon"),
        };
        // -O0 generates code at level "less": its functions are `optnone`, so instruction
        // selection and the machine passes still treat them as -O0, but the register allocator
        // is the greedy one. The fast allocator leaves deopt values in caller-saved registers,
        // which LLVM's statepoint fix-up then spills with the register's full width (16 bytes
        // for an x86-64 XMM register holding a double, 8 for an AArch64 D register), so record
        // sizes would differ between the ISAs.
        let cg = match level {
            OptLevel::O0 | OptLevel::O1 => LLVMCodeGenOptLevel::LLVMCodeGenLevelLess,
            OptLevel::O2 | OptLevel::Os | OptLevel::Oz => {
                LLVMCodeGenOptLevel::LLVMCodeGenLevelDefault
            }
            OptLevel::O3 => LLVMCodeGenOptLevel::LLVMCodeGenLevelAggressive,
        };
        let tm = LLVMCreateTargetMachine(
            target,
            ctriple.as_ptr(),
            cpu.as_ptr(),
            features.as_ptr(),
            cg,
            LLVMRelocMode::LLVMRelocStatic,
            LLVMCodeModel::LLVMCodeModelSmall,
        );
        if tm.is_null() {
            bail!("cannot create a target machine for {triple}");
        }
        llvm::unimig_tm_configure(tm, 1, 1);
        // The machine outliner (on by default for AArch64 at -Oz) may move a call into an
        // outlined function: an extra frame that exists on one ISA only.
        LLVMSetTargetMachineMachineOutliner(tm, 0);
        Ok(TargetMachine(tm))
    }
}

/// Runs `default<On>` on the module (see [`MiddleEnd`]).
fn middle_end(module: &Module, isa: Isa, opts: &Options) -> Result<()> {
    let level = opts.opt_level;
    let triple = module.triple();
    let tm = match opts.middle_end {
        MiddleEnd::TargetAware => Some(target_machine(isa, &triple, level)?),
        _ => None,
    };
    if opts.middle_end == MiddleEnd::NeutralNoTriple {
        module.set_triple("");
    }
    let passes = cstr(level.pipeline());
    let result = unsafe {
        let pbo = LLVMCreatePassBuilderOptions();
        // As clang's driver: loop and SLP vectorisers at -O2/-O3/-Os (SLP also -Oz), loop
        // unrolling and interleaving from -O2 (Os/Oz are level 2 to clang).
        let (lv, slp, unroll) = match level {
            OptLevel::O0 | OptLevel::O1 => (false, false, false),
            OptLevel::O2 | OptLevel::O3 | OptLevel::Os => (true, true, true),
            OptLevel::Oz => (false, true, true),
        };
        LLVMPassBuilderOptionsSetLoopVectorization(pbo, lv as i32);
        LLVMPassBuilderOptionsSetSLPVectorization(pbo, slp as i32);
        LLVMPassBuilderOptionsSetLoopUnrolling(pbo, unroll as i32);
        LLVMPassBuilderOptionsSetLoopInterleaving(pbo, unroll as i32);
        let err = LLVMRunPasses(
            module.m,
            passes.as_ptr(),
            tm.as_ref().map_or(ptr::null_mut(), |t| t.0),
            pbo,
        );
        LLVMDisposePassBuilderOptions(pbo);
        if err.is_null() {
            Ok(())
        } else {
            let msg = llvm_sys::error::LLVMGetErrorMessage(err);
            let s = CStr::from_ptr(msg).to_string_lossy().into_owned();
            llvm_sys::error::LLVMDisposeErrorMessage(msg);
            Err(anyhow!("middle end ({}) failed: {s}", level.pipeline()))
        }
    };
    if opts.middle_end == MiddleEnd::NeutralNoTriple {
        module.set_triple(&triple);
    }
    result
}

fn codegen(module: &Module, isa: Isa, level: OptLevel) -> Result<Vec<u8>> {
    let tm = target_machine(isa, &module.triple(), level)?;
    unsafe {
        let mut msg = ptr::null_mut();
        let mut buf = ptr::null_mut();
        if LLVMTargetMachineEmitToMemoryBuffer(
            tm.0,
            module.m,
            LLVMCodeGenFileType::LLVMObjectFile,
            &mut msg,
            &mut buf,
        ) != 0
        {
            bail!(
                "code generation for {} failed: {}",
                isa.name(),
                take_message(msg)
            );
        }
        let start = llvm_sys::core::LLVMGetBufferStart(buf) as *const u8;
        let len = llvm_sys::core::LLVMGetBufferSize(buf);
        let bytes = std::slice::from_raw_parts(start, len).to_vec();
        llvm_sys::core::LLVMDisposeMemoryBuffer(buf);
        Ok(bytes)
    }
}
