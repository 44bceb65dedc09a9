/* WebAssembly SIMD through wasm_simd128.h: every lane shape and most operations, each result
 * printed lane by lane (floats as values, NaN as "nan": the spec leaves NaN bits open). */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <wasm_simd128.h>

static void p8(const char *what, v128_t v) {
  uint8_t b[16];
  wasm_v128_store(b, v);
  printf("%-26s", what);
  for (int k = 0; k < 16; k++) printf(" %02x", b[k]);
  printf("\n");
}

static void pf(const char *what, v128_t v) {
  printf("%-26s", what);
  for (int k = 0; k < 4; k++) {
    float f = wasm_f32x4_extract_lane(v, 0);
    switch (k) {
      case 1: f = wasm_f32x4_extract_lane(v, 1); break;
      case 2: f = wasm_f32x4_extract_lane(v, 2); break;
      case 3: f = wasm_f32x4_extract_lane(v, 3); break;
    }
    if (isnan(f)) printf(" nan");
    else printf(" %.9g", f);
  }
  printf("\n");
}

static void pd(const char *what, v128_t v) {
  double a = wasm_f64x2_extract_lane(v, 0), b = wasm_f64x2_extract_lane(v, 1);
  printf("%-26s", what);
  if (isnan(a)) printf(" nan"); else printf(" %.17g", a);
  if (isnan(b)) printf(" nan"); else printf(" %.17g", b);
  printf("\n");
}

int main(void) {
  volatile int32_t seed = 0x01234567;
  v128_t x = wasm_i32x4_make(seed, -seed, seed * 3, 0x7fffffff);
  v128_t y = wasm_i8x16_make(-128, -1, 0, 1, 127, 2, 3, -3, 50, -50, 100, -100, 7, 8, 9, 10);
  v128_t h = wasm_i16x8_make(-32768, 32767, 1000, -1000, 3, -3, 0x4000, -0x4000);
  v128_t q = wasm_i64x2_make(0x0123456789abcdefll, -0x7edcba9876543210ll);
  v128_t f = wasm_f32x4_make(1.5f, -2.25f, INFINITY, -0.0f);
  v128_t g = wasm_f32x4_make(NAN, 3.0f, -INFINITY, 0.0f);
  v128_t d = wasm_f64x2_make(1e300, -3.5);
  v128_t e = wasm_f64x2_make(NAN, 0.0);

  p8("i8x16 add_sat", wasm_i8x16_add_sat(y, wasm_i8x16_splat(100)));
  p8("u8x16 sub_sat", wasm_u8x16_sub_sat(y, wasm_i8x16_splat(50)));
  p8("i8x16 min/max", wasm_i8x16_max(wasm_i8x16_min(y, x), wasm_i8x16_splat(-60)));
  p8("u8x16 avgr", wasm_u8x16_avgr(y, x));
  p8("i8x16 abs/neg", wasm_i8x16_neg(wasm_i8x16_abs(y)));
  p8("i8x16 popcnt", wasm_i8x16_popcnt(x));
  p8("i8x16 shl 3", wasm_i8x16_shl(y, 3));
  p8("i8x16 shr 2", wasm_i8x16_shr(y, 2));
  p8("u8x16 shr var", wasm_u8x16_shr(y, (uint32_t)seed & 7));
  p8("i8x16 narrow", wasm_i8x16_narrow_i16x8(h, x));
  p8("u8x16 narrow", wasm_u8x16_narrow_i16x8(h, x));
  p8("i8x16 swizzle", wasm_i8x16_swizzle(x, y));
  p8("i8x16 shuffle", wasm_i8x16_shuffle(x, y, 31, 0, 30, 1, 29, 2, 28, 3, 16, 15, 17, 14, 18, 13, 19, 12));
  p8("i8x16 cmp", wasm_v128_or(wasm_i8x16_lt(y, x), wasm_u8x16_ge(y, wasm_i8x16_splat(9))));
  printf("i8x16 bitmask %04x any %d all %d\n", wasm_i8x16_bitmask(y), wasm_v128_any_true(y), wasm_i8x16_all_true(y));

  p8("i16x8 mul/add", wasm_i16x8_add(wasm_i16x8_mul(h, h), wasm_i16x8_splat(7)));
  p8("i16x8 q15mulr", wasm_i16x8_q15mulr_sat(h, wasm_i16x8_splat(-32768)));
  p8("i16x8 extmul low", wasm_i16x8_extmul_low_i8x16(y, x));
  p8("u16x8 extmul high", wasm_u16x8_extmul_high_u8x16(y, x));
  p8("i16x8 extadd", wasm_i16x8_extadd_pairwise_i8x16(y));
  p8("u16x8 extadd", wasm_u16x8_extadd_pairwise_u8x16(y));
  p8("i16x8 extend high", wasm_i16x8_extend_high_i8x16(y));
  p8("u16x8 shr", wasm_u16x8_shr(h, 17));
  p8("i16x8 narrow i32", wasm_i16x8_narrow_i32x4(x, q));
  p8("u16x8 narrow i32", wasm_u16x8_narrow_i32x4(x, q));
  printf("i16x8 bitmask %02x all %d\n", wasm_i16x8_bitmask(h), wasm_i16x8_all_true(h));

  p8("i32x4 dot", wasm_i32x4_dot_i16x8(h, h));
  p8("i32x4 mul/sub", wasm_i32x4_sub(wasm_i32x4_mul(x, x), q));
  p8("u32x4 min/max", wasm_u32x4_max(wasm_u32x4_min(x, q), wasm_i32x4_splat(5)));
  p8("i32x4 extmul", wasm_i32x4_extmul_high_i16x8(h, y));
  p8("u32x4 extadd", wasm_u32x4_extadd_pairwise_u16x8(h));
  p8("i32x4 shr", wasm_i32x4_shr(x, (uint32_t)seed));
  p8("i32x4 trunc_sat", wasm_i32x4_trunc_sat_f32x4(wasm_f32x4_mul(f, wasm_f32x4_splat(1e9f))));
  p8("u32x4 trunc_sat", wasm_u32x4_trunc_sat_f32x4(wasm_f32x4_mul(g, wasm_f32x4_splat(-1e9f))));
  p8("i32x4 trunc_sat f64", wasm_i32x4_trunc_sat_f64x2_zero(d));
  p8("u32x4 trunc_sat f64", wasm_u32x4_trunc_sat_f64x2_zero(wasm_f64x2_make(4294967295.5, 12.9)));
  printf("i32x4 bitmask %x all %d\n", wasm_i32x4_bitmask(x), wasm_i32x4_all_true(x));

  p8("i64x2 mul/add", wasm_i64x2_add(wasm_i64x2_mul(q, q), q));
  p8("i64x2 shr", wasm_i64x2_shr(q, 60));
  p8("u64x2 shr var", wasm_u64x2_shr(q, (uint32_t)seed));
  p8("i64x2 abs/neg", wasm_i64x2_abs(wasm_i64x2_neg(q)));
  p8("i64x2 cmp", wasm_v128_and(wasm_i64x2_gt(q, x), wasm_i64x2_le(x, q)));
  p8("i64x2 extmul", wasm_u64x2_extmul_low_u32x4(x, q));
  p8("i64x2 extend", wasm_i64x2_extend_high_i32x4(x));
  printf("i64x2 bitmask %x all %d\n", wasm_i64x2_bitmask(q), wasm_i64x2_all_true(q));

  pf("f32x4 add", wasm_f32x4_add(f, g));
  pf("f32x4 min", wasm_f32x4_min(f, g));
  pf("f32x4 max", wasm_f32x4_max(f, g));
  pf("f32x4 pmin", wasm_f32x4_pmin(f, g));
  pf("f32x4 pmax", wasm_f32x4_pmax(f, g));
  pf("f32x4 div/sqrt", wasm_f32x4_sqrt(wasm_f32x4_div(f, wasm_f32x4_splat(3.0f))));
  pf("f32x4 ceil", wasm_f32x4_ceil(wasm_f32x4_make(1.5f, -1.5f, 2.0f, -0.25f)));
  pf("f32x4 nearest", wasm_f32x4_nearest(wasm_f32x4_make(0.5f, 1.5f, 2.5f, -2.5f)));
  pf("f32x4 convert u", wasm_f32x4_convert_u32x4(x));
  pf("f32x4 demote", wasm_f32x4_demote_f64x2_zero(d));
  p8("f32x4 compare", wasm_v128_or(wasm_f32x4_lt(f, g), wasm_f32x4_ne(f, g)));
  pd("f64x2 mul", wasm_f64x2_mul(d, d));
  pd("f64x2 min", wasm_f64x2_min(d, e));
  pd("f64x2 pmax", wasm_f64x2_pmax(d, e));
  pd("f64x2 floor/trunc", wasm_f64x2_trunc(wasm_f64x2_floor(wasm_f64x2_make(-2.5, 2.5))));
  pd("f64x2 convert low", wasm_f64x2_convert_low_u32x4(x));
  pd("f64x2 promote", wasm_f64x2_promote_low_f32x4(f));
  p8("f64x2 compare", wasm_f64x2_ge(d, e));

  v128_t v = wasm_i32x4_replace_lane(x, 2, 77);
  v = wasm_i64x2_replace_lane(v, 1, -1);
  v = wasm_v128_bitselect(v, y, wasm_i64x2_make(0xff00ff00ff00ff00ll, 0x0f0f0f0f0f0f0f0fll));
  p8("lanes and bitselect", v);
  uint8_t mem[48];
  for (int k = 0; k < 48; k++) mem[k] = (uint8_t)(k * 7 + 1);
  p8("load8x8_u", wasm_u16x8_load8x8(mem + 3));
  p8("load32_zero", wasm_v128_load32_zero(mem + 5));
  p8("load16_splat", wasm_v128_load16_splat(mem + 9));
  p8("load64_lane", wasm_v128_load64_lane(mem + 17, x, 1));
  wasm_v128_store32_lane(mem + 40, y, 3);
  wasm_v128_store8_lane(mem + 1, x, 15);
  p8("after lane stores", wasm_v128_load(mem + 32));
  printf("extract %d %u %d %lld %g %g\n", wasm_i8x16_extract_lane(y, 0), wasm_u16x8_extract_lane(h, 0), wasm_i32x4_extract_lane(x, 1),
         (long long)wasm_i64x2_extract_lane(q, 1), wasm_f32x4_extract_lane(f, 1), wasm_f64x2_extract_lane(d, 1));
  return 0;
}
