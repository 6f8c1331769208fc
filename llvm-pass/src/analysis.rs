//! Liveness of every call site of a module, without instrumenting it: the analysis the pass
//! uses, exposed for tests and diagnostics.

use anyhow::Result;

use crate::cfg::{Cfg, FnIr, ValueId};
use crate::liveness::Liveness;
use crate::llvm::{self, Context};

/// One defined function.
pub struct FunctionAnalysis {
    pub name: String,
    pub cfg: Cfg,
    /// Name of each canonical number: the IR name (`x` for `%x`), or `#<n>` when unnamed.
    pub value_names: Vec<String>,
    /// Every call (intrinsics too): (block, position, values live across it).
    pub calls: Vec<(usize, usize, Vec<ValueId>)>,
    /// For each entry of `calls`: the direct callee's name (None: indirect or inline asm).
    pub callees: Vec<Option<String>>,
}

impl FunctionAnalysis {
    /// Names of the values live across the calls, in canonical order.
    pub fn live_names(&self) -> Vec<Vec<String>> {
        self.calls
            .iter()
            .map(|(_, _, l)| {
                l.iter()
                    .map(|&v| self.value_names[v as usize].clone())
                    .collect()
            })
            .collect()
    }
}

/// Parses bitcode or textual IR and analyses every defined function.
pub fn analyze(ir: &[u8]) -> Result<Vec<FunctionAnalysis>> {
    let ctx = Context::new();
    let module = ctx.parse(ir, "input")?;
    let mut out = Vec::new();
    for f in module.functions() {
        if unsafe { llvm::llvm_sys::core::LLVMIsDeclaration(f) } != 0 {
            continue;
        }
        let ir = FnIr::read(f);
        let live = Liveness::compute(&ir.cfg);
        let calls = live.live_across_calls(&ir.cfg);
        let callees = calls
            .iter()
            .map(|&(b, k, _)| {
                let call = ir.values[ir.cfg.blocks[b].insts[k].id as usize];
                llvm::direct_callee(call).map(llvm::value_name)
            })
            .collect();
        let value_names = ir
            .values
            .iter()
            .enumerate()
            .map(|(i, &v)| {
                let n = llvm::value_name(v);
                if n.is_empty() {
                    format!("#{i}")
                } else {
                    n
                }
            })
            .collect();
        out.push(FunctionAnalysis {
            name: llvm::value_name(f),
            cfg: ir.cfg,
            value_names,
            calls,
            callees,
        });
    }
    Ok(out)
}
