//! `unimig-cc`: a gcc/clang-compatible C compiler driver that builds every C file for both
//! x86-64 and AArch64 (`x86_64-linux-musl` and `aarch64-linux-musl`), so the program can later
//! migrate between the two. It drives clang-19; build systems should see clang.
//!
//! # Modes (decided from the arguments as clang decides them)
//! * Queries (`--version`, `-v` alone, `-dumpmachine`, `-dumpversion`, `-print-*`, `--help`):
//!   one clang run for the host target; `--version` appends a `unimig-cc` line after clang's.
//!   `-print-prog-name=ld` names `ld.unimig` (libtool then builds static libraries only).
//! * `-E`, `-M`/`-MM` (without `-MD`/`-MMD`), `-fsyntax-only`: one host clang run with the
//!   host compile's flags.
//! * `-S`: host assembly only (`-S -emit-llvm`: host IR), from one plain clang run: clang's own
//!   (target-aware) middle end and back end, not unimig's pipeline, so it may differ from the
//!   code in the fat object.
//! * `-c`: each C input is compiled for both ISAs: clang's front end twice, concurrently, with
//!   identical user flags and `-emit-llvm -Xclang -disable-llvm-passes` (`frontend.rs`), then
//!   unimig's in-process LLVM pipeline on both bitcode files, concurrently (`pipeline.rs`:
//!   target-neutral middle end, string literals laid out alike, optional instrumentation, code
//!   generation), and the aarch64 object is embedded in the host object (a fat object,
//!   docs/formats.md). Objects and libraries given with `-c` are unused, as with clang.
//! * Otherwise, linking: C inputs become fat objects, then clang links with `ld.unimig`. As in
//!   clang, `-l`, `-Wl,`, `-Xlinker`, `-z` and `-e` count as inputs (`cc -Wl,--version`).
//!
//! Response files (`@file`) are expanded first, with gcc's quoting rules.
//!
//! # Flag policy (the table is in `options.rs`)
//! * Added to every compile: `--target=<isa>-linux-musl -fsigned-char` before the user's flags
//!   (so `-funsigned-char` may change char signedness, for both ISAs alike), and after them, so
//!   they win: `-ffp-contract=off -ffunction-sections -fdata-sections -fno-common -fno-pic
//!   -fno-pie -nostdlibinc -isystem <sysroot>/include`.
//! * Passed unchanged to both compiles: everything not listed below, e.g. `-std=`, `-O*`
//!   (`-Ofast` implies `-ffast-math`; it is allowed, and FP contraction still stays off), `-g*`,
//!   `-W*`, `-w`, `-D`/`-U`/`-I`/`-include`/`-imacros`/`-isystem`/`-iquote`/`-idirafter`,
//!   `-x c`, `-f*`, `-Xclang`, `-mllvm`, `-Wa,`, `-Wp,`, `-pthread`, and the ISA-neutral
//!   `-momit-leaf-frame-pointer`/`-mno-omit-leaf-frame-pointer`. The in-process back end
//!   follows what the front end puts into the IR (debug info, frame pointers, stack
//!   protectors, `-fno-builtin`, `-fno-inline`, ...) and reads the `-O` level, the loop
//!   vectoriser and unrolling flags and `-mllvm` itself; what it does not honour (`-gz`,
//!   `-Wa,`, profile use, ...) is listed in `pipeline_flags.rs`.
//! * unimig's own, never given to clang: `-funimig-points=none|entry|loops|all` (default
//!   `none`), `-funimig-poll-period=N` (1), `-funimig-short-loop-limit=N` (1024),
//!   `-funimig-middle-end=shared|neutral` (shared),
//!   `-funimig-stackmaps`/`-fno-unimig-stackmaps`
//!   (default off); see `pipeline_flags.rs`. The compatibility warnings' flags
//!   `-W[no-][error=]unimig[-NAME]` (`compat.rs`).
//! * Both front ends write their bitcode to a pipe (`-o -`), so outputs clang derives from `-o`
//!   (`-save-temps=obj`, `-ftime-trace`) do not land next to the object.
//! * Host compile only: the dependency-file options `-MD -MMD -MF -MT -MQ -MP -MG -MV -MJ` and
//!   `-Wp,-M...` (the `.d` file is written once and names the real output); `-save-temps*` and
//!   `--serialize-diagnostics` (the two compiles would write the same files); `-fcf-protection`
//!   (x86-only hardening; AArch64 has no equivalent under that name).
//! * Link step only, in order: inputs, `-l -L -Wl, -Xlinker -o -s -r -u -T -z -e -rdynamic
//!   -static -static-libgcc -nostdlib -nostartfiles -nodefaultlibs -nolibc -rtlib=
//!   -unwindlib=`; `-pthread` and `-B` go to the compiles and the link.
//! * Accepted and ignored: `-fPIC -fpic -fPIE -fpie` (and their `-fno-` forms), `-pie`,
//!   `-no-pie`, `-static-pie`: unimig images are static and non-PIE (the migration needs fixed
//!   addresses), and libtool and CMake add `-fPIC` even for static libraries. `-m64` (both
//!   ISAs are LP64). `-fuse-ld=`: unimig always links with `ld.unimig`. Contrary forms of the
//!   forced flags (`-ffp-contract=fast`, `-fcommon`, ...) are overridden by the forced ones.
//! * Refused with an error (in every mode but queries):
//!   - ISA-specific code generation: every `-m` option not listed above (`-march=`, `-mtune=`,
//!     `-mcpu=`, `-m32`, `-mx32`, `-msse*`, `-mavx*`, `-mfpu=`, `-mabi=`, ...), `-target`,
//!     `--target=`, `-arch`, `-Xarch_*`, `-Xclang -target-feature` and other target-selecting
//!     `-cc1` options: both ISAs must be compiled with identical flags;
//!   - `-shared` (images are static), `--ld-path=`;
//!   - `-flto*` and `-emit-llvm` outside `-S` (objects must hold machine code for both ISAs);
//!   - `--sysroot`, `-isysroot` (unimig uses its own musl sysroots);
//!   - options that need a runtime the sysroots lack: `-fsanitize=`, `-fopenmp`,
//!     `-fprofile-generate`, `-fprofile-instr-generate`, `-fprofile-arcs`, `--coverage`, `-pg`;
//!   - `-gsplit-dwarf`, `-include-pch`;
//!   - inputs that are not C where code is generated (`-c`, `-S`, linking): assembly, C++,
//!     Objective-C, headers (PCH), LLVM IR, `-x` with such a language.
//!
//! # Diagnostics and exit status
//! clang's diagnostics are shown as clang prints them (see `frontend.rs` for the aarch64 half);
//! a failed clang run gives its exit code; unimig-cc's own errors, `unimig-cc: error: ...`,
//! give 1, as does a clang killed by a signal. With instrumentation on, the constructs the
//! migration cannot handle get clang-style warnings `FILE:LINE:COL: warning: ...
//! [-Wunimig-NAME]` (`compat.rs`), errors under `-Werror`. A failure in the back end is `unimig-cc: error:
//! FILE: <step> for <isa>: <LLVM's message>` (LLVM's fatal errors too), its warnings
//! `unimig-cc: warning: FILE: ...`. `-v` shows the commands run and the back end's settings and
//! passes `-v` to clang; `-###` shows them without running. `UNIMIG_KEEP_TEMPS=1` keeps the
//! temporary files (with the bitcode and both objects), which are removed on Ctrl-C too (see
//! `interrupt.rs`).

mod args;
mod compat;
mod compile;
mod deps;
mod embed;
mod exec;
mod frontend;
mod interrupt;
mod library_calls;
mod link;
mod object;
mod options;
mod output;
mod passthrough;
mod pipeline;
mod pipeline_flags;
mod response;
mod scratch;
mod toolchain;

use anyhow::Result;
use args::{Invocation, Mode};
use std::process::ExitCode;

fn main() -> ExitCode {
    let code = run().unwrap_or_else(|err| exec::report(&err));
    // `run` has returned, so the temporary files are gone.
    if let Some(signal) = interrupt::received() {
        interrupt::reraise(signal);
    }
    ExitCode::from(u8::try_from(code).unwrap_or(1))
}

/// Runs the driver; returns the exit status once every temporary file is gone.
fn run() -> Result<i32> {
    let argv = response::expand(std::env::args_os().skip(1))?;
    let invocation = Invocation::parse(argv)?;
    match invocation.mode {
        Mode::Query | Mode::Preprocess | Mode::SyntaxOnly | Mode::Assembly => {
            passthrough::run(&invocation)
        }
        Mode::Object => object::run(&invocation),
        Mode::Link => link::run(&invocation),
    }
}
