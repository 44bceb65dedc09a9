/* Register access in a signal context, x86-64. */
#define _GNU_SOURCE
#include <signal.h>
#include <ucontext.h>
#include "gate.h"

int arch_context_regs(void *ucontext, uint64_t *pc, uint64_t *sp, uint64_t *fp) {
  ucontext_t *uc = ucontext;
  *pc = uc->uc_mcontext.gregs[REG_RIP];
  *sp = uc->uc_mcontext.gregs[REG_RSP];
  *fp = uc->uc_mcontext.gregs[REG_RBP];
  return 0;
}
