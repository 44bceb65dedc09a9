/* x86-64 specifics: register access in a signal context, CPU features. */
#define _GNU_SOURCE
#include <cpuid.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ucontext.h>
#include "abi.h"
#include "gate.h"

int arch_context_regs(void *ucontext, uint64_t *pc, uint64_t *sp, uint64_t *fp) {
  ucontext_t *uc = ucontext;
  *pc = uc->uc_mcontext.gregs[REG_RIP];
  *sp = uc->uc_mcontext.gregs[REG_RSP];
  *fp = uc->uc_mcontext.gregs[REG_RBP];
  return 0;
}

void arch_set_stack_limit(void *ucontext, uint64_t limit) {
  ((ucontext_t *)ucontext)->uc_mcontext.gregs[REG_R14] = (greg_t)limit;
}

uint32_t arch_cpu_features(void) {
  unsigned a, b, c, d;
  uint32_t have = 0;
  if (__get_cpuid(1, &a, &b, &c, &d) && (c & (1u << 23))) have |= CPU_FEATURE_POPCNT;
  /* SSE4.1 with what it builds on: SSE3 (bit 0) and SSSE3 (bit 9) */
  if (__get_cpuid(1, &a, &b, &c, &d) && (c & (1u << 19)) && (c & (1u << 9)) && (c & 1u)) have |= CPU_FEATURE_SSE4_1;
  if (__get_cpuid(0x80000001u, &a, &b, &c, &d) && (c & (1u << 5))) have |= CPU_FEATURE_LZCNT;
  if (__get_cpuid_count(7, 0, &a, &b, &c, &d) && (b & (1u << 3))) have |= CPU_FEATURE_BMI1;
  /* AVX (bit 28) only where the OS saves the ymm state: OSXSAVE (bit 27) and XCR0 bits 1, 2 */
  if (__get_cpuid(1, &a, &b, &c, &d) && (c & (1u << 28)) && (c & (1u << 27))) {
    unsigned lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    if ((lo & 6u) == 6u) have |= CPU_FEATURE_AVX;
  }
  return have;
}

/* Names in bit order, as wagc --cpu-features spells them. */
static const char *const feature_names[] = { "popcnt", "lzcnt", "bmi1", "sse4_1", "avx" };
#define FEATURE_COUNT (sizeof feature_names / sizeof feature_names[0])

/* Refuses (one line on stderr, -1) an image whose code needs a CPU feature this CPU lacks, or a
 * feature bit this loader does not know, instead of letting it die of SIGILL later. */
int arch_check_cpu_features(uint32_t need) {
  uint32_t have = arch_cpu_features();
#ifdef GATE_TEST_HOOKS
  /* test builds only: pretend the CPU lacks the features named (comma-separated) */
  const char *hide = gate_getenv("GATE_RUN_TEST_HIDE_CPU_FEATURES");
  for (unsigned k = 0; hide && k < FEATURE_COUNT; k++) {
    size_t n = strlen(feature_names[k]);
    for (const char *s = hide; (s = strstr(s, feature_names[k])); s += n) {
      if ((s == hide || s[-1] == ',') && (s[n] == 0 || s[n] == ',')) have &= ~(1u << k);
    }
  }
#endif
  for (unsigned k = 0; k < 32; k++) {
    if (!(need & (1u << k))) continue;
    if (k >= FEATURE_COUNT) {
      fprintf(stderr, "gate-run: image needs an unknown CPU feature (bit %u of cpu_features)\n", k);
      return -1;
    }
    if (!(have & (1u << k))) {
      fprintf(stderr, "gate-run: image needs CPU feature %s, which this CPU lacks\n", feature_names[k]);
      return -1;
    }
  }
  return 0;
}

/* call rel32 (direct calls, the stubs), call r64 (call_indirect) */
int arch_returns_after_call(const uint8_t *text, uint64_t off) {
  if (off >= 5 && text[off - 5] == 0xe8) return 1;
  if (off >= 2 && text[off - 2] == 0xff && (text[off - 1] & 0xf8) == 0xd0) return 1;
  if (off >= 3 && text[off - 3] == 0x41 && text[off - 2] == 0xff && (text[off - 1] & 0xf8) == 0xd0) return 1;
  return 0;
}
