// Recognising values whose content is a link-time or per-thread constant ("recipes"), so that a
// migration can give the destination frame the right value instead of carrying it.
#pragma once

#include "llvm/CodeGen/Register.h"

#include <cstdint>
#include <optional>
#include <string>

namespace llvm {
class GlobalValue;
class MachineFunction;
class MachineInstr;
class raw_ostream;
}  // namespace llvm

namespace unimig {

// What a value is, independent of where it lives. Every global, function and string literal
// has the same address in both ISA images (ld.unimig), and the main thread's thread pointer is
// fixed, so each recipe means the same thing on both sides of a migration.
struct Recipe {
  enum Kind : uint8_t {
    Constant = 0,       // `value`
    SymbolAddress = 1,  // symbol + `value`
    SymbolPage = 2,     // (symbol + `value`) & ~0xfff: AArch64 ADRP
    ThreadPointer = 3,  // AArch64 TPIDR_EL0 (x86-64 code reads %fs:0 from memory, not a register)
    // The same value as the record's location number `value` (counting the statepoint's
    // three header constants), zero-extended to the place's size, plus `addend`: a second
    // copy the register allocator kept, or an address derived from a recorded one
    // (value_classes.h). Not a reaching-definition recipe: the check finds it.
    LiveValue = 4,
    // A callee-saved register still holding the caller's value (not written on any path from
    // the function's entry): nothing to fix, the transformer's register homes carry the
    // outer frames' values through this frame. Never written to the section.
    PassThrough = 5,
    // The page of constant-pool entry `value` (AArch64 ADRP): only a step towards the
    // constant a load from it gives; the section cannot name a function's pool entry, so a
    // place holding the page itself gets no fixup.
    ConstantPoolPage = 6,
  };
  Kind kind = Constant;
  int64_t value = 0;
  // For symbol recipes: a global, or else the name of an external symbol (libcalls).
  const llvm::GlobalValue *global = nullptr;
  std::string external;
  // For LiveValue: added to the location's value (a field or local address next to its base).
  int64_t addend = 0;

  bool operator==(const Recipe &o) const {
    return kind == o.kind && value == o.value && global == o.global &&
           external == o.external && addend == o.addend;
  }
  bool isSymbol() const { return kind == SymbolAddress || kind == SymbolPage; }
};

llvm::raw_ostream &operator<<(llvm::raw_ostream &out, const Recipe &r);

// A location a value can be traced in, before prologue insertion: a physical register or a
// spill slot (frame index).
struct Place {
  llvm::Register reg;  // valid for a register
  int frame_index = 0; // used when `reg` is not valid
  bool isReg() const { return reg.isValid(); }
};

// The single recipe that every reaching definition of `place` just before `at` follows, or
// nothing when some definition is not a recipe, definitions disagree, or a path reaches the
// function's entry (an argument). Follows COPYs and spill stores; gives up after a bounded
// amount of work, so anything unusual stays unproven.
std::optional<Recipe> reachingRecipe(const llvm::MachineInstr &at, Place place);

// Whether `reg` overlaps one of the registers `mf`'s calling convention preserves.
bool isCalleeSaved(const llvm::MachineFunction &mf, llvm::Register reg);

}  // namespace unimig
