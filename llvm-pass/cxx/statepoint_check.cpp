// A machine pass that finds values live across a statepoint that its stackmap record does not
// list.
//
// Migration rebuilds a frame on the other ISA from the record at its call site, so every value
// the code after the call reads must be one of the statepoint's recorded operands. Code
// generation can break that behind the instrumentation's back: an IR pass inside the code
// generator (loop strength reduction, CodeGenPrepare, constant hoisting) or a machine pass
// (MachineLICM, MachineCSE, SelectionDAG CSE) can make one value serve code on both sides of a
// call. Such a value sits in a callee-saved register or a spill slot the record does not
// mention, and after migration it would be garbage.
//
// The pass runs after register allocation and before prologue/epilogue insertion (spill slots
// are still frame indices). For every STATEPOINT it computes the physical registers live after
// it (LivePhysRegs, stepping backward from the block's live-outs) and the spill slots live
// after it (a backward dataflow over the function: a full store to a slot kills it, any other
// reference reads it), and looks at whatever is neither a recorded operand (deopt values, and
// the gc pointers of the relocated "gc-live" form) nor exempt: the stack pointer, the frame
// pointer of a function that has one, reserved registers, and registers the statepoint itself
// defines (the call's result, relocated gc pointers). If every such value is a link-time or
// per-thread constant (remat.h: every reaching definition is the same recipe), the statepoint
// gets fixups; otherwise it is reported as a violation (its site is unsafe).
#include "statepoint_check.h"
#include "value_classes.h"

#include "llvm/ADT/BitVector.h"
#include "llvm/ADT/SmallPtrSet.h"
#include "llvm/ADT/SmallVector.h"
#include "llvm/CodeGen/LivePhysRegs.h"
#include "llvm/CodeGen/MachineFrameInfo.h"
#include "llvm/CodeGen/MachineFunction.h"
#include "llvm/CodeGen/MachineFunctionPass.h"
#include "llvm/CodeGen/MachineRegisterInfo.h"
#include "llvm/CodeGen/StackMaps.h"
#include "llvm/CodeGen/TargetFrameLowering.h"
#include "llvm/CodeGen/TargetInstrInfo.h"
#include "llvm/CodeGen/TargetRegisterInfo.h"
#include "llvm/CodeGen/TargetSubtargetInfo.h"
#include "llvm/Support/raw_ostream.h"

using namespace llvm;
using unimig::Fixup;
using unimig::Place;
using unimig::Recipe;
using unimig::reachingRecipe;
using unimig::View;

namespace {

// Which spill slots are live (will be read before being overwritten) at each point of a
// function. Slots are numbered from the first fixed object, so a bit vector holds them all.
class SpillSlotLiveness {
public:
  SpillSlotLiveness(const MachineFunction &mf)
      : mfi(mf.getFrameInfo()), tii(*mf.getSubtarget().getInstrInfo()),
        first(mfi.getObjectIndexBegin()), size(mfi.getObjectIndexEnd() - first) {
    for (const MachineBasicBlock &mbb : mf)
      live_in.try_emplace(&mbb, size);
    // Iterate to the fixed point; each pass walks every block backward from its live-outs.
    for (bool changed = true; changed;) {
      changed = false;
      for (const MachineBasicBlock &mbb : reverse(mf)) {
        BitVector live = liveOut(mbb);
        for (const MachineInstr &mi : reverse(mbb))
          stepBackward(mi, live);
        BitVector &old = live_in[&mbb];
        if (live != old) {
          old = live;
          changed = true;
        }
      }
    }
  }

  BitVector liveOut(const MachineBasicBlock &mbb) const {
    BitVector live(size);
    for (const MachineBasicBlock *succ : mbb.successors())
      live |= live_in.lookup(succ);
    return live;
  }

  void stepBackward(const MachineInstr &mi, BitVector &live) const {
    int fi = 0;
    if (tii.isStoreToStackSlot(mi, fi) && isSpill(fi)) {
      live.reset(index(fi));
      return;
    }
    // Reloads, and anything else that names a slot (a folded memory operand, a statepoint's
    // indirect location) reads it.
    for (const MachineOperand &mo : mi.operands())
      if (mo.isFI() && isSpill(mo.getIndex()))
        live.set(index(mo.getIndex()));
  }

  bool isSpill(int fi) const { return mfi.isSpillSlotObjectIndex(fi); }
  unsigned index(int fi) const { return unsigned(fi - first); }
  int frameIndex(unsigned index) const { return int(index) + first; }

private:
  const MachineFrameInfo &mfi;
  const TargetInstrInfo &tii;
  int first;
  unsigned size;
  DenseMap<const MachineBasicBlock *, BitVector> live_in;
};

class StatepointCheck : public MachineFunctionPass {
public:
  static char ID;
  explicit StatepointCheck(unimig::StatepointCheckResult &result)
      : MachineFunctionPass(ID), result(result) {}

  StringRef getPassName() const override { return "unimig statepoint live-value check"; }

  void getAnalysisUsage(AnalysisUsage &au) const override {
    au.setPreservesAll();
    MachineFunctionPass::getAnalysisUsage(au);
  }

  bool doInitialization(Module &) override {
    result.scheduled = true;
    return false;
  }

  bool runOnMachineFunction(MachineFunction &mf) override {
    bool any = false;
    for (const MachineBasicBlock &mbb : mf)
      for (const MachineInstr &mi : mbb)
        any |= mi.getOpcode() == TargetOpcode::STATEPOINT;
    if (!any)
      return false;
    classes.reset();
    SpillSlotLiveness slots(mf);
    const TargetRegisterInfo &tri = *mf.getSubtarget().getRegisterInfo();
    for (const MachineBasicBlock &mbb : mf) {
      LivePhysRegs regs(tri);
      regs.addLiveOutsNoPristines(mbb);
      BitVector live_slots = slots.liveOut(mbb);
      for (const MachineInstr &mi : reverse(mbb)) {
        if (mi.getOpcode() == TargetOpcode::STATEPOINT)
          check(mi, regs, live_slots, slots);
        regs.stepBackward(mi);
        slots.stepBackward(mi, live_slots);
      }
    }
    return false;
  }

private:
  // Compares what is live right after `sp` with its deopt operands.
  void check(const MachineInstr &sp, const LivePhysRegs &regs, const BitVector &live_slots,
             const SpillSlotLiveness &slots) {
    const MachineFunction &mf = *sp.getMF();
    const TargetRegisterInfo &tri = *mf.getSubtarget().getRegisterInfo();
    const MachineRegisterInfo &mri = mf.getRegInfo();
    StatepointOpers opers(&sp);

    // What the record lists: the deopt values, and the gc pointers (base and derived of each
    // pair are among them) of the relocated form.
    SmallVector<Register, 16> deopt_regs;
    BitVector deopt_slots(live_slots.size());
    // Each deopt value's place with its location number in the record (after the record's
    // three header constants: calling convention, flags, number of deopt values).
    SmallVector<std::pair<View, unsigned>, 16> listed;
    auto recorded = [&](unsigned idx, uint64_t n, bool deopt) {
      for (unsigned ordinal = 0; n > 0; --n, ++ordinal) {
        unsigned next = StackMaps::getNextMetaArgIdx(&sp, idx);
        for (unsigned k = idx; k < next; ++k) {
          const MachineOperand &mo = sp.getOperand(k);
          if (mo.isReg() && mo.getReg().isPhysical())
            deopt_regs.push_back(mo.getReg());
          else if (mo.isFI() && slots.isSpill(mo.getIndex()))
            deopt_slots.set(slots.index(mo.getIndex()));
        }
        if (deopt)
          if (std::optional<View> v = listedView(sp, idx))
            listed.push_back({*v, 3 + ordinal});
        idx = next;
      }
    };
    recorded(opers.getNumDeoptArgsIdx() + 1, opers.getNumDeoptArgs(), true);
    if (int first = opers.getFirstGCPtrIdx(); first >= 0)
      recorded(unsigned(first), sp.getOperand(opers.getNumGCPtrIdx()).getImm(), false);

    Register frame = mf.getSubtarget().getFrameLowering()->hasFP(mf)
                         ? tri.getFrameRegister(mf)
                         : Register();
    // Callee-saved registers this function never writes hold its caller's values all
    // along: they pass through the frame (the transformer gives each such register the
    // value an outer frame's record has for it), so they are not this frame's to record.
    auto pass_through = [&](MCPhysReg r) {
      if (!unimig::isCalleeSaved(mf, r))
        return false;
      for (MCRegAliasIterator a(r, &tri, true); a.isValid(); ++a)
        if (mri.isPhysRegModified(*a))
          return false;
      return true;
    };
    auto exempt = [&](MCPhysReg r) {
      if (mri.isReserved(r) || (frame && tri.regsOverlap(r, frame)) || pass_through(r))
        return true;
      for (const MachineOperand &mo : sp.operands())
        if (mo.isReg() && mo.isDef() && mo.getReg() && tri.regsOverlap(r, mo.getReg()))
          return true;
      for (Register d : deopt_regs)
        if (tri.regsOverlap(r, d))
          return true;
      return false;
    };
    SmallVector<MCPhysReg, 8> bad;
    for (MCPhysReg r : regs)
      if (!exempt(r))
        bad.push_back(r);
    // LivePhysRegs holds a register with all its sub-registers: name the widest only.
    SmallVector<MCPhysReg, 8> widest;
    for (MCPhysReg r : bad)
      if (none_of(bad, [&](MCPhysReg s) { return s != r && tri.isSuperRegister(r, s); }))
        widest.push_back(r);

    BitVector bad_slots = live_slots;
    bad_slots.reset(deopt_slots);
    if (widest.empty() && bad_slots.none())
      return;

    // Fixups if every unlisted value is a recipe, else a violation naming all of them.
    std::vector<Fixup> fixups;
    const MachineFrameInfo &mfi = mf.getFrameInfo();
    auto fix = [&](Place place, unsigned size) {
      std::optional<Recipe> recipe = reachingRecipe(sp, place);
      // The section holds up to 8 bytes per place, and no constant-pool page.
      if (recipe && (size > 8 || recipe->kind == Recipe::ConstantPoolPage))
        recipe.reset();
      if (!recipe && size <= 8)
        recipe = sameAsListed(sp, place, size, listed);
      if (!recipe && size <= 8)
        recipe = constantOnEveryPath(sp, place, size);
      if (recipe)
        fixups.push_back({opers.getID(), &mf.getFunction(), place, size, *recipe});
      return recipe.has_value();
    };
    bool all = true;
    // Which places have no recipe (marked in a violation's line: the others would be fixed).
    SmallVector<bool, 16> unfixed;
    for (MCPhysReg r : widest) {
      unfixed.push_back(!fix(Place{r}, tri.getRegSizeInBits(*tri.getMinimalPhysRegClass(r)) / 8));
      all &= !unfixed.back();
    }
    for (unsigned i : bad_slots.set_bits()) {
      int fi = slots.frameIndex(i);
      unfixed.push_back(!fix(Place{Register(), fi}, bytesReadAfter(sp, fi)));
      all &= !unfixed.back();
    }
    const bool *missing = unfixed.begin();

    raw_string_ostream out(all ? result.fixed : result.violations);
    out << opers.getID() << '\t' << mf.getName() << '\t';
    const char *sep = "";
    for (MCPhysReg r : widest) {
      out << sep << StringRef(tri.getName(r)).lower() << '=';
      if (all)
        out << findRecipe(fixups, r);
      else
        out << lastDefinition(sp, r) << (*missing ? "!" : "");
      ++missing;
      sep = " ";
    }
    for (unsigned i : bad_slots.set_bits()) {
      out << sep << "slot#" << slots.frameIndex(i);
      if (all)
        out << '=' << findRecipe(fixups, Register(), slots.frameIndex(i));
      else if (*missing)
        out << '!';
      ++missing;
      sep = " ";
    }
    out << '\n';
    if (all)
      for (const Fixup &f : fixups)
        if (f.recipe.kind != Recipe::PassThrough)
          result.fixups.push_back(f);
  }

  // How many bytes of spill slot `fi` the code after `sp` can read before it overwrites the
  // slot: the widest read on any path until a store of the whole slot. A slot the register
  // allocator shares between a 32-bit value and (elsewhere) a double is 8 bytes, but after a
  // call where it holds the 32-bit value only its low half is ever read. The slot's size when
  // an access does not say its width, or the search is too long.
  static unsigned bytesReadAfter(const MachineInstr &sp, int fi) {
    const MachineFunction &mf = *sp.getMF();
    const unsigned whole = unsigned(mf.getFrameInfo().getObjectSize(fi));
    constexpr unsigned kMaxSteps = 200000;
    unsigned steps = 0, widest = 0;
    SmallPtrSet<const MachineBasicBlock *, 32> seen;
    using Position = std::pair<const MachineBasicBlock *, MachineBasicBlock::const_iterator>;
    SmallVector<Position, 16> todo{{sp.getParent(), std::next(sp.getIterator())}};
    while (!todo.empty()) {
      auto [mbb, it] = todo.pop_back_val();
      bool overwritten = false;
      for (; it != mbb->end() && !overwritten; ++it) {
        if (++steps > kMaxSteps)
          return whole;
        if (none_of(it->operands(),
                    [&](const MachineOperand &mo) { return mo.isFI() && mo.getIndex() == fi; }))
          continue;
        bool described = false;
        for (const MachineMemOperand *mmo : it->memoperands()) {
          const auto *fs =
              dyn_cast_if_present<FixedStackPseudoSourceValue>(mmo->getPseudoValue());
          if (!fs || fs->getFrameIndex() != fi)
            continue;  // another slot's (a statepoint reads many)
          if (!mmo->getSize().hasValue())
            return whole;
          unsigned bytes = unsigned(mmo->getSize().getValue());
          described = true;
          if (mmo->isLoad())
            widest = std::max(widest, bytes);
          if (mmo->isStore() && bytes >= whole)
            overwritten = true;
        }
        if (!described)
          return whole;
      }
      if (overwritten)
        continue;
      for (const MachineBasicBlock *succ : mbb->successors())
        if (seen.insert(succ).second)
          todo.push_back({succ, succ->begin()});
    }
    return widest ? widest : whole;
  }

  // The place of a deopt operand starting at operand `idx`: a register, or a spill slot
  // read whole (`1, size, fi, 0`); a constant or anything else gives none.
  static std::optional<View> listedView(const MachineInstr &sp, unsigned idx) {
    const MachineOperand &mo = sp.getOperand(idx);
    if (mo.isReg() && mo.getReg().isPhysical())
      return View::ofReg(mo.getReg());
    if (mo.isImm() && mo.getImm() == StackMaps::IndirectMemRefOp &&
        idx + 3 < sp.getNumOperands()) {
      const MachineOperand &size = sp.getOperand(idx + 1), &fi = sp.getOperand(idx + 2),
                           &off = sp.getOperand(idx + 3);
      if (size.isImm() && fi.isFI() && off.isImm() && off.getImm() == 0)
        return View::ofSlot(fi.getIndex(), unsigned(size.getImm()));
    }
    return std::nullopt;
  }

  // A live-value recipe for `place` if, when the call is made, it provably holds what a
  // listed place holds: the same value, its zero extension, its low bits, or it plus a
  // constant (ValueClasses::Relation).
  std::optional<Recipe> sameAsListed(const MachineInstr &sp, Place place, unsigned size,
                                     ArrayRef<std::pair<View, unsigned>> listed) {
    View unlisted = viewOf(place, size);
    for (const auto &[view, location] : listed) {
      int64_t addend = 0;
      unimig::ValueClasses::Relation rel = valueClasses(sp).relate(sp, unlisted, view, &addend);
      // The section holds the addend as an i32.
      if (rel == unimig::ValueClasses::Relation::Unknown || addend < INT32_MIN ||
          addend > INT32_MAX)
        continue;
      Recipe r;
      r.kind = Recipe::LiveValue;
      r.value = location;
      r.addend = addend;
      return r;
    }
    return std::nullopt;
  }

  // A constant recipe for `place` if every path writes the same constant there (a return
  // value stored in each early-exit path's spill slot long before the call: reachingRecipe
  // gives up on the many paths, the value classes keep constants across them).
  std::optional<Recipe> constantOnEveryPath(const MachineInstr &sp, Place place, unsigned size) {
    std::optional<uint64_t> v = valueClasses(sp).constant(sp, viewOf(place, size));
    if (!v)
      return std::nullopt;
    Recipe r;
    r.kind = Recipe::Constant;
    r.value = int64_t(*v);
    return r;
  }

  // The current function's value classes (`sp`'s), computed when first needed.
  const unimig::ValueClasses &valueClasses(const MachineInstr &sp) {
    if (!classes)
      classes = std::make_unique<unimig::ValueClasses>(*sp.getMF());
    return *classes;
  }

  static View viewOf(Place place, unsigned size) {
    return place.isReg() ? View::ofReg(place.reg) : View::ofSlot(place.frame_index, size);
  }

  static const Recipe &findRecipe(const std::vector<Fixup> &fixups, Register reg, int fi = 0) {
    for (const Fixup &f : fixups)
      if (reg.isValid() ? f.place.reg == reg : (!f.place.isReg() && f.place.frame_index == fi))
        return f.recipe;
    llvm_unreachable("every item has a fixup");
  }

  // The opcode of the last instruction before `sp` in its block that defines `r`, to tell
  // which transformation made the value (ADRP, MOV64ri, LEA64r, ...).
  static std::string lastDefinition(const MachineInstr &sp, MCPhysReg r) {
    const MachineBasicBlock &mbb = *sp.getParent();
    const TargetRegisterInfo &tri = *mbb.getParent()->getSubtarget().getRegisterInfo();
    const TargetInstrInfo &tii = *mbb.getParent()->getSubtarget().getInstrInfo();
    for (auto it = MachineBasicBlock::const_reverse_iterator(sp.getIterator());
         it != mbb.rend(); ++it) {
      if (&*it == &sp)
        continue;
      for (const MachineOperand &mo : it->operands())
        if (mo.isReg() && mo.isDef() && mo.getReg() && tri.regsOverlap(mo.getReg(), r))
          return tii.getName(it->getOpcode()).str();
    }
    return "live-in";
  }

  unimig::StatepointCheckResult &result;
  // The current function's equal-value classes, computed when a place first needs them
  // (reset for each function).
  std::unique_ptr<unimig::ValueClasses> classes;
};

char StatepointCheck::ID = 0;

}  // namespace

MachineFunctionPass *unimig::createStatepointCheck(StatepointCheckResult &result) {
  return new StatepointCheck(result);
}
