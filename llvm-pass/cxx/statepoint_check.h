// The machine-level check of statepoint live values (statepoint_check.cpp), as the code
// generator driver (emit.cpp) inserts it into the legacy pipeline, and the fixups it finds
// (written to `.unimig.fixups` by fixup_section.cpp).
#pragma once

#include "remat.h"

#include <cstdint>
#include <string>
#include <vector>

namespace llvm {
class Function;
class MachineFunctionPass;
}  // namespace llvm

namespace unimig {

// A value live across a statepoint that its record does not list but whose content is a recipe:
// the transformer writes it into the destination frame instead of carrying it.
struct Fixup {
  uint64_t id;                   // the statepoint's record ID
  const llvm::Function *function;
  Place place;                   // a physical register, or a spill slot (frame index)
  unsigned size;                 // bytes of the register or slot
  Recipe recipe;
};

// What the check found in one module.
struct StatepointCheckResult {
  // One line per statepoint with values live across it that are not its recorded operands and
  // not all recipes: "<statepoint id>\t<function>\t<item> <item>...\n"; an item is a register
  // (`x20=ADRP`: the opcode of its last definition before the statepoint in the same block,
  // `x20=live-in` if none) or a spill slot (`slot#3`, frame index).
  std::string violations;
  // One line per statepoint whose unlisted values are all recipes (it gets fixups instead):
  // "<statepoint id>\t<function>\t<item>=<recipe> ...\n" (`x26=page:__unimig_migrate_requested`,
  // `slot#2=const:64`, `x24=tp`).
  std::string fixed;
  // The fixups of the `fixed` statepoints, in order.
  std::vector<Fixup> fixups;
  // Set when the pass was scheduled (its doInitialization ran): the driver then knows the
  // pass manager owns it and that every function was checked.
  bool scheduled = false;
};

// A new check pass reporting into `result` (which must outlive the pass manager run).
llvm::MachineFunctionPass *createStatepointCheck(StatepointCheckResult &result);

}  // namespace unimig
