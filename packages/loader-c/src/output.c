/* Where the snapshot goes (README, "Use"; docs/image-format.md, "Loader"): the loader writes the
 * snapshot .wasm itself (snapshot.c) into a memfd from inside the sandbox; a small helper process,
 * forked before the sandbox and before the image is read, puts those bytes in place when asked.
 *
 * Why a helper: the sandbox's seccomp filter allows no path-taking system call without --dir (and
 * none can be limited to one directory: an absolute path ignores the dirfd), yet a regular file
 * must be replaced atomically (a temporary file beside it, then rename) and a symlink, FIFO or
 * device written through. The helper is outside the sandbox and does exactly that, nothing else:
 * it reads one request byte, copies the memfd to the target, answers, and exits. It holds no fd of
 * the program's (stdio closed), ignores the terminal's signals (a Ctrl-C must not cut a rename
 * short), and exits when the loader's end of its socket closes: a killed loader leaves nothing
 * behind (the temporary file exists only while the helper copies). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "gate.h"

static char target[PATH_MAX];     /* the snapshot path as given (or the default) */
static int memfd = -1, req_fd = -1, rep_fd = -1;

/* Follows symlinks from `path` (up to 40, as the kernel) to the path a write lands on; 0, or -1
 * with errno (ELOOP, ENAMETOOLONG). A dangling link resolves to its target, which is created. */
static int resolve(const char *path, char *out) {
  char cur[PATH_MAX];
  if (strlen(path) >= sizeof cur) { errno = ENAMETOOLONG; return -1; }
  strcpy(cur, path);
  for (int k = 0; k < 40; k++) {
    struct stat st;
    if (lstat(cur, &st) < 0 || !S_ISLNK(st.st_mode)) { strcpy(out, cur); return 0; }
    char link[PATH_MAX];
    ssize_t n = readlink(cur, link, sizeof link - 1);
    if (n < 0) return -1;
    link[n] = 0;
    if (link[0] == '/') strcpy(cur, link);
    else {
      char dir[PATH_MAX];
      strcpy(dir, cur);
      char *d = dirname(dir);
      if (strlen(d) + 1 + (size_t)n >= sizeof cur) { errno = ENAMETOOLONG; return -1; }
      size_t dl = strlen(d);
      memmove(cur, d, dl);
      cur[dl] = '/';
      memcpy(cur + dl + 1, link, (size_t)n + 1);
    }
  }
  errno = ELOOP;
  return -1;
}

/* Why `path` cannot take a snapshot (a message), or NULL when it can: a regular file or a new
 * one in a writable directory, a FIFO or a device we may write. */
static const char *unusable(const char *path, char *why, size_t n) {
  char real[PATH_MAX];
  if (resolve(path, real) < 0) { snprintf(why, n, "%s", strerror(errno)); return why; }
  struct stat st;
  if (stat(real, &st) == 0) {
    if (S_ISDIR(st.st_mode)) return "is a directory";
    if (S_ISSOCK(st.st_mode)) return "is a socket";
    if (!S_ISREG(st.st_mode)) {
      if (access(real, W_OK) < 0) { snprintf(why, n, "%s", strerror(errno)); return why; }
      return NULL;
    }
  } else if (errno != ENOENT) { snprintf(why, n, "%s", strerror(errno)); return why; }
  char dir[PATH_MAX];
  strcpy(dir, real);
  char *d = dirname(dir);
  if (stat(d, &st) < 0) { snprintf(why, n, "directory %s: %s", cli_printable(d), strerror(errno)); return why; }
  if (!S_ISDIR(st.st_mode)) { snprintf(why, n, "%s is not a directory", cli_printable(d)); return why; }
  if (access(d, W_OK | X_OK) < 0) { snprintf(why, n, "directory %s: %s", cli_printable(d), strerror(errno)); return why; }
  return NULL;
}

/* Sets the snapshot's path and, for one the user gave, checks it before anything runs: the
 * program's state is never lost to a bad path found after it stopped. -1 (message printed). */
static int explicit_target;

int output_check(const char *path, const char *image, int explicit_path) {
  explicit_target = explicit_path;
  if (explicit_path) {
    if (strlen(path) >= sizeof target) { cli_error("--snapshot: path too long"); return -1; }
    strcpy(target, path);
    char why[PATH_MAX + 64];
    const char *bad = unusable(path, why, sizeof why);
    if (bad) { cli_error("--snapshot %s: %s", cli_printable(path), bad); return -1; }
    struct stat a, b;
    if (stat(path, &a) == 0 && stat(image, &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino) {
      cli_error("--snapshot %s is the image itself, which gate-run never overwrites", cli_printable(path));
      return -1;
    }
    return 0;
  }
  /* ./IMAGE-NAME.snapshot.wasm: the image's base name without .img */
  const char *base = strrchr(image, '/');
  base = base ? base + 1 : image;
  size_t n = strlen(base);
  if (n >= 4 && strcmp(base + n - 4, ".img") == 0) n -= 4;
  if (n + 16 >= sizeof target) n = sizeof target - 16;
  memcpy(target, base, n);
  strcpy(target + n, ".snapshot.wasm");
  return 0;
}

const char *output_path(void) { return target; }

/* The helper's one job: the memfd's bytes to the target. 0, or an error message in `why`. */
static int copy_all(int to, char *why, size_t n) {
  struct stat st;
  if (fstat(memfd, &st) < 0) { snprintf(why, n, "%s", strerror(errno)); return -1; }
  off_t off = 0;
  while (off < st.st_size) {
    ssize_t w = copy_file_range(memfd, &off, to, NULL, (size_t)(st.st_size - off), 0);
    if (w < 0 && (errno == EXDEV || errno == EINVAL || errno == ENOSYS || errno == EOPNOTSUPP)) w = sendfile(to, memfd, &off, (size_t)(st.st_size - off));
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) { snprintf(why, n, "%s", w < 0 ? strerror(errno) : "short write"); return -1; }
  }
  return 0;
}

static int place(char *why, size_t n) {
  char real[PATH_MAX];
  if (resolve(target, real) < 0) { snprintf(why, n, "%s", strerror(errno)); return -1; }
  struct stat st;
  if (stat(real, &st) == 0 && !S_ISREG(st.st_mode)) {
    if (S_ISDIR(st.st_mode) || S_ISSOCK(st.st_mode)) { snprintf(why, n, "%s", S_ISDIR(st.st_mode) ? "is a directory" : "is a socket"); return -1; }
    /* a device or a FIFO: written through, never replaced */
    int fd = open(real, O_WRONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) { snprintf(why, n, "%s", strerror(errno)); return -1; }
    int r = copy_all(fd, why, n);
    close(fd);
    return r;
  }
  /* a regular file: a temporary file beside it, renamed over it once complete */
  char tmp[PATH_MAX + 32];
  char dir[PATH_MAX], name[PATH_MAX];
  strcpy(dir, real);
  strcpy(name, real);
  const char *d = dirname(dir), *b = basename(name);
  char cut[200];
  snprintf(cut, sizeof cut, "%s", b);
  snprintf(tmp, sizeof tmp, "%s/.%s.XXXXXX", d, cut);
  int fd = mkostemp(tmp, O_CLOEXEC);
  if (fd < 0) { snprintf(why, n, "%s", strerror(errno)); return -1; }
  mode_t mask = umask(0);
  umask(mask);
  (void)!fchmod(fd, 0666 & ~mask);
  int r = copy_all(fd, why, n);
  if (r == 0 && fsync(fd) < 0) { snprintf(why, n, "%s", strerror(errno)); r = -1; }
  if (close(fd) < 0 && r == 0) { snprintf(why, n, "%s", strerror(errno)); r = -1; }
  if (r == 0 && rename(tmp, real) < 0) { snprintf(why, n, "%s", strerror(errno)); r = -1; }
  if (r < 0) unlink(tmp);
  return r;
}

static _Noreturn void helper(void) {
  static const int ignored[] = { SIGINT, SIGTERM, SIGQUIT, SIGHUP, SIGPIPE, SIGALRM, SIGTSTP, SIGTTOU };
  for (size_t k = 0; k < sizeof ignored / sizeof ignored[0]; k++) signal((int)ignored[k], SIG_IGN);
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, NULL);
  /* nothing of the program's: its stdio (on /dev/null, as a closed fd 0-2 would be the next
   * file opened) and anything else inherited */
  int lo = memfd < req_fd ? memfd : req_fd, hi = memfd < req_fd ? req_fd : memfd;
  if (syscall(SYS_close_range, 0u, (unsigned)lo - 1, 0u) < 0 || (hi > lo + 1 && syscall(SYS_close_range, (unsigned)lo + 1, (unsigned)hi - 1, 0u) < 0) ||
      syscall(SYS_close_range, (unsigned)hi + 1, ~0u, 0u) < 0)
    for (int fd = 0; fd < 1024; fd++) if (fd != memfd && fd != req_fd) close(fd); /* no close_range (qemu-user, old kernels) */
  int null = open("/dev/null", O_RDWR | O_CLOEXEC);
  for (int fd = 0; fd < 3 && null >= 0; fd++) if (fd != null) dup2(null, fd);
  char c;
  ssize_t r;
  do r = read(req_fd, &c, 1); while (r < 0 && errno == EINTR);
  if (r != 1) _exit(0); /* the loader ended without a snapshot, or was killed */
  char why[PATH_MAX + 64] = "";
  int ok = place(why, sizeof why) == 0;
  char answer[PATH_MAX + 80];
  size_t len;
  if (ok) { answer[0] = 0; len = 1; }
  else len = (size_t)snprintf(answer, sizeof answer, "%s", why);
  (void)!write(rep_fd, answer, len);
  _exit(0);
}

/* fd moved above 2: a closed stdin, stdout or stderr stays closed for the program (EBADF) */
static int above2(int fd) {
  if (fd < 0 || fd > 2) return fd;
  int to = fcntl(fd, F_DUPFD_CLOEXEC, 3);
  close(fd);
  return to;
}

/* Creates the memfd and forks the helper; -1 (message printed) on failure. One socket pair is
 * the request and the answer: the loader keeps two fds (3 and 4 when 0-2 are open). */
int output_start(void) {
  memfd = above2(memfd_create("gate-run-snapshot", MFD_CLOEXEC));
  int sv[2] = { -1, -1 };
  int ok = memfd >= 0 && socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0;
  if (ok) {
    sv[0] = above2(sv[0]);
    sv[1] = above2(sv[1]);
    ok = sv[0] >= 0 && sv[1] >= 0;
  }
  if (!ok) {
    cli_error("cannot prepare the snapshot output: %s", strerror(errno));
    return -1;
  }
  pid_t pid = fork();
  if (pid < 0) {
    cli_error("cannot prepare the snapshot output: fork: %s", strerror(errno));
    return -1;
  }
  if (pid == 0) {
    close(sv[0]);
    req_fd = rep_fd = sv[1];
    helper();
  }
  close(sv[1]);
  req_fd = rep_fd = sv[0];
  sandbox_keep_fd(memfd);
  sandbox_keep_fd(req_fd);
  return 0;
}

int output_fd(void) { return memfd; }

/* The snapshot is in the memfd: has the helper put it in place; 0, or -1 (message printed). */
int output_commit(int suspended) {
  char c = 'W';
  char answer[PATH_MAX + 80];
  ssize_t n;
  if (write(req_fd, &c, 1) != 1) n = -1;
  else {
    size_t got = 0;
    for (;;) {
      n = read(rep_fd, answer + got, sizeof answer - 1 - got);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      got += (size_t)n;
    }
    n = (ssize_t)got;
  }
  if (n == 1 && answer[0] == 0) {
    if (suspended) {
      const char *p = cli_printable(target);
      char line[3 * PATH_MAX + 160];
      int len = snprintf(line, sizeof line, "gate-run: suspended; snapshot written to %s (resume: wagc %s -o OUT.img [--arch A] && gate-run OUT.img)\n", p, p);
      (void)!write(2, line, (size_t)len);
    }
    return 0;
  }
  answer[n > 0 ? n : 0] = 0;
  cli_error("cannot write the snapshot %s: %s", cli_printable(target), n > 0 ? answer : "the helper that writes it is gone");
  return -1;
}

/* A snapshot could not be made: the helper exits without touching anything. */
void output_abandon(void) {
  if (req_fd >= 0) close(req_fd);
  req_fd = rep_fd = -1;
}

/* A snapshot is written when the program was suspended, or however it stopped with --snapshot. */
int output_wanted(uint32_t state) { return req_fd >= 0 && (explicit_target || state == STATE_SUSPENDED); }
