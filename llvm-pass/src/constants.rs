//! Address-stable constants: string literals and other private constants get the same address
//! on both ISAs (design section 1: a literal's address is observable, it can be printed or
//! stored in a variable that migrates).
//!
//! Left alone, the code generator puts `unnamed_addr` constants into mergeable sections chosen
//! per ISA: x86-64's front end aligns constant arrays of 16 bytes or more to 16 (its ABI's
//! large-array rule), so a `char s[] = "...long..."` initialiser (`__const.f.s`) lands in
//! `.rodata.str1.16` on x86-64 and in `.rodata.str1.1` with the other literals on AArch64, and
//! the two ISAs' literal sections can no longer be laid out alike. Private constants also have
//! no symbol, so the linker could not match them even in sections of their own.
//!
//! So, after the middle end and identically on both modules, every private or internal global
//! constant that is `unnamed_addr`, and every private global, is made:
//! * **not `unnamed_addr`**, so it is not mergeable: with data sections it gets a section of
//!   its own, `.rodata.<name>` (or `.data.<name>`), which the linker matches by name and places
//!   in one slot of the larger size and alignment;
//! * **internal instead of private**, so it has a (local) symbol: the linker treats a section
//!   with a symbol as a program-visible object and `unimig check` compares its address;
//! * **named by content** when it is a front end's numbered anonymous constant (`.str.7`) whose
//!   initialiser refers to no other global: `.str.<hash of type and bytes>`. Numbers follow the
//!   order in which the front end met the literals, so one literal under `#ifdef __x86_64__`
//!   would shift the numbers of all later ones and pair unrelated literals across ISAs; content
//!   names pair equal literals whatever the order, and a literal one ISA alone has stays alone
//!   (ISA-private, as code under `#ifdef` is).
//!
//! The cost is one section, one symbol and one linker-script line per constant, and no merging
//! of equal literals within an object (lld already runs with `-O0`, which merges nothing).

use std::collections::HashSet;

use crate::llvm::{self, cstr, llvm_sys};
use llvm_sys::core::*;
use llvm_sys::prelude::*;
use llvm_sys::{LLVMLinkage, LLVMUnnamedAddr};

/// What [`pin_constants`] changed, for tests and measurements.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PinReport {
    /// Globals that lost `unnamed_addr` or became internal.
    pub pinned: usize,
    /// Of those, renamed by content.
    pub renamed: usize,
}

/// Applies the rules of the module documentation to every global variable of `module`.
pub(crate) fn pin_constants(module: LLVMModuleRef) -> PinReport {
    let mut report = PinReport::default();
    let mut names: HashSet<String> = globals(module).into_iter().map(llvm::value_name).collect();
    for g in globals(module) {
        if !is_pinnable(g) {
            continue;
        }
        report.pinned += 1;
        unsafe {
            LLVMSetUnnamedAddress(g, LLVMUnnamedAddr::LLVMNoUnnamedAddr);
            if LLVMGetLinkage(g) == LLVMLinkage::LLVMPrivateLinkage {
                LLVMSetLinkage(g, LLVMLinkage::LLVMInternalLinkage);
            }
        }
        if let Some(name) = content_name(g, &names) {
            names.remove(&llvm::value_name(g));
            let c = cstr(&name);
            unsafe { LLVMSetValueName2(g, c.as_ptr(), name.len()) };
            names.insert(name);
            report.renamed += 1;
        }
    }
    report
}

fn globals(module: LLVMModuleRef) -> Vec<LLVMValueRef> {
    let mut out = Vec::new();
    unsafe {
        let mut g = LLVMGetFirstGlobal(module);
        while !g.is_null() {
            out.push(g);
            g = LLVMGetNextGlobal(g);
        }
    }
    out
}

/// A definition (not `llvm.*`) that is private, or internal, constant and `unnamed_addr`.
fn is_pinnable(g: LLVMValueRef) -> bool {
    unsafe {
        if LLVMIsDeclaration(g) != 0 || llvm::value_name(g).starts_with("llvm.") {
            return false;
        }
        match LLVMGetLinkage(g) {
            LLVMLinkage::LLVMPrivateLinkage => true,
            LLVMLinkage::LLVMInternalLinkage => {
                LLVMIsGlobalConstant(g) != 0
                    && LLVMGetUnnamedAddress(g) == LLVMUnnamedAddr::LLVMGlobalUnnamedAddr
            }
            _ => false,
        }
    }
}

/// `<base>.<hash>` for a numbered anonymous constant (`.str`, `.str.7`, `.compoundliteral.2`:
/// names that start with a dot) whose initialiser refers to no global, unique in `taken`.
fn content_name(g: LLVMValueRef, taken: &HashSet<String>) -> Option<String> {
    let name = llvm::value_name(g);
    if !name.starts_with('.') {
        return None;
    }
    let init = unsafe { LLVMGetInitializer(g) };
    if init.is_null() || refers_to_globals(init) {
        return None;
    }
    let base = strip_counter(&name);
    let mut content = llvm::type_to_string(llvm::global_value_type(g)).into_bytes();
    content.push(b' ');
    if unsafe { LLVMIsAConstantDataSequential(init) }.is_null() {
        content.extend_from_slice(llvm::value_to_string(init).as_bytes());
    } else {
        // The raw bytes of a literal (printing a large one as IR text would be slow).
        let mut len = 0;
        let bytes = unsafe { LLVMGetAsString(init, &mut len) };
        content.extend_from_slice(unsafe { std::slice::from_raw_parts(bytes as *const u8, len) });
    }
    let stem = format!("{base}.{:016x}", fnv1a(&content));
    let unique = std::iter::once(stem.clone())
        .chain((1..).map(|n| format!("{stem}.{n}")))
        .find(|candidate| *candidate == name || !taken.contains(candidate))
        .expect("an unused name exists");
    Some(unique)
}

/// `.str.12` -> `.str`: C identifiers have no dots, so a trailing `.<digits>` is LLVM's
/// uniquing counter.
fn strip_counter(name: &str) -> &str {
    match name.rsplit_once('.') {
        Some((base, n)) if !base.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) => base,
        _ => name,
    }
}

/// Whether constant `c` mentions a global (a relocation in the object): such names would
/// change when their targets are renamed, so they stay as the front end numbered them.
fn refers_to_globals(c: LLVMValueRef) -> bool {
    unsafe {
        if !LLVMIsAGlobalValue(c).is_null() {
            return true;
        }
        if !LLVMIsAConstantDataSequential(c).is_null() || !LLVMIsAConstantAggregateZero(c).is_null()
        {
            return false;
        }
    }
    llvm::operands(c).into_iter().any(refers_to_globals)
}

/// 64-bit FNV-1a: stable across processes and Rust versions, unlike `DefaultHasher`.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_are_stripped() {
        assert_eq!(strip_counter(".str"), ".str");
        assert_eq!(strip_counter(".str.12"), ".str");
        assert_eq!(strip_counter(".compoundliteral.3"), ".compoundliteral");
        assert_eq!(strip_counter(".str.x"), ".str.x");
        assert_eq!(strip_counter(".5"), ".5");
    }

    #[test]
    fn fnv1a_is_the_reference_function() {
        assert_eq!(fnv1a(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
    }
}
