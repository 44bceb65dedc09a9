/* Loader routines behind the runtime library's `gate` imports (docs/ARCHITECTURE.md, "Host
 * calls"). They take offsets into linear memory already checked by the library, and check them
 * again.
 *
 * Everything that needs a system call outside the sandbox's whitelist happens in hostcall_init,
 * before the sandbox: the status of fds 0-2 is read once, and the program's argv and environment are fixed by the command line (`--env K=V`, the
 * arguments after `--`): the host's environment never reaches the program. At run time the host
 * calls use only read, write, close, ppoll (with rt_sigprocmask), clock_gettime/clock_getres
 * (vDSO where it serves), getrandom and sched_yield. */
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

/* The program's fds: 0-2 as the loader found them. fd_info[fd] is the packed HOSTCALL_FD_STAT
 * answer, or 0 when the fd is not the program's (never opened, or closed by fd_close). */
#define PROGRAM_FDS 3
static uint64_t fd_info[PROGRAM_FDS];

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

/* WASI filetypes and fdflags (packed as HOSTCALL_FD_STAT returns them) */
#define FILETYPE_UNKNOWN 0
#define FILETYPE_BLOCK_DEVICE 1
#define FILETYPE_CHARACTER_DEVICE 2
#define FILETYPE_DIRECTORY 3
#define FILETYPE_REGULAR_FILE 4
#define FILETYPE_SOCKET_STREAM 6
#define FILETYPE_SYMBOLIC_LINK 7
/* bits 0-7 filetype, 8-15 fdflags, then: */
#define FD_STAT_READABLE (1ull << 16)
#define FD_STAT_WRITABLE (1ull << 17)
#define FD_STAT_TTY (1ull << 18)
#define FD_STAT_OPEN (1ull << 19)

static uint64_t probe_fd(int fd) {
  int fl = fcntl(fd, F_GETFL);
  struct stat st;
  if (fl < 0 || fstat(fd, &st) < 0) return 0;
  uint64_t type = FILETYPE_UNKNOWN;
  if (S_ISREG(st.st_mode)) type = FILETYPE_REGULAR_FILE;
  else if (S_ISDIR(st.st_mode)) type = FILETYPE_DIRECTORY;
  else if (S_ISCHR(st.st_mode)) type = FILETYPE_CHARACTER_DEVICE;
  else if (S_ISBLK(st.st_mode)) type = FILETYPE_BLOCK_DEVICE;
  /* pipes as node:wasi (libuv) reports them: stream sockets */
  else if (S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode)) type = FILETYPE_SOCKET_STREAM;
  else if (S_ISLNK(st.st_mode)) type = FILETYPE_SYMBOLIC_LINK;
  uint64_t flags = 0;
  if (fl & O_APPEND) flags |= 1;
  if (fl & O_NONBLOCK) flags |= 4;
  if ((fl & O_SYNC) == O_SYNC) flags |= 16;
  else if (fl & O_DSYNC) flags |= 2;
  int acc = fl & O_ACCMODE;
  uint64_t info = type | flags << 8 | FD_STAT_OPEN;
  if (acc == O_RDONLY || acc == O_RDWR) info |= FD_STAT_READABLE;
  if (acc == O_WRONLY || acc == O_RDWR) info |= FD_STAT_WRITABLE;
  if (isatty(fd)) info |= FD_STAT_TTY;
  return info;
}

/* Before the sandbox (and before the program runs): the status of fds 0-2. */
void hostcall_init(void) {
  for (int fd = 0; fd < PROGRAM_FDS; fd++) fd_info[fd] = probe_fd(fd);
}

static int program_fd(uint32_t fd) { return fd < PROGRAM_FDS && fd_info[fd]; }

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
  int n = 0;
  for (int fd = 0; fd < 16; fd++) {
    short ev = (short)((mask >> fd & 1 ? POLLIN : 0) | (mask >> (16 + fd) & 1 ? POLLOUT : 0));
    if (!ev) continue;
    if (!program_fd((uint32_t)fd)) return neg(EBADF);
    fds[n].fd = fd;
    fds[n].events = ev;
    fds[n].revents = 0;
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
      int fd = fds[k].fd;
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
      state_write(STATE_EXITED, 0, (uint32_t)ARG(0, 1), NULL, NULL);
      _exit((int)(uint32_t)ARG(0, 1));
    case HOSTCALL_WRITE: {
      uint32_t fd = (uint32_t)ARG(0, 3), ptr = (uint32_t)ARG(1, 3), len = (uint32_t)ARG(2, 3);
      uint8_t *p = checked(vmctx, ptr, len, NULL);
      if (!program_fd(fd)) return ret32(-EBADF);
      ssize_t n;
      while ((n = write((int)fd, p, len)) < 0 && errno == EINTR && !suspend_requested()) {}
      return ret32(n < 0 ? -errno : n);
    }
    case HOSTCALL_READ: {
      uint32_t fd = (uint32_t)ARG(0, 3), ptr = (uint32_t)ARG(1, 3), len = (uint32_t)ARG(2, 3);
      uint8_t *p = checked(vmctx, ptr, len, NULL);
      if (!program_fd(fd)) return ret32(-EBADF);
      /* interrupted by a suspend request: -EINTR, and the library retries at a loop check */
      ssize_t n;
      while ((n = read((int)fd, p, len)) < 0 && errno == EINTR && !suspend_requested()) {}
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
      return program_fd(fd) ? fd_info[fd] : neg(EBADF);
    }
    case HOSTCALL_SCHED_YIELD:
      sched_yield();
      return 0;
    case HOSTCALL_CLOSE: {
      uint32_t fd = (uint32_t)ARG(0, 1);
      if (!program_fd(fd)) return ret32(-EBADF);
      fd_info[fd] = 0;
      /* as POSIX close: the fd is gone even when close reports an error */
      return close((int)fd) < 0 && errno != EINTR ? ret32(-errno) : 0;
    }
  }
  trap_raise(TRAP_UNREACHABLE, NULL, 0, 0);
}
