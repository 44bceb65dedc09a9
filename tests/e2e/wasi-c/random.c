/* Random bytes (getentropy, arc4random: both random_get underneath). The bytes differ every run,
 * so only their properties are printed: two draws differ, no draw is all zeros, the byte
 * histogram of 1 MiB passes a chi-square bound that a uniform source fails with probability
 * below 1e-15, bits are balanced, and arc4random_uniform stays in range. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(void) {
  unsigned char a[256], b[256];
  if (getentropy(a, sizeof a) || getentropy(b, sizeof b)) { puts("getentropy failed"); return 1; }
  int zero = 1;
  for (int k = 0; k < 256; k++) zero &= a[k] == 0;
  printf("two 256-byte draws differ: %s; first all zeros: %s\n", memcmp(a, b, sizeof a) ? "yes" : "no", zero ? "yes" : "no");
  static unsigned char big[1 << 20];
  for (size_t at = 0; at < sizeof big; at += 256) if (getentropy(big + at, 256)) { puts("getentropy failed"); return 1; }
  long hist[256] = { 0 };
  long ones = 0;
  for (size_t k = 0; k < sizeof big; k++) {
    hist[big[k]]++;
    ones += __builtin_popcount(big[k]);
  }
  double expected = (double)sizeof big / 256, chi = 0;
  for (int k = 0; k < 256; k++) chi += (hist[k] - expected) * (hist[k] - expected) / expected;
  /* 255 degrees of freedom: mean 255, sd 22.6; 480 is ten sd out */
  printf("chi-square of 1 MiB below 480: %s\n", chi < 480 ? "yes" : "no");
  double frac = (double)ones / (8.0 * sizeof big);
  printf("fraction of one bits within 0.499..0.501: %s\n", frac > 0.499 && frac < 0.501 ? "yes" : "no");
  int in_range = 1, seen[10] = { 0 };
  for (int k = 0; k < 100000; k++) {
    uint32_t v = arc4random_uniform(10);
    if (v >= 10) in_range = 0;
    else seen[v] = 1;
  }
  int all = 1;
  for (int k = 0; k < 10; k++) all &= seen[k];
  printf("arc4random_uniform(10) in range: %s, every value seen: %s\n", in_range ? "yes" : "no", all ? "yes" : "no");
  uint32_t x = arc4random(), y = arc4random();
  printf("arc4random twice differs: %s\n", x != y || arc4random() != x ? "yes" : "no");
  return 0;
}
