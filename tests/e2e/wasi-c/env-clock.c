/* A wasi-libc program for tests/e2e/wasi.test.ts: its output must be the same under gate-run
 * and node:wasi (nothing in it depends on the time or the random bytes themselves).
 * Build: clang --target=wasm32-wasi -O2 env-clock.c -o env-clock.wasm */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static int cmp(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

int main(int argc, char **argv) {
  printf("argc %d\n", argc);
  for (int i = 1; i < argc; i++) printf("argv[%d] = \"%s\" (%zu bytes)\n", i, argv[i], strlen(argv[i]));
  /* the environment, sorted */
  int n = 0;
  while (environ[n]) n++;
  char **env = malloc(sizeof *env * (n + 1));
  memcpy(env, environ, sizeof *env * (n + 1));
  qsort(env, n, sizeof *env, cmp);
  for (int i = 0; i < n; i++) printf("env %s\n", env[i]);
  const char *g = getenv("GREETING"), *home = getenv("HOME");
  printf("GREETING=%s HOME=%s\n", g ? g : "(unset)", home ? home : "(unset)");

  /* formatting */
  printf("[%8.3f] [%-6d] [%+.2e] [%x] [%o] [%c] [%5s] [%lld]\n", 3.14159265, 42, 12345.678, 0xbeefu, 8u, 'z', "ab", -9007199254740993LL);

  /* clocks: monotonic never goes back, a 30 ms sleep takes at least 25 ms. Not 30: node:wasi
   * (uvwasi) times the sleep with a libuv timer whose start is read from CLOCK_MONOTONIC_COARSE
   * truncated to milliseconds, so it can wake up to a jiffy (4 ms) early; CI saw it. */
  struct timespec a, b, res;
  clock_gettime(CLOCK_MONOTONIC, &a);
  struct timespec d = { 0, 30 * 1000 * 1000 };
  int s = nanosleep(&d, NULL);
  clock_gettime(CLOCK_MONOTONIC, &b);
  long long ns = (b.tv_sec - a.tv_sec) * 1000000000LL + (b.tv_nsec - a.tv_nsec);
  printf("nanosleep %d, slept >= 25 ms: %s\n", s, ns >= 25000000 ? "yes" : "no");
  clock_getres(CLOCK_MONOTONIC, &res);
  printf("monotonic resolution <= 1 ms: %s\n", res.tv_sec == 0 && res.tv_nsec <= 1000000 ? "yes" : "no");
  time_t now = time(NULL);
  printf("realtime after 2020: %s\n", now > 1577836800 ? "yes" : "no");

  /* random bytes: two draws differ */
  unsigned char r1[16], r2[16];
  getentropy(r1, sizeof r1);
  getentropy(r2, sizeof r2);
  printf("random draws differ: %s\n", memcmp(r1, r2, sizeof r1) ? "yes" : "no");

  /* stdin, line by line */
  char line[256];
  int k = 0;
  while (fgets(line, sizeof line, stdin)) printf("stdin %d: %s", ++k, line);
  printf("stdin lines %d, isatty(0) %d\n", k, isatty(0));

  /* no files: no preopened directory */
  int fd = open("/etc/passwd", O_RDONLY);
  printf("open: %d (%s)\n", fd, fd < 0 ? strerror(errno) : "opened");
  fprintf(stderr, "to stderr\n");
  fflush(stdout);
  return argc == 4 ? 3 : 1;
}
