/* bench:startup's hello world: the same source built natively (gcc -O2 -static) and for
 * wasm32-wasi with wasi-libc (clang -O2, hello.wasm, committed). */
#include <stdio.h>

int main(void) {
  printf("hello, world\n");
  return 0;
}
