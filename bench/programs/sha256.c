/* SHA-256 of a buffer, round after round: 32-bit additions, rotations and logic on eight working
   variables and a 64-word schedule, the shape of every hash and cipher kernel. */
#include "common.h"

#define SIZE (1 << 20)
#define ROUNDS 128

static const u32 K[64] = {
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

static u8 data[SIZE];

static u32 ror(u32 x, u32 n) { return (x >> n) | (x << (32 - n)); }

/* One 64-byte block into the state h[8]. */
static void compress(u32 *h, const u8 *p) {
  u32 w[64];
  for (u32 t = 0; t < 16; t++) w[t] = (u32)p[4 * t] << 24 | (u32)p[4 * t + 1] << 16 | (u32)p[4 * t + 2] << 8 | p[4 * t + 3];
  for (u32 t = 16; t < 64; t++) {
    u32 s0 = ror(w[t - 15], 7) ^ ror(w[t - 15], 18) ^ (w[t - 15] >> 3);
    u32 s1 = ror(w[t - 2], 17) ^ ror(w[t - 2], 19) ^ (w[t - 2] >> 10);
    w[t] = w[t - 16] + s0 + w[t - 7] + s1;
  }
  u32 a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], hh = h[7];
  for (u32 t = 0; t < 64; t++) {
    u32 t1 = hh + (ror(e, 6) ^ ror(e, 11) ^ ror(e, 25)) + ((e & f) ^ (~e & g)) + K[t] + w[t];
    u32 t2 = (ror(a, 2) ^ ror(a, 13) ^ ror(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
    hh = g; g = f; f = e; e = d + t1; d = c; c = b; b = a; a = t1 + t2;
  }
  h[0] += a; h[1] += b; h[2] += c; h[3] += d; h[4] += e; h[5] += f; h[6] += g; h[7] += hh;
}

/* SHA-256 of data[0, n) (n a multiple of 64; the padding block is built here). */
static void sha256(u32 *h, u32 n) {
  static const u32 init[8] = { 0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19 };
  for (u32 k = 0; k < 8; k++) h[k] = init[k];
  for (u32 at = 0; at < n; at += 64) compress(h, data + at);
  u8 pad[64] = { 0x80 };
  u64 bits = (u64)n * 8;
  for (u32 k = 0; k < 8; k++) pad[63 - k] = (u8)(bits >> (8 * k));
  compress(h, pad);
}

EXPORT("_start") void _start(void) {
  u32 n = OPAQUE((u32)SIZE), rounds = OPAQUE((u32)ROUNDS);
  for (u32 k = 0; k < n; k++) data[k] = (u8)rng_next();
  u32 h[8];
  for (u32 r = 0; r < rounds; r++) {
    sha256(h, n);
    for (u32 k = 0; k < 32; k++) data[(r * 4099 + k) % n] ^= (u8)(h[k / 4] >> (8 * (k % 4))); // the next round hashes other bytes
  }
  put_str("sha256 ");
  put_u64(rounds);
  put_str(" x ");
  put_u64(n);
  put_str(" bytes: ");
  for (u32 k = 0; k < 8; k++) {
    for (int s = 28; s >= 0; s -= 4) put_str((char[2]){ "0123456789abcdef"[(h[k] >> s) & 15], 0 });
  }
  flush_line();
}
