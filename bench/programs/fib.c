/* Recursion: doubly recursive Fibonacci; calls, returns, stack frames, little else. */
#include "common.h"

#define N 40

__attribute__((noinline)) static u32 fib(u32 n) {
  return n < 2 ? n : fib(n - 1) + fib(n - 2);
}

EXPORT("_start") void _start(void) {
  u32 n = OPAQUE((u32)N);
  u32 r = fib(n);
  if (r != 102334155u) fail("fib(40)");
  put_str("fib(");
  put_u64(n);
  put_str(") = ");
  put_u64(r);
  flush_line();
}
