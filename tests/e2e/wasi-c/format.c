/* printf-heavy formatting: every conversion, flag, width and precision wasi-libc's printf knows
 * (long double aside: it needs -lc-printscan-long-double), integer limits, float rounding edges,
 * snprintf truncation, and strtod/strtol round trips. Output only; exit status 0. */
#include <float.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void integers(void) {
  const long long values[] = { 0, 1, -1, 42, -42, 255, 65535, INT_MAX, INT_MIN, UINT_MAX, LLONG_MAX, LLONG_MIN, 1234567890123LL };
  for (size_t k = 0; k < sizeof values / sizeof values[0]; k++) {
    long long v = values[k];
    printf("[%d] [%5d] [%-5d] [%05d] [%+d] [% d] [%.3d] [%lld] [%llu] [%llx] [%#llX] [%llo] [%#llo]\n",
           (int)v, (int)v, (int)v, (int)v, (int)v, (int)v, (int)v, v, (unsigned long long)v, (unsigned long long)v,
           (unsigned long long)v, (unsigned long long)v, (unsigned long long)v);
  }
  printf("[%hhd] [%hhu] [%hd] [%hu] [%zu] [%td] [%jd]\n", (char)300, (unsigned char)300, (short)70000, (unsigned short)70000,
         (size_t)SIZE_MAX, (ptrdiff_t)-7, (intmax_t)INTMAX_MIN);
  printf("[%" PRId8 "] [%" PRIu16 "] [%" PRIx32 "] [%" PRId64 "] [%" PRIu64 "]\n", (int8_t)INT8_MIN, (uint16_t)UINT16_MAX, UINT32_MAX, INT64_MIN, UINT64_MAX);
  printf("[%*d] [%-*d] [%.*d] [%*.*d]\n", 8, 17, 8, 17, 6, 17, 10, 4, -17);
}

static void floats(void) {
  const double values[] = { 0.0, -0.0, 1.0, -1.5, 0.1, 1.0 / 3, 2.0 / 3, 123456.789, 1e-300, 5e-324, 1e300, DBL_MAX, DBL_MIN,
                            0.5, 1.5, 2.5, 0.125, 1e15, 1e16, 1e17, 9007199254740993.0, 3.14159265358979323846, M_E };
  for (size_t k = 0; k < sizeof values / sizeof values[0]; k++) {
    double v = values[k];
    printf("[%f] [%.0f] [%.2f] [%10.3f] [%-10.1f|] [%+.4e] [%E] [%g] [%.3g] [%#g] [%.17g] [%a]\n",
           v, v, v, v, v, v, v, v, v, v, v, v);
  }
  printf("[%f] [%f] [%F] [%e] [%g] [%5.1f]\n", INFINITY, -INFINITY, INFINITY, NAN, -NAN, NAN);
  printf("[%.20f] [%.30e]\n", 0.1, 1.0 / 7);
  /* round half to even in the decimal conversion of exact binary values */
  for (int k = 0; k < 8; k++) printf("%.0f %.1f ", k + 0.5, k * 0.25 + 0.125);
  printf("\n");
  float f = 16777217.0f;
  printf("[%f] [%.9g] [%a]\n", f, (double)FLT_MAX, (double)FLT_MIN);
}

static void strings(void) {
  const char *s = "wagc";
  printf("[%s] [%10s] [%-10s] [%.2s] [%10.3s] [%c] [%5c] [%-3c|] [%%] [%s]\n", s, s, s, s, s, 'x', 'y', 'z', "");
  char buf[16];
  int n = snprintf(buf, sizeof buf, "%s-%d-%s", "truncated", 123456, "output");
  printf("snprintf wanted %d, kept \"%s\" (%zu)\n", n, buf, strlen(buf));
  n = snprintf(NULL, 0, "%0*d", 40, 7);
  printf("length only: %d\n", n);
  char wide[200];
  snprintf(wide, sizeof wide, "%-8s|%8s|%08.3f|%+05d|%x", "left", "right", -3.14159, 42, 3054);
  puts(wide);
  int pos = 0;
  printf("count%n", &pos);
  printf(" -> %d\n", pos);
}

static void roundtrips(void) {
  const char *inputs[] = { "0", "-0", "3.14", "1e10", "1e-10", "0x1p-3", "inf", "-infinity", "nan", "2.2250738585072014e-308",
                           "4.9e-324", "1.7976931348623157e308", "1.8e308", "   42.5xyz", "0.1e", "123456789012345678901234567890" };
  for (size_t k = 0; k < sizeof inputs / sizeof inputs[0]; k++) {
    char *end;
    double d = strtod(inputs[k], &end);
    char back[64];
    snprintf(back, sizeof back, "%.17g", d);
    double again = strtod(back, NULL);
    printf("strtod(\"%s\") = %.17g, rest \"%s\", round trip %s\n", inputs[k], d, end,
           (isnan(d) && isnan(again)) || memcmp(&d, &again, sizeof d) == 0 ? "exact" : "DIFFERS");
  }
  const char *ints[] = { "0", "-17", "0x7fffffff", "0777", "99999999999999999999", "-9223372036854775808", "12abc", "  +5" };
  for (size_t k = 0; k < sizeof ints / sizeof ints[0]; k++) {
    char *end;
    long long v = strtoll(ints[k], &end, 0);
    unsigned long u = strtoul(ints[k], NULL, 10);
    printf("strtoll(\"%s\", 0) = %lld rest \"%s\"; strtoul(10) = %lu\n", ints[k], v, end, u);
  }
  int a, b;
  char word[16];
  float x;
  int got = sscanf("12 -7 word 2.5", "%d %d %15s %f", &a, &b, word, &x);
  printf("sscanf: %d fields: %d %d %s %.2f\n", got, a, b, word, x);
}

static void table(void) {
  printf("%-12s%12s%12s%12s\n", "n", "n^2", "sqrt(n)", "1/n");
  for (int n = 1; n <= 12; n++) printf("%-12d%12d%12.6f%12.3e\n", n, n * n, sqrt(n), 1.0 / n);
}

int main(void) {
  integers();
  floats();
  strings();
  roundtrips();
  table();
  return 0;
}
