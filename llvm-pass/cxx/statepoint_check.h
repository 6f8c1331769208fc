// The machine-level check of statepoint live values (statepoint_check.cpp), as the code
// generator driver (emit.cpp) inserts it into the legacy pipeline.
#pragma once

#include <string>

namespace llvm {
class MachineFunctionPass;
}

namespace unimig {

// What the check found in one module.
struct StatepointCheckResult {
  // One line per statepoint with values live across it that are not its deopt operands:
  // "<statepoint id>\t<function>\t<item> <item>...\n"; an item is a register (`x20=ADRP`: the
  // opcode of its last definition before the statepoint in the same block, `x20=live-in` if
  // none) or a spill slot (`slot#3`, frame index).
  std::string violations;
  // Set when the pass was scheduled (its doInitialization ran): the driver then knows the
  // pass manager owns it and that every function was checked.
  bool scheduled = false;
};

// A new check pass reporting into `result` (which must outlive the pass manager run).
llvm::MachineFunctionPass *createStatepointCheck(StatepointCheckResult &result);

}  // namespace unimig
