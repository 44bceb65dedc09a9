/* Sieve of Eratosthenes: byte stores with a stride, a tight counting loop over memory. */
#include "common.h"

#define LIMIT 4000000
#define ROUNDS 30

static u8 composite[LIMIT];

static u32 count_primes(u32 limit) {
  for (u32 i = 0; i < limit; i++) composite[i] = 0;
  for (u32 i = 2; i * i < limit; i++) {
    if (composite[i]) continue;
    for (u32 j = i * i; j < limit; j += i) composite[j] = 1;
  }
  u32 n = 0;
  for (u32 i = 2; i < limit; i++) n += !composite[i];
  return n;
}

EXPORT("_start") void _start(void) {
  u32 rounds = OPAQUE((u32)ROUNDS);
  u64 total = 0;
  u32 first = 0;
  for (u32 r = 0; r < rounds; r++) {
    /* each round a slightly lower limit, so no round is a copy of the one before */
    u32 n = count_primes(OPAQUE((u32)LIMIT) - r);
    if (r == 0) first = n;
    total += n;
  }
  if (first != 283146u) fail("primes below 4000000");
  put_str("primes below 4000000: ");
  put_u64(first);
  put_str(", sum over ");
  put_u64(rounds);
  put_str(" rounds: ");
  put_u64(total);
  flush_line();
}
