// Which registers and spill slots hold the same value at a statepoint, after register
// allocation (value_classes.cpp).
//
// The register allocator often keeps two copies of a value live across a call: the register or
// slot the statepoint's record lists, and a spill slot (or another register) the code after
// the call reads. The second copy is not in the record, but it is provably the same value, so
// the transformer can write the recorded value there too (a "live value" fixup, remat.h).
#pragma once

#include "remat.h"

#include "llvm/ADT/DenseMap.h"

#include <cstdint>
#include <memory>
#include <optional>

namespace llvm {
class MachineFunction;
class MachineInstr;
}  // namespace llvm

namespace unimig {

// A view of a place: a physical register (as named, so `w19` and `x19` are two views), or the
// first `bytes` bytes of a spill slot.
struct View {
  llvm::Register reg;
  int frame_index = 0;
  unsigned bytes = 0;  // for a slot
  static View ofReg(llvm::Register r) { return View{r, 0, 0}; }
  static View ofSlot(int fi, unsigned bytes) { return View{llvm::Register(), fi, bytes}; }
};

// Equal-value classes just before each statepoint of a function: a forward must-analysis in
// which copies, spills and reloads keep a value's class, a 32-bit general-purpose write gives
// the 64-bit register the zero extension of its class, x86-64 `movzx` the zero extension of
// an 8/16-bit register's class, an 8/16-bit write leaves an implicitly defined wider register
// meaning only its low bits, and every other write gives a new class.
class ValueClasses {
public:
  explicit ValueClasses(const llvm::MachineFunction &mf);
  ~ValueClasses();

  // How `unlisted` relates to `listed` just before the statepoint `sp`: equal (the same
  // bytes), the zero extension of a 32-bit `listed`, a narrow value (or a register whose
  // upper bits are undefined) that is `listed`'s low 8 or 16 bits, or unknown. In each known
  // case, writing `listed`'s value (zero-extended) in `unlisted`'s size gives `unlisted` what
  // the code reads from it.
  // Offset: `unlisted` (8 bytes) is `listed` (8 bytes) plus `*addend`.
  enum class Relation { Unknown, Equal, ZeroExtended, LowBits, Offset };
  Relation relate(const llvm::MachineInstr &sp, View unlisted, View listed,
                  int64_t *addend) const;

  // The constant `v` provably holds just before the statepoint `sp` on every path (a constant
  // written on each path, possibly in another block, and copied or spilled since), if any;
  // 0 for a spill slot that no path has written yet (its content is undefined, so the code
  // cannot depend on it).
  std::optional<uint64_t> constant(const llvm::MachineInstr &sp, View v) const;

private:
  struct Impl;
  std::unique_ptr<Impl> impl;
};

}  // namespace unimig
