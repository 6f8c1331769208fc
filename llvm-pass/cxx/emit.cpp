// Code generation to an object in memory, with the statepoint check (statepoint_check.cpp) in
// the pipeline and its fixups written by the AsmPrinter (fixup_section.cpp).
//
// LLVMTargetMachineEmitToMemoryBuffer cannot take an extra machine pass, so this builds the
// legacy pipeline the way it and LLVMTargetMachine::addPassesToEmitFile do (same data layout,
// same passes, verifier off as the C API leaves it) and only adds the check, which analyses
// and changes no code: the object is byte for byte what the C API would write, plus the
// non-allocated `.unimig.fixups` section when there are fixups.
#include "fixup_section.h"
#include "statepoint_check.h"

#include "llvm-c/Core.h"
#include "llvm-c/TargetMachine.h"
#include "llvm/ADT/SmallVector.h"
#include "llvm/CodeGen/AsmPrinter.h"
#include "llvm/CodeGen/AsmPrinterHandler.h"
#include "llvm/CodeGen/MachineFunctionPass.h"
#include "llvm/CodeGen/MachineModuleInfo.h"
#include "llvm/CodeGen/Passes.h"
#include "llvm/CodeGen/TargetPassConfig.h"
#include "llvm/IR/LegacyPassManager.h"
#include "llvm/IR/Module.h"
#include "llvm/Support/raw_ostream.h"
#include "llvm/MC/MCStreamer.h"
#include "llvm/MC/TargetRegistry.h"
#include "llvm/Target/TargetMachine.h"

#include <cstring>

using namespace llvm;

extern "C" {

// Generates the object for `module` into *object (free it with LLVMDisposeMemoryBuffer). With
// `check_statepoints`, the check runs right before prologue/epilogue insertion (after shrink
// wrapping, the last pass before it at every level but -O0, where no statepoints are made) and
// *violations and *fixed receive its reports (StatepointCheckResult in statepoint_check.h; free
// with LLVMDisposeMessage, NULL when empty). Returns 0, or 1 with *error set (free with
// LLVMDisposeMessage).
int unimig_emit_object(LLVMTargetMachineRef tm_ref, LLVMModuleRef module_ref,
                       int check_statepoints, LLVMMemoryBufferRef *object, char **violations,
                       char **fixed, char **error) {
  *object = nullptr;
  *violations = nullptr;
  *fixed = nullptr;
  *error = nullptr;
  auto *tm = static_cast<LLVMTargetMachine *>(reinterpret_cast<TargetMachine *>(tm_ref));
  Module &module = *unwrap(module_ref);
  module.setDataLayout(tm->createDataLayout());

  legacy::PassManager pm;
  auto *mmi = new MachineModuleInfoWrapperPass(tm);
  TargetPassConfig *config = tm->createPassConfig(pm);
  config->setDisableVerify(true);
  pm.add(config);
  pm.add(mmi);

  unimig::StatepointCheckResult result;
  MachineFunctionPass *check = nullptr;
  if (check_statepoints) {
    // 2: the stackmap pipeline without the check (to test that the check changes nothing).
    if (check_statepoints == 1) {
      check = unimig::createStatepointCheck(result);
      config->insertPass(&ShrinkWrapID, check);
    }
    // The check runs before prologue insertion; these later passes can make a value live
    // across a call after it looked: branch folding hoists identical instructions (a poll
    // counter's reset `mov w23, #64`) from both successors of a branch into the block before
    // it, above a call; the late cleanup deletes a constant's redefinition after a call when
    // the callee-saved register still holds it. Neither is worth a silent wrong value.
    config->disablePass(&BranchFolderPassID);
    config->disablePass(&MachineLateInstrsCleanupID);
  }
  if (config->addISelPasses() || !TargetPassConfig::willCompleteCodeGenPipeline()) {
    *error = LLVMCreateMessage("cannot build the code generation pipeline");
    delete check;
    return 1;
  }
  config->addMachinePasses();
  config->setInitialized();

  SmallVector<char, 0> bytes;
  raw_svector_ostream out(bytes);
  // What addAsmPrinter does, keeping the printer to attach the fixup section writer.
  Expected<std::unique_ptr<MCStreamer>> streamer =
      tm->createMCStreamer(out, nullptr, CodeGenFileType::ObjectFile, mmi->getMMI().getContext());
  if (!streamer) {
    *error = LLVMCreateMessage(toString(streamer.takeError()).c_str());
    return 1;
  }
  AsmPrinter *printer = tm->getTarget().createAsmPrinter(*tm, std::move(*streamer));
  if (!printer) {
    *error = LLVMCreateMessage("the target cannot emit an object file");
    return 1;
  }
  if (check)
    printer->addAsmPrinterHandler(unimig::createFixupSectionWriter(*printer, result));
  pm.add(printer);
  pm.add(createFreeMachineFunctionPass());
  pm.run(module);

  if (check && !result.scheduled) {
    // Shrink wrapping was not in the pipeline, so neither was the check (nor does the pass
    // manager own it): fail rather than report nothing unchecked.
    delete check;
    *error = LLVMCreateMessage("the statepoint check was not scheduled (no shrink-wrap pass)");
    return 1;
  }
  *object = LLVMCreateMemoryBufferWithMemoryRangeCopy(bytes.data(), bytes.size(), "object");
  if (!result.violations.empty())
    *violations = LLVMCreateMessage(result.violations.c_str());
  if (!result.fixed.empty())
    *fixed = LLVMCreateMessage(result.fixed.c_str());
  return 0;
}

}  // extern "C"
