// `.unimig.fixups`: one 32-byte entry per fixup (docs/formats.md), little-endian:
//   0  u64 record ID
//   8  u64 value: the constant, or symbol + addend as an R_X86_64_64 / R_AARCH64_ABS64
//          relocation (lld applies relocations in non-allocated sections of a static link, so
//          the linked image holds the final address; a SymbolPage entry holds the full address
//          and the reader masks it), 0 for the thread pointer
//  16  i32 offset of a stack slot from its base register (0 for a register)
//  20  u16 DWARF register number: the register, or a stack slot's base register
//  22  u8  where: 1 register, 2 stack slot [base + offset]
//  23  u8  size of the register or slot in bytes
//  24  u8  recipe kind (remat.h: 0 constant, 1 symbol address, 2 symbol page, 3 thread pointer)
//  25  7 bytes zero
#include "fixup_section.h"

#include "statepoint_check.h"

#include "llvm/BinaryFormat/ELF.h"
#include "llvm/CodeGen/AsmPrinter.h"
#include "llvm/CodeGen/AsmPrinterHandler.h"
#include "llvm/CodeGen/MachineFunction.h"
#include "llvm/CodeGen/TargetFrameLowering.h"
#include "llvm/CodeGen/TargetRegisterInfo.h"
#include "llvm/CodeGen/TargetSubtargetInfo.h"
#include "llvm/MC/MCContext.h"
#include "llvm/MC/MCExpr.h"
#include "llvm/MC/MCSectionELF.h"
#include "llvm/MC/MCStreamer.h"

using namespace llvm;

namespace unimig {
namespace {

enum Where : uint8_t { InRegister = 1, InStackSlot = 2 };

// A fixup's final location.
struct Resolved {
  Where where = InRegister;
  int dwarf = -1;  // -1: unknown (no DWARF number, a scalable offset, never resolved)
  int64_t offset = 0;
};

// The DWARF number of `reg`, or of the nearest super-register that has one (x86-64's 32-bit
// registers have none of their own), as StackMaps does.
int dwarfNumber(const TargetRegisterInfo &tri, MCRegister reg) {
  int n = tri.getDwarfRegNum(reg, false);
  for (MCPhysReg super : tri.superregs(reg)) {
    if (n >= 0)
      break;
    n = tri.getDwarfRegNum(super, false);
  }
  return n;
}

class FixupSectionWriter : public AsmPrinterHandler {
public:
  FixupSectionWriter(AsmPrinter &printer, StatepointCheckResult &result)
      : printer(printer), result(result) {}

  void beginFunction(const MachineFunction *) override {}

  // Prologue insertion has fixed the frame: resolve this function's places the way StackMaps
  // resolves frame-index operands.
  void endFunction(const MachineFunction *mf) override {
    const TargetRegisterInfo &tri = *mf->getSubtarget().getRegisterInfo();
    const TargetFrameLowering &tfl = *mf->getSubtarget().getFrameLowering();
    resolved.resize(result.fixups.size());
    for (size_t i = 0; i < result.fixups.size(); ++i) {
      const Fixup &f = result.fixups[i];
      if (f.function != &mf->getFunction())
        continue;
      Resolved &r = resolved[i];
      if (f.place.isReg()) {
        r.where = InRegister;
        r.dwarf = dwarfNumber(tri, f.place.reg);
      } else {
        Register base;
        StackOffset off = tfl.getFrameIndexReference(*mf, f.place.frame_index, base);
        r.where = InStackSlot;
        r.dwarf = off.getScalable() ? -1 : dwarfNumber(tri, base);
        r.offset = off.getFixed();
      }
    }
  }

  void endModule() override {
    if (result.fixups.empty())
      return;
    resolved.resize(result.fixups.size());
    MCStreamer &out = *printer.OutStreamer;
    MCContext &ctx = out.getContext();
    out.pushSection();
    out.switchSection(ctx.getELFSection(kFixupSection, ELF::SHT_PROGBITS, 0));
    out.emitValueToAlignment(Align(8));
    for (size_t i = 0; i < result.fixups.size(); ++i) {
      const Fixup &f = result.fixups[i];
      const Resolved &r = resolved[i];
      // A place without a DWARF number or an unresolved function cannot be written: say so
      // with an entry whose `where` is 0, which the transformer refuses (the frame is unsafe).
      bool ok = r.dwarf >= 0 && r.dwarf <= 0xffff && r.offset >= INT32_MIN &&
                r.offset <= INT32_MAX;
      out.emitIntValue(f.id, 8);
      if (f.recipe.isSymbol()) {
        MCSymbol *sym = f.recipe.global ? printer.getSymbol(f.recipe.global)
                                        : printer.GetExternalSymbolSymbol(f.recipe.external);
        const MCExpr *e = MCSymbolRefExpr::create(sym, ctx);
        if (f.recipe.value)
          e = MCBinaryExpr::createAdd(e, MCConstantExpr::create(f.recipe.value, ctx), ctx);
        out.emitValue(e, 8);
      } else {
        out.emitIntValue(uint64_t(f.recipe.value), 8);
      }
      out.emitIntValue(uint64_t(uint32_t(int32_t(ok ? r.offset : 0))), 4);
      out.emitIntValue(ok ? unsigned(r.dwarf) : 0, 2);
      out.emitIntValue(ok ? r.where : 0, 1);
      out.emitIntValue(f.size, 1);
      out.emitIntValue(f.recipe.kind, 1);
      out.emitZeros(3);
      // A live value's addend (the check keeps it within i32); 0 for the other recipes.
      int64_t addend = f.recipe.kind == Recipe::LiveValue ? f.recipe.addend : 0;
      out.emitIntValue(uint64_t(uint32_t(int32_t(addend))), 4);
    }
    out.popSection();
  }

private:
  AsmPrinter &printer;
  StatepointCheckResult &result;
  std::vector<Resolved> resolved;  // parallel to result.fixups
};

}  // namespace

std::unique_ptr<AsmPrinterHandler> createFixupSectionWriter(AsmPrinter &printer,
                                                            StatepointCheckResult &result) {
  return std::make_unique<FixupSectionWriter>(printer, result);
}

}  // namespace unimig
