/* Traps: from trap stubs (rt_trap), failed checks (rt_check) and faults in generated code
 * (signals). Each prints `trap: <message>` and a stack trace, then unwinds to the driver. */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "abi.h"
#include "gate.h"

sigjmp_buf trap_jump;
volatile int trap_jump_armed;

const char *const trap_messages[TRAP_COUNT] = {
  "", "unreachable", "integer divide by zero", "integer overflow", "invalid conversion to integer",
  "out of bounds memory access", "undefined element", "uninitialized element",
  "indirect call type mismatch", "call stack exhausted", "out of bounds table access",
  "suspended", "exit", "unknown import",
};

static int in_text(uint64_t pc) {
  return pc >= (uint64_t)inst.text && pc < (uint64_t)inst.text + img.text_size;
}

static void frame_line(const func_entry *f, uint32_t wasm_offset) {
  char line[1200];
  /* the image's function index is the linker's, meaningless to the user: the name (the name
   * section's, else "<module>.func[<index in its module>]") and the offset locate it */
  int n = snprintf(line, sizeof line, "  at %s (wasm offset 0x%x)\n",
                   image_string(f->name_off, f->name_len), wasm_offset);
  if (n > 0) (void)!write(2, line, n < (int)sizeof line ? (size_t)n : sizeof line - 1);
}

/* The wasm offset of the instruction whose code holds text offset `off` in compiled function f,
 * from the trap map after its code (docs/ARCHITECTURE.md, "Trap maps"): the last entry at or
 * before `off`. The function's own offset when none is (its prologue: the entry's stack check) or
 * the map does not read. Stubs (wasm offset 0) have no map. */
static uint32_t trap_offset(const func_entry *f, uint64_t off) {
  if (f->wasm_offset == 0 || f->code_end <= f->code_start || f->code_end > img.text_size) return f->wasm_offset;
  const uint8_t *text = (const uint8_t *)inst.text;
  /* the map's length: a LEB128 written backwards, its last byte the lowest group */
  const uint8_t *q = text + f->code_end, *lo = text + f->code_start;
  uint64_t len = 0;
  int shift = 0;
  for (;;) {
    if (q <= lo || shift > 28) return f->wasm_offset;
    uint8_t b = *--q;
    len |= (uint64_t)(b & 0x7f) << shift;
    shift += 7;
    if (!(b & 0x80)) break;
  }
  if (len > (uint64_t)(q - lo)) return f->wasm_offset;
  const uint8_t *p = q - len, *end = q;
  uint64_t code = f->code_start;
  int64_t wasm = f->wasm_offset;
  uint32_t best = f->wasm_offset;
  while (p < end) {
    uint64_t d = 0;
    int done = 0;
    shift = 0;
    while (p < end && shift < 35) {
      uint8_t b = *p++;
      d |= (uint64_t)(b & 0x7f) << shift;
      shift += 7;
      if (!(b & 0x80)) { done = 1; break; }
    }
    if (!done) break;
    int64_t w = 0;
    shift = 0, done = 0;
    while (p < end && shift < 35) {
      uint8_t b = *p++;
      w |= (int64_t)(b & 0x7f) << shift;
      shift += 7;
      if (!(b & 0x80)) {
        if (b & 0x40) w -= (int64_t)1 << shift;
        done = 1;
        break;
      }
    }
    if (!done) break;
    code += d;
    wasm += w;
    if (code > off) break;
    best = (uint32_t)wasm;
  }
  return best;
}

/* Walks the canonical frames (docs/ARCHITECTURE.md "Frames"): the return address sits at fp,
 * and a site's fpOffset gives the caller's fp. With print == 0 it only counts the frames. */
static uint64_t walk(const uint64_t *fp, uint64_t total, int print) {
  uint64_t lo = (uint64_t)inst.stack_base, hi = lo + inst.stack_size;
  uint64_t depth = 0;
  while (fp) {
    if ((uint64_t)fp < lo || (uint64_t)fp + 8 > hi) break;
    uint64_t ret = *fp;
    if (!in_text(ret)) break;
    const site_entry *s = image_site_at(ret - (uint64_t)inst.text);
    if (!s) break;
    if (print) {
      /* deep stacks: the innermost and the outermost frames, the middle elided */
      if (depth < 24 || depth + 8 >= total) frame_line(&img.funcs[s->func], s->wasm_offset);
      else if (depth == 24) {
        char line[80];
        int n = snprintf(line, sizeof line, "  ... %llu frames ...\n", (unsigned long long)(total - 32));
        (void)!write(2, line, n);
      }
    }
    depth++;
    fp = (const uint64_t *)((uint64_t)fp + 8 + s->fp_offset);
  }
  return depth;
}

uint64_t stack_callers(const uint64_t *fp) { return walk(fp, 0, 0); }

void stack_trace(uint64_t pc, const uint64_t *fp) {
  const func_entry *f = in_text(pc) ? image_func_at(pc - (uint64_t)inst.text) : NULL;
  if (f) frame_line(f, trap_offset(f, pc - (uint64_t)inst.text));
  walk(fp, walk(fp, 0, 0), 1);
}

void stack_trace_site(const site_entry *s, const uint64_t *fp) {
  if (s) frame_line(&img.funcs[s->func], s->wasm_offset);
  walk(fp, walk(fp, 0, 0), 1);
}

_Noreturn void trap_raise(uint64_t id, const uint64_t *fp, uint64_t pc, int skip_first) {
  (void)skip_first;
  if (id >= TRAP_COUNT) id = TRAP_UNREACHABLE;
  char line[128];
  int n = snprintf(line, sizeof line, "trap: %s\n", trap_messages[id]);
  (void)!write(2, line, n);
  stack_trace(pc, fp);
  if (trap_jump_armed) siglongjmp(trap_jump, (int)id);
  state_write(STATE_TRAPPED, (uint32_t)id, 0, NULL, NULL);
  _exit(EXIT_TRAP);
}

void rt_trap(uint64_t id, uint64_t *sp, uint8_t *vmctx, uint64_t *fp) {
  (void)vmctx;
  if (id == TRAP_UNKNOWN_IMPORT && in_text(sp[0])) {
    /* the stub of an import nothing links (wagc --trap-unknown-imports): its function entry is
     * named after the import; the caller's return address is the word above the stub's own, and
     * the caller's fp is still fp (the stub has no frame) */
    const func_entry *f = image_func_at(sp[0] - 1 - (uint64_t)inst.text);
    char line[1200];
    int n = snprintf(line, sizeof line, "trap: unknown import %s called\n",
                     f ? image_string(f->name_off, f->name_len) : "?");
    if (n > 0) (void)!write(2, line, n < (int)sizeof line ? (size_t)n : sizeof line - 1);
    stack_trace_site(in_text(sp[1]) ? image_site_at(sp[1] - (uint64_t)inst.text) : NULL, fp);
    if (trap_jump_armed) siglongjmp(trap_jump, (int)id);
    state_write(STATE_TRAPPED, (uint32_t)id, 0, NULL, NULL);
    _exit(EXIT_TRAP);
  }
  trap_raise(id, fp, *sp - 1, 0);
}

/* A failed entry or loop check. The stack check comes first: a frame whose lowest address
 * (fp − frame_size) is below the limit is "call stack exhausted" even when a suspension was
 * asked for at the same time, since a suspended entry resumes after its check (section 11) and
 * its frame would then lie below the stack. So every snapshot's frames fit the stack they were
 * taken on (docs/ARCHITECTURE.md, "The stack limit"). */
void rt_check(uint64_t *sp, uint8_t *vmctx, uint64_t *fp) {
  const site_entry *s = image_site_at(*sp - (uint64_t)inst.text);
  if (!s || (uint64_t)fp - img.funcs[s->func].frame_size < instance_stack_limit()) {
    trap_raise(TRAP_CALL_STACK_EXHAUSTED, fp, *sp - 1, 0);
  }
  if (*(uint64_t *)(vmctx + VMCTX_SUSPEND_REQUESTED)) {
    suspend_at_check(sp, fp);
    return; /* deferred: the check's slow path returns, and the program goes on */
  }
  suspend_counted_check(sp, fp);
  /* otherwise the frame fits: a request withdrawn (deferred) after the limit register saw ~0 */
}

static void on_fault(int sig, siginfo_t *info, void *uc) {
  uint64_t pc, sp, fp;
  arch_context_regs(uc, &pc, &sp, &fp);
  if (!in_text(pc)) {
    /* not generated code: a loader bug; die with the signal rather than hide it */
    char line[128];
    int n = snprintf(line, sizeof line, "gate-run: internal error: signal %d at pc %#lx\n", sig, (unsigned long)pc);
    (void)!write(2, line, n);
    signal(sig, SIG_DFL);
    return;
  }
  uint64_t id = TRAP_UNREACHABLE;
  if (sig == SIGSEGV || sig == SIGBUS) {
    uint64_t addr = (uint64_t)info->si_addr;
    if ((addr >= (uint64_t)inst.memory && addr < (uint64_t)inst.memory + inst.reservation) || store_in_memory(addr)) id = TRAP_OUT_OF_BOUNDS_MEMORY;
    else if (addr >= (uint64_t)inst.stack_base - STACK_HEADROOM && addr < (uint64_t)inst.stack_base) id = TRAP_CALL_STACK_EXHAUSTED;
    else {
      char line[160];
      int n = snprintf(line, sizeof line, "gate-run: internal error: fault at %#lx in generated code (pc %#lx)\n", (unsigned long)addr, (unsigned long)pc);
      (void)!write(2, line, n);
      signal(sig, SIG_DFL);
      return;
    }
  } else if (sig == SIGFPE) {
    id = info->si_code == FPE_INTDIV ? TRAP_INTEGER_DIVIDE_BY_ZERO : TRAP_INTEGER_OVERFLOW;
  }
  trap_raise(id, (const uint64_t *)fp, pc, 0);
}

void trap_install(void) {
  static uint8_t altstack[1 << 16];
  stack_t ss = { .ss_sp = altstack, .ss_size = sizeof altstack, .ss_flags = 0 };
  sigaltstack(&ss, NULL);
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_fault;
  sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGSEGV, &sa, NULL);
  sigaction(SIGBUS, &sa, NULL);
  sigaction(SIGFPE, &sa, NULL);
  sigaction(SIGILL, &sa, NULL);
}
