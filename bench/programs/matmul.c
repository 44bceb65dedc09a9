/* Dense matrix multiply in doubles: f64 loads, multiplies and adds in an i-k-j loop nest. */
#include "common.h"

#define N 256
#define ROUNDS 12

static double a[N][N], b[N][N], c[N][N];

static void multiply(u32 n) {
  for (u32 i = 0; i < n; i++) {
    for (u32 j = 0; j < n; j++) c[i][j] = 0.0;
    for (u32 k = 0; k < n; k++) {
      double aik = a[i][k];
      for (u32 j = 0; j < n; j++) c[i][j] += aik * b[k][j];
    }
  }
}

EXPORT("_start") void _start(void) {
  u32 n = OPAQUE((u32)N);
  u32 rounds = OPAQUE((u32)ROUNDS);
  for (u32 i = 0; i < n; i++)
    for (u32 j = 0; j < n; j++) {
      a[i][j] = (double)(rng_next() % 2001) / 1000.0 - 1.0;
      b[i][j] = (double)(rng_next() % 2001) / 1000.0 - 1.0;
    }
  double trace = 0.0;
  for (u32 r = 0; r < rounds; r++) {
    multiply(n);
    /* feed the product back so the rounds depend on each other */
    for (u32 i = 0; i < n; i++) a[i][(i + r) % n] = c[i][i] / (double)n;
    trace = 0.0;
    for (u32 i = 0; i < n; i++) trace += c[i][i];
  }
  double sum = 0.0;
  for (u32 i = 0; i < n; i++)
    for (u32 j = 0; j < n; j++) sum += c[i][j] * (double)((i ^ j) & 7);
  put_str("matmul ");
  put_u64(n);
  put_str("x");
  put_u64(n);
  put_str(" x");
  put_u64(rounds);
  put_str(": trace bits ");
  put_hex64(f64_bits(trace));
  put_str(", weighted sum bits ");
  put_hex64(f64_bits(sum));
  flush_line();
}
