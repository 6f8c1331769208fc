// Writes the statepoint check's fixups (statepoint_check.h) into the object's `.unimig.fixups`
// section (format in docs/formats.md), from inside the AsmPrinter so that symbol values become
// relocations lld resolves in the linked image.
#pragma once

#include <memory>

namespace llvm {
class AsmPrinter;
class AsmPrinterHandler;
}  // namespace llvm

namespace unimig {

struct StatepointCheckResult;

// The section's name.
inline constexpr const char *kFixupSection = ".unimig.fixups";

// A handler for `printer` that resolves each function's spill-slot fixups to final
// [base register + offset] locations when the function is printed (after prologue insertion)
// and emits the section at the end of the module (nothing when there are no fixups).
std::unique_ptr<llvm::AsmPrinterHandler> createFixupSectionWriter(llvm::AsmPrinter &printer,
                                                                  StatepointCheckResult &result);

}  // namespace unimig
