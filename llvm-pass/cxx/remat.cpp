// Reaching definitions of a register or spill slot, reduced to a recipe (remat.h).
//
// The walk goes backward from the statepoint through the block and then through every
// predecessor, stopping on each path at the instruction that defines the place. COPYs and spill
// stores are followed to their source register; every other definition must be one of the
// instructions below, with operands that leave no doubt about the value. Opcodes are matched by
// name because the targets' opcode enums are not in LLVM's installed headers; the names are
// those of the post-register-allocation, pre-expansion machine code this pass sees (pseudos such
// as MOVi64imm, MOVaddr and MOV32r0 are expanded only after prologue insertion).
#include "remat.h"

#include "llvm/ADT/DenseSet.h"
#include "llvm/ADT/SmallVector.h"
#include "llvm/CodeGen/MachineBasicBlock.h"
#include "llvm/CodeGen/MachineConstantPool.h"
#include "llvm/CodeGen/MachineFunction.h"
#include "llvm/CodeGen/MachineInstr.h"
#include "llvm/CodeGen/TargetInstrInfo.h"
#include "llvm/CodeGen/TargetRegisterInfo.h"
#include "llvm/CodeGen/TargetSubtargetInfo.h"
#include "llvm/IR/Constants.h"
#include "llvm/IR/GlobalValue.h"
#include "llvm/Support/raw_ostream.h"

using namespace llvm;

namespace unimig {

raw_ostream &operator<<(raw_ostream &out, const Recipe &r) {
  auto symbol = [&]() -> raw_ostream & {
    if (r.global)
      out << r.global->getName();
    else
      out << r.external;
    if (r.value)
      out << (r.value > 0 ? "+" : "") << r.value;
    return out;
  };
  switch (r.kind) {
  case Recipe::Constant:
    return out << "const:" << r.value;
  case Recipe::SymbolAddress:
    out << "addr:";
    return symbol();
  case Recipe::SymbolPage:
    out << "page:";
    return symbol();
  case Recipe::ThreadPointer:
    return out << "tp";
  case Recipe::LiveValue:
    out << "loc:" << r.value;
    if (r.addend)
      out << (r.addend > 0 ? "+" : "") << r.addend;
    return out;
  case Recipe::PassThrough:
    return out << "callers";
  case Recipe::ConstantPoolPage:
    return out << "pool-page:" << r.value;
  }
  return out;
}

namespace {

// Instructions examined per query: enough for large functions, small enough that a pathological
// one cannot make compilation slow (the place then stays unsafe).
constexpr unsigned kBudget = 20000;
// MRS operand of TPIDR_EL0: op0=3 op1=3 CRn=13 CRm=0 op2=2.
constexpr int64_t kTpidrEl0 = 0xde82;
// AArch64 operand flags (AArch64BaseInfo.h, not installed): MO_PAGE on ADRP's operand, MO_PAGEOFF
// with MO_NC on the ADD of the low 12 bits. Anything else (GOT, TLS, tagged) does not qualify.
constexpr unsigned kAArch64Page = 1;
constexpr unsigned kAArch64PageOffNC = 2 | 0x20;

enum class Def { None, Full, Other };

class Tracer {
public:
  Tracer(const MachineFunction &mf, unsigned &budget)
      : tri(*mf.getSubtarget().getRegisterInfo()), tii(*mf.getSubtarget().getInstrInfo()),
        budget(budget) {}

  std::optional<Recipe> run(const MachineInstr &at, Place place) {
    work.push_back({at.getParent(), at.getIterator(), place});
    while (!work.empty() && !failed) {
      Item item = work.pop_back_val();
      walk(item);
    }
    if (failed)
      return std::nullopt;
    return found;
  }

private:
  struct Item {
    const MachineBasicBlock *mbb;
    MachineBasicBlock::const_iterator end;  // examine the instructions before this one
    Place place;
  };

  static int64_t key(Place p) {
    return p.isReg() ? int64_t(p.reg.id()) : -int64_t(p.frame_index) - (int64_t(1) << 40);
  }

  void walk(const Item &item) {
    const MachineBasicBlock &mbb = *item.mbb;
    for (auto it = item.end; it != mbb.begin();) {
      --it;
      const MachineInstr &mi = *it;
      if (budget == 0 || --budget == 0)
        return fail();
      if (mi.isDebugInstr())
        continue;
      if (item.place.isReg()) {
        switch (defines(mi, item.place.reg)) {
        case Def::None:
          continue;
        case Def::Other:
          return fail();
        case Def::Full:
          return definition(mi);
        }
      }
      int fi = 0;
      if (Register src = tii.isStoreToStackSlot(mi, fi); src && fi == item.place.frame_index) {
        work.push_back({&mbb, it, Place{src}});
        return;
      }
      if (mi.mayStore())
        for (const MachineOperand &mo : mi.operands())
          if (mo.isFI() && mo.getIndex() == item.place.frame_index)
            return fail();
    }
    // The start of the block: at the function's entry a callee-saved register holds its
    // caller's value (pass-through); an argument (or a landing pad's value) is no recipe;
    // otherwise every predecessor's definition counts.
    if (mbb.pred_empty() && !mbb.isEHPad() && item.place.isReg() &&
        isCalleeSaved(*mbb.getParent(), item.place.reg)) {
      Recipe r;
      r.kind = Recipe::PassThrough;
      if (!found)
        found = r;
      else if (!(*found == r))
        fail();
      return;
    }
    if (mbb.pred_empty() || mbb.isEHPad())
      return fail();
    for (const MachineBasicBlock *pred : mbb.predecessors())
      if (visited.insert({pred, key(item.place)}).second)
        work.push_back({pred, pred->end(), item.place});
  }

  // Whether `mi` writes `reg`: all of it (it defines `reg` or a register containing it), some
  // of it, or nothing.
  Def defines(const MachineInstr &mi, Register reg) const {
    bool full = false, partial = false;
    for (const MachineOperand &mo : mi.operands()) {
      if (mo.isRegMask() && mo.clobbersPhysReg(reg))
        return Def::Other;
      if (!mo.isReg() || !mo.isDef() || !mo.getReg() || !tri.regsOverlap(mo.getReg(), reg))
        continue;
      if (mo.getReg() == reg || tri.isSubRegister(mo.getReg(), reg))
        full = true;
      else
        partial = true;
    }
    if (full)
      return Def::Full;
    return partial ? Def::Other : Def::None;
  }

  // `mi` defines the place: record its recipe, follow a copy, or fail.
  void definition(const MachineInstr &mi) {
    if (mi.isCopy()) {
      const MachineOperand &src = mi.getOperand(1);
      if (!src.getReg().isPhysical() || src.getSubReg())
        return fail();
      work.push_back({mi.getParent(), mi.getIterator(), Place{src.getReg()}});
      return;
    }
    std::optional<Recipe> r = recognise(mi);
    if (!r)
      return fail();
    if (!found)
      found = r;
    else if (!(*found == *r))
      fail();
  }

  std::optional<Recipe> recognise(const MachineInstr &mi) {
    StringRef name = tii.getName(mi.getOpcode());
    auto op = [&](unsigned i) -> const MachineOperand * {
      return i < mi.getNumOperands() ? &mi.getOperand(i) : nullptr;
    };
    auto imm = [&](unsigned i, int64_t v) {
      const MachineOperand *mo = op(i);
      return mo && mo->isImm() && mo->getImm() == v;
    };
    auto constant = [](int64_t v) {
      Recipe r;
      r.kind = Recipe::Constant;
      r.value = v;
      return r;
    };
    // A symbol operand with exactly the given target flags.
    auto symbol = [&](unsigned i, unsigned flags, Recipe::Kind kind) -> std::optional<Recipe> {
      const MachineOperand *mo = op(i);
      if (!mo || mo->getTargetFlags() != flags)
        return std::nullopt;
      Recipe r;
      r.kind = kind;
      if (mo->isGlobal())
        r.global = mo->getGlobal();
      else if (mo->isSymbol())
        r.external = mo->getSymbolName();
      else
        return std::nullopt;
      r.value = mo->getOffset();
      return r;
    };
    // An immediate or a plain (absolute) symbol, as x86-64 `mov $x, %reg` takes.
    auto immOrSymbol = [&](unsigned i, bool zext32) -> std::optional<Recipe> {
      const MachineOperand *mo = op(i);
      if (mo && mo->isImm())
        return constant(zext32 ? int64_t(uint32_t(mo->getImm())) : mo->getImm());
      return symbol(i, 0, Recipe::SymbolAddress);
    };

    // AArch64.
    if (name == "MOVi32imm" || name == "MOVZWi")
      if (const MachineOperand *mo = op(1); mo && mo->isImm()) {
        int64_t shift = name == "MOVZWi" ? op(2)->getImm() : 0;
        return constant(int64_t(uint32_t(uint64_t(mo->getImm()) << shift)));
      }
    if (name == "MOVi64imm" || name == "MOVZXi")
      if (const MachineOperand *mo = op(1); mo && mo->isImm()) {
        int64_t shift = name == "MOVZXi" ? op(2)->getImm() : 0;
        return constant(int64_t(uint64_t(mo->getImm()) << shift));
      }
    if (name == "ADRP")
      return symbol(1, kAArch64Page, Recipe::SymbolPage);
    if (name == "MOVaddr") {
      std::optional<Recipe> hi = symbol(1, kAArch64Page, Recipe::SymbolAddress);
      std::optional<Recipe> lo = symbol(2, kAArch64PageOffNC, Recipe::SymbolAddress);
      return hi && lo && *hi == *lo ? hi : std::nullopt;
    }
    if (name == "ADDXri" && imm(3, 0) && op(1)->isReg() && op(1)->getReg().isPhysical()) {
      // ADRP + ADD :lo12: is the full address when the ADD's base is that symbol's page.
      std::optional<Recipe> lo = symbol(2, kAArch64PageOffNC, Recipe::SymbolAddress);
      if (!lo)
        return std::nullopt;
      Tracer base(*mi.getMF(), budget);
      std::optional<Recipe> page = base.run(mi, Place{op(1)->getReg()});
      if (!page || page->kind != Recipe::SymbolPage || page->global != lo->global ||
          page->external != lo->external || page->value != lo->value)
        return std::nullopt;
      return lo;
    }
    // Before prologue insertion AArch64 reads the thread pointer with the MOVbaseTLS pseudo
    // (expanded to MRS TPIDR_EL0 later); after it, the MRS itself.
    if (name == "MOVbaseTLS" || (name == "MRS" && imm(1, kTpidrEl0))) {
      Recipe r;
      r.kind = Recipe::ThreadPointer;
      return r;
    }

    // AArch64 floating-point constants: FMOV's 8-bit immediate, zero, or a load from the
    // constant pool through ADRP (the base's reaching definition must be that page).
    if (name == "FMOVD0" || name == "FMOVS0")
      return constant(0);
    if ((name == "FMOVDi" || name == "FMOVSi") && op(1) && op(1)->isImm())
      return constant(int64_t(expandFPImm8(uint8_t(op(1)->getImm()), name == "FMOVDi")));
    if ((name == "LDRDui" || name == "LDRSui") && op(1) && op(1)->isReg() &&
        op(1)->getReg().isPhysical() && op(2) && op(2)->isCPI() &&
        op(2)->getTargetFlags() == kAArch64PageOffNC) {
      Tracer base(*mi.getMF(), budget);
      std::optional<Recipe> page = base.run(mi, Place{op(1)->getReg()});
      if (!page || page->kind != Recipe::ConstantPoolPage || page->value != op(2)->getIndex())
        return std::nullopt;
      return poolConstant(*op(2), name == "LDRDui" ? 8 : 4);
    }
    if (name == "ADRP" && op(1) && op(1)->isCPI() && op(1)->getTargetFlags() == kAArch64Page &&
        op(1)->getOffset() == 0) {
      Recipe r;
      r.kind = Recipe::ConstantPoolPage;
      r.value = op(1)->getIndex();
      return r;
    }

    // x86-64 scalar floating-point loads from the constant pool: `movsd .LCPI(%rip), %xmm`.
    if (name == "MOVSDrm" || name == "MOVSDrm_alt" || name == "VMOVSDrm" ||
        name == "VMOVSDrm_alt" || name == "MOVSSrm" || name == "MOVSSrm_alt" ||
        name == "VMOVSSrm" || name == "VMOVSSrm_alt") {
      const MachineOperand *base = op(1), *index = op(3), *disp = op(4), *seg = op(5);
      bool rip = base && base->isReg() && base->getReg() &&
                 StringRef(tri.getName(base->getReg())) == "RIP";
      if (rip && imm(2, 1) && index && index->isReg() && !index->getReg() && disp &&
          disp->isCPI() && seg && seg->isReg() && !seg->getReg())
        return poolConstant(*disp, name.contains("SD") ? 8 : 4);
    }

    // x86-64 (32-bit writes zero the upper half).
    if (name == "MOV32r0")
      return constant(0);
    if (name == "MOV32ri" || name == "MOV32ri64")
      return immOrSymbol(1, true);
    if (name == "MOV64ri" || name == "MOV64ri32")
      return immOrSymbol(1, false);
    if (name == "LEA64r") {
      // lea sym(%rip), %reg or lea sym, %reg: base RIP or none, no index, no segment.
      const MachineOperand *base = op(1);
      bool rip = base && base->isReg() &&
                 (!base->getReg() || StringRef(tri.getName(base->getReg())) == "RIP");
      const MachineOperand *index = op(3), *seg = op(5);
      if (rip && imm(2, 1) && index && index->isReg() && !index->getReg() && seg &&
          seg->isReg() && !seg->getReg())
        return symbol(4, 0, Recipe::SymbolAddress);
    }
    return std::nullopt;
  }

  void fail() { failed = true; }

  // The bit pattern of an FMOV immediate (imm8 = a:b:cd:efgh, the architecture's
  // VFPExpandImm): sign a, exponent NOT(b) then b repeated then cd, fraction efgh then zeros.
  static uint64_t expandFPImm8(uint8_t imm8, bool is_double) {
    uint64_t a = imm8 >> 7, b = (imm8 >> 6) & 1, cd = (imm8 >> 4) & 3, efgh = imm8 & 15;
    if (is_double)
      return a << 63 | (b ^ 1) << 62 | (b ? 0xffull : 0) << 54 | cd << 52 | efgh << 48;
    return a << 31 | (b ^ 1) << 30 | (b ? 0x1full : 0) << 25 | cd << 23 | efgh << 19;
  }

  // The constant-pool entry `mo` names, as the `bytes`-byte integer a load of it gives:
  // a floating-point or integer constant of exactly that size at offset 0, nothing else.
  std::optional<Recipe> poolConstant(const MachineOperand &mo, unsigned bytes) const {
    const MachineConstantPool *pool = mo.getParent()->getMF()->getConstantPool();
    if (mo.getOffset() != 0 || mo.getIndex() < 0 ||
        unsigned(mo.getIndex()) >= pool->getConstants().size())
      return std::nullopt;
    const MachineConstantPoolEntry &entry = pool->getConstants()[mo.getIndex()];
    if (entry.isMachineConstantPoolEntry())
      return std::nullopt;
    APInt bits;
    if (const auto *f = dyn_cast<ConstantFP>(entry.Val.ConstVal))
      bits = f->getValueAPF().bitcastToAPInt();
    else if (const auto *i = dyn_cast<ConstantInt>(entry.Val.ConstVal))
      bits = i->getValue();
    else
      return std::nullopt;
    if (bits.getBitWidth() != bytes * 8)
      return std::nullopt;
    Recipe r;
    r.kind = Recipe::Constant;
    r.value = int64_t(bits.getZExtValue());
    return r;
  }

  const TargetRegisterInfo &tri;
  const TargetInstrInfo &tii;
  unsigned &budget;
  SmallVector<Item, 8> work;
  DenseSet<std::pair<const MachineBasicBlock *, int64_t>> visited;
  std::optional<Recipe> found;
  bool failed = false;
};

}  // namespace

bool isCalleeSaved(const MachineFunction &mf, Register reg) {
  const TargetRegisterInfo &tri = *mf.getSubtarget().getRegisterInfo();
  for (const MCPhysReg *c = tri.getCalleeSavedRegs(&mf); c && *c; ++c)
    if (tri.regsOverlap(reg, *c))
      return true;
  return false;
}

std::optional<Recipe> reachingRecipe(const MachineInstr &at, Place place) {
  unsigned budget = kBudget;
  return Tracer(*at.getMF(), budget).run(at, place);
}

}  // namespace unimig
