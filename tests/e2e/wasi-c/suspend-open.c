/* Suspension while a file is open (docs/snapshot-format.md, "Open files"): writes "a" to a file
 * in the preopen argv[1], spins argv[2] ms with the file open, writes "b", closes it, spins
 * argv[2] ms more, then prints "done". A suspend request during the first spin waits for the
 * close; the resumed program finishes. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static void spin(long ms) {
  struct timespec t0, t;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  do clock_gettime(CLOCK_MONOTONIC, &t);
  while ((t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000 < ms);
}

int main(int argc, char **argv) {
  char path[256];
  snprintf(path, sizeof path, "%s/f.txt", argc > 1 ? argv[1] : "/o");
  long ms = argc > 2 ? atol(argv[2]) : 400;
  FILE *f = fopen(path, "w");
  if (!f) { perror("fopen"); return 1; }
  fputs("a", f);
  fflush(f);
  spin(ms);
  fputs("b", f);
  fclose(f);
  fprintf(stderr, "closed\n");
  spin(ms);
  printf("done\n");
  return 0;
}
