// Equal-value classes of registers and spill slots (value_classes.h).
//
// State: a map from a view (register as named, or the first N bytes of a spill slot) to a
// class number; a view without an entry holds a value equal to nothing else. Class numbers
// are interned so that the fixed point is reached: the classes at a block's entry are
// renumbered canonically (first appearance in key order), a meet names each disagreeing pair
// once, and a fresh class is one per (instruction, view).
#include "value_classes.h"

#include "llvm/ADT/PostOrderIterator.h"
#include "llvm/ADT/SmallVector.h"
#include "llvm/CodeGen/MachineBasicBlock.h"
#include "llvm/CodeGen/MachineFrameInfo.h"
#include "llvm/CodeGen/MachineFunction.h"
#include "llvm/CodeGen/MachineInstr.h"
#include "llvm/CodeGen/TargetInstrInfo.h"
#include "llvm/CodeGen/TargetRegisterInfo.h"
#include "llvm/CodeGen/TargetSubtargetInfo.h"

#include <map>
#include <vector>

using namespace llvm;

namespace unimig {

namespace {

using Key = int64_t;  // a register's number, or a slot view below kSlotBase
using Class = uint64_t;
using State = std::map<Key, Class>;  // ordered: canonical renumbering walks it in key order

constexpr Key kSlotBase = -(Key(1) << 40);

Key keyOf(View v) {
  if (v.reg.isValid())
    return Key(v.reg.id());
  return kSlotBase + (Key(v.frame_index) << 8) + Key(v.bytes);
}

bool isSlotKey(Key k) { return k < 0; }

// The class of the zero extension to 64 bits of a 32-bit value of class `c` is `c | kZext`:
// a link kept inside the class numbers, so renaming and meets cannot separate the two.
constexpr Class kZext = Class(1) << 63;
int slotOf(Key k) { return int((k - kSlotBase) >> 8); }

}  // namespace

struct ValueClasses::Impl {
  const MachineFunction &mf;
  const TargetRegisterInfo &tri;
  const TargetInstrInfo &tii;

  Class next = 1;
  std::map<std::pair<const MachineInstr *, Key>, Class> fresh;
  std::map<std::pair<Class, Class>, Class> pairs;
  std::map<std::pair<const MachineBasicBlock *, unsigned>, Class> canonical;
  std::map<const MachineInstr *, State> before_statepoint;

  Impl(const MachineFunction &mf)
      : mf(mf), tri(*mf.getSubtarget().getRegisterInfo()),
        tii(*mf.getSubtarget().getInstrInfo()) {}

  unsigned bits(Register r) const {
    return tri.getRegSizeInBits(*tri.getMinimalPhysRegClass(r));
  }

  bool isGPR(Register r) const { return tri.isGeneralPurposeRegister(mf, r); }

  // The 32-bit register at offset 0 of a 64-bit general-purpose register, or none.
  Register low32(Register r) const {
    if (!isGPR(r) || bits(r) != 64)
      return Register();
    for (MCPhysReg s : tri.subregs(r)) {
      unsigned idx = tri.getSubRegIndex(r, s);
      if (idx && tri.getSubRegIdxOffset(idx) == 0 && tri.getSubRegIdxSize(idx) == 32 &&
          bits(s) == 32)
        return s;
    }
    return Register();
  }

  // The 64-bit general-purpose register whose low 32 bits are `r`, or none.
  Register wide64(Register r) const {
    if (bits(r) != 32)
      return Register();
    for (MCPhysReg s : tri.superregs(r))
      if (bits(s) == 64 && isGPR(s) && low32(s) == r)
        return s;
    return Register();
  }

  // The class of view `k`, giving it a new one (named after `mi` and `k`) if it has none.
  // In a loop `mi` runs again: views still holding that class from an earlier run hold an
  // older value, so they lose it.
  // Whether `mi` moves all of `reg` to or from spill slot `fi`. Only spill slots are
  // tracked: nothing else reaches them, while a stack object (an alloca) can also be written
  // through a pointer. A narrower access (a byte store of a 32-bit register) is not a copy.
  bool isWholeSpill(const MachineInstr &mi, int fi, Register reg) const {
    if (!mf.getFrameInfo().isSpillSlotObjectIndex(fi))
      return false;
    for (const MachineMemOperand *mmo : mi.memoperands()) {
      LocationSize size = mmo->getSize();
      if (!size.hasValue() || size.getValue().isScalable() ||
          size.getValue().getFixedValue() * 8 != bits(reg))
        return false;
    }
    return true;
  }

  Class classOf(State &s, const MachineInstr &mi, Key k) {
    if (auto it = s.find(k); it != s.end())
      return it->second;
    auto [it, inserted] = fresh.try_emplace({&mi, k}, 0);
    if (inserted)
      it->second = next++;
    Class c = it->second;
    for (auto e = s.begin(); e != s.end();)
      if ((e->second & ~kZext) == c)
        e = s.erase(e);
      else
        ++e;
    s[k] = c;
    return c;
  }

  // A 32-bit view never holds an extended class (sizes are checked), so `c` has no flag;
  // should it have one, the result is a class of its own.
  Class zextOf(Class c) { return c & kZext ? next++ : c | kZext; }

  void killReg(State &s, Register r) {
    for (auto it = s.begin(); it != s.end();)
      if (!isSlotKey(it->first) && tri.regsOverlap(Register(unsigned(it->first)), r))
        it = s.erase(it);
      else
        ++it;
  }

  void killSlot(State &s, int fi) {
    for (auto it = s.begin(); it != s.end();)
      if (isSlotKey(it->first) && slotOf(it->first) == fi)
        it = s.erase(it);
      else
        ++it;
  }

  // Sets the views of register `dst` after a copy of `src` (same size), a reload or a spill.
  void setReg(State &s, Register dst, Class c) {
    killReg(s, dst);
    s[Key(dst.id())] = c;
    if (Register w = wide64(dst))
      s[Key(w.id())] = zextOf(c);  // a 32-bit write clears the upper half
  }

  void transfer(const MachineInstr &mi, State &s) {
    if (mi.isDebugInstr())
      return;
    int fi = 0;
    if (mi.isCopy()) {
      const MachineOperand &dst = mi.getOperand(0), &src = mi.getOperand(1);
      if (dst.getReg().isPhysical() && src.getReg().isPhysical() && !dst.getSubReg() &&
          !src.getSubReg() && bits(dst.getReg()) == bits(src.getReg())) {
        Class c = classOf(s, mi, Key(src.getReg().id()));
        Register dlo = low32(dst.getReg()), slo = low32(src.getReg());
        std::optional<Class> lo;
        if (dlo && slo)
          lo = classOf(s, mi, Key(slo.id()));
        setReg(s, dst.getReg(), c);
        if (lo)
          s[Key(dlo.id())] = *lo;
        return;
      }
    } else if (Register src = tii.isStoreToStackSlot(mi, fi);
               src && src.isPhysical() && isWholeSpill(mi, fi, src)) {
      unsigned bytes = bits(src) / 8;
      Class c = classOf(s, mi, Key(src.id()));
      std::optional<Class> lo;
      if (Register slo = low32(src))
        lo = classOf(s, mi, Key(slo.id()));
      killSlot(s, fi);
      s[keyOf(View::ofSlot(fi, bytes))] = c;
      if (lo)
        s[keyOf(View::ofSlot(fi, 4))] = *lo;  // little-endian: the low half comes first
      return;
    } else if (Register dst = tii.isLoadFromStackSlot(mi, fi);
               dst && dst.isPhysical() && isWholeSpill(mi, fi, dst)) {
      unsigned bytes = bits(dst) / 8;
      Class c = classOf(s, mi, keyOf(View::ofSlot(fi, bytes)));
      std::optional<Class> lo;
      Register dlo = low32(dst);
      if (dlo)
        lo = classOf(s, mi, keyOf(View::ofSlot(fi, 4)));
      setReg(s, dst, c);
      if (lo)
        s[Key(dlo.id())] = *lo;
      return;
    }
    // Anything else: what it writes holds a value of its own, and a 32-bit general-purpose
    // result is zero-extended into its 64-bit register (x86-64 and AArch64 both clear the
    // upper half on a 32-bit write).
    SmallVector<Register, 2> narrow;
    for (const MachineOperand &mo : mi.operands()) {
      if (mo.isReg() && mo.isDef() && !mo.isImplicit() && mo.getReg().isPhysical() &&
          wide64(mo.getReg()))
        narrow.push_back(mo.getReg());
      if (mo.isRegMask()) {
        for (auto it = s.begin(); it != s.end();)
          if (!isSlotKey(it->first) && mo.clobbersPhysReg(Register(unsigned(it->first))))
            it = s.erase(it);
          else
            ++it;
      } else if (mo.isReg() && mo.isDef() && mo.getReg().isPhysical()) {
        killReg(s, mo.getReg());
      } else if (mo.isFI() && mi.mayStore()) {
        killSlot(s, mo.getIndex());
      }
    }
    for (Register w : narrow) {
      Class c = classOf(s, mi, Key(w.id()));
      s[Key(wide64(w).id())] = zextOf(c);
    }
  }

  // Both states agree on a view: the meet keeps it (one class per pair of classes).
  State meet(const State &a, const State &b) {
    State out;
    for (const auto &[k, ca] : a) {
      auto it = b.find(k);
      if (it == b.end())
        continue;
      Class cb = it->second;
      if (ca == cb) {
        out[k] = ca;
        continue;
      }
      // Two extensions merge into the extension of their merged 32-bit classes (the 32-bit
      // views merge into that same pair).
      Class flag = ca & cb & kZext;
      auto [p, inserted] = pairs.try_emplace({ca & ~flag, cb & ~flag}, 0);
      if (inserted)
        p->second = next++;
      out[k] = p->second | flag;
    }
    return out;
  }

  // Renames the classes of a block's entry state by first appearance, so that the same
  // partition always has the same numbers (and iteration stops). The zero-extension flag is
  // kept: a class and its extension are renamed together.
  State canonicalise(const MachineBasicBlock *mbb, const State &s) {
    std::map<Class, Class> rename;
    for (const auto &[k, c] : s) {
      Class base = c & ~kZext;
      if (rename.count(base))
        continue;
      auto [it, inserted] = canonical.try_emplace({mbb, unsigned(rename.size())}, 0);
      if (inserted)
        it->second = next++;
      rename[base] = it->second;
    }
    State out;
    for (const auto &[k, c] : s)
      out[k] = rename[c & ~kZext] | (c & kZext);
    return out;
  }

  void run() {
    ReversePostOrderTraversal<const MachineFunction *> rpo(&mf);
    std::map<const MachineBasicBlock *, State> in, out;
    for (bool changed = true; changed;) {
      changed = false;
      for (const MachineBasicBlock *mbb : rpo) {
        std::optional<State> entry;
        if (mbb->pred_empty())
          entry = State();
        for (const MachineBasicBlock *pred : mbb->predecessors()) {
          auto it = out.find(pred);
          if (it == out.end())
            continue;  // not reached yet: no constraint (optimistic start)
          entry = entry ? meet(*entry, it->second) : it->second;
        }
        if (!entry)
          continue;
        State s = canonicalise(mbb, *entry);
        auto old = in.find(mbb);
        if (old != in.end() && old->second == s)
          continue;
        in[mbb] = s;
        for (const MachineInstr &mi : *mbb)
          transfer(mi, s);
        out[mbb] = std::move(s);
        changed = true;
      }
    }
    for (const auto &[mbb, entry] : in) {
      State s = entry;
      for (const MachineInstr &mi : *mbb) {
        if (mi.getOpcode() == TargetOpcode::STATEPOINT)
          before_statepoint[&mi] = s;
        transfer(mi, s);
      }
    }
  }
};

ValueClasses::ValueClasses(const MachineFunction &mf) : impl(std::make_unique<Impl>(mf)) {
  impl->run();
}

ValueClasses::~ValueClasses() = default;

ValueClasses::Relation ValueClasses::relate(const MachineInstr &sp, View unlisted,
                                            View listed) const {
  auto it = impl->before_statepoint.find(&sp);
  if (it == impl->before_statepoint.end())
    return Relation::Unknown;
  const State &s = it->second;
  const MachineFrameInfo &mfi = impl->mf.getFrameInfo();
  for (View v : {unlisted, listed})
    if (!v.reg.isValid() && !mfi.isSpillSlotObjectIndex(v.frame_index))
      return Relation::Unknown;  // stack objects are not tracked (see isWholeSpill)
  auto u = s.find(keyOf(unlisted)), l = s.find(keyOf(listed));
  if (u == s.end() || l == s.end())
    return Relation::Unknown;
  if (u->second == l->second)
    return Relation::Equal;
  if (!(l->second & kZext) && u->second == (l->second | kZext))
    return Relation::ZeroExtended;
  return Relation::Unknown;
}

}  // namespace unimig
