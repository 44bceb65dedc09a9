/* Arguments and environment: argv printed with lengths, numeric arguments parsed (strtol with
 * errors reported), the environment listed sorted, lookups of set and unset variables, setenv/
 * unsetenv in the program's own copy. The exit status is the sum of the numeric arguments, mod 256. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern char **environ;

static int by_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

int main(int argc, char **argv) {
  printf("argc %d\n", argc);
  long sum = 0;
  for (int k = 1; k < argc; k++) {
    char *end;
    errno = 0;
    long v = strtol(argv[k], &end, 0);
    if (end != argv[k] && !*end && !errno) {
      sum += v;
      printf("argv[%d] = %ld (number)\n", k, v);
    } else printf("argv[%d] = \"%s\" (%zu bytes%s)\n", k, argv[k], strlen(argv[k]), errno == ERANGE ? ", out of range" : "");
  }
  int n = 0;
  while (environ[n]) n++;
  char **sorted = malloc(sizeof *sorted * (size_t)(n + 1));
  memcpy(sorted, environ, sizeof *sorted * (size_t)n);
  qsort(sorted, (size_t)n, sizeof *sorted, by_str);
  printf("%d variables\n", n);
  for (int k = 0; k < n; k++) printf("  %s\n", sorted[k]);
  const char *names[] = { "HOME", "PATH", "LANG", "GREETING", "EMPTY", "WITH_EQUALS" };
  for (size_t k = 0; k < sizeof names / sizeof names[0]; k++) {
    const char *v = getenv(names[k]);
    printf("getenv(%s) = %s%s%s\n", names[k], v ? "\"" : "", v ? v : "(unset)", v ? "\"" : "");
  }
  setenv("ADDED", "by the program", 1);
  setenv("GREETING", "replaced", 1);
  unsetenv("EMPTY");
  printf("after setenv/unsetenv: ADDED=%s GREETING=%s EMPTY=%s\n", getenv("ADDED"), getenv("GREETING"), getenv("EMPTY") ? "set" : "(unset)");
  printf("sum %ld\n", sum);
  return (int)(sum & 255);
}
