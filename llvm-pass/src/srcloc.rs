//! Source locations of IR, for diagnostics: the debug location of an instruction, or the
//! `DISubprogram` of a function. Both exist only when the front end emitted debug information;
//! unimig-cc asks for line tables (`-gline-tables-only`) when the user did not ask for `-g`,
//! and then has the pipeline strip them before code generation ([`crate::Options::strip_debug_info`]).

use crate::llvm::llvm_sys;
use crate::SourceLoc;
use llvm_sys::debuginfo::*;
use llvm_sys::prelude::{LLVMMetadataRef, LLVMValueRef};

/// The file name of a scope (`DISubprogram`, `DILexicalBlock`, ...).
fn scope_file(scope: LLVMMetadataRef) -> Option<String> {
    if scope.is_null() {
        return None;
    }
    unsafe {
        let file = LLVMDIScopeGetFile(scope);
        if file.is_null() {
            return None;
        }
        let mut len = 0;
        let name = LLVMDIFileGetFilename(file, &mut len);
        if name.is_null() {
            return None;
        }
        let bytes = std::slice::from_raw_parts(name as *const u8, len as usize);
        Some(String::from_utf8_lossy(bytes).into_owned())
    }
}

/// Where `inst` comes from. For code inlined from another function this is the inlined
/// statement itself (the construct the user wrote), not the call that was inlined.
pub fn of_instruction(inst: LLVMValueRef) -> Option<SourceLoc> {
    unsafe {
        let loc = LLVMInstructionGetDebugLoc(inst);
        if loc.is_null() {
            return None;
        }
        let line = LLVMDILocationGetLine(loc);
        if line == 0 {
            // Compiler-generated code (line 0): no useful position.
            return None;
        }
        Some(SourceLoc {
            file: scope_file(LLVMDILocationGetScope(loc))?,
            line,
            column: LLVMDILocationGetColumn(loc),
        })
    }
}

/// Where function `f` is defined (the line of its name; no column).
pub fn of_function(f: LLVMValueRef) -> Option<SourceLoc> {
    unsafe {
        let sp = LLVMGetSubprogram(f);
        if sp.is_null() {
            return None;
        }
        Some(SourceLoc {
            file: scope_file(sp)?,
            line: LLVMDISubprogramGetLine(sp),
            column: 0,
        })
    }
}

/// The location of `inst` if it has one, else its function's.
pub fn of_instruction_or_function(inst: LLVMValueRef, f: LLVMValueRef) -> Option<SourceLoc> {
    of_instruction(inst).or_else(|| of_function(f))
}
