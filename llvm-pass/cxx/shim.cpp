// Small C entry points for the few LLVM C++ APIs that LLVM 19's C API lacks.
// Every function takes and returns the C API's opaque handles.
#include "llvm-c/Core.h"
#include "llvm-c/TargetMachine.h"
#include "llvm/IR/BasicBlock.h"
#include "llvm/IR/CFG.h"
#include "llvm/IR/Function.h"
#include "llvm/IR/GlobalValue.h"
#include "llvm/IR/Instructions.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/raw_ostream.h"
#include "llvm/Target/TargetMachine.h"
#include "llvm/Analysis/AssumptionCache.h"
#include "llvm/Analysis/LoopInfo.h"
#include "llvm/Analysis/ScalarEvolution.h"
#include "llvm/Analysis/ScalarEvolutionExpressions.h"
#include "llvm/Analysis/TargetLibraryInfo.h"
#include "llvm/IR/Dominators.h"
#include "llvm/IR/IntrinsicInst.h"
#include "llvm/IR/Module.h"
#include "llvm/TargetParser/Triple.h"
#include "llvm/Transforms/Utils/BasicBlockUtils.h"
#include "llvm/Transforms/Utils/Local.h"
#include "llvm/Transforms/Utils/PromoteMemToReg.h"
#include <algorithm>
#include <optional>
#include <vector>

using namespace llvm;

namespace {

// The size in bytes of the object `v` is, when it is one of fixed size whose every byte this
// code may assume is all there is: a local variable, or a global variable whose definition is
// the one the program gets (not weak, not external).
std::optional<uint64_t> fixedObjectSize(const Value *v, const DataLayout &dl) {
  if (const auto *a = dyn_cast<AllocaInst>(v)) {
    std::optional<TypeSize> size = a->getAllocationSize(dl);
    if (size && !size->isScalable())
      return size->getFixedValue();
    return std::nullopt;
  }
  if (const auto *g = dyn_cast<GlobalVariable>(v))
    if (g->hasDefinitiveInitializer())
      return dl.getTypeAllocSize(g->getValueType()).getFixedValue();
  return std::nullopt;
}

// An upper bound on how many times `l`'s header runs per entry, from a fixed-size object the
// loop walks: a load or store in a block that every iteration passes through (it dominates the
// loop's only latch; the loop calls nothing, so nothing leaves such a block early), whose
// address steps through the object by a constant stride (an affine recurrence of `l` based on
// the object). Touching memory outside the object through a pointer based on it is undefined
// behaviour, so the access has at most (size - access size) / stride + 1 places to be, and the
// header runs at most once more than that. 0: no such access. This bounds loops that
// ScalarEvolution's trip counts cannot, whose exit depends on the data they read (bzip2's
// move-to-front search over a 256-byte table).
unsigned tripsWithinObject(ScalarEvolution &se, const DominatorTree &dt, const Loop &l) {
  const BasicBlock *latch = l.getLoopLatch();
  if (!latch)
    return 0;
  const DataLayout &dl = latch->getModule()->getDataLayout();
  unsigned best = 0;
  for (const BasicBlock *bb : l.blocks()) {
    if (!dt.dominates(bb, latch))
      continue;
    for (const Instruction &i : *bb) {
      const Value *ptr = getLoadStorePointerOperand(&i);
      if (!ptr)
        continue;
      const auto *rec = dyn_cast<SCEVAddRecExpr>(se.getSCEV(const_cast<Value *>(ptr)));
      if (!rec || rec->getLoop() != &l || !rec->isAffine())
        continue;
      const auto *step = dyn_cast<SCEVConstant>(rec->getStepRecurrence(se));
      if (!step || step->getAPInt().isZero())
        continue;
      const auto *base = dyn_cast<SCEVUnknown>(se.getPointerBase(rec));
      if (!base)
        continue;
      std::optional<uint64_t> size = fixedObjectSize(base->getValue(), dl);
      Type *accessed =
          isa<LoadInst>(i) ? i.getType() : cast<StoreInst>(i).getValueOperand()->getType();
      TypeSize access = dl.getTypeStoreSize(accessed);
      if (!size || access.isScalable() || access.getFixedValue() == 0 ||
          access.getFixedValue() > *size)
        continue;
      uint64_t stride = step->getAPInt().abs().getLimitedValue();
      uint64_t trips = (*size - access.getFixedValue()) / stride + 2;
      if (trips < best || best == 0)
        best = unsigned(std::min<uint64_t>(trips, UINT32_MAX));
    }
  }
  return best;
}

}  // namespace

extern "C" {

// TargetOptions that clang sets from its command line and the C API cannot:
// -ffunction-sections, -fdata-sections, and .init_array for constructors (musl has no .ctors).
void unimig_tm_configure(LLVMTargetMachineRef tm, int function_sections, int data_sections) {
  TargetMachine *t = reinterpret_cast<TargetMachine *>(tm);
  t->Options.FunctionSections = function_sections != 0;
  t->Options.DataSections = data_sections != 0;
  t->Options.UniqueSectionNames = true;
  t->Options.UseInitArray = true;
}

// Splits the block of `inst` before `inst`; the new block (holding `inst` and everything after
// it) is returned. The old block ends in an unconditional branch to it; successors' phis are
// updated.
LLVMBasicBlockRef unimig_split_block_before(LLVMValueRef inst) {
  Instruction *i = unwrap<Instruction>(inst);
  BasicBlock *bb = i->getParent();
  return wrap(bb->splitBasicBlock(i->getIterator(), bb->getName() + ".split"));
}

// Puts a new block on every CFG edge from -> to (all successor slots of from's terminator that
// name to, so a switch with several cases to one block gets one new block) and returns it. The
// new block ends in `br to`; to's phis get one entry for it, with the value that came from `from`.
LLVMBasicBlockRef unimig_split_edges(LLVMBasicBlockRef from_ref, LLVMBasicBlockRef to_ref,
                                     const char *name) {
  BasicBlock *from = unwrap(from_ref);
  BasicBlock *to = unwrap(to_ref);
  Function *f = from->getParent();
  BasicBlock *mid = BasicBlock::Create(f->getContext(), name, f, to);
  Instruction *term = from->getTerminator();
  for (unsigned s = 0, n = term->getNumSuccessors(); s < n; ++s)
    if (term->getSuccessor(s) == to)
      term->setSuccessor(s, mid);
  BranchInst::Create(to, mid);
  for (PHINode &phi : to->phis()) {
    bool first = true;
    for (unsigned k = 0; k < phi.getNumIncomingValues();) {
      if (phi.getIncomingBlock(k) != from) {
        ++k;
        continue;
      }
      if (first) {
        phi.setIncomingBlock(k, mid);
        first = false;
        ++k;
      } else {
        phi.removeIncomingValue(k, /*DeletePHIIfEmpty=*/false);
      }
    }
  }
  return wrap(mid);
}

// Moves `inst` right before `before` (same function).
void unimig_move_before(LLVMValueRef inst, LLVMValueRef before) {
  unwrap<Instruction>(inst)->moveBefore(unwrap<Instruction>(before));
}

// Marks a global dso_local, as clang does for every symbol in static non-PIC code (so
// references are direct, not through the GOT).
void unimig_set_dso_local(LLVMValueRef global) {
  unwrap<GlobalValue>(global)->setDSOLocal(true);
}

// Deletes the blocks of `fn` unreachable from its entry (updating phis); returns whether any
// were. Code generation removes them too, but not identically on both ISAs, so a call in dead
// code (e.g. musl's `isdigit` macro at -O0) would give a record on one ISA only.
int unimig_remove_unreachable_blocks(LLVMValueRef fn) {
  return removeUnreachableBlocks(*unwrap<Function>(fn)) ? 1 : 0;
}

// Replaces `pred`'s unconditional branch to `ret_block` (a return, after at most phis) by a
// copy of that return, as CodeGenPrepare does to let a call before the branch become a tail
// call; `ret_block` is deleted once no block branches to it.
void unimig_fold_return_into(LLVMBasicBlockRef pred, LLVMBasicBlockRef ret_block) {
  BasicBlock *bb = unwrap(ret_block);
  FoldReturnIntoUncondBranch(cast<ReturnInst>(bb->getTerminator()), bb, unwrap(pred));
  if (pred_empty(bb))
    bb->eraseFromParent();
}

// Promotes exactly these allocas of `fn` (entry-block allocas used only by loads and stores)
// to SSA values, inserting phis where definitions meet: mem2reg for the instrumentation's own
// variables, without touching the program's.
void unimig_promote_allocas(LLVMValueRef fn, LLVMValueRef *allocas, unsigned n) {
  Function *f = unwrap<Function>(fn);
  std::vector<AllocaInst *> list;
  for (unsigned i = 0; i < n; ++i)
    list.push_back(unwrap<AllocaInst>(allocas[i]));
  if (list.empty())
    return;
  DominatorTree dt(*f);
  PromoteMemToReg(list, dt);
}

// Sets one registered LLVM option to `value` (as `-name=value` would), again and again if
// need be: ParseCommandLineOptions refuses a second occurrence of an option. Returns 0, or 1
// if no option has that name or the value does not parse.
int unimig_set_llvm_option(const char *name, const char *value) {
  auto &options = cl::getRegisteredOptions();
  auto it = options.find(name);
  if (it == options.end())
    return 1;
  return it->second->addOccurrence(1, name, value) ? 1 : 0;
}

// Parses LLVM's command-line options (what clang's -mllvm sets) like LLVMParseCommandLineOptions,
// but reports a bad option instead of exiting the process: returns 0, or 1 with the message in
// *error (free it with LLVMDisposeMessage).
int unimig_parse_llvm_options(int argc, const char *const *argv, char **error) {
  std::string text;
  raw_string_ostream out(text);
  if (cl::ParseCommandLineOptions(argc, argv, "", &out))
    return 0;
  out.flush();
  *error = LLVMCreateMessage(text.c_str());
  return 1;
}

// Headers of `fn`'s short loops: innermost loops that call nothing (intrinsics and inline asm
// aside) and whose header runs at most `limit` times on any entry, by ScalarEvolution's
// constant maximum trip count or by the fixed-size object the loop walks (tripsWithinObject).
// Writes up to `cap` headers to `out`; returns how many there are.
size_t unimig_short_loops(LLVMValueRef fn, unsigned limit, LLVMBasicBlockRef *out, size_t cap) {
  Function &f = *unwrap<Function>(fn);
  DominatorTree dt(f);
  LoopInfo li(dt);
  // The pass asks for every function before the shadow stack moves its locals, loops or not:
  // the library table and ScalarEvolution are built only where there is a loop.
  if (li.empty())
    return 0;
  TargetLibraryInfoImpl tlii(Triple(f.getParent()->getTargetTriple()));
  TargetLibraryInfo tli(tlii, &f);
  AssumptionCache ac(f);
  ScalarEvolution se(f, tli, ac, dt, li);
  size_t n = 0;
  for (Loop *l : li.getLoopsInPreorder()) {
    if (!l->isInnermost())
      continue;
    // Calls first: they are cheaper to find than a bound, and most loops that call are long.
    bool calls = false;
    for (BasicBlock *bb : l->blocks())
      for (Instruction &i : *bb)
        if (auto *call = dyn_cast<CallBase>(&i))
          if (!call->isInlineAsm() && !isa<IntrinsicInst>(call))
            calls = true;
    if (calls)
      continue;
    unsigned trips = se.getSmallConstantMaxTripCount(l);
    if (unsigned within = tripsWithinObject(se, dt, *l); within && (!trips || within < trips))
      trips = within;
    if (trips == 0 || trips > limit)
      continue;
    if (n < cap)
      out[n] = wrap(l->getHeader());
    ++n;
  }
  return n;
}
}  // extern "C"
