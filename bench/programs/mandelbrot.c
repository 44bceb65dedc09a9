/* Mandelbrot set: a hot f64 loop over a handful of locals (z, z², c, the count), an early exit on
   escape; no memory traffic at all. The output counts the iterations, and hashes them per pixel. */
#include "common.h"

#define W 1200
#define H 800
#define MAXIT 600

__attribute__((noinline)) static u32 escape(double cr, double ci, u32 maxit) {
  double zr = 0, zi = 0, zr2 = 0, zi2 = 0;
  u32 i = 0;
  while (i < maxit && zr2 + zi2 <= 4.0) {
    zi = 2.0 * zr * zi + ci;
    zr = zr2 - zi2 + cr;
    zr2 = zr * zr;
    zi2 = zi * zi;
    i++;
  }
  return i;
}

EXPORT("_start") void _start(void) {
  u32 w = OPAQUE((u32)W), h = OPAQUE((u32)H), maxit = OPAQUE((u32)MAXIT);
  u64 total = 0, hash = 0xcbf29ce484222325ull;
  for (u32 y = 0; y < h; y++) {
    double ci = -1.0 + 2.0 * y / h;
    for (u32 x = 0; x < w; x++) {
      double cr = -2.2 + 3.0 * x / w;
      u32 n = escape(cr, ci, maxit);
      total += n;
      hash = (hash ^ n) * 0x100000001b3ull;
    }
  }
  put_str("mandelbrot ");
  put_u64(w);
  put_str("x");
  put_u64(h);
  put_str(": iterations ");
  put_u64(total);
  put_str(", hash ");
  put_hex64(hash);
  flush_line();
}
