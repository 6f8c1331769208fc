//! The unimig LLVM pass: migration points and cross-ISA stackmaps, run in-process on LLVM 19.
//!
//! [`compile`] takes the bitcode clang-19's front end made for one ISA
//! (`clang-19 --target=<isa>-linux-musl -emit-llvm -c -Xclang -disable-llvm-passes -O<n>`) and
//! returns an ELF relocatable object:
//!
//! 1. parse;
//! 2. target-neutral middle end: `default<O<n>>` through the new pass manager with *no*
//!    TargetMachine (so no target cost model: inlining, unrolling and vectorisation decide
//!    the same way for both ISAs), keeping the module's triple for library-call knowledge;
//! 3. address-stable constants ([`constants`]): string literals and other private constants
//!    become non-mergeable internal objects with sections and symbols of their own, so the
//!    linker gives each the same address on both ISAs;
//! 4. instrumentation ([`instrument`], if [`Options`] asks for it): migration points at
//!    function entries and loop back-edges, and every call site (except calls into the
//!    libraries) turned into a `gc.statepoint` whose relocated `"gc-live"` operands are the SSA
//!    values live across the call, in canonical order, with a canonical ID; before that, address-taken locals move to the shadow stack
//!    ([`shadow`]), in frames laid out identically for both ISAs;
//! 5. the LLVM verifier;
//! 6. code generation for the ISA (static relocation model, small code model, function and
//!    data sections, `.init_array`), with `-max-registers-for-gc-values` and
//!    `-fixup-allow-gcptr-in-csr` so live values stay in callee-saved registers (tied to the
//!    statepoint's definitions) and each stackmap record's offset is the call's return address;
//!    with stackmaps, a machine-level check marks call sites whose frames cannot be rebuilt
//!    ([`unsafe_sites`]) and records fixups for rematerialisable values.
//!
//! [`compile_pair`] does the same for both ISAs of one translation unit at once (two threads)
//! and leaves uninstrumented (on both) any function whose call sites or live-value sizes still differ
//! between the ISAs' front-end IR (a function taking a `va_list`, in Lua 5.4's 34 files the
//! only case). [`stackmap::stackmap_summary`] reads the records back for cross-ISA comparison.
//!
//! Measured on Lua 5.4.4's 34 source files (`examples/neutral_middle_end.rs`): with
//! [`MiddleEnd::Neutral`] (null TargetMachine, triple kept) and with the triple removed, 0 of
//! 648 functions (-O2) have different call-site sequences on the two ISAs, at every level
//! -O0..-Oz; with the target-aware middle end (what clang does) 7 differ at -O2, 4 at -O1,
//! 2 at -O3. Through [`compile_pair`], 0 stackmap records differ (id, count, sizes) at -O0
//! and -O2. With [`MiddleEnd::SharedCostModel`] (the default since session 6: x86-64's cost
//! model for both), 0 of 640 differ at -O2 and 0 stackmap records differ; it vectorises (the
//! loop-heavy bench program: 0.95 G instructions -> 0.61 G, as plain clang).

pub mod analysis;
pub mod cfg;
pub mod constants;
mod hazards;
pub mod ids;
pub mod instrument;
pub mod liveness;
mod llvm;
pub mod pipeline;
pub mod poll_site;
pub mod shadow;
mod sibcall;
mod sink;
mod srcloc;
pub mod stackmap;
pub mod unsafe_sites;

pub use pipeline::{
    compile, compile_pair, compile_with_report, on_fatal_error, optimized_ir, set_llvm_options,
    Output, PairOutput, Step, StepError,
};
pub use stackmap::stackmap_summary;

pub use unimig_common::Isa;

/// The triple clang-19 writes into a module for `isa` (`--target=x86_64-linux-musl` is
/// normalised to `x86_64-unknown-linux-musl`); [`Isa::triple`] is the driver's short form.
pub fn llvm_triple(isa: Isa) -> &'static str {
    match isa {
        Isa::X86_64 => "x86_64-unknown-linux-musl",
        Isa::Aarch64 => "aarch64-unknown-linux-musl",
    }
}

/// The ISA of a module triple such as `x86_64-unknown-linux-musl`.
pub fn isa_of_triple(triple: &str) -> Option<Isa> {
    triple.split('-').next()?.parse().ok()
}

/// The user's optimisation level (`-O0` ... `-Oz`); selects the middle-end pipeline
/// (`default<On>`) and the code generator's level.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum OptLevel {
    O0,
    O1,
    #[default]
    O2,
    O3,
    Os,
    Oz,
}

impl OptLevel {
    /// Parses `0`, `1`, `2`, `3`, `s`, `z` (with or without a leading `-O`/`O`; `-O` alone is
    /// `-O1` as in clang, `fast` is `3`, `g` is `1`).
    pub fn parse(s: &str) -> Option<OptLevel> {
        let s = s.trim_start_matches('-').trim_start_matches('O');
        Some(match s {
            "0" => OptLevel::O0,
            "" | "1" | "g" => OptLevel::O1,
            "2" => OptLevel::O2,
            "3" | "fast" => OptLevel::O3,
            "s" => OptLevel::Os,
            "z" => OptLevel::Oz,
            _ => {
                // clang treats -O4 and above as -O3.
                let n: u32 = s.parse().ok()?;
                if n >= 3 {
                    OptLevel::O3
                } else {
                    return None;
                }
            }
        })
    }

    pub fn pipeline(self) -> &'static str {
        match self {
            OptLevel::O0 => "default<O0>",
            OptLevel::O1 => "default<O1>",
            OptLevel::O2 => "default<O2>",
            OptLevel::O3 => "default<O3>",
            OptLevel::Os => "default<Os>",
            OptLevel::Oz => "default<Oz>",
        }
    }
}

/// Where migration points (inline polls of `__unimig_migrate_requested`) go.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum MigrationPoints {
    /// None: only call-site stackmaps.
    None,
    /// At every instrumented function's entry.
    Entry,
    /// On every loop back-edge (every retreating edge of the CFG).
    Loops,
    /// Both.
    #[default]
    All,
}

impl MigrationPoints {
    pub const ALL: [MigrationPoints; 4] = [
        MigrationPoints::None,
        MigrationPoints::Entry,
        MigrationPoints::Loops,
        MigrationPoints::All,
    ];

    /// The name unimig-cc's `-funimig-points=` uses.
    pub fn name(self) -> &'static str {
        match self {
            MigrationPoints::None => "none",
            MigrationPoints::Entry => "entry",
            MigrationPoints::Loops => "loops",
            MigrationPoints::All => "all",
        }
    }

    /// The inverse of [`MigrationPoints::name`].
    pub fn parse(name: &str) -> Option<MigrationPoints> {
        Self::ALL.into_iter().find(|p| p.name() == name)
    }

    pub fn entry(self) -> bool {
        matches!(self, MigrationPoints::Entry | MigrationPoints::All)
    }
    pub fn loops(self) -> bool {
        matches!(self, MigrationPoints::Loops | MigrationPoints::All)
    }
}

/// How the middle end makes identical IR for both ISAs. [`MiddleEnd::SharedCostModel`] is the
/// default; the others exist to measure the difference (see the crate's tests and report).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum MiddleEnd {
    /// `default<On>` with the x86-64 TargetMachine for both ISAs' modules, their functions'
    /// `target-cpu`/`target-features`/`tune-cpu` set aside meanwhile: one cost model (SSE2's
    /// 128-bit vectors, which AArch64's NEON has too) decides vectorisation, unrolling and
    /// inlining the same way for both, where the null TargetMachine of [`MiddleEnd::Neutral`]
    /// vectorises nothing (its register width is 0). Measured on the loop-heavy bench program
    /// (matrix product): see README "Measured figures".
    #[default]
    SharedCostModel,
    /// `default<On>` with a null TargetMachine, module triple kept (library-call knowledge).
    Neutral,
    /// `default<On>` with a null TargetMachine and the triple removed during the middle end.
    NeutralNoTriple,
    /// `default<On>` with the ISA's TargetMachine (what plain clang does): target cost models.
    TargetAware,
}

/// Symbols the instrumentation uses (defined by the unimig runtime).
pub const MIGRATE_FLAG: &str = "__unimig_migrate_requested";
pub const MIGRATION_POINT_FN: &str = "__unimig_migration_point";
/// [`MIGRATION_POINT_FN`]'s calling convention: LLVM's `preserve_allcc` (every register but
/// x86-64's r11 and AArch64's x0-x8, x16-x18, v0-v7 survives the call). The runtime's stubs
/// (sysroots/runtime/src/<isa>/migrate.S) save what a live value may be in, and the stack
/// transformation reads and writes those registers for the innermost frame.
pub const MIGRATION_POINT_CALLING_CONVENTION: u32 = 15;
/// Called right before every migratable `setjmp` with its `jmp_buf`: the runtime keeps a
/// registry of jmp_bufs that the stack transformation rewrites for the other ISA.
pub const JMPBUF_REGISTER_FN: &str = "__unimig_jmpbuf_register";
/// The `setjmp` entry points whose callers stay migratable: each saves the callee-saved
/// registers, stack pointer and return address of its caller in the caller's `jmp_buf`, which
/// the transformation can rewrite (musl's `sigsetjmp` with a mask keeps its own return address
/// there instead, so its callers stay unmigratable).
pub const MIGRATABLE_SETJMPS: [&str; 3] = ["setjmp", "_setjmp", "__setjmp"];
/// Prefix of the x86-64 variadic-call thunks (see [`instrument`]).
pub const VACALL_THUNK_PREFIX: &str = "__unimig_vacall_";

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Options {
    pub opt_level: OptLevel,
    pub migration_points: MigrationPoints,
    /// Loop back-edges decrement a per-function counter and poll the flag only when it reaches
    /// zero, then reset it to this period; 1 (the default) polls on every back-edge, with no
    /// counter. With preserve_all polls that runs faster than a counter (measured, x86-64,
    /// medians of 7 runs against plain clang, period 64 -> 1: loop-heavy 1.15 -> 1.01,
    /// recursive 1.32 -> 1.25, indirect calls 1.30 -> 0.99, `bzip2 -9` 1.14 -> 1.08): a counter
    /// keeps a register busy and adds a decrement, a compare and a phi to every iteration,
    /// where a poll is one load and one test of a flag that stays in the cache. (Points are
    /// then dense, tens of millions a second: the runtime counts them and skips the ones it
    /// backs off from in its stub, without saving registers; sysroots/runtime/src/point.c.)
    pub loop_poll_period: u32,
    /// Innermost loops that call nothing and iterate at most this many times per entry (LLVM's
    /// constant maximum trip count, or the size of a local or global array the loop steps
    /// through on every iteration: leaving it would be undefined) get no back-edge poll: the
    /// enclosing loop or the function's
    /// entry polls, and a run through the loop is bounded (1024 iterations of a body without
    /// calls: tens of microseconds at most, against the ~1.3 ms a request takes to reach a
    /// point). 0: every loop polls. Measured on loops.c (x86-64, 21 runs): 17 polls -> 13 (the
    /// 300-element matrix rows and the initialisation), 1.064 -> 1.046 of plain.
    pub short_loop_limit: u32,
    /// Put a function's entry poll at the nearest common dominator of its calls, out of
    /// loops (`poll_site.rs`), unless a loop elsewhere relies on the function polling on every
    /// call. Off: every non-leaf function polls in its entry block.
    pub sink_entry_polls: bool,
    /// Blocks holding a statepoint with at most this many instructions get a marker that
    /// LLVM's tail duplication will not copy (only small blocks are candidates for it; the
    /// marker in a large block changed register allocation in bzip2's `BZ2_decompress` and
    /// left 11 more sites unsafe). `usize::MAX`: every such block, which a compile falls back
    /// to when tail duplication copied a call anyway (`pipeline.rs`).
    pub call_block_marker_limit: usize,
    /// Turn call sites into stackmapped statepoints (off: plain calls, for measurements).
    pub stackmaps: bool,
    /// Move address-taken locals to the shadow stack ([`shadow`]); `None` follows
    /// [`Options::stackmaps`]: a program that can migrate needs both, one that cannot needs
    /// neither. The program must link against the unimig runtime (it defines the pointer).
    pub shadow_stack: Option<bool>,
    /// Recompute addresses at a constant offset from another value next to their uses, so
    /// they are not live across calls (`sink.rs`; on by default with stackmaps).
    pub sink_cheap_values: bool,
    /// Call [`MIGRATION_POINT_FN`] with [`MIGRATION_POINT_CALLING_CONVENTION`] (on by default);
    /// off: the C convention (the runtime's stub serves both), for measurements and for tests
    /// of code shapes that only calls clobbering registers produce.
    pub poll_preserves_all: bool,
    /// Leave calls in tail position that both back ends emit as jumps as plain calls, without
    /// a statepoint: they leave no frame to record ([`sibcall`]; on by default).
    pub sibling_calls: bool,
    /// Functions whose sibling calls are stackmapped all the same: [`compile_pair`] fills it
    /// with the functions whose call sites differ between the ISAs when sibling calls are kept
    /// (the two ISAs' IR judged a call differently), before it would skip them.
    pub no_sibling_calls: Vec<String>,
    /// Define `__unimig_migrate_requested` as a weak `i32 0` in each module that polls it (the
    /// runtime's strong definition wins at link time). Off: only declare it.
    pub define_flag_weak: bool,
    /// Define `__unimig_migration_point` as a weak function that returns at once in each module
    /// that calls it, so instrumented programs link before the runtime provides it (its strong
    /// definition then wins). Off: only declare it.
    pub define_migration_point_weak: bool,
    /// Mixed into every call-site ID, so that functions of the same name in different
    /// translation units (static functions) get different IDs. Must be the same for both ISAs'
    /// compiles of one translation unit; `None` uses the module's source file name.
    pub id_salt: Option<String>,
    pub middle_end: MiddleEnd,
    /// Functions to leave uninstrumented ([`SkipReason::IsaDivergent`]);
    /// [`compile_pair`] fills it with the functions whose call sites differ between the ISAs.
    pub skip_functions: Vec<String>,
    /// The loop vectoriser (clang's `-f[no-]vectorize`); `None`: clang's default for the level.
    pub vectorize_loops: Option<bool>,
    /// The SLP vectoriser (`-f[no-]slp-vectorize`); `None`: clang's default for the level.
    pub vectorize_slp: Option<bool>,
    /// Loop unrolling and interleaving (`-f[no-]unroll-loops`); `None`: clang's default.
    pub unroll_loops: Option<bool>,
    /// Remove all debug information after instrumentation, before code generation. unimig-cc
    /// sets it when it added `-gline-tables-only` to the front end only so that the report's
    /// [`SourceLoc`]s exist (the user asked for no debug information): the object is then the
    /// one a compile without debug information gives.
    pub strip_debug_info: bool,
    /// Functions the program's libraries define (libc, libm, the runtime). Direct calls to one
    /// of them that this module only declares stay plain calls, without a statepoint: a
    /// library frame has no stackmap, so a stack on which one of them calls back into the
    /// program cannot be migrated anyway (unimig-cc fills it from the sysroot's archives).
    pub library_functions: std::sync::Arc<std::collections::BTreeSet<String>>,
    /// Live values as relocated `gc-live` statepoint operands (the code after a call then
    /// reads exactly what the record names) instead of `deopt` operands (the record names
    /// *a* copy; the machine-level check marks the sites where the code reads another).
    /// Off: LLVM 19's code generation miscompiles relocated values in callee-saved registers
    /// (jansson's test suite crashes, on both ISAs) and crashes on AArch64 with them in stack
    /// slots (see `pipeline::max_gc_registers`).
    pub relocate_live_values: bool,
    /// Per function, the (x86-64, AArch64) byte sizes of its static shadow slots in IR order,
    /// for functions whose locals have a type of a different size per ISA (`struct stat`: 144
    /// vs 128 bytes): each slot then takes the larger size on both ISAs, so the frames agree
    /// (and a [`HazardKind::IsaSizedLocal`] warns). [`compile_pair`] fills it.
    pub shadow_slot_sizes: ShadowSlotSizes,
}

/// [`Options::shadow_slot_sizes`]: function name -> (x86-64, AArch64) size of each static
/// shadow slot.
pub type ShadowSlotSizes = std::sync::Arc<std::collections::BTreeMap<String, Vec<(u64, u64)>>>;

impl Default for Options {
    fn default() -> Self {
        Options {
            opt_level: OptLevel::O2,
            migration_points: MigrationPoints::All,
            loop_poll_period: 1,
            short_loop_limit: 1024,
            sink_entry_polls: true,
            call_block_marker_limit: 12,
            stackmaps: true,
            shadow_stack: None,
            sink_cheap_values: true,
            poll_preserves_all: true,
            sibling_calls: true,
            no_sibling_calls: Vec::new(),
            define_flag_weak: true,
            define_migration_point_weak: true,
            id_salt: None,
            middle_end: MiddleEnd::SharedCostModel,
            skip_functions: Vec::new(),
            vectorize_loops: None,
            vectorize_slp: None,
            unroll_loops: None,
            strip_debug_info: false,
            library_functions: Default::default(),
            relocate_live_values: false,
            shadow_slot_sizes: Default::default(),
        }
    }
}

/// The middle end's loop transformations, see [`Options::loop_options`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LoopOptions {
    pub vectorize: bool,
    pub slp_vectorize: bool,
    pub unroll: bool,
}

impl Options {
    /// Whether the instrumentation runs at all (migration points or stackmaps).
    pub fn instruments(&self) -> bool {
        self.migration_points != MigrationPoints::None || self.stackmaps || self.shadow_stack()
    }

    /// Whether address-taken locals move to the shadow stack (see [`Options::shadow_stack`]).
    pub fn shadow_stack(&self) -> bool {
        self.shadow_stack.unwrap_or(self.stackmaps)
    }

    /// The loop transformations, as clang-19's driver sets them: loop vectoriser at -O2, -O3,
    /// -Os; SLP vectoriser at -O2, -O3, -Os, -Oz; unrolling (and interleaving) from -O2 (-Os and
    /// -Oz are level 2 to clang) — unless the user's flags said otherwise.
    pub fn loop_options(&self) -> LoopOptions {
        let (vectorize, slp_vectorize, unroll) = match self.opt_level {
            OptLevel::O0 | OptLevel::O1 => (false, false, false),
            OptLevel::O2 | OptLevel::O3 | OptLevel::Os => (true, true, true),
            OptLevel::Oz => (false, true, true),
        };
        LoopOptions {
            vectorize: self.vectorize_loops.unwrap_or(vectorize),
            slp_vectorize: self.vectorize_slp.unwrap_or(slp_vectorize),
            unroll: self.unroll_loops.unwrap_or(unroll),
        }
    }
}

/// Where in the C source something is, from the IR's debug locations (present when the front
/// end ran with `-g` or `-gline-tables-only`).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SourceLoc {
    /// The file as the front end named it (the path given on the command line, or the header's
    /// path as found through the include path).
    pub file: String,
    pub line: u32,
    /// 1-based; 0 when unknown (a function's own location carries no column).
    pub column: u32,
}

/// Why a function or call site was left uninstrumented; unimig-cc turns each into a warning
/// (`cc-wrapper/src/compat.rs`).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum SkipReason {
    /// The function calls `llvm.va_start`/`llvm.va_copy`: its va_list layout is ISA-specific.
    VaStart,
    /// The function calls a `returns_twice` function (setjmp, vfork, ...).
    ReturnsTwice(String),
    /// The function has `invoke` (exception handling, e.g. `-fexceptions` with cleanups).
    Invoke,
    /// The function has `callbr` (`asm goto`).
    AsmGoto,
    /// A `musttail` call (cannot become a statepoint).
    MustTail,
    /// A call with operand bundles of its own.
    OperandBundles,
    /// An inline asm call; excluded from stackmaps (the function is still instrumented).
    InlineAsm,
    /// A value live across a call has a type the pass cannot lower to canonical pieces.
    UnsupportedLiveType(String),
    /// A `naked` function, or one of the runtime's own (`__unimig_*`).
    NotInstrumentable(String),
    /// The two ISAs' front ends gave the function different call sites or live values (e.g. it
    /// takes a `va_list`, whose `va_arg` expansion is ISA-specific); found by [`compile_pair`],
    /// or listed in [`Options::skip_functions`].
    IsaDivergent,
}

impl std::fmt::Display for SkipReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SkipReason::VaStart => write!(f, "uses va_start/va_copy (ISA-specific va_list)"),
            SkipReason::ReturnsTwice(c) => write!(f, "calls returns_twice function {c}"),
            SkipReason::Invoke => write!(f, "has invoke"),
            SkipReason::AsmGoto => write!(f, "has asm goto (callbr)"),
            SkipReason::MustTail => write!(f, "has a musttail call"),
            SkipReason::OperandBundles => write!(f, "has a call with operand bundles"),
            SkipReason::InlineAsm => write!(f, "inline asm call (no stackmap)"),
            SkipReason::UnsupportedLiveType(t) => {
                write!(f, "value of type {t} live across a call")
            }
            SkipReason::NotInstrumentable(why) => write!(f, "{why}"),
            SkipReason::IsaDivergent => {
                write!(
                    f,
                    "call sites or live values differ between the ISAs' front-end IR"
                )
            }
        }
    }
}

/// What happened to one call site or function.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Skip {
    pub function: String,
    pub reason: SkipReason,
    /// The construct's location (the call, the `callbr`, ...), else the function's; `None`
    /// without debug information.
    pub loc: Option<SourceLoc>,
}

/// A construct that does not stop instrumentation but whose behaviour differs between the ISAs
/// or after a migration (`hazards.rs`).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum HazardKind {
    /// x87 `long double` (`x86_fp80`) on x86-64, where AArch64 has IEEE quad (`fp128`).
    LongDouble,
    /// `goto *p` (`indirectbr`): label addresses are code addresses, which differ per ISA.
    ComputedGoto,
    /// A local whose type has a different size per ISA (`struct stat`): its shadow slot takes
    /// the larger size, and its contents are in the layout of the ISA that wrote them.
    IsaSizedLocal { x86_64: u64, aarch64: u64 },
}

/// One function's first use of a [`HazardKind`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hazard {
    pub function: String,
    pub kind: HazardKind,
    pub loc: Option<SourceLoc>,
}

/// One stackmapped call site.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CallSite {
    pub id: u64,
    pub function: String,
    /// Index among the function's stackmapped call sites, in canonical order.
    pub index: u32,
    /// Direct callee name, or `None` for an indirect call.
    pub callee: Option<String>,
    /// Number of live-value operands (deopt, or relocated 8-byte GC pointers).
    pub num_live: usize,
    /// Size in bytes of each location the record lists after its three header constants, in
    /// order: a deopt operand's canonical IR size; with relocation every gc-live operand twice
    /// (as its own base and as the derived pointer), 8 bytes each.
    pub live_sizes: Vec<u16>,
    /// Whether this is a call to [`MIGRATION_POINT_FN`] inserted by the pass.
    pub migration_point: bool,
}

/// A function's frame on the shadow stack ([`shadow`]), as laid out from IR types.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ShadowFrame {
    pub function: String,
    /// Bytes carved at entry (a multiple of 16).
    pub size: u64,
    /// The frame's alignment (at least 16).
    pub align: u64,
    /// (offset from the frame's lowest byte, size) of each static local, in IR order.
    pub slots: Vec<(u64, u64)>,
    /// Dynamic allocations (VLAs, `alloca()`) taken from the shadow stack where they execute.
    pub dynamic: u32,
    /// Made where its locals are used rather than at entry (`shadow.rs`, `FrameRegion`).
    pub shrink_wrapped: bool,
}

/// What the instrumentation did to a module.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Report {
    pub call_sites: Vec<CallSite>,
    /// Shadow frames of the functions that use the shadow stack.
    pub shadow_frames: Vec<ShadowFrame>,
    /// Functions (or single calls, for [`SkipReason::InlineAsm`]) left uninstrumented.
    pub skipped: Vec<Skip>,
    /// Functions instrumented.
    pub instrumented_functions: usize,
    pub entry_polls: usize,
    /// Entry polls placed below the entry block, where the function's calls are
    /// ([`Options::sink_entry_polls`]); counted in `entry_polls` too.
    pub entry_polls_sunk: usize,
    pub backedge_polls: usize,
    /// Back-edges left without a poll because every iteration calls a function that polls at
    /// entry.
    pub backedge_polls_elided: usize,
    /// Back-edges of short loops left without a poll ([`Options::short_loop_limit`]).
    pub short_loop_backedges: usize,
    /// Live values of non-canonical types rewritten into canonical pieces.
    pub legalized_values: usize,
    /// Uses that read a copy of an address made next to them (`sink.rs`).
    pub sunk_uses: usize,
    /// Calls kept plain because they are sibling calls (`sibcall.rs`).
    pub sibling_calls: usize,
    /// Returns copied into the block of a call so that it became a sibling call.
    pub sibling_calls_folded: usize,
    /// Constructs that behave differently per ISA (`hazards.rs`); filled when instrumenting.
    pub hazards: Vec<Hazard>,
}
