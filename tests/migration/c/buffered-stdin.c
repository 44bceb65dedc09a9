/* Reads stdin through stdio's buffer (wasi-libc reads ahead of what fgets delivers) and prints a
 * running hash of every line: a line lost or read twice across a suspension changes the output.
 * stdout is unbuffered, so what is out at a suspension is what the program had received. */
#include <stdio.h>

int main(void) {
  char line[256];
  unsigned long n = 0, hash = 0;
  setvbuf(stdout, NULL, _IONBF, 0);
  while (fgets(line, sizeof line, stdin)) {
    n++;
    for (const char *p = line; *p; p++) hash = hash * 31 + (unsigned char)*p;
    printf("%lu %lu\n", n, hash);
  }
  printf("lines %lu\n", n);
  return 0;
}
