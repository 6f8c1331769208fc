//! Thin helpers over LLVM's C API (llvm-sys, through inkwell's re-export) and the C++ shim.
//!
//! The pass works on raw `LLVMValueRef`s: instrumentation rewrites IR in ways (statepoints,
//! operand bundles, edge splitting) that a typed wrapper gets in the way of. Ownership is kept
//! simple: [`Context`] owns every module parsed in it, [`Module`] is disposed before its context,
//! [`Builder`] is disposed on drop. Every other handle is borrowed from a module that outlives it.

#![allow(clippy::missing_safety_doc)]

use std::ffi::{CStr, CString};
use std::ptr;

pub use inkwell::llvm_sys;
use llvm_sys::analysis::{LLVMVerifierFailureAction, LLVMVerifyFunction, LLVMVerifyModule};
use llvm_sys::core::*;
use llvm_sys::ir_reader::LLVMParseIRInContext;
use llvm_sys::prelude::*;
use llvm_sys::{LLVMOpcode, LLVMTypeKind};

use anyhow::{anyhow, bail, Result};

extern "C" {
    pub fn unimig_tm_configure(
        tm: llvm_sys::target_machine::LLVMTargetMachineRef,
        function_sections: i32,
        data_sections: i32,
    );
    pub fn unimig_split_block_before(inst: LLVMValueRef) -> LLVMBasicBlockRef;
    pub fn unimig_split_edges(
        from: LLVMBasicBlockRef,
        to: LLVMBasicBlockRef,
        name: *const libc_char,
    ) -> LLVMBasicBlockRef;
    pub fn unimig_move_before(inst: LLVMValueRef, before: LLVMValueRef);
    pub fn unimig_short_loops(
        function: LLVMValueRef,
        limit: u32,
        out: *mut LLVMBasicBlockRef,
        cap: usize,
    ) -> usize;
    pub fn unimig_set_dso_local(global: LLVMValueRef);
    pub fn unimig_remove_unreachable_blocks(f: LLVMValueRef) -> i32;
    pub fn unimig_fold_return_into(pred: LLVMBasicBlockRef, ret_block: LLVMBasicBlockRef);
    pub fn unimig_promote_allocas(f: LLVMValueRef, allocas: *mut LLVMValueRef, n: u32);
    pub fn unimig_set_llvm_option(name: *const libc_char, value: *const libc_char) -> i32;
    pub fn unimig_emit_object(
        tm: llvm_sys::target_machine::LLVMTargetMachineRef,
        module: LLVMModuleRef,
        check_statepoints: i32,
        object: *mut LLVMMemoryBufferRef,
        violations: *mut *mut libc_char,
        fixed: *mut *mut libc_char,
        error: *mut *mut libc_char,
    ) -> i32;
    pub fn unimig_parse_llvm_options(
        argc: i32,
        argv: *const *const libc_char,
        error: *mut *mut libc_char,
    ) -> i32;
}

#[allow(non_camel_case_types)]
pub type libc_char = std::os::raw::c_char;

/// Takes ownership of an LLVM-allocated message.
pub unsafe fn take_message(msg: *mut libc_char) -> String {
    if msg.is_null() {
        return String::new();
    }
    let s = CStr::from_ptr(msg).to_string_lossy().into_owned();
    LLVMDisposeMessage(msg);
    s
}

pub fn cstr(s: &str) -> CString {
    CString::new(s).expect("no NUL in LLVM names")
}

/// What LLVM reported through a context's diagnostic handler while it worked.
#[derive(Debug, Default)]
pub struct Diagnostics {
    pub errors: Vec<String>,
    pub warnings: Vec<String>,
}

/// An LLVM context; modules parsed in it are owned by [`Module`] values that must be dropped
/// first (they borrow the context).
///
/// Its diagnostics (errors such as an inline-asm statement the assembler rejects or "ran out
/// of registers", warnings such as `-Wframe-larger-than`) are collected, never printed: without
/// a handler LLVM would print them and `exit(1)` on an error.
pub struct Context {
    pub c: LLVMContextRef,
    diagnostics: Box<std::sync::Mutex<Diagnostics>>,
}

extern "C" fn collect_diagnostic(info: LLVMDiagnosticInfoRef, data: *mut std::ffi::c_void) {
    use llvm_sys::LLVMDiagnosticSeverity::*;
    // SAFETY: `data` is the Box owned by the Context whose handler this is; LLVM calls the
    // handler only while the context is alive.
    let diagnostics = unsafe { &*(data as *const std::sync::Mutex<Diagnostics>) };
    let (severity, text) = unsafe {
        (
            LLVMGetDiagInfoSeverity(info),
            take_message(LLVMGetDiagInfoDescription(info)),
        )
    };
    // Diagnostics without a source location start with "<unknown>:0:0: ".
    let text = text
        .strip_prefix("<unknown>:0:0: ")
        .unwrap_or(&text)
        .trim_end()
        .to_string();
    let Ok(mut d) = diagnostics.lock() else {
        return;
    };
    match severity {
        LLVMDSError => d.errors.push(text),
        LLVMDSWarning => d.warnings.push(text),
        LLVMDSRemark | LLVMDSNote => {}
    }
}

impl Context {
    pub fn new() -> Self {
        let diagnostics = Box::new(std::sync::Mutex::new(Diagnostics::default()));
        unsafe {
            let c = LLVMContextCreate();
            let data =
                &*diagnostics as *const std::sync::Mutex<Diagnostics> as *mut std::ffi::c_void;
            LLVMContextSetDiagnosticHandler(c, Some(collect_diagnostic), data);
            Context { c, diagnostics }
        }
    }

    /// The diagnostics collected since the last call.
    pub fn take_diagnostics(&self) -> Diagnostics {
        std::mem::take(&mut *self.diagnostics.lock().unwrap_or_else(|e| e.into_inner()))
    }

    /// Parses bitcode or textual IR.
    pub fn parse(&self, bytes: &[u8], name: &str) -> Result<Module<'_>> {
        unsafe {
            let cname = cstr(name);
            // LLVMParseIRInContext takes ownership of the buffer. Textual IR must be
            // NUL-terminated in memory: copy with a terminator and hide it from the length.
            let mut owned = bytes.to_vec();
            owned.push(0);
            let buf = LLVMCreateMemoryBufferWithMemoryRangeCopy(
                owned.as_ptr() as *const libc_char,
                bytes.len(),
                cname.as_ptr(),
            );
            let mut module = ptr::null_mut();
            let mut msg = ptr::null_mut();
            if LLVMParseIRInContext(self.c, buf, &mut module, &mut msg) != 0 {
                bail!("cannot parse LLVM IR '{name}': {}", take_message(msg));
            }
            Ok(Module {
                m: module,
                _ctx: std::marker::PhantomData,
            })
        }
    }
}

impl Default for Context {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for Context {
    fn drop(&mut self) {
        unsafe { LLVMContextDispose(self.c) }
    }
}

pub struct Module<'c> {
    pub m: LLVMModuleRef,
    _ctx: std::marker::PhantomData<&'c Context>,
}

impl Drop for Module<'_> {
    fn drop(&mut self) {
        unsafe { LLVMDisposeModule(self.m) }
    }
}

impl Module<'_> {
    pub fn ctx(&self) -> LLVMContextRef {
        unsafe { LLVMGetModuleContext(self.m) }
    }

    pub fn triple(&self) -> String {
        unsafe {
            CStr::from_ptr(LLVMGetTarget(self.m))
                .to_string_lossy()
                .into_owned()
        }
    }

    pub fn set_triple(&self, triple: &str) {
        let c = cstr(triple);
        unsafe { LLVMSetTarget(self.m, c.as_ptr()) }
    }

    pub fn source_filename(&self) -> String {
        unsafe {
            let mut len = 0;
            let p = LLVMGetSourceFileName(self.m, &mut len);
            bytes_to_string(p, len)
        }
    }

    pub fn to_ir_string(&self) -> String {
        unsafe { take_message(LLVMPrintModuleToString(self.m)) }
    }

    pub fn functions(&self) -> Vec<LLVMValueRef> {
        let mut out = Vec::new();
        unsafe {
            let mut f = LLVMGetFirstFunction(self.m);
            while !f.is_null() {
                out.push(f);
                f = LLVMGetNextFunction(f);
            }
        }
        out
    }

    /// Runs the LLVM verifier; on failure the error names the failing functions.
    pub fn verify(&self) -> Result<()> {
        unsafe {
            let mut msg = ptr::null_mut();
            let bad = LLVMVerifyModule(
                self.m,
                LLVMVerifierFailureAction::LLVMReturnStatusAction,
                &mut msg,
            ) != 0;
            let msg = take_message(msg);
            if !bad {
                return Ok(());
            }
            let failing: Vec<String> = self
                .functions()
                .into_iter()
                .filter(|&f| {
                    LLVMIsDeclaration(f) == 0
                        && LLVMVerifyFunction(f, LLVMVerifierFailureAction::LLVMReturnStatusAction)
                            != 0
                })
                .map(value_name)
                .collect();
            Err(anyhow!(
                "invalid IR in function(s) [{}]: {}",
                failing.join(", "),
                msg.trim()
            ))
        }
    }
}

unsafe fn bytes_to_string(p: *const libc_char, len: usize) -> String {
    if p.is_null() {
        return String::new();
    }
    let bytes = std::slice::from_raw_parts(p as *const u8, len);
    String::from_utf8_lossy(bytes).into_owned()
}

/// Headers of `f`'s innermost loops that call nothing and take their back-edge at most `limit`
/// times per entry (`cxx/shim.cpp`, ScalarEvolution).
pub fn short_loop_headers(f: LLVMValueRef, limit: u32) -> Vec<LLVMBasicBlockRef> {
    // Every loop has its own header block, so there are no more headers than blocks: one
    // call (one ScalarEvolution run) fills the buffer.
    let cap = unsafe { LLVMCountBasicBlocks(f) } as usize;
    let mut out = vec![std::ptr::null_mut(); cap];
    // SAFETY: `out` has room for `cap` headers, and the shim writes at most that many.
    let count = unsafe { unimig_short_loops(f, limit, out.as_mut_ptr(), cap) };
    assert!(count <= cap, "{count} short loops in {cap} blocks");
    out.truncate(count);
    out
}

pub fn value_name(v: LLVMValueRef) -> String {
    unsafe {
        let mut len = 0;
        let p = LLVMGetValueName2(v, &mut len);
        bytes_to_string(p, len)
    }
}

pub struct Builder(pub LLVMBuilderRef);

impl Builder {
    pub fn new(ctx: LLVMContextRef) -> Self {
        Builder(unsafe { LLVMCreateBuilderInContext(ctx) })
    }
    pub fn before(&self, inst: LLVMValueRef) {
        unsafe { LLVMPositionBuilderBefore(self.0, inst) }
    }
    /// Before `inst` and the debug records attached to it: where a phi must go at the top of
    /// a block (a phi may not carry debug records, and [`Builder::before`] would leave the
    /// first instruction's records in front of the new phi, seen with `-g`).
    pub fn before_with_debug_records(&self, inst: LLVMValueRef) {
        unsafe { LLVMPositionBuilderBeforeInstrAndDbgRecords(self.0, inst) }
    }
    /// Positions at the end of `bb`, with no debug location: unlike [`Builder::before`], LLVM
    /// keeps the builder's previous location here, which may belong to another function (the
    /// verifier refuses a `!dbg` of another function's subprogram, seen with `-g`).
    pub fn at_end(&self, bb: LLVMBasicBlockRef) {
        unsafe {
            LLVMPositionBuilderAtEnd(self.0, bb);
            LLVMSetCurrentDebugLocation2(self.0, ptr::null_mut());
        }
    }
}

impl Drop for Builder {
    fn drop(&mut self) {
        unsafe { LLVMDisposeBuilder(self.0) }
    }
}

pub const EMPTY: *const libc_char = c"".as_ptr();

pub fn blocks(f: LLVMValueRef) -> Vec<LLVMBasicBlockRef> {
    let mut out = Vec::new();
    unsafe {
        let mut b = LLVMGetFirstBasicBlock(f);
        while !b.is_null() {
            out.push(b);
            b = LLVMGetNextBasicBlock(b);
        }
    }
    out
}

/// The first instruction of `bb` that is not a phi (a block ends in a terminator).
pub fn first_non_phi(bb: LLVMBasicBlockRef) -> LLVMValueRef {
    instructions(bb)
        .into_iter()
        .find(|&i| opcode(i) != LLVMOpcode::LLVMPHI)
        .expect("a block ends in a terminator")
}

pub fn instructions(bb: LLVMBasicBlockRef) -> Vec<LLVMValueRef> {
    let mut out = Vec::new();
    unsafe {
        let mut i = LLVMGetFirstInstruction(bb);
        while !i.is_null() {
            out.push(i);
            i = LLVMGetNextInstruction(i);
        }
    }
    out
}

pub fn params(f: LLVMValueRef) -> Vec<LLVMValueRef> {
    unsafe {
        (0..LLVMCountParams(f))
            .map(|i| LLVMGetParam(f, i))
            .collect()
    }
}

pub fn successors(bb: LLVMBasicBlockRef) -> Vec<LLVMBasicBlockRef> {
    unsafe {
        let t = LLVMGetBasicBlockTerminator(bb);
        if t.is_null() {
            return Vec::new();
        }
        (0..LLVMGetNumSuccessors(t))
            .map(|i| LLVMGetSuccessor(t, i))
            .collect()
    }
}

pub fn opcode(i: LLVMValueRef) -> LLVMOpcode {
    unsafe { LLVMGetInstructionOpcode(i) }
}

pub fn operands(i: LLVMValueRef) -> Vec<LLVMValueRef> {
    unsafe {
        let n = LLVMGetNumOperands(i);
        (0..n.max(0) as u32).map(|k| LLVMGetOperand(i, k)).collect()
    }
}

pub fn type_of(v: LLVMValueRef) -> LLVMTypeRef {
    unsafe { LLVMTypeOf(v) }
}

pub fn type_kind(t: LLVMTypeRef) -> LLVMTypeKind {
    unsafe { LLVMGetTypeKind(t) }
}

pub fn is_instruction(v: LLVMValueRef) -> bool {
    unsafe { !LLVMIsAInstruction(v).is_null() }
}

/// Every (user, operand index) that reads `v`, each once.
pub fn operand_uses(v: LLVMValueRef) -> Vec<(LLVMValueRef, u32)> {
    let mut uses: Vec<(LLVMValueRef, u32)> = Vec::new();
    unsafe {
        let mut u = LLVMGetFirstUse(v);
        while !u.is_null() {
            let user = LLVMGetUser(u);
            let n = LLVMGetNumOperands(user);
            for k in 0..n.max(0) as u32 {
                if LLVMGetOperand(user, k) == v && !uses.contains(&(user, k)) {
                    uses.push((user, k));
                }
            }
            u = LLVMGetNextUse(u);
        }
    }
    uses
}

pub fn is_argument(v: LLVMValueRef) -> bool {
    unsafe { !LLVMIsAArgument(v).is_null() }
}

pub fn is_call(i: LLVMValueRef) -> bool {
    opcode(i) == LLVMOpcode::LLVMCall
}

/// Does the value have a type that can be an SSA value live across a call?
pub fn is_first_class_value(v: LLVMValueRef) -> bool {
    !matches!(
        type_kind(type_of(v)),
        LLVMTypeKind::LLVMVoidTypeKind
            | LLVMTypeKind::LLVMLabelTypeKind
            | LLVMTypeKind::LLVMMetadataTypeKind
            | LLVMTypeKind::LLVMTokenTypeKind
    )
}

/// The function a call calls directly, if any (looking through nothing: a direct callee only).
pub fn direct_callee(call: LLVMValueRef) -> Option<LLVMValueRef> {
    unsafe {
        let c = LLVMGetCalledValue(call);
        (!LLVMIsAFunction(c).is_null()).then_some(c)
    }
}

pub fn intrinsic_id(f: LLVMValueRef) -> u32 {
    unsafe { LLVMGetIntrinsicID(f) }
}

pub fn enum_attr_kind(name: &str) -> u32 {
    unsafe { LLVMGetEnumAttributeKindForName(name.as_ptr() as *const libc_char, name.len()) }
}

pub fn fn_has_enum_attr(f: LLVMValueRef, name: &str) -> bool {
    unsafe {
        !LLVMGetEnumAttributeAtIndex(
            f,
            llvm_sys::LLVMAttributeFunctionIndex,
            enum_attr_kind(name),
        )
        .is_null()
    }
}

pub fn call_has_enum_attr(call: LLVMValueRef, name: &str) -> bool {
    unsafe {
        !LLVMGetCallSiteEnumAttribute(
            call,
            llvm_sys::LLVMAttributeFunctionIndex,
            enum_attr_kind(name),
        )
        .is_null()
    }
}

pub fn call_site_attrs(call: LLVMValueRef, idx: u32) -> Vec<LLVMAttributeRef> {
    unsafe {
        let n = LLVMGetCallSiteAttributeCount(call, idx);
        let mut v = vec![ptr::null_mut(); n as usize];
        if n > 0 {
            LLVMGetCallSiteAttributes(call, idx, v.as_mut_ptr());
        }
        v
    }
}

pub fn fn_attrs(f: LLVMValueRef, idx: u32) -> Vec<LLVMAttributeRef> {
    unsafe {
        let n = LLVMGetAttributeCountAtIndex(f, idx);
        let mut v = vec![ptr::null_mut(); n as usize];
        if n > 0 {
            LLVMGetAttributesAtIndex(f, idx, v.as_mut_ptr());
        }
        v
    }
}

/// At `b`'s position: a call of the AT&T-dialect inline asm `code` taking `args` and returning
/// a `ret`; `side_effects` makes it `sideeffect` (never merged with another call, hoisted or
/// dropped).
pub fn build_inline_asm(
    b: &Builder,
    code: &str,
    constraints: &str,
    ret: LLVMTypeRef,
    args: &[LLVMValueRef],
    side_effects: bool,
    name: &std::ffi::CStr,
) -> LLVMValueRef {
    unsafe {
        let mut params: Vec<LLVMTypeRef> = args.iter().map(|&a| type_of(a)).collect();
        let fty = LLVMFunctionType(ret, params.as_mut_ptr(), params.len() as u32, 0);
        let asm = LLVMGetInlineAsm(
            fty,
            code.as_ptr() as *const _,
            code.len(),
            constraints.as_ptr() as *const _,
            constraints.len(),
            i32::from(side_effects),
            0,
            llvm_sys::LLVMInlineAsmDialect::LLVMInlineAsmDialectATT,
            0,
        );
        let mut args = args.to_vec();
        LLVMBuildCall2(
            b.0,
            fty,
            asm,
            args.as_mut_ptr(),
            args.len() as u32,
            name.as_ptr(),
        )
    }
}

pub fn intrinsic_lookup(name: &str) -> u32 {
    unsafe { LLVMLookupIntrinsicID(name.as_ptr() as *const libc_char, name.len()) }
}

pub fn intrinsic_decl(m: LLVMModuleRef, name: &str, overloads: &[LLVMTypeRef]) -> LLVMValueRef {
    let id = intrinsic_lookup(name);
    assert!(id != 0, "unknown intrinsic {name}");
    let mut tys = overloads.to_vec();
    unsafe { LLVMGetIntrinsicDeclaration(m, id, tys.as_mut_ptr(), tys.len()) }
}

pub fn global_value_type(g: LLVMValueRef) -> LLVMTypeRef {
    unsafe { LLVMGlobalGetValueType(g) }
}

pub fn const_i32(ctx: LLVMContextRef, v: u64) -> LLVMValueRef {
    unsafe { LLVMConstInt(LLVMInt32TypeInContext(ctx), v, 0) }
}

/// `!prof !{"branch_weights", i32 taken, i32 not_taken}` on a conditional branch.
pub fn set_branch_weights(ctx: LLVMContextRef, br: LLVMValueRef, taken: u32, not_taken: u32) {
    unsafe {
        let name = "branch_weights";
        let s = LLVMMDStringInContext2(ctx, name.as_ptr() as *const libc_char, name.len());
        let mut ops = [
            s,
            LLVMValueAsMetadata(const_i32(ctx, taken as u64)),
            LLVMValueAsMetadata(const_i32(ctx, not_taken as u64)),
        ];
        let node = LLVMMDNodeInContext2(ctx, ops.as_mut_ptr(), ops.len());
        let kind = "prof";
        let kind_id = LLVMGetMDKindIDInContext(ctx, kind.as_ptr() as *const libc_char, 4);
        LLVMSetMetadata(br, kind_id, LLVMMetadataAsValue(ctx, node));
    }
}

pub fn type_to_string(t: LLVMTypeRef) -> String {
    unsafe { take_message(LLVMPrintTypeToString(t)) }
}

pub fn value_to_string(v: LLVMValueRef) -> String {
    unsafe { take_message(LLVMPrintValueToString(v)) }
}

/// The function attributes that name a CPU: a target's cost model reads them.
const CPU_ATTRIBUTES: [&str; 3] = ["target-cpu", "target-features", "tune-cpu"];

/// [`CPU_ATTRIBUTES`] taken off a module's functions, by function name (the middle end deletes
/// functions, so their references may dangle by the time they are put back), to put back with
/// [`restore_cpu_attributes`].
pub struct CpuAttributes(std::collections::HashMap<String, Vec<LLVMAttributeRef>>);

/// Removes [`CPU_ATTRIBUTES`] from every function of `module` (functions then follow the
/// TargetMachine's CPU) and returns them.
pub fn take_cpu_attributes(module: &Module) -> CpuAttributes {
    let mut taken = std::collections::HashMap::new();
    for f in module.functions() {
        let idx = llvm_sys::LLVMAttributeFunctionIndex;
        let mut attrs = Vec::new();
        for name in CPU_ATTRIBUTES {
            let (key, len) = (name.as_ptr().cast(), name.len() as u32);
            unsafe {
                let a = LLVMGetStringAttributeAtIndex(f, idx, key, len);
                if !a.is_null() {
                    attrs.push(a);
                    LLVMRemoveStringAttributeAtIndex(f, idx, key, len);
                }
            }
        }
        if !attrs.is_empty() {
            taken.insert(value_name(f), attrs);
        }
    }
    CpuAttributes(taken)
}

/// Puts back what [`take_cpu_attributes`] took, on the functions still in `module`
/// (attributes are uniqued in the context, so their references stay valid). Functions the
/// middle end made (clones) inherited none and keep none: they follow the TargetMachine's
/// baseline CPU, as the functions compiled without the attributes would.
pub fn restore_cpu_attributes(module: &Module, attrs: CpuAttributes) {
    for f in module.functions() {
        if let Some(list) = attrs.0.get(&value_name(f)) {
            for &a in list {
                unsafe { LLVMAddAttributeAtIndex(f, llvm_sys::LLVMAttributeFunctionIndex, a) };
            }
        }
    }
}
