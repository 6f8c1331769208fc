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

#include <cstdio>
#include <cstdlib>
#include <map>
#include <set>

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

// A spill slot's "written" marker (a zero-byte view): present when some path to here wrote
// the slot. A slot no path wrote holds nothing the code can read (a spill slot is undefined
// at entry), so where one path leaves it unwritten, the meet keeps what the other paths say.
Key writtenKey(int fi) { return kSlotBase + (Key(fi) << 8); }
bool isWrittenKey(Key k) { return isSlotKey(k) && ((k - kSlotBase) & 255) == 0; }

// How a view's bits relate to its class's base value `c`, kept in the top bits of the class
// number so that renaming and meets cannot separate a value from its extensions.
enum Tag : unsigned {
  Plain = 0,       // the view is `c`
  Zext32To64 = 1,  // a 64-bit view: `c` (32 bits) zero-extended
  Zext8 = 2,       // a 32-bit view: the low 8 bits of `c`, zero-extended
  Zext16 = 3,      // a 32-bit view: the low 16 bits of `c`, zero-extended
  Zext8To64 = 4,   // a 64-bit view: the low 8 bits of `c`, zero-extended
  Zext16To64 = 5,  // a 64-bit view: the low 16 bits of `c`, zero-extended
  Low8 = 6,        // the view's low 8 bits are `c`'s; the rest is undefined (implicit-def)
  Low16 = 7,       // the view's low 16 bits are `c`'s; the rest is undefined
};
constexpr unsigned kTagShift = 61;
constexpr Class kTagMask = Class(7) << kTagShift;
Class baseOf(Class c) { return c & ~kTagMask; }
Tag tagOf(Class c) { return Tag(c >> kTagShift); }
Class tagged(Class c, Tag t) { return baseOf(c) | (Class(t) << kTagShift); }
int slotOf(Key k) { return int((k - kSlotBase) >> 8); }

// Operand `i` of `mi` if it is an immediate.
std::optional<int64_t> immediateOperand(const MachineInstr &mi, unsigned i) {
  if (i >= mi.getNumOperands() || !mi.getOperand(i).isImm())
    return std::nullopt;
  return mi.getOperand(i).getImm();
}

}  // namespace

struct ValueClasses::Impl {
  const MachineFunction &mf;
  const TargetRegisterInfo &tri;
  const TargetInstrInfo &tii;

  Class next = 1;
  std::map<std::pair<const MachineInstr *, Key>, Class> fresh;
  std::map<std::pair<Class, Class>, Class> pairs;
  // Classes of 64-bit values that are another class's value plus a constant (the address of a
  // field or of a shadow-stack local next to its base pointer): interned both ways.
  std::map<std::pair<Class, int64_t>, Class> offset_ids;
  std::map<Class, std::pair<Class, int64_t>> offsets;
  // Classes of immediates, by value (the register's content zero-extended to 64 bits): the
  // same in every block, never renamed.
  std::map<uint64_t, Class> const_ids;
  std::map<Class, uint64_t> const_values;
  // Canonical class numbers of block entries, by (block, ordinal).
  std::map<std::pair<const MachineBasicBlock *, unsigned>, Class> canonical;
  // The result: the classes just before each statepoint.
  std::map<const MachineInstr *, State> before_statepoint;

  Impl(const MachineFunction &mf)
      : mf(mf), tri(*mf.getSubtarget().getRegisterInfo()),
        tii(*mf.getSubtarget().getInstrInfo()) {}

  // The class `map` holds for `key`, a new one the first time.
  template <typename K> Class intern(std::map<K, Class> &map, const K &key) {
    auto [it, inserted] = map.try_emplace(key, 0);
    if (inserted)
      it->second = next++;
    return it->second;
  }

  Class constClass(uint64_t v) {
    Class c = intern(const_ids, v);
    const_values[c] = v;
    return c;
  }

  // The value of a plain constant class.
  std::optional<uint64_t> constValue(Class c) const {
    if (tagOf(c) != Plain)
      return std::nullopt;
    auto it = const_values.find(c);
    return it == const_values.end() ? std::nullopt : std::optional(it->second);
  }

  // Whether `mi` may write the stack slots it names. A statepoint reads its deopt slots (its
  // memory operands are loads; a relocating one would say store); an instruction that may
  // store without saying where counts as writing every slot it names.
  static bool writesFrameIndex(const MachineInstr &mi) {
    if (!mi.mayStore())
      return false;
    if (mi.memoperands_empty())
      return true;
    for (const MachineMemOperand *mmo : mi.memoperands())
      if (mmo->isStore())
        return true;
    return mi.getOpcode() != TargetOpcode::STATEPOINT;
  }

  // x86-64 `mov $imm, slot` into a whole spill slot: the slot holds that constant.
  bool immediateStore(const MachineInstr &mi, State &s) {
    StringRef name = tii.getName(mi.getOpcode());
    unsigned bytes = name == "MOV32mi" ? 4 : name == "MOV64mi32" ? 8 : 0;
    if (!bytes || mi.getNumOperands() < 6)
      return false;
    const MachineOperand &base = mi.getOperand(0), &index = mi.getOperand(2),
                         &disp = mi.getOperand(3), &seg = mi.getOperand(4),
                         &value = mi.getOperand(5);
    if (!base.isFI() || !mf.getFrameInfo().isSpillSlotObjectIndex(base.getIndex()) ||
        !index.isReg() || index.getReg() || !disp.isImm() || disp.getImm() != 0 ||
        !seg.isReg() || seg.getReg() || !value.isImm() ||
        mf.getFrameInfo().getObjectSize(base.getIndex()) < bytes)
      return false;
    int fi = base.getIndex();
    uint64_t v = bytes == 4 ? uint64_t(uint32_t(value.getImm())) : uint64_t(value.getImm());
    killSlot(s, fi);
    s[keyOf(View::ofSlot(fi, bytes))] = constClass(v);
    if (bytes == 8)
      s[keyOf(View::ofSlot(fi, 4))] = constClass(uint32_t(v));
    return true;
  }

  // Immediate moves: x86-64 `mov $imm` / `xor r32, r32`, AArch64 `mov #imm` and `movz`.
  bool immediate(const MachineInstr &mi, State &s) {
    StringRef name = tii.getName(mi.getOpcode());
    if (!name.starts_with("MOV") || mi.getNumOperands() == 0)
      return false;
    const MachineOperand &dst = mi.getOperand(0);
    if (!dst.isReg() || !dst.getReg().isPhysical() || dst.getSubReg() || !isGPR(dst.getReg()))
      return false;
    auto imm = [&](unsigned i) { return immediateOperand(mi, i); };
    std::optional<uint64_t> v;
    if (name == "MOV32r0")
      v = 0;
    else if ((name == "MOV32ri" || name == "MOVi32imm") && imm(1))
      v = uint32_t(*imm(1));
    else if ((name == "MOV64ri" || name == "MOV64ri32" || name == "MOVi64imm") && imm(1))
      v = uint64_t(*imm(1));
    else if (name == "MOVZWi" && imm(1) && imm(2))
      v = uint32_t(uint64_t(*imm(1)) << *imm(2));
    else if (name == "MOVZXi" && imm(1) && imm(2))
      v = uint64_t(*imm(1)) << *imm(2);
    unsigned width = bits(dst.getReg());
    if (!v || (width != 32 && width != 64))
      return false;
    setReg(s, dst.getReg(), constClass(*v));
    // Its low sub-registers hold the constant's low bits (x86-64 `cl` of `ecx`).
    for (unsigned w : {8u, 16u, 32u})
      if (w < width)
        if (Register low = lowSubRegister(dst.getReg(), w))
          s[Key(low.id())] = constClass(*v & ((uint64_t(1) << w) - 1));
    return true;
  }

  unsigned bits(Register r) const {
    return tri.getRegSizeInBits(*tri.getMinimalPhysRegClass(r));
  }

  bool isGPR(Register r) const { return tri.isGeneralPurposeRegister(mf, r); }

  unsigned bytes(View v) const { return v.reg.isValid() ? bits(v.reg) / 8 : v.bytes; }

  // The sub-register of `r` at offset 0 that is `width` bits wide, or none.
  Register lowSubRegister(Register r, unsigned width) const {
    for (MCPhysReg sub : tri.subregs(r)) {
      unsigned idx = tri.getSubRegIndex(r, sub);
      if (idx && tri.getSubRegIdxOffset(idx) == 0 && tri.getSubRegIdxSize(idx) == width &&
          bits(sub) == width)
        return sub;
    }
    return Register();
  }

  // The 32-bit register at offset 0 of a 64-bit general-purpose register, or none.
  Register low32(Register r) const {
    return isGPR(r) && bits(r) == 64 ? lowSubRegister(r, 32) : Register();
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

  // The class of view `k`, giving it a new one (named after `mi` and `k`) if it has none.
  // In a loop `mi` runs again: views still holding that class from an earlier run hold an
  // older value, so they lose it.
  Class classOf(State &s, const MachineInstr &mi, Key k) {
    if (auto it = s.find(k); it != s.end())
      return it->second;
    if (!isSlotKey(k)) {
      StringRef reg = tri.getName(Register(unsigned(k)));
      if (reg == "WZR" || reg == "XZR")
        return constClass(0);  // AArch64's zero registers
    }
    Class c = intern(fresh, std::pair(&mi, k));
    for (auto e = s.begin(); e != s.end();)
      if (baseOf(e->second) == c || offsetBase(e->second) == c)
        e = s.erase(e);
      else
        ++e;
    s[k] = c;
    return c;
  }

  // `base` + `off` (flattened: an offset of an offset is one offset of the first base).
  Class plusOffset(Class base, int64_t off) {
    if (auto it = offsets.find(base); it != offsets.end()) {
      off += it->second.second;
      base = it->second.first;
    }
    if (off == 0)
      return base;
    Class c = intern(offset_ids, std::pair(base, off));
    offsets[c] = {base, off};
    return c;
  }

  // The base class of an offset class, or 0.
  Class offsetBase(Class c) const {
    auto it = offsets.find(c);
    return it == offsets.end() ? 0 : it->second.first;
  }

  // `dst = src + imm` of 64-bit general-purpose registers: x86-64 `lea imm(%src), %dst` and
  // `add/sub $imm`, AArch64 `add/sub dst, src, #imm{, lsl #12}`.
  bool addImmediate(const MachineInstr &mi, State &s) {
    StringRef name = tii.getName(mi.getOpcode());
    auto reg = [&](unsigned i) -> Register {
      const MachineOperand &mo = mi.getOperand(i);
      return mo.isReg() && mo.getReg().isPhysical() && !mo.getSubReg() ? mo.getReg()
                                                                         : Register();
    };
    auto imm = [&](unsigned i) { return immediateOperand(mi, i); };
    Register dst, src;
    std::optional<int64_t> off;
    if (name == "LEA64r" && mi.getNumOperands() >= 6) {
      // lea disp(base), dst: no index register, no segment, scale 1, an immediate displacement.
      const MachineOperand &index = mi.getOperand(3), &seg = mi.getOperand(5);
      if (index.isReg() && !index.getReg() && seg.isReg() && !seg.getReg() && imm(2) == 1) {
        dst = reg(0), src = reg(1), off = imm(4);
        if (src && StringRef(tri.getName(src)) == "RIP")
          src = Register();
      }
    } else if (name == "ADD64ri32" || name == "ADD64ri8" || name == "SUB64ri32" ||
               name == "SUB64ri8") {
      dst = reg(0), src = reg(1), off = imm(2);
      if (off && name.starts_with("SUB"))
        off = -*off;
    } else if ((name == "ADDXri" || name == "SUBXri") && imm(3) && (*imm(3) == 0 || *imm(3) == 12)) {
      dst = reg(0), src = reg(1), off = imm(2);
      if (off) {
        *off <<= *imm(3);
        if (name == "SUBXri")
          off = -*off;
      }
    } else if ((name == "ADDXrr" || name == "SUBXrr" || name == "ADD64rr" || name == "SUB64rr") &&
               mi.getNumOperands() >= 3) {
      // A register holding a known constant (an offset too large for an immediate: AArch64
      // `mov x8, #-16400; add x21, x25, x8` carving a 16 KiB shadow frame). x86-64's two-address
      // forms have dst = operand 1.
      dst = reg(0), src = reg(1);
      Register other = reg(2);
      if (other) {
        auto k = s.find(Key(other.id()));
        if (k != s.end())
          off = constValue(k->second);
        if (!off && name.starts_with("ADD")) {  // the constant may be the first operand
          auto j = src ? s.find(Key(src.id())) : s.end();
          if (j != s.end())
            if ((off = constValue(j->second)))
              src = other;
        }
      }
      if (off && name.starts_with("SUB"))
        off = -*off;  // register - constant (a constant first operand is not looked for)
    }
    if (!dst || !src || !off || bits(dst) != 64 || bits(src) != 64 || !isGPR(dst))
      return false;
    Class c = classOf(s, mi, Key(src.id()));
    if (tagOf(c) != Plain)
      return false;
    setReg(s, dst, plusOffset(c, *off));
    return true;
  }

  // The class of a 32-bit view of class `c` zero-extended to 64 bits (a 32-bit write).
  Class zextOf(Class c) { return widened(c).value_or(next++); }

  static std::optional<Class> widened(Class c) {
    switch (tagOf(c)) {
    case Plain:
      return tagged(c, Zext32To64);
    case Zext8:
      return tagged(c, Zext8To64);
    case Zext16:
      return tagged(c, Zext16To64);
    default:
      return std::nullopt;  // nothing a 32-bit view holds
    }
  }

  void killReg(State &s, Register r) {
    for (auto it = s.begin(); it != s.end();)
      if (!isSlotKey(it->first) && tri.regsOverlap(Register(unsigned(it->first)), r))
        it = s.erase(it);
      else
        ++it;
  }

  // Slot `fi` is written with an unknown value (callers then set the views they know).
  void killSlot(State &s, int fi) {
    for (auto it = s.begin(); it != s.end();)
      if (isSlotKey(it->first) && slotOf(it->first) == fi)
        it = s.erase(it);
      else
        ++it;
    s[writtenKey(fi)] = constClass(0);
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
    transferValues(mi, s);
    markUndefinedUppers(mi, s);
  }

  // An 8- or 16-bit write that implicitly defines a wider register (x86-64 `r12b = COPY r14b,
  // implicit-def r12d`) leaves the wider register's upper bits undefined: its meaningful part
  // is the narrow value.
  void markUndefinedUppers(const MachineInstr &mi, State &s) {
    for (const MachineOperand &def : mi.operands()) {
      if (!def.isReg() || !def.isDef() || def.isImplicit() || !def.getReg().isPhysical())
        continue;
      unsigned width = bits(def.getReg());
      if (width != 8 && width != 16)
        continue;
      // The narrow result's class (a new one if the instruction computed it).
      Class c = classOf(s, mi, Key(def.getReg().id()));
      if (tagOf(c) != Plain)
        continue;
      // Only when the instruction does not read the wider register: an `implicit` use of it
      // means its other bits flow through (a sub-register update of a wider value), and they
      // may matter.
      for (const MachineOperand &wide : mi.operands())
        if (wide.isReg() && wide.isDef() && wide.isImplicit() && wide.getReg().isPhysical() &&
            tri.isSuperRegister(def.getReg(), wide.getReg()) &&
            !mi.readsRegister(wide.getReg(), &tri))
          s[Key(wide.getReg().id())] = tagged(c, width == 8 ? Low8 : Low16);
    }
  }

  // x86-64 `movzx r32, r8/r16` of a register's own value: the zero extension of its class.
  bool narrowZeroExtension(const MachineInstr &mi, State &s) {
    StringRef name = tii.getName(mi.getOpcode());
    if (name != "MOVZX32rr8" && name != "MOVZX32rr16")
      return false;
    const MachineOperand &dst = mi.getOperand(0), &src = mi.getOperand(1);
    if (!dst.isReg() || !src.isReg() || !dst.getReg().isPhysical() ||
        !src.getReg().isPhysical() || dst.getSubReg() || src.getSubReg())
      return false;
    Class c = classOf(s, mi, Key(src.getReg().id()));
    if (tagOf(c) != Plain)
      return false;
    setReg(s, dst.getReg(), tagged(c, name == "MOVZX32rr8" ? Zext8 : Zext16));
    // The destination's own low byte (word) is the source again.
    if (Register low = lowSubRegister(dst.getReg(), bits(src.getReg())))
      s[Key(low.id())] = c;
    return true;
  }

  void transferValues(const MachineInstr &mi, State &s) {
    int fi = 0;
    if (narrowZeroExtension(mi, s) || addImmediate(mi, s) || immediate(mi, s) ||
        immediateStore(mi, s))
      return;
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
      } else if (mo.isFI() && writesFrameIndex(mi)) {
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
    // Views one side has and the other leaves unwritten (see writtenKey), with their class.
    std::vector<std::pair<Key, Class>> one_sided;
    auto unwritten = [](const State &s, Key k) {
      return isSlotKey(k) && !s.count(writtenKey(slotOf(k)));
    };
    for (const auto &[k, cb] : b)
      if (!a.count(k) && (isWrittenKey(k) || unwritten(a, k)))
        one_sided.push_back({k, cb});
    for (const auto &[k, ca] : a) {
      if (isWrittenKey(k)) {
        out[k] = ca;  // written on some path: a union
        continue;
      }
      auto it = b.find(k);
      if (it == b.end()) {
        if (unwritten(b, k))
          one_sided.push_back({k, ca});
        continue;
      }
      Class cb = it->second;
      if (ca == cb) {
        out[k] = ca;
        continue;
      }
      // Two offsets by the same constant merge into that offset of their merged bases.
      auto oa = offsets.find(ca), ob = offsets.find(cb);
      if (oa != offsets.end() && ob != offsets.end() &&
          oa->second.second == ob->second.second) {
        Class p = intern(pairs, std::pair(oa->second.first, ob->second.first));
        out[k] = plusOffset(p, oa->second.second);
        continue;
      }
      // Different kinds that still agree on what the view means (weaker()): that kind of the
      // merged bases, the pair the narrower views merge into.
      if (std::optional<Tag> t = weaker(ca, cb)) {
        out[k] = tagged(intern(pairs, std::pair(baseOf(ca), baseOf(cb))), *t);
        continue;
      }
      // Two extensions of one kind merge into that extension of their merged bases (the
      // narrower views merge into that same pair).
      bool same = tagOf(ca) == tagOf(cb);
      Class p = intern(pairs, same ? std::pair(baseOf(ca), baseOf(cb)) : std::pair(ca, cb));
      out[k] = same ? tagged(p, tagOf(ca)) : p;
    }
    // For a class of `a` (`b`): what a view holding it on both paths became (the first in key
    // order), so that a one-sided view joins it (equal on the path that wrote it, anything on
    // the other).
    std::map<Class, Class> merged_a, merged_b;
    for (const auto &[k, c] : out) {
      if (isWrittenKey(k))
        continue;
      merged_a.try_emplace(a.at(k), c);
      merged_b.try_emplace(b.at(k), c);
    }
    for (const auto &[k, c] : one_sided) {
      if (isWrittenKey(k)) {
        out[k] = c;
        continue;
      }
      const std::map<Class, Class> &merged = a.count(k) ? merged_a : merged_b;
      auto m = merged.find(c);
      out[k] = m != merged.end() ? m->second : c;
    }
    return out;
  }

  // What one view means when it holds `a` on one path and `b` on another with different
  // tags: Low8 (Low16) if one path leaves the upper bits undefined (the register then holds a
  // narrow value on every path, so its other bits mean nothing), an extension if the other
  // path holds a constant small enough to be that extension of itself; else nothing.
  std::optional<Tag> weaker(Class a, Class b) const {
    for (auto [x, y] : {std::pair(a, b), std::pair(b, a)}) {
      Tag tx = tagOf(x), ty = tagOf(y);
      if (tx == Low8 && ty != Low8)
        return Low8;
      if (tx == Low16 && (ty == Plain || ty == Zext16 || ty == Zext16To64 || ty == Zext32To64))
        return Low16;
      if (std::optional<uint64_t> v = constValue(y)) {
        if ((tx == Zext8 || tx == Zext8To64) && *v < (1u << 8))
          return tx;
        if ((tx == Zext16 || tx == Zext16To64) && *v < (1u << 16))
          return tx;
        if (tx == Zext32To64 && *v < (uint64_t(1) << 32))
          return tx;
      }
    }
    return std::nullopt;
  }

  // Renames the classes of a block's entry state by first appearance, so that the same
  // partition always has the same numbers (and iteration stops). Tags are kept: a class and
  // its extensions are renamed together; constants keep their numbers.
  State canonicalise(const MachineBasicBlock *mbb, const State &s) {
    // Offset classes whose base some view holds are renamed through the base.
    std::set<Class> held;
    for (const auto &[k, c] : s)
      held.insert(baseOf(c));
    auto through_base = [&](Class c) { return held.count(offsetBase(c)) != 0; };
    std::map<Class, Class> rename;
    for (const auto &[k, c] : s) {
      Class base = baseOf(c);
      if (const_values.count(base))
        rename[base] = base;  // a constant means the same everywhere
      if (rename.count(base) || through_base(base))
        continue;
      rename[base] = intern(canonical, std::pair(mbb, unsigned(rename.size())));
    }
    State out;
    for (const auto &[k, c] : s) {
      Class base = baseOf(c);
      Class renamed = through_base(base)
                          ? plusOffset(rename.at(offsetBase(base)), offsets.at(base).second)
                          : rename.at(base);
      out[k] = tagged(renamed, tagOf(c));
    }
    return out;
  }

  // The fixed point: facts at a block's entry hold on every path into it. The meet is not
  // monotone (tags can weaken), so the iteration is bounded: a function that has not settled
  // after kMaxPasses passes, or that costs more than kMaxTransfers instruction steps, gets
  // no facts at all (its places stay unproven, which is always safe).
  static constexpr unsigned kMaxPasses = 24;
  static constexpr unsigned long kMaxTransfers = 4000000;

  void run() {
    ReversePostOrderTraversal<const MachineFunction *> rpo(&mf);
    std::map<const MachineBasicBlock *, State> in, out;
    unsigned passes = 0;
    unsigned long transfers = 0;
    // UNIMIG_DEBUG_VALUE_CLASSES=<function>: print that function's block entry states (or
    // that it gave up) on stderr, to find why a place has no fixup (with the unsafe_sites
    // example, which marks places without a recipe with '!').
    const char *debug_fn = getenv("UNIMIG_DEBUG_VALUE_CLASSES");
    bool debug = debug_fn && mf.getName() == debug_fn;
    for (bool changed = true; changed;) {
      if (++passes > kMaxPasses || transfers > kMaxTransfers) {
        if (debug)
          fprintf(stderr, "value classes: %s: gave up after %u passes, %lu transfers\n",
                  debug_fn, passes, transfers);
        return;  // before_statepoint stays empty: every relation is Unknown
      }
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
        transfers += mbb->size();
        out[mbb] = std::move(s);
        changed = true;
      }
    }
    for (const auto &[mbb, entry] : in) {
      State s = entry;
      if (debug) {  // view=class; slot views are s<frame index>/<bytes>, /0 the written mark
        fprintf(stderr, "bb.%d:", mbb->getNumber());
        for (const auto &[k, c] : s) {
          if (isSlotKey(k))
            fprintf(stderr, " s%d/%d=%llu", slotOf(k), int((k - kSlotBase) & 255),
                    (unsigned long long)c);
          else
            fprintf(stderr, " %s=%llu", tri.getName(unsigned(k)), (unsigned long long)c);
        }
        fprintf(stderr, "\n");
      }
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

std::optional<uint64_t> ValueClasses::constant(const MachineInstr &sp, View v) const {
  auto it = impl->before_statepoint.find(&sp);
  if (it == impl->before_statepoint.end())
    return std::nullopt;
  if (!v.reg.isValid() && !impl->mf.getFrameInfo().isSpillSlotObjectIndex(v.frame_index))
    return std::nullopt;  // stack objects are not tracked (see isWholeSpill)
  auto c = it->second.find(keyOf(v));
  if (c != it->second.end())
    return impl->constValue(c->second);
  // A slot no path has written yet holds nothing the code can rely on: any value will do.
  if (!v.reg.isValid() && !it->second.count(writtenKey(v.frame_index)))
    return 0;
  return std::nullopt;
}

ValueClasses::Relation ValueClasses::relate(const MachineInstr &sp, View unlisted,
                                            View listed, int64_t *addend) const {
  *addend = 0;
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
  Class cu = u->second, cl = l->second;
  if (cu == cl)
    return Relation::Equal;
  if (Impl::widened(cl) == cu)
    return Relation::ZeroExtended;
  // An 8-byte copy of the whole 64-bit register whose 32-bit view the record lists (a spilled
  // `i64` result used only truncated): the transformer gives that register the listed value
  // zero-extended (the record says its upper half means nothing), and the copy the same.
  if (listed.reg.isValid() && impl->bits(listed.reg) == 32 && impl->bytes(unlisted) == 8)
    if (Register w = impl->wide64(listed.reg))
      if (auto wc = s.find(Key(w.id())); wc != s.end() && wc->second == cu)
        return Relation::ZeroExtended;
  // Offsets: both classes as (base, constant) - the unlisted value may be the listed one plus
  // a constant, minus one (a frame's base recomputed from an address inside it), or both may
  // be offsets from one unrecorded base.
  auto split = [&](Class c) {
    auto o = impl->offsets.find(c);
    return o == impl->offsets.end() ? std::pair(c, int64_t(0)) : o->second;
  };
  auto [bu, ou] = split(cu);
  auto [bl, ol] = split(cl);
  if (bu == bl && ou != ol) {
    if (impl->bytes(unlisted) != 8 || impl->bytes(listed) != 8)
      return Relation::Unknown;
    *addend = ou - ol;
    return Relation::Offset;
  }
  // The unlisted view means only the low 8 (16) bits of its base value (a narrow register or
  // slot, or a register whose upper bits are undefined), and the listed view's low 8 (16)
  // bits are those bits: every tag keeps the low 8 bits, the 8-bit extensions and Low8 do
  // not keep 16.
  if (baseOf(cu) != baseOf(cl))
    return Relation::Unknown;
  unsigned bytes = impl->bytes(unlisted);
  Tag tu = tagOf(cu), tl = tagOf(cl);
  bool low8 = tu == Low8 || (tu == Plain && bytes == 1);
  bool low16 = tu == Low16 || (tu == Plain && bytes == 2);
  bool keeps16 = tl != Zext8 && tl != Zext8To64 && tl != Low8;
  if (low8 || (low16 && keeps16))
    return Relation::LowBits;
  return Relation::Unknown;
}

}  // namespace unimig
