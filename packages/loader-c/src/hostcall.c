/* Loader routines behind the runtime library's `gate` imports (docs/ARCHITECTURE.md). They take
 * offsets into linear memory already checked by the library, and check them again. */
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>
#include "abi.h"
#include "gate.h"

/* Argument i of n: the caller pushed argument 0 first, so it sits highest. */
#define ARG(i, n) (args[(n) - 1 - (i)])

static uint8_t *checked(uint8_t *vmctx, uint64_t ptr, uint64_t len, uint64_t *fp) {
  uint64_t size = (uint64_t)*(uint32_t *)(vmctx + VMCTX_MEMORY_PAGES) * 65536;
  if (ptr > size || len > size - ptr) trap_raise(TRAP_OUT_OF_BOUNDS_MEMORY, fp, 0, 0);
  return inst.memory + ptr;
}

uint64_t rt_hostcall(uint64_t id, uint64_t *args, uint8_t *vmctx) {
  switch (id) {
    case HOSTCALL_EXIT:
      state_write(STATE_EXITED, 0, (uint32_t)ARG(0, 1), NULL, NULL);
      _exit((int)(uint32_t)ARG(0, 1));
    case HOSTCALL_WRITE: {
      uint32_t fd = (uint32_t)ARG(0, 3), ptr = (uint32_t)ARG(1, 3), len = (uint32_t)ARG(2, 3);
      uint8_t *p = checked(vmctx, ptr, len, NULL);
      ssize_t n;
      while ((n = write((int)fd, p, len)) < 0 && errno == EINTR && !suspend_requested()) {}
      return (uint64_t)(uint32_t)(n < 0 ? -errno : (int32_t)n);
    }
    case HOSTCALL_READ: {
      uint32_t fd = (uint32_t)ARG(0, 3), ptr = (uint32_t)ARG(1, 3), len = (uint32_t)ARG(2, 3);
      uint8_t *p = checked(vmctx, ptr, len, NULL);
      /* interrupted by a suspend request: -EINTR, and the library retries at a loop check */
      ssize_t n;
      while ((n = read((int)fd, p, len)) < 0 && errno == EINTR && !suspend_requested()) {}
      return (uint64_t)(uint32_t)(n < 0 ? -errno : (int32_t)n);
    }
  }
  trap_raise(TRAP_UNREACHABLE, NULL, 0, 0);
}
