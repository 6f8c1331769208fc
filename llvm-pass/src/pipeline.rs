//! The in-process pipeline: parse -> target-neutral middle end -> address-stable constants
//! ([`crate::constants`]) -> instrumentation -> verifier -> code generation (with the check of
//! statepoint live values, [`crate::unsafe_sites`]).
//!
//! [`compile_pair`] runs the two ISAs of a translation unit at the same time, one thread and
//! one LLVMContext each: LLVM allows concurrent work in separate contexts, and the process-wide
//! state (target registration, command-line options, the fatal-error handler) is set up once by
//! [`init`] before any thread starts.
//!
//! Failures are [`StepError`]s naming the step and the ISA. LLVM's own errors do not end the
//! process: diagnostics are collected per context ([`Context`]), and a fatal error (LLVM's
//! `report_fatal_error`, after which it exits) goes first to the hook set with
//! [`on_fatal_error`], told which step of which ISA was running.

use std::cell::Cell;
use std::ffi::CStr;
use std::fmt;
use std::panic::{self, AssertUnwindSafe};
use std::ptr;
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::OnceLock;

use anyhow::{anyhow, bail, Result};

use crate::llvm::{self, cstr, llvm_sys, take_message, Context, Module};
use crate::unsafe_sites::{self, Fixed, Violation};
use crate::{constants, hazards, instrument, isa_of_triple, llvm_triple};
use crate::{Isa, MiddleEnd, OptLevel, Options, Report};

use llvm_sys::target_machine::*;
use llvm_sys::transforms::pass_builder::*;

/// LLVM options set once per process, as `-mllvm` would:
/// * `-use-registers-for-deopt-values=true`: statepoint deopt values may live in (callee-saved)
///   registers instead of being spilled, which is what makes records exact and cheap;
/// * `-restrict-statepoint-remat=true`: spill-fold a statepoint's live values rather than
///   rematerialise them right before it; without it, a call with more rematerialisable live
///   values than registers fails with "ran out of registers during register allocation"
///   (seen on Lua's ltable.c, lparser.c, ldo.c, lauxlib.c, lstrlib.c on both ISAs);
/// * `-aarch64-enable-global-merge=false`: what clang's `-mno-global-merge` does (unimig-cc
///   passes it for AArch64): no `_MergedGlobals` blob, every static variable keeps its own
///   section so the linker can place it at the same address as on x86-64.
pub const LLVM_OPTIONS: &[&str] = &[
    "unimig-llvm-pass",
    "-use-registers-for-deopt-values=true",
    "-restrict-statepoint-remat=true",
    "-aarch64-enable-global-merge=false",
];

/// LLVM options a driver adds (before the user's `-mllvm` options, see
/// [`stackmap_llvm_options`]) when it compiles with stackmaps: code-generation transformations
/// that keep values live across calls outside the stackmap records ([`crate::unsafe_sites`])
/// and cost nothing measurable to turn off. Measured on Lua 5.4 and zlib (-O2, points=all):
/// they make 4% of the call sites the check reports safe (Lua: 2446 to 2349 of 5428 statepoints
/// reported on either ISA; zlib: 389 to 373 of 632) with no run-time change above the noise of
/// scripts/bench/runtime-overhead.sh. Kept on: MachineCSE (turning it off removes the most,
/// 2446 to 2063, but made Lua 9% slower) and CodeGenPrepare (17 sites, and it does much else).
/// Off is also faster overall: with MachineLICM back on, the benchmark's geomean went 1.017 ->
/// 1.028 (session 10, A/B run of 5: the loop-heavy program 1.029 -> 1.003 and minigzip 1.027 ->
/// 1.022, but the recursive one 1.069 -> 1.170, `fib`'s base case laid out behind a detour);
/// with LSR back on 1.083 (session 9).
/// They are process-wide LLVM options, so they apply to every compile of the process.
pub const STACKMAP_LLVM_OPTIONS: &[&str] = &[
    "-disable-lsr",
    "-disable-machine-licm",
    "-disable-constant-hoisting",
];

/// [`STACKMAP_LLVM_OPTIONS`] (those the user did not set) followed by the user's options, for
/// [`set_llvm_options`] when compiling with stackmaps.
pub fn stackmap_llvm_options(user: &[String]) -> Vec<String> {
    let name = |o: &str| o.split('=').next().unwrap_or_default().to_string();
    STACKMAP_LLVM_OPTIONS
        .iter()
        .filter(|o| !user.iter().any(|u| name(u) == name(o)))
        .map(|o| o.to_string())
        .chain(user.iter().cloned())
        .collect()
}

/// The outcome of the one-time set-up (an error names a bad user option).
static INIT: OnceLock<Result<(), String>> = OnceLock::new();
/// Options from [`set_llvm_options`], parsed after [`LLVM_OPTIONS`].
static USER_OPTIONS: OnceLock<Vec<String>> = OnceLock::new();
type FatalHook = Box<dyn Fn(&str) + Send + Sync>;
static FATAL_HOOK: OnceLock<FatalHook> = OnceLock::new();

thread_local! {
    /// The step this thread is running, for the fatal-error message.
    static CURRENT: Cell<Option<(Isa, Step)>> = const { Cell::new(None) };
}

/// LLVM command-line options of the user's (clang's `-mllvm`), e.g. `-inline-threshold=500`.
/// They are process-wide in LLVM, so they can be set once, before the first compile.
pub fn set_llvm_options(args: &[String]) -> Result<()> {
    if INIT.get().is_some() || USER_OPTIONS.set(args.to_vec()).is_err() {
        bail!("LLVM options can only be set once, before the first compile");
    }
    init()
}

/// Called with a one-line message (`code generation for aarch64: LLVM ERROR: ...`) when LLVM
/// hits a fatal error; LLVM exits with status 1 when it returns, so a driver uses it to clean up
/// and exit itself. Set it before the first compile; later calls are ignored.
pub fn on_fatal_error(hook: impl Fn(&str) + Send + Sync + 'static) {
    let _ = FATAL_HOOK.set(Box::new(hook));
}

extern "C" fn fatal_error(reason: *const llvm::libc_char) {
    // SAFETY: LLVM passes a NUL-terminated message.
    let reason = unsafe { CStr::from_ptr(reason) }.to_string_lossy();
    let step = CURRENT.with(Cell::get);
    let message = match step {
        Some((isa, step)) => format!("{step} for {isa}: LLVM ERROR: {reason}"),
        None => format!("LLVM ERROR: {reason}"),
    };
    match FATAL_HOOK.get() {
        Some(hook) => hook(&message),
        None => eprintln!("{message}"),
    }
}

/// Registers the two targets, installs the fatal-error handler and parses the LLVM options;
/// once per process (every entry point calls it).
pub fn init() -> Result<()> {
    INIT.get_or_init(|| unsafe {
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
        llvm_sys::error_handling::LLVMInstallFatalErrorHandler(Some(fatal_error));
        let user = USER_OPTIONS.get().map(Vec::as_slice).unwrap_or_default();
        let args: Vec<_> = LLVM_OPTIONS
            .iter()
            .copied()
            .chain(user.iter().map(String::as_str))
            .map(cstr)
            .collect();
        let ptrs: Vec<_> = args.iter().map(|c| c.as_ptr()).collect();
        let mut error = ptr::null_mut();
        if llvm::unimig_parse_llvm_options(ptrs.len() as i32, ptrs.as_ptr(), &mut error) != 0 {
            // "unimig-llvm-pass: Unknown command line argument '-x'.  Try: '... --help'\n
            // unimig-llvm-pass: Did you mean ...": the first sentence is the message.
            let text = take_message(error);
            let first = text.lines().next().unwrap_or_default();
            let first = first.split("  Try:").next().unwrap_or_default();
            let first = first
                .trim_start_matches(LLVM_OPTIONS[0])
                .trim_start_matches(':');
            return Err(first.trim().to_string());
        }
        Ok(())
    })
    .clone()
    .map_err(|e| anyhow!("bad LLVM option (-mllvm): {e}"))
}

/// A step of the pipeline, as error messages name it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    Parse,
    MiddleEnd(OptLevel),
    Instrumentation,
    Verifier,
    CodeGen,
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Step::Parse => f.write_str("reading the front end's bitcode"),
            Step::MiddleEnd(level) => write!(f, "middle end ({})", level.pipeline()),
            Step::Instrumentation => f.write_str("instrumentation"),
            Step::Verifier => f.write_str("LLVM verifier"),
            Step::CodeGen => f.write_str("code generation"),
        }
    }
}

/// A failed step: `code generation for aarch64: <LLVM's message>`.
#[derive(Debug, thiserror::Error)]
#[error("{step} for {isa}: {message}")]
pub struct StepError {
    pub isa: Isa,
    pub step: Step,
    pub message: String,
}

/// The result of [`compile_with_report`].
pub struct Output {
    /// ELF relocatable object for the ISA.
    pub object: Vec<u8>,
    pub report: Report,
    /// Statepoints with values live across them that their records do not list (code
    /// generation made them; see [`crate::unsafe_sites`]). Empty without stackmaps.
    pub violations: Vec<Violation>,
    /// Statepoints whose unlisted values are all link-time or per-thread constants: the object's
    /// `.unimig.fixups` section tells the transformer how to recreate them, so these sites are
    /// not unsafe. Empty without stackmaps.
    pub fixed: Vec<Fixed>,
    /// Warnings LLVM reported (`-Wframe-larger-than`, a loop a pragma asked to vectorise, ...).
    pub warnings: Vec<String>,
}

/// The result of [`compile_pair`].
pub struct PairOutput {
    pub x86_64: Output,
    pub aarch64: Output,
}

impl PairOutput {
    /// The record IDs at which neither ISA's frame can be migrated: the union of both ISAs'
    /// violations, ascending (what [`unsafe_sites::SECTION`] lists in both objects).
    pub fn unsafe_sites(&self) -> Vec<u64> {
        unsafe_sites::union(&self.x86_64.violations, &self.aarch64.violations)
    }
}

/// Runs one ISA's steps in one context: sets the current step for the fatal-error handler,
/// turns a step's error and LLVM's collected error diagnostics into a [`StepError`], and keeps
/// the warnings.
struct Tracker<'c> {
    ctx: &'c Context,
    isa: Isa,
    warnings: Vec<String>,
}

impl<'c> Tracker<'c> {
    fn new(ctx: &'c Context, isa: Isa) -> Self {
        Tracker {
            ctx,
            isa,
            warnings: Vec::new(),
        }
    }

    fn run<T>(&mut self, step: Step, f: impl FnOnce() -> Result<T>) -> Result<T, StepError> {
        CURRENT.with(|c| c.set(Some((self.isa, step))));
        let result = f();
        CURRENT.with(|c| c.set(None));
        let diagnostics = self.ctx.take_diagnostics();
        self.warnings.extend(diagnostics.warnings);
        let fail = |message: String| StepError {
            isa: self.isa,
            step,
            message,
        };
        match result {
            Err(e) => Err(fail(format!("{e:#}"))),
            Ok(_) if !diagnostics.errors.is_empty() => Err(fail(diagnostics.errors.join("; "))),
            Ok(value) => Ok(value),
        }
    }

    /// Parse, middle end, address-stable constants, instrumentation.
    fn front_half(
        &mut self,
        bitcode: &[u8],
        opts: &Options,
    ) -> Result<(Module<'c>, Report), StepError> {
        let (ctx, isa) = (self.ctx, self.isa);
        let module = self.run(Step::Parse, || parse_for(ctx, bitcode, isa))?;
        self.run(Step::MiddleEnd(opts.opt_level), || {
            middle_end(&module, isa, opts)?;
            constants::pin_constants(module.m);
            Ok(())
        })?;
        let report = self.run(Step::Instrumentation, || {
            if opts.instruments() {
                let hazards = hazards::scan(&module.functions());
                let mut report = instrument::instrument_module(&module, isa, opts)?;
                // The scan's hazards first, then the instrumentation's own (widened locals).
                report.hazards.splice(0..0, hazards);
                Ok(report)
            } else {
                Ok(Report::default())
            }
        })?;
        Ok((module, report))
    }

    /// Verifier and code generation: the object and the statepoint check's findings.
    fn back_half(&mut self, module: &Module, opts: &Options) -> Result<Generated, StepError> {
        let isa = self.isa;
        if opts.strip_debug_info {
            // The report has its locations; the object must be the one a compile without
            // debug information gives (checked by tests/pipeline.rs).
            unsafe { llvm_sys::debuginfo::LLVMStripModuleDebugInfo(module.m) };
        }
        dump_ir(module, isa);
        self.run(Step::Verifier, || module.verify())?;
        self.run(Step::CodeGen, || codegen(module, isa, opts))
    }

    /// [`Self::back_half`], checked for a record ID at two return addresses: LLVM's tail
    /// duplication copied a block holding a call that the instrumentation did not mark (it
    /// marks blocks of up to [`Options::call_block_marker_limit`] instructions, see
    /// `Instrumenter::keep_block_single`). The module is then instrumented and generated again
    /// from `bitcode` with every call block marked; the IDs and records are the same, only the
    /// code may differ.
    fn generate(
        &mut self,
        module: &Module,
        bitcode: &[u8],
        opts: &Options,
    ) -> Result<Generated, StepError> {
        let generated = self.back_half(module, opts)?;
        if !opts.stackmaps
            || opts.call_block_marker_limit == usize::MAX
            || !has_duplicate_record_ids(&generated.0)
        {
            return Ok(generated);
        }
        let opts = Options {
            call_block_marker_limit: usize::MAX,
            ..opts.clone()
        };
        let ctx = Context::new();
        let mut again = Tracker::new(&ctx, self.isa);
        let (module, _) = again.front_half(bitcode, &opts)?;
        let generated = again.back_half(&module, &opts)?;
        if has_duplicate_record_ids(&generated.0) {
            return Err(StepError {
                isa: self.isa,
                step: Step::CodeGen,
                message: "internal error: a call site's record is at two return addresses \
                          (LLVM tail duplication); compile with -mllvm \
                          -tail-dup-placement=false -mllvm -disable-tail-duplicate"
                    .into(),
            });
        }
        Ok(generated)
    }
}

/// Whether some stackmap record ID occurs twice in `object` (an unreadable section counts as
/// no: reading the records reports it later).
fn has_duplicate_record_ids(object: &[u8]) -> bool {
    let Ok(records) = crate::stackmap::object_stackmaps(object) else {
        return false;
    };
    let mut ids: Vec<u64> = records.iter().map(|r| r.record.id).collect();
    ids.sort_unstable();
    ids.windows(2).any(|w| w[0] == w[1])
}

/// `UNIMIG_DUMP_IR=DIR`: the module as code generation gets it, to DIR/<source>.<isa>.ll (for
/// developers of the instrumentation).
fn dump_ir(module: &Module, isa: Isa) {
    let Some(dir) = std::env::var_os("UNIMIG_DUMP_IR") else {
        return;
    };
    let name = std::path::Path::new(&module.source_filename())
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "module".into());
    let path = std::path::Path::new(&dir).join(format!("{name}.{}.ll", isa.name()));
    let c = std::ffi::CString::new(path.to_string_lossy().as_bytes()).unwrap_or_default();
    let mut err = std::ptr::null_mut();
    unsafe { llvm_sys::core::LLVMPrintModuleToFile(module.m, c.as_ptr(), &mut err) };
    if !err.is_null() {
        unsafe { llvm_sys::core::LLVMDisposeMessage(err) };
    }
}

/// Compiles front-end bitcode (or textual IR) for `isa` into an ELF object.
pub fn compile(bitcode: &[u8], isa: Isa, opts: &Options) -> Result<Vec<u8>> {
    Ok(compile_with_report(bitcode, isa, opts)?.object)
}

/// [`compile`], also returning what the instrumentation did.
pub fn compile_with_report(bitcode: &[u8], isa: Isa, opts: &Options) -> Result<Output> {
    init()?;
    let ctx = Context::new();
    let mut tracker = Tracker::new(&ctx, isa);
    let (module, report) = tracker.front_half(bitcode, opts)?;
    let (object, violations, fixed) = tracker.generate(&module, bitcode, opts)?;
    Ok(Output {
        object,
        report,
        violations,
        fixed,
        warnings: tracker.warnings,
    })
}

/// What the coordinator of [`compile_pair`] tells each ISA's thread after comparing reports.
enum Decision {
    Generate,
    /// Start again with these changes to the options.
    Redo(Adjustments),
}

/// What the coordinator changes for another attempt of both ISAs.
#[derive(Clone)]
struct Adjustments {
    /// Functions left uninstrumented ([`Options::skip_functions`]).
    skip: Vec<String>,
    /// Shadow slot sizes that make frames agree ([`Options::shadow_slot_sizes`]).
    sizes: crate::ShadowSlotSizes,
    /// Functions whose sibling calls are stackmapped too ([`Options::no_sibling_calls`]).
    no_sibling_calls: Vec<String>,
}

impl Adjustments {
    fn apply(self, opts: &mut Options) {
        opts.skip_functions = self.skip;
        opts.shadow_slot_sizes = self.sizes;
        opts.no_sibling_calls = self.no_sibling_calls;
    }
}

type Reported = (Isa, Result<Report, StepError>);

/// Compiles one translation unit for both ISAs (the front end's bitcode for each), at the same
/// time, checking that instrumentation gives the same call sites with the same live-value sizes
/// on both. A function where they differ (the front ends lowered it differently, e.g. `va_arg`
/// on a `va_list` parameter) is left uninstrumented on both ISAs and reported as
/// [`crate::SkipReason::IsaDivergent`]; everything else matches by construction. When both
/// ISAs fail, the x86-64 error is returned.
pub fn compile_pair(x86_64: &[u8], aarch64: &[u8], opts: &Options) -> Result<PairOutput> {
    init()?;
    let (to_coordinator, reports) = mpsc::channel::<Reported>();
    let results = std::thread::scope(|scope| {
        let mut deciders = Vec::new();
        let mut handles = Vec::new();
        for (isa, bitcode) in [(Isa::X86_64, x86_64), (Isa::Aarch64, aarch64)] {
            let (decide, decisions) = mpsc::channel();
            let to_coordinator = to_coordinator.clone();
            deciders.push(decide);
            handles.push(
                scope.spawn(move || pair_worker(isa, bitcode, opts, &to_coordinator, &decisions)),
            );
        }
        drop(to_coordinator);
        let agreed = coordinate(&reports, &deciders, opts);
        // A worker still waiting for a decision stops when its channel closes.
        drop(deciders);
        let outputs: Vec<_> = handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|payload| panic::resume_unwind(payload))
            })
            .collect();
        (agreed, outputs)
    });
    let (agreed, outputs) = results;
    agreed?;
    let mut outputs = outputs.into_iter();
    let (x, a) = (outputs.next().flatten(), outputs.next().flatten());
    match (x, a) {
        (Some(Ok(x86_64)), Some(Ok(aarch64))) => Ok(PairOutput { x86_64, aarch64 }),
        (Some(Err(e)), _) | (_, Some(Err(e))) => Err(e.into()),
        _ => unreachable!("both ISAs generate code once the coordinator agreed"),
    }
}

/// One ISA's side of [`compile_pair`], in its own thread: the front half, a report to the
/// coordinator, and then what it decides. `None` when the coordinator stopped (the other ISA
/// failed, or this one did: its error went with the report).
fn pair_worker(
    isa: Isa,
    bitcode: &[u8],
    opts: &Options,
    to_coordinator: &Sender<Reported>,
    decisions: &Receiver<Decision>,
) -> Option<Result<Output, StepError>> {
    let mut opts = opts.clone();
    loop {
        let ctx = Context::new();
        let mut tracker = Tracker::new(&ctx, isa);
        // A panic must still reach the coordinator, which waits for both reports.
        let front = panic::catch_unwind(AssertUnwindSafe(|| tracker.front_half(bitcode, &opts)));
        let (module, report) = match front {
            Ok(Ok(done)) => done,
            Ok(Err(e)) => {
                let _ = to_coordinator.send((isa, Err(e)));
                return None;
            }
            Err(payload) => {
                let step = CURRENT
                    .with(Cell::get)
                    .map_or(Step::Parse, |(_, step)| step);
                let message = "internal error (panic)".to_string();
                let _ = to_coordinator.send((isa, Err(StepError { isa, step, message })));
                panic::resume_unwind(payload)
            }
        };
        to_coordinator.send((isa, Ok(report.clone()))).ok()?;
        match decisions.recv().ok()? {
            Decision::Generate => {
                return Some(tracker.generate(&module, bitcode, &opts).map(
                    |(object, violations, fixed)| Output {
                        object,
                        report,
                        violations,
                        fixed,
                        warnings: tracker.warnings,
                    },
                ))
            }
            Decision::Redo(changes) => changes.apply(&mut opts),
        }
    }
}

/// Collects both ISAs' reports and decides: generate code, or redo both. A function whose
/// call sites differ is first redone with its sibling calls stackmapped too (the ISAs' IR may
/// judge a call differently, see [`crate::sibcall`]); a function whose frames differ only in
/// the sizes of its shadow slots (a local of a type with a different size per ISA) is redone
/// with the larger sizes on both; any other difference leaves the function uninstrumented (on
/// the next attempt, also one of those that still differs). Returns the first error (x86-64's
/// when both failed).
fn coordinate(
    reports: &Receiver<Reported>,
    deciders: &[Sender<Decision>],
    opts: &Options,
) -> Result<()> {
    const ATTEMPTS: usize = 4;
    let mut changes = Adjustments {
        skip: opts.skip_functions.clone(),
        sizes: opts.shadow_slot_sizes.clone(),
        no_sibling_calls: opts.no_sibling_calls.clone(),
    };
    for attempt in 0..ATTEMPTS {
        let mut got: [Option<Result<Report, StepError>>; 2] = [None, None];
        for _ in 0..2 {
            // A worker that panicked sends nothing; joining it re-raises the panic.
            let Ok((isa, result)) = reports.recv() else {
                bail!("a compile thread stopped without a result");
            };
            got[usize::from(isa == Isa::Aarch64)] = Some(result);
        }
        let [Some(x), Some(a)] = got else {
            unreachable!("one report per ISA")
        };
        let (x, a) = (x?, a?);
        let divergent = Divergence::between(&x, &a);
        if divergent.is_empty() {
            for d in deciders {
                let _ = d.send(Decision::Generate);
            }
            return Ok(());
        }
        if attempt == ATTEMPTS - 1 {
            let names: Vec<&String> = divergent
                .call_sites
                .iter()
                .chain(&divergent.frames)
                .collect();
            bail!("instrumentation: functions still differ between the ISAs after skipping: {names:?}");
        }
        for f in divergent.call_sites {
            if opts.sibling_calls && !changes.no_sibling_calls.contains(&f) {
                changes.no_sibling_calls.push(f);
            } else {
                changes.skip.push(f);
            }
        }
        let mut sizes = (*changes.sizes).clone();
        for f in divergent.frames {
            match slot_sizes_to_agree(&x, &a, &f) {
                Some(s) if !sizes.contains_key(&f) => {
                    sizes.insert(f, s);
                }
                _ => changes.skip.push(f),
            }
        }
        changes.sizes = std::sync::Arc::new(sizes);
        for d in deciders {
            let _ = d.send(Decision::Redo(changes.clone()));
        }
    }
    unreachable!("the last attempt returns")
}

/// The (x86-64, AArch64) sizes of `function`'s shadow slots, if its frames differ only in slot
/// sizes (same number of static and dynamic slots; its call sites agree, see [`Divergence`]);
/// `None` if that cannot make them agree.
fn slot_sizes_to_agree(x: &Report, a: &Report, function: &str) -> Option<Vec<(u64, u64)>> {
    let frame = |r: &Report| {
        r.shadow_frames
            .iter()
            .find(|f| f.function == function)
            .cloned()
    };
    let (fx, fa) = (frame(x)?, frame(a)?);
    if fx.slots.len() != fa.slots.len() || fx.dynamic != fa.dynamic {
        return None;
    }
    let pairs: Vec<(u64, u64)> = fx
        .slots
        .iter()
        .zip(&fa.slots)
        .map(|(p, q)| (p.1, q.1))
        .collect();
    pairs.iter().any(|(p, q)| p != q).then_some(pairs)
}

/// Functions whose instrumentation differs between the ISAs' reports.
#[derive(Default)]
struct Divergence {
    /// Their stackmapped call sites (callee, live-value sizes) differ.
    call_sites: Vec<String>,
    /// Their call sites agree but their shadow frames differ (same slots at the same offsets
    /// are needed, or a pointer to a local would mean something else after a migration).
    frames: Vec<String>,
}

impl Divergence {
    fn between(x: &Report, a: &Report) -> Divergence {
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
        let mut out = Divergence::default();
        for (f, v) in &sx {
            if sa.get(f) != Some(v) {
                out.call_sites.push(f.to_string());
            }
        }
        for f in sa.keys() {
            if !sx.contains_key(f) {
                out.call_sites.push(f.to_string());
            }
        }
        let frames = |r: &Report| -> BTreeMap<String, crate::ShadowFrame> {
            let by_name = r
                .shadow_frames
                .iter()
                .map(|s| (s.function.clone(), s.clone()));
            by_name.collect()
        };
        let (fx, fa) = (frames(x), frames(a));
        for f in fx.keys().chain(fa.keys()) {
            if fx.get(f) != fa.get(f) && !out.call_sites.contains(f) && !out.frames.contains(f) {
                out.frames.push(f.clone());
            }
        }
        out
    }

    fn is_empty(&self) -> bool {
        self.call_sites.is_empty() && self.frames.is_empty()
    }
}

/// [`compile`] with code generation through LLVM's C API (`LLVMTargetMachineEmitToMemoryBuffer`),
/// so without the statepoint check: tests compare the two to show the check changes nothing.
#[doc(hidden)]
pub fn compile_without_check(bitcode: &[u8], isa: Isa, opts: &Options) -> Result<Vec<u8>> {
    init()?;
    let ctx = Context::new();
    let mut tracker = Tracker::new(&ctx, isa);
    let (module, _) = tracker.front_half(bitcode, opts)?;
    tracker.run(Step::Verifier, || module.verify())?;
    Ok(tracker.run(Step::CodeGen, || {
        let tm = target_machine(isa, &module.triple(), codegen_level(opts))?;
        if opts.stackmaps {
            // The same pipeline as with the check (its pass changes disabled too), minus the
            // check itself.
            unsafe {
                let (mut buf, mut violations, mut fixed, mut error) = (
                    ptr::null_mut(),
                    ptr::null_mut(),
                    ptr::null_mut(),
                    ptr::null_mut(),
                );
                let failed = llvm::unimig_emit_object(
                    tm.0,
                    module.m,
                    2,
                    &mut buf,
                    &mut violations,
                    &mut fixed,
                    &mut error,
                ) != 0;
                for m in [violations, fixed] {
                    if !m.is_null() {
                        llvm_sys::core::LLVMDisposeMessage(m);
                    }
                }
                if failed {
                    bail!("{}", take_message(error));
                }
                return Ok(buffer_bytes(buf));
            }
        }
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
                bail!("{}", take_message(msg));
            }
            Ok(buffer_bytes(buf))
        }
    })?)
}

/// Copies and frees an LLVM memory buffer.
unsafe fn buffer_bytes(buf: llvm_sys::prelude::LLVMMemoryBufferRef) -> Vec<u8> {
    let start = llvm_sys::core::LLVMGetBufferStart(buf) as *const u8;
    let len = llvm_sys::core::LLVMGetBufferSize(buf);
    let bytes = std::slice::from_raw_parts(start, len).to_vec();
    llvm_sys::core::LLVMDisposeMemoryBuffer(buf);
    bytes
}

/// The module's textual IR after the middle end, and after instrumentation if `instrumented`
/// (for tests and measurements).
pub fn optimized_ir(
    bitcode: &[u8],
    isa: Isa,
    opts: &Options,
    instrumented: bool,
) -> Result<String> {
    init()?;
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
    match isa_of_triple(&triple) {
        Some(i) if i == isa => Ok(module),
        _ => bail!(
            "module triple '{triple}' is not for {isa} (expected {})",
            llvm_triple(isa)
        ),
    }
}

struct TargetMachine(LLVMTargetMachineRef);

impl Drop for TargetMachine {
    fn drop(&mut self) {
        unsafe { LLVMDisposeTargetMachine(self.0) }
    }
}

/// The code generator's level, as clang maps `-O`: None, Less, Default (also -Os/-Oz),
/// Aggressive. Except -O0 with stackmaps, which generates code at "less": its functions are
/// `optnone`, so instruction selection and the machine passes still treat them as -O0, but the
/// register allocator is the greedy one. The fast allocator leaves deopt values in caller-saved
/// registers, which LLVM's statepoint fix-up then spills with the register's full width (16
/// bytes for an x86-64 XMM register holding a double, 8 for an AArch64 D register), so record
/// sizes would differ between the ISAs.
fn codegen_level(opts: &Options) -> LLVMCodeGenOptLevel {
    use LLVMCodeGenOptLevel::*;
    match opts.opt_level {
        OptLevel::O0 if opts.stackmaps => LLVMCodeGenLevelLess,
        OptLevel::O0 => LLVMCodeGenLevelNone,
        OptLevel::O1 => LLVMCodeGenLevelLess,
        OptLevel::O2 | OptLevel::Os | OptLevel::Oz => LLVMCodeGenLevelDefault,
        OptLevel::O3 => LLVMCodeGenLevelAggressive,
    }
}

fn target_machine(isa: Isa, triple: &str, level: LLVMCodeGenOptLevel) -> Result<TargetMachine> {
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
        let tm = LLVMCreateTargetMachine(
            target,
            ctriple.as_ptr(),
            cpu.as_ptr(),
            features.as_ptr(),
            level,
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
        MiddleEnd::TargetAware => Some(target_machine(isa, &triple, codegen_level(opts))?),
        MiddleEnd::SharedCostModel => Some(target_machine(
            Isa::X86_64,
            llvm_triple(Isa::X86_64),
            codegen_level(opts),
        )?),
        _ => None,
    };
    // The shared cost model must not see either ISA's CPU (AArch64 features mean nothing to
    // the x86-64 target, and x86-64's would make its decisions differ from the other module's).
    let set_aside =
        (opts.middle_end == MiddleEnd::SharedCostModel).then(|| llvm::take_cpu_attributes(module));
    if opts.middle_end == MiddleEnd::NeutralNoTriple {
        module.set_triple("");
    }
    let passes = cstr(level.pipeline());
    let loops = opts.loop_options();
    let result = unsafe {
        let pbo = LLVMCreatePassBuilderOptions();
        LLVMPassBuilderOptionsSetLoopVectorization(pbo, loops.vectorize as i32);
        LLVMPassBuilderOptionsSetSLPVectorization(pbo, loops.slp_vectorize as i32);
        LLVMPassBuilderOptionsSetLoopUnrolling(pbo, loops.unroll as i32);
        // As clang: interleaving follows -f[no-]unroll-loops.
        LLVMPassBuilderOptionsSetLoopInterleaving(pbo, loops.unroll as i32);
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
            Err(anyhow!("{s}"))
        }
    };
    if opts.middle_end == MiddleEnd::NeutralNoTriple {
        module.set_triple(&triple);
    }
    if let Some(attrs) = set_aside {
        llvm::restore_cpu_attributes(module, attrs);
    }
    result
}

/// An object, the statepoint check's violations and its statepoints with fixups.
type Generated = (Vec<u8>, Vec<Violation>, Vec<Fixed>);

/// Generates the object. With stackmaps the statepoint check runs inside code generation
/// (`cxx/emit.cpp`); it changes no code, so the object is the same as without it apart from
/// the `.unimig.fixups` section it adds when some values are constants.
/// Where the code generator keeps a statepoint's relocated live values, per ISA; one LLVM
/// option (`-max-registers-for-gc-values`), process-wide, so code generation with stackmaps
/// holds [`GC_VALUES_LOCK`] while it sets and uses it.
///
/// * x86-64: 0, every relocated value in a stack slot of the statepoint (the relocation
///   reloads it). With values in tied registers LLVM 19's register allocator gave a
///   relocated value the register another operand of the same call was computed in (jansson's
///   dump.c calling its callback through a pointer relocated at the previous call: a native
///   crash), so registers are not used there.
/// * AArch64: in registers. LLVM 19 divides by zero in `isAArch64FrameOffsetLegal` on a
///   statepoint's stack-slot operands (jansson's hashtable.c at -O2), so slots are not used.
fn max_gc_registers(isa: Isa) -> &'static std::ffi::CStr {
    match isa {
        Isa::X86_64 => c"0",
        Isa::Aarch64 => c"1000",
    }
}

static GC_VALUES_LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn codegen(module: &Module, isa: Isa, opts: &Options) -> Result<Generated> {
    let _guard = if opts.stackmaps && opts.relocate_live_values {
        let guard = GC_VALUES_LOCK.lock().unwrap_or_else(|e| e.into_inner());
        let value = max_gc_registers(isa);
        if unsafe {
            llvm::unimig_set_llvm_option(c"max-registers-for-gc-values".as_ptr(), value.as_ptr())
        } != 0
        {
            bail!("cannot set LLVM's -max-registers-for-gc-values");
        }
        Some(guard)
    } else {
        None
    };
    let tm = target_machine(isa, &module.triple(), codegen_level(opts))?;
    unsafe {
        let mut error = ptr::null_mut();
        let mut report = ptr::null_mut();
        let mut fixed = ptr::null_mut();
        let mut buf = ptr::null_mut();
        if llvm::unimig_emit_object(
            tm.0,
            module.m,
            i32::from(opts.stackmaps),
            &mut buf,
            &mut report,
            &mut fixed,
            &mut error,
        ) != 0
        {
            bail!("{}", take_message(error));
        }
        let bytes = buffer_bytes(buf);
        Ok((
            bytes,
            unsafe_sites::parse_report(&take_message(report)),
            unsafe_sites::parse_fixed(&take_message(fixed)),
        ))
    }
}
