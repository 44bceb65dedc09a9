/* Quicksort with the comparison behind a function pointer: every comparison is a call_indirect,
   plus recursion and data-dependent branches. */
#include "common.h"

#define SIZE 400000
#define ROUNDS 6

typedef int (*cmp_fn)(u32, u32);

static u32 keys[SIZE];

static int cmp_asc(u32 x, u32 y) { return x < y ? -1 : x > y; }
static int cmp_desc(u32 x, u32 y) { return x > y ? -1 : x < y; }
static int cmp_low16(u32 x, u32 y) {
  u32 lx = x & 0xffff, ly = y & 0xffff;
  if (lx != ly) return lx < ly ? -1 : 1;
  return x < y ? -1 : x > y;
}
/* the optimiser cannot tell which entry is called, so it must keep the indirect calls */
static cmp_fn comparators[3] = { cmp_asc, cmp_desc, cmp_low16 };

static void swap(u32 *p, u32 *q) { u32 t = *p; *p = *q; *q = t; }

static void sort(u32 *v, i32 n, cmp_fn cmp) {
  while (n > 16) {
    /* median of three as the pivot */
    i32 m = n / 2;
    if (cmp(v[m], v[0]) < 0) swap(&v[m], &v[0]);
    if (cmp(v[n - 1], v[m]) < 0) {
      swap(&v[n - 1], &v[m]);
      if (cmp(v[m], v[0]) < 0) swap(&v[m], &v[0]);
    }
    u32 pivot = v[m];
    i32 i = 0, j = n - 1;
    for (;;) {
      while (cmp(v[i], pivot) < 0) i++;
      while (cmp(pivot, v[j]) < 0) j--;
      if (i >= j) break;
      swap(&v[i], &v[j]);
      i++;
      j--;
    }
    /* recurse into the smaller part, loop on the larger */
    i32 left = j + 1;
    if (left < n - left) {
      sort(v, left, cmp);
      v += left;
      n -= left;
    } else {
      sort(v + left, n - left, cmp);
      n = left;
    }
  }
  for (i32 i = 1; i < n; i++) {
    u32 x = v[i];
    i32 j = i - 1;
    while (j >= 0 && cmp(x, v[j]) < 0) {
      v[j + 1] = v[j];
      j--;
    }
    v[j + 1] = x;
  }
}

EXPORT("_start") void _start(void) {
  i32 n = OPAQUE((i32)SIZE);
  u32 rounds = OPAQUE((u32)ROUNDS);
  u64 check = 0;
  for (u32 r = 0; r < rounds; r++) {
    for (i32 i = 0; i < n; i++) keys[i] = (u32)rng_next();
    cmp_fn cmp = comparators[OPAQUE(r) % 3];
    sort(keys, n, cmp);
    for (i32 i = 1; i < n; i++)
      if (cmp(keys[i - 1], keys[i]) > 0) fail("not sorted");
    for (i32 i = 0; i < n; i += 997) check = check * 31 + keys[i];
  }
  put_str("qsort ");
  put_u64((u64)n);
  put_str(" x");
  put_u64(rounds);
  put_str(": checksum ");
  put_hex64(check);
  flush_line();
}
