/* Clocks: realtime and monotonic read many times. Only facts that hold under every runtime are
 * printed (timing itself varies run to run): monotonic never goes back, realtime is after 2020
 * and agrees with time(), resolutions are positive and at most 1 ms, a 20 ms sleep takes at
 * least 10 ms by both clocks (the bound leaves room for coarse timer starts), and calendar
 * conversions of a fixed time. */
#include <stdio.h>
#include <stdint.h>
#include <time.h>
#include <unistd.h>

static int64_t ns(clockid_t c) {
  struct timespec ts;
  if (clock_gettime(c, &ts) != 0) return -1;
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int main(void) {
  int backwards = 0;
  int64_t prev = ns(CLOCK_MONOTONIC);
  for (int k = 0; k < 100000; k++) {
    int64_t t = ns(CLOCK_MONOTONIC);
    if (t < prev) backwards++;
    prev = t;
  }
  printf("monotonic went backwards %d times in 100000 reads\n", backwards);
  int64_t real = ns(CLOCK_REALTIME);
  time_t now = time(NULL);
  printf("realtime after 2020: %s\n", real / 1000000000 > 1577836800 ? "yes" : "no");
  printf("time() within 2 s of realtime: %s\n", (int64_t)now - real / 1000000000 <= 2 && real / 1000000000 - (int64_t)now <= 2 ? "yes" : "no");
  const struct { const char *name; clockid_t id; } clocks[] = {
    { "realtime", CLOCK_REALTIME }, { "monotonic", CLOCK_MONOTONIC },
  };
  for (int k = 0; k < 2; k++) {
    struct timespec res;
    int r = clock_getres(clocks[k].id, &res);
    int64_t v = (int64_t)res.tv_sec * 1000000000 + res.tv_nsec;
    printf("%s resolution positive and <= 1 ms: %s\n", clocks[k].name, r == 0 && v > 0 && v <= 1000000 ? "yes" : "no");
  }
  int64_t m0 = ns(CLOCK_MONOTONIC), r0 = ns(CLOCK_REALTIME);
  struct timespec req = { 0, 20 * 1000000 };
  int slept = nanosleep(&req, NULL);
  int64_t dm = ns(CLOCK_MONOTONIC) - m0, dr = ns(CLOCK_REALTIME) - r0;
  printf("nanosleep(20 ms) returned %d; >= 10 ms by monotonic: %s, by realtime: %s, < 5 s: %s\n", slept,
         dm >= 10000000 ? "yes" : "no", dr >= 10000000 ? "yes" : "no", dm < 5000000000LL ? "yes" : "no");
  int64_t u0 = ns(CLOCK_MONOTONIC);
  usleep(5000);
  printf("usleep(5 ms) >= 2 ms: %s\n", ns(CLOCK_MONOTONIC) - u0 >= 2000000 ? "yes" : "no");
  struct tm tm;
  time_t fixed = 1234567890;
  gmtime_r(&fixed, &tm);
  char buf[64];
  strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S %a %j", &tm);
  printf("gmtime(1234567890) = %s\n", buf);
  printf("mktime round trip: %lld\n", (long long)timegm(&tm));
  return 0;
}
