/* bench:startup's idle instance: touches argv[1] MiB of heap (one write per 4 KiB page), prints
 * "ready", then blocks reading stdin until EOF. Built natively and for wasm32-wasi (idle.wasm). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv) {
  size_t mib = argc > 1 ? strtoul(argv[1], NULL, 10) : 0;
  volatile char *p = mib ? malloc(mib << 20) : NULL;
  if (mib && !p) return 1;
  for (size_t k = 0; k < (mib << 20); k += 4096) p[k] = 1;
  printf("ready\n");
  fflush(stdout);
  char buf[256];
  while (fgets(buf, sizeof buf, stdin)) {}
  return 0;
}
