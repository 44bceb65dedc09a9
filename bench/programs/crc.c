/* Integer hashing over a byte buffer: table-driven CRC-32 (byte loads, i32 shifts and xors, a
   table lookup per byte) and FNV-1a 64 (i64 multiplies). */
#include "common.h"

#define SIZE (1 << 20)
#define ROUNDS 72

static u8 data[SIZE];
static u32 crc_table[256];

static void make_table(void) {
  for (u32 i = 0; i < 256; i++) {
    u32 c = i;
    for (int k = 0; k < 8; k++) c = (c & 1) ? 0xedb88320u ^ (c >> 1) : c >> 1;
    crc_table[i] = c;
  }
}

static u32 crc32(const u8 *p, u32 n) {
  u32 c = 0xffffffffu;
  for (u32 i = 0; i < n; i++) c = crc_table[(c ^ p[i]) & 0xff] ^ (c >> 8);
  return c ^ 0xffffffffu;
}

static u64 fnv1a(const u8 *p, u32 n) {
  u64 h = 0xcbf29ce484222325ull;
  for (u32 i = 0; i < n; i++) h = (h ^ p[i]) * 0x100000001b3ull;
  return h;
}

EXPORT("_start") void _start(void) {
  u32 n = OPAQUE((u32)SIZE);
  u32 rounds = OPAQUE((u32)ROUNDS);
  make_table();
  for (u32 i = 0; i < n; i += 8) {
    u64 x = rng_next();
    for (int k = 0; k < 8; k++) data[i + k] = (u8)(x >> (8 * k));
  }
  u32 crc = 0;
  u64 fnv = 0;
  for (u32 r = 0; r < rounds; r++) {
    crc = crc32(data, n);
    fnv ^= fnv1a(data, n);
    /* change one byte per round so each round hashes different data */
    data[crc % n] ^= (u8)(r + 1);
  }
  put_str("crc32 ");
  put_u64(rounds);
  put_str(" x ");
  put_u64(n);
  put_str(" bytes: ");
  put_hex64(crc);
  put_str(" fnv1a64 ");
  put_hex64(fnv);
  flush_line();
}
