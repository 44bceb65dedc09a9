/* AArch64 specifics: register access in a signal context, CPU features. */
#define _GNU_SOURCE
#include <signal.h>
#include <string.h>
#include <stdio.h>
#include <ucontext.h>
#include "abi.h"
#include "gate.h"

/* docs/ARCHITECTURE.md "Register convention (ARM64)": generated code keeps the wasm stack pointer
 * in x28 (sp stays the loader's C stack) and the frame pointer in x29 (the address of the current
 * function's return address slot, as rbp on x86-64), so `sp` here is x28, x86-64's rsp. */
#define WASM_SP 28
#define FP 29

int arch_context_regs(void *ucontext, uint64_t *pc, uint64_t *sp, uint64_t *fp) {
  ucontext_t *uc = ucontext;
  *pc = uc->uc_mcontext.pc;
  *sp = uc->uc_mcontext.regs[WASM_SP];
  *fp = uc->uc_mcontext.regs[FP];
  return 0;
}

void arch_set_stack_limit(void *ucontext, uint64_t limit) {
  ((ucontext_t *)ucontext)->uc_mcontext.regs[26] = limit;
}

/* No cpu_features bits are defined for arm64 images yet: the baseline (ARMv8.0-A) is all the
 * code may use. */
uint32_t arch_cpu_features(void) { return 0; }

/* Refuses (one line on stderr, -1) an image that asks for any CPU feature bit: none is known. */
int arch_check_cpu_features(uint32_t need) {
  for (unsigned k = 0; k < 32; k++) {
    if (need & (1u << k)) {
      fprintf(stderr, "gate-run: image needs an unknown CPU feature (bit %u of cpu_features)\n", k);
      return -1;
    }
  }
  return 0;
}

/* bl (direct calls, the stubs), blr (call_indirect, the entry stub) */
int arch_returns_after_call(const uint8_t *text, uint64_t off) {
  if (off < 4 || off % 4) return 0;
  uint32_t w;
  memcpy(&w, text + off - 4, 4);
  return (w & 0xfc000000u) == 0x94000000u || (w & 0xfffffc1fu) == 0xd63f0000u;
}
