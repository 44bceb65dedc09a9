/* Loops clang vectorises at -O3 -msimd128: over bytes, 16-bit and 32-bit integers, floats and
 * doubles. Each prints a checksum of its result; the vector code must give the same bits as V8. */
#include <stdint.h>
#include <stdio.h>
#include <math.h>

#define N 4099 /* not a multiple of any vector width: the scalar tail runs too */

static uint8_t a8[N], b8[N], c8[N];
static int16_t a16[N], b16[N], c16[N];
static int32_t a32[N], b32[N], c32[N];
static uint32_t u32[N];
static float af[N], bf[N], cf[N];
static double ad[N], bd[N], cd[N];

static uint32_t seed = 12345;
static uint32_t next(void) {
  seed ^= seed << 13;
  seed ^= seed >> 17;
  seed ^= seed << 5;
  return seed;
}

static uint64_t hash(const void *p, size_t n) {
  const uint8_t *b = p;
  uint64_t h = 0xcbf29ce484222325ull;
  for (size_t k = 0; k < n; k++) h = (h ^ b[k]) * 0x100000001b3ull;
  return h;
}

__attribute__((noinline)) static void bytes(void) {
  for (int k = 0; k < N; k++) {
    unsigned s = a8[k] + b8[k];
    c8[k] = s > 255 ? 255 : s; /* saturating add */
  }
  for (int k = 0; k < N; k++) c8[k] = (uint8_t)((c8[k] ^ a8[k]) >> 1) | (b8[k] & 0x81);
  int zeros = 0, big = 0;
  for (int k = 0; k < N; k++) {
    zeros += c8[k] == 0;
    big += a8[k] > b8[k];
  }
  uint8_t mx = 0, mn = 255;
  for (int k = 0; k < N; k++) {
    mx = a8[k] > mx ? a8[k] : mx;
    mn = b8[k] < mn ? b8[k] : mn;
  }
  unsigned avg = 0;
  for (int k = 0; k < N; k++) avg += (unsigned)(a8[k] + b8[k] + 1) >> 1;
  printf("bytes: %016llx zeros %d greater %d max %u min %u avg-sum %u\n", (unsigned long long)hash(c8, N), zeros, big, mx, mn, avg);
}

__attribute__((noinline)) static void shorts(void) {
  for (int k = 0; k < N; k++) c16[k] = (int16_t)(a16[k] * b16[k] + (a16[k] >> 3));
  int64_t dot = 0;
  for (int k = 0; k < N; k++) dot += (int32_t)a16[k] * b16[k];
  for (int k = 0; k < N; k++) {
    int v = a16[k] - b16[k];
    c16[k] ^= (int16_t)(v < -32768 ? -32768 : v > 32767 ? 32767 : v);
  }
  int16_t mx = -32768;
  for (int k = 0; k < N; k++) mx = a16[k] > mx ? a16[k] : mx;
  printf("shorts: %016llx dot %lld max %d\n", (unsigned long long)hash(c16, sizeof c16), (long long)dot, mx);
}

__attribute__((noinline)) static void ints(void) {
  for (int k = 0; k < N; k++) c32[k] = a32[k] * 3 + (b32[k] >> 2) - (a32[k] & b32[k]);
  int64_t sum = 0;
  for (int k = 0; k < N; k++) sum += c32[k];
  int32_t mn = INT32_MAX, mx = INT32_MIN;
  for (int k = 0; k < N; k++) {
    mn = a32[k] < mn ? a32[k] : mn;
    mx = b32[k] > mx ? b32[k] : mx;
  }
  for (int k = 0; k < N; k++) u32[k] = (u32[k] << 7 | u32[k] >> 25) ^ (uint32_t)c32[k];
  uint32_t umx = 0;
  for (int k = 0; k < N; k++) umx = u32[k] > umx ? u32[k] : umx;
  int64_t wide = 0;
  for (int k = 0; k < N; k++) wide += (int64_t)a32[k] * b32[k];
  printf("ints: %016llx sum %lld min %d max %d umax %u wide %lld\n", (unsigned long long)hash(c32, sizeof c32), (long long)sum, mn, mx, umx,
         (long long)wide);
}

__attribute__((noinline)) static void floats(void) {
  for (int k = 0; k < N; k++) cf[k] = af[k] * 1.5f + bf[k];
  for (int k = 0; k < N; k++) cf[k] = cf[k] < 0 ? -cf[k] : cf[k];
  for (int k = 0; k < N; k++) cf[k] = sqrtf(cf[k]) + fminf(af[k], bf[k]);
  float sum = 0;
  for (int k = 0; k < N; k++) sum += cf[k];
  int32_t conv = 0;
  for (int k = 0; k < N; k++) conv += (int32_t)(af[k] * 1000.0f);
  float flo = 0;
  for (int k = 0; k < N; k++) flo += floorf(bf[k] * 3.0f) + (float)(a32[k] >> 8);
  printf("floats: %016llx sum %.9g conv %d floor %.9g\n", (unsigned long long)hash(cf, sizeof cf), sum, conv, flo);
}

__attribute__((noinline)) static void doubles(void) {
  for (int k = 0; k < N; k++) cd[k] = ad[k] * bd[k] - ad[k] / 3.0;
  double dot = 0;
  for (int k = 0; k < N; k++) dot += ad[k] * bd[k];
  for (int k = 0; k < N; k++) cd[k] = fmax(cd[k], bd[k] * 0.5) + (double)af[k];
  double mn = INFINITY;
  for (int k = 0; k < N; k++) mn = cd[k] < mn ? cd[k] : mn;
  printf("doubles: %016llx dot %.17g min %.17g\n", (unsigned long long)hash(cd, sizeof cd), dot, mn);
}

int main(void) {
  for (int k = 0; k < N; k++) {
    uint32_t r = next();
    a8[k] = (uint8_t)r;
    b8[k] = (uint8_t)(r >> 8);
    a16[k] = (int16_t)(r >> 3);
    b16[k] = (int16_t)next();
    a32[k] = (int32_t)next();
    b32[k] = (int32_t)next();
    u32[k] = next();
    af[k] = (float)(int32_t)next() / 65536.0f;
    bf[k] = (float)(next() % 100000) / 7.0f - 5000.0f;
    ad[k] = (double)(int32_t)next() / 1024.0;
    bd[k] = (double)next() / 4294967296.0 - 0.5;
  }
  for (int round = 0; round < 3; round++) {
    bytes();
    shorts();
    ints();
    floats();
    doubles();
    for (int k = 0; k < N; k++) {
      a8[k] = c8[k];
      a16[k] = c16[k];
      a32[k] = c32[k];
      af[k] = cf[k] - 7.0f;
      ad[k] = cd[k] * 0.75;
    }
  }
  return 0;
}
