/* Loader routines behind the runtime library's `gate` imports (docs/ARCHITECTURE.md, "Host
 * calls"). They take offsets into linear memory already checked by the library, and check them
 * again.
 *
 * Everything that needs a system call outside the sandbox's whitelist happens in hostcall_init,
 * before the sandbox: the status of fds 0-2 is read once, the --dir directories are opened
 * (files.c), and the program's argv and environment are fixed by the command line (`--env K=V`,
 * the arguments after `--`): the host's environment never reaches the program. At run time the
 * host calls use only read, write, close, ppoll (with rt_sigprocmask), clock_gettime/clock_getres
 * (vDSO where it serves), getrandom and sched_yield; with --dir, the file calls of files.c too. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
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

/* ---- the program's view of the host, fixed before the sandbox ------------------------------ */

/* argv (0) and the environment (1): the strings back to back, each NUL-terminated */
static struct { char *buf; uint32_t count, bytes; } vecs[2];

static void vec_add(int which, const char *s) {
  size_t n = strlen(s) + 1;
  char *b = realloc(vecs[which].buf, vecs[which].bytes + n);
  if (!b) abort();
  memcpy(b + vecs[which].bytes, s, n);
  vecs[which].buf = b;
  vecs[which].bytes += (uint32_t)n;
  vecs[which].count++;
}

void hostcall_add_arg(const char *s) { vec_add(0, s); }
void hostcall_add_env(const char *kv) { vec_add(1, kv); }

/* Before the sandbox (and before the program runs): the status of fds 0-2 and the preopens. */
int hostcall_init(void) { return files_init(); }

static int program_fd(uint32_t fd) { return files_info(fd) != 0; }

/* ---- host calls ---------------------------------------------------------------------------- */

static uint64_t neg(int e) { return (uint64_t)(int64_t)-e; }
static uint64_t ret32(int64_t v) { return (uint64_t)(uint32_t)(int32_t)v; }

static const clockid_t clocks[] = { CLOCK_REALTIME, CLOCK_MONOTONIC, CLOCK_PROCESS_CPUTIME_ID, CLOCK_THREAD_CPUTIME_ID };

static int64_t now_ns(clockid_t c) {
  struct timespec ts;
  if (clock_gettime(c, &ts) < 0) return -1;
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* HOSTCALL_POLL: ppoll on the fds of `mask` (bits 0-15 readable, 16-31 writable) for at most
 * timeout_ns (negative: no limit). A suspend request ends it with -EINTR; any other signal
 * restarts it with the time that is left. */
static uint64_t do_poll(uint32_t mask, int64_t timeout_ns) {
  struct pollfd fds[16];
  int guest[16];
  int n = 0;
  for (int fd = 0; fd < 16; fd++) {
    short ev = (short)((mask >> fd & 1 ? POLLIN : 0) | (mask >> (16 + fd) & 1 ? POLLOUT : 0));
    if (!ev) continue;
    if (!program_fd((uint32_t)fd)) return neg(EBADF);
    fds[n].fd = files_host_fd((uint32_t)fd);
    fds[n].events = ev;
    fds[n].revents = 0;
    guest[n] = fd;
    n++;
  }
  int64_t start = now_ns(CLOCK_MONOTONIC);
  /* past the year 2262 (or a clock that failed) is no limit */
  int64_t deadline = timeout_ns >= 0 && start >= 0 && timeout_ns <= INT64_MAX - start ? start + timeout_ns : -1;
  /* the suspend signals are blocked from the check until ppoll waits (and unblocks them), so a
   * request cannot slip in between and leave the program asleep */
  sigset_t block, old;
  sigemptyset(&block);
  sigaddset(&block, SIGQUIT);
  sigaddset(&block, SIGALRM);
  for (;;) {
    sigprocmask(SIG_BLOCK, &block, &old);
    if (suspend_requested()) {
      sigprocmask(SIG_SETMASK, &old, NULL);
      return neg(EINTR);
    }
    struct timespec ts, *tp = NULL;
    if (deadline >= 0) {
      int64_t left = deadline - now_ns(CLOCK_MONOTONIC);
      if (left < 0) left = 0;
      ts.tv_sec = (time_t)(left / 1000000000);
      ts.tv_nsec = (long)(left % 1000000000);
      tp = &ts;
    }
    int r = ppoll(n ? fds : NULL, (nfds_t)n, tp, &old);
    int e = errno;
    sigprocmask(SIG_SETMASK, &old, NULL);
    errno = e;
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return neg(errno);
    if (r == 0) return 0;
    uint64_t ready = 0;
    for (int k = 0; k < n; k++) {
      short re = fds[k].revents;
      int fd = guest[k];
      if (!re) continue;
      if (re & (POLLIN | POLLHUP | POLLERR | POLLNVAL) && fds[k].events & POLLIN) ready |= 1ull << fd;
      if (re & (POLLOUT | POLLHUP | POLLERR | POLLNVAL) && fds[k].events & POLLOUT) ready |= 1ull << (16 + fd);
      /* the peer is gone (what is left may still be read): the WASI hangup flag, as node:wasi */
      if (re & POLLHUP) ready |= 1ull << (32 + fd);
    }
    return ready;
  }
}

static uint64_t do_random(uint8_t *p, uint32_t len) {
  for (;;) {
    ssize_t n = getrandom(p, len, 0);
    if (n >= 0) return ret32(n);
    if (errno != EINTR) return ret32(-errno);
    if (suspend_requested()) return ret32(-EINTR);
  }
}

uint64_t rt_hostcall(uint64_t id, uint64_t *args, uint8_t *vmctx) {
  switch (id) {
    case HOSTCALL_EXIT:
      /* --suspend-at-check: the checks passed, as when the entry returns */
      suspend_report_checks();
      state_write(STATE_EXITED, 0, (uint32_t)ARG(0, 1), NULL, NULL);
      _exit((int)(uint32_t)ARG(0, 1));
    case HOSTCALL_WRITE: {
      uint32_t fd = (uint32_t)ARG(0, 3), ptr = (uint32_t)ARG(1, 3), len = (uint32_t)ARG(2, 3);
      uint8_t *p = checked(vmctx, ptr, len, NULL);
      if (!program_fd(fd)) return ret32(-EBADF);
      ssize_t n;
      while ((n = write(files_host_fd(fd), p, len)) < 0 && errno == EINTR && !suspend_requested()) {}
      return ret32(n < 0 ? -errno : n);
    }
    case HOSTCALL_READ: {
      uint32_t fd = (uint32_t)ARG(0, 3), ptr = (uint32_t)ARG(1, 3), len = (uint32_t)ARG(2, 3);
      uint8_t *p = checked(vmctx, ptr, len, NULL);
      if (!program_fd(fd)) return ret32(-EBADF);
      /* interrupted by a suspend request: -EINTR, and the library retries at a loop check */
      ssize_t n;
      while ((n = read(files_host_fd(fd), p, len)) < 0 && errno == EINTR && !suspend_requested()) {}
      return ret32(n < 0 ? -errno : n);
    }
    case HOSTCALL_ARGS_SIZES: {
      uint32_t which = (uint32_t)ARG(0, 1);
      if (which > 1) return neg(EINVAL);
      return (uint64_t)vecs[which].count | (uint64_t)vecs[which].bytes << 32;
    }
    case HOSTCALL_ARGS_GET: {
      uint32_t which = (uint32_t)ARG(0, 3), ptr = (uint32_t)ARG(1, 3), len = (uint32_t)ARG(2, 3);
      uint8_t *p = checked(vmctx, ptr, len, NULL);
      if (which > 1 || len != vecs[which].bytes) return ret32(-EINVAL);
      if (len) memcpy(p, vecs[which].buf, len);
      return 0;
    }
    case HOSTCALL_CLOCK_TIME:
    case HOSTCALL_CLOCK_RES: {
      uint32_t c = (uint32_t)ARG(0, 1);
      if (c >= sizeof clocks / sizeof clocks[0]) return neg(EINVAL);
      struct timespec ts;
      int r = id == HOSTCALL_CLOCK_TIME ? clock_gettime(clocks[c], &ts) : clock_getres(clocks[c], &ts);
      if (r < 0) return neg(errno);
      return (uint64_t)ts.tv_sec * 1000000000 + (uint64_t)ts.tv_nsec;
    }
    case HOSTCALL_RANDOM: {
      uint32_t ptr = (uint32_t)ARG(0, 2), len = (uint32_t)ARG(1, 2);
      return do_random(checked(vmctx, ptr, len, NULL), len);
    }
    case HOSTCALL_POLL:
      return do_poll((uint32_t)ARG(0, 2), (int64_t)ARG(1, 2));
    case HOSTCALL_FD_STAT: {
      uint32_t fd = (uint32_t)ARG(0, 1);
      return program_fd(fd) ? files_info(fd) : neg(EBADF);
    }
    case HOSTCALL_SCHED_YIELD:
      sched_yield();
      return 0;
    case HOSTCALL_CLOSE:
      return ret32(files_close((uint32_t)ARG(0, 1)));
    /* files (--dir): the library checked every range; checked() checks it again */
    case HOSTCALL_PRESTAT:
      return (uint64_t)files_prestat((uint32_t)ARG(0, 1));
    case HOSTCALL_PRESTAT_NAME: {
      uint32_t fd = (uint32_t)ARG(0, 3), ptr = (uint32_t)ARG(1, 3), len = (uint32_t)ARG(2, 3);
      return ret32(files_prestat_name(fd, checked(vmctx, ptr, len, NULL), len));
    }
    case HOSTCALL_PATH_OPEN: {
      uint32_t ptr = (uint32_t)ARG(2, 7), len = (uint32_t)ARG(3, 7);
      return ret32(files_path_open((uint32_t)ARG(0, 7), (uint32_t)ARG(1, 7), checked(vmctx, ptr, len, NULL), len,
                                   (uint32_t)ARG(4, 7), (uint32_t)ARG(5, 7), (uint32_t)ARG(6, 7)));
    }
    case HOSTCALL_SEEK:
      return (uint64_t)files_seek((uint32_t)ARG(0, 3), (int64_t)ARG(1, 3), (uint32_t)ARG(2, 3));
    case HOSTCALL_FILESTAT:
      return ret32(files_filestat((uint32_t)ARG(0, 2), checked(vmctx, (uint32_t)ARG(1, 2), 64, NULL)));
    case HOSTCALL_PATH_FILESTAT: {
      uint32_t ptr = (uint32_t)ARG(2, 5), len = (uint32_t)ARG(3, 5);
      const uint8_t *path = checked(vmctx, ptr, len, NULL);
      return ret32(files_path_filestat((uint32_t)ARG(0, 5), (uint32_t)ARG(1, 5), path, len,
                                       checked(vmctx, (uint32_t)ARG(4, 5), 64, NULL)));
    }
    case HOSTCALL_READDIR: {
      uint32_t ptr = (uint32_t)ARG(1, 4), len = (uint32_t)ARG(2, 4);
      return ret32(files_readdir((uint32_t)ARG(0, 4), checked(vmctx, ptr, len, NULL), len, ARG(3, 4)));
    }
    case HOSTCALL_PATH_OP: {
      uint32_t ptr = (uint32_t)ARG(2, 4), len = (uint32_t)ARG(3, 4);
      return ret32(files_path_op((uint32_t)ARG(0, 4), (uint32_t)ARG(1, 4), checked(vmctx, ptr, len, NULL), len));
    }
    case HOSTCALL_RENAME: {
      uint32_t p1 = (uint32_t)ARG(1, 6), l1 = (uint32_t)ARG(2, 6), p2 = (uint32_t)ARG(4, 6), l2 = (uint32_t)ARG(5, 6);
      const uint8_t *a = checked(vmctx, p1, l1, NULL), *b = checked(vmctx, p2, l2, NULL);
      return ret32(files_rename((uint32_t)ARG(0, 6), a, l1, (uint32_t)ARG(3, 6), b, l2));
    }
    case HOSTCALL_SYNC:
      return ret32(files_sync((uint32_t)ARG(0, 2), (uint32_t)ARG(1, 2)));
    case HOSTCALL_TRUNCATE:
      return ret32(files_truncate((uint32_t)ARG(0, 2), (int64_t)ARG(1, 2)));
  }
  trap_raise(TRAP_UNREACHABLE, NULL, 0, 0);
}
