/* The sandbox (ARCHITECTURE §8, docs/sandbox.md): once the image is mapped, the instance created and the
 * state file opened, and before any generated code runs, the loader closes every fd it does not
 * need, lowers rlimits, enters the namespaces the kernel allows, sets no_new_privs and installs a
 * seccomp-BPF whitelist. Anything outside the whitelist kills the process (SIGSYS). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "gate.h"

#if defined(__x86_64__)
#define SANDBOX_AUDIT_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define SANDBOX_AUDIT_ARCH AUDIT_ARCH_AARCH64
#endif

#define PAGE 65536ull

/* The whitelist: every system call the running instance may make, with why (docs/sandbox.md).
 * tests/sandbox asserts this list; widening it is a visible change. */
static const struct { const char *name; long nr; } allowed[] = {
  { "read", __NR_read },                 /* gate.read host call; stdin of the --batch protocol */
  { "write", __NR_write },               /* gate.write host call; stdout/stderr; traps; the state file */
  { "close", __NR_close },               /* state_write closes the state file; WASI fd_close */
#ifdef __NR_poll
  { "poll", __NR_poll },                 /* poll_oneoff (glibc's poll on x86-64) */
#endif
  { "ppoll", __NR_ppoll },               /* poll_oneoff (glibc's poll on aarch64) */
  { "clock_gettime", __NR_clock_gettime }, /* clock_time_get where the vDSO falls back to the kernel */
  { "clock_getres", __NR_clock_getres }, /* clock_res_get (the same) */
  { "getrandom", __NR_getrandom },       /* random_get */
  { "sched_yield", __NR_sched_yield },   /* WASI sched_yield */
  { "rt_sigreturn", __NR_rt_sigreturn }, /* return from the SIGQUIT/SIGALRM (suspend) handlers */
  { "rt_sigprocmask", __NR_rt_sigprocmask }, /* siglongjmp out of a trap restores the signal mask */
  { "exit_group", __NR_exit_group },     /* proc_exit, the end of main, _exit after a trap/suspend */
  { "exit", __NR_exit },                 /* (the same for a single thread) */
};
#define NALLOWED (sizeof allowed / sizeof allowed[0])

/* What --dir adds (docs/sandbox.md, "Files"): the calls of files.c, allowed only when the program
 * has preopened directories, and then Landlock confines every path-taking one to those. */
static const struct { const char *name; long nr; } allowed_dir[] = {
  { "openat", __NR_openat },             /* path_open, and each step of a path walk (O_PATH) */
  { "newfstatat", __NR_newfstatat },     /* fd_filestat_get, path_filestat_get, symlink checks (glibc's fstat) */
  { "readlinkat", __NR_readlinkat },     /* following a symlink inside a preopen */
  { "fstatfs", __NR_fstatfs },           /* the walk refuses to enter a pseudo file system (procfs, sysfs, …) */
  { "lseek", __NR_lseek },               /* fd_seek, fd_tell; fd_readdir's rewind */
  { "getdents64", __NR_getdents64 },     /* fd_readdir */
  { "mkdirat", __NR_mkdirat },           /* path_create_directory */
  { "unlinkat", __NR_unlinkat },         /* path_unlink_file, path_remove_directory */
  { "renameat2", __NR_renameat2 },       /* path_rename */
  { "fsync", __NR_fsync },               /* fd_sync */
  { "fdatasync", __NR_fdatasync },       /* fd_datasync */
  { "ftruncate", __NR_ftruncate },       /* fd_filestat_set_size */
};
#define NALLOWED_DIR (sizeof allowed_dir / sizeof allowed_dir[0])

/* The conditional entries, printed after the plain ones. */
static const char *const conditional[] = {
  "mprotect: prot PROT_READ|PROT_WRITE, addr in the first 4 GiB of a linear memory reservation, len <= 4 GiB",
  "rt_sigaction: signal SIGSEGV, SIGBUS, SIGFPE or SIGILL",
};
#define NCONDITIONAL (sizeof conditional / sizeof conditional[0])

void sandbox_print_whitelist(void) {
  for (size_t k = 0; k < NALLOWED; k++) printf("%s\n", allowed[k].name);
  for (size_t k = 0; k < NCONDITIONAL; k++) printf("%s\n", conditional[k]);
  if (files_preopen_count())
    for (size_t k = 0; k < NALLOWED_DIR; k++) printf("%s (--dir)\n", allowed_dir[k].name);
  fflush(stdout);
}

/* ---- the filter ---------------------------------------------------------------------------- */

#define MAX_INSNS 1024
static struct sock_filter prog[MAX_INSNS];
static unsigned nprog;

static void emit(uint16_t code, uint8_t jt, uint8_t jf, uint32_t k) {
  if (nprog < MAX_INSNS) prog[nprog++] = (struct sock_filter)BPF_JUMP(code, k, jt, jf);
}
#define LD(off) emit(BPF_LD | BPF_W | BPF_ABS, 0, 0, (off))
#define RET(v) emit(BPF_RET | BPF_K, 0, 0, (v))
/* little-endian halves of argument i (both arches are little-endian) */
#define ARG_LO(i) (offsetof(struct seccomp_data, args) + 8 * (i))
#define ARG_HI(i) (offsetof(struct seccomp_data, args) + 8 * (i) + 4)
#define KILL SECCOMP_RET_KILL_PROCESS
#define ALLOW SECCOMP_RET_ALLOW

/* mprotect's block: prot is exactly PROT_READ|PROT_WRITE, len <= 4 GiB and addr inside
 * [base, base + 4 GiB) of one of the memories: the range then ends below base + 8 GiB, inside the
 * 8 GiB + 64 KiB reservation (memory.grow never goes past 65536 pages = 4 GiB). */
static void emit_mprotect(const uint64_t *bases, unsigned nbases) {
  LD(ARG_HI(2));
  emit(BPF_JMP | BPF_JEQ | BPF_K, 1, 0, 0);
  RET(KILL);
  LD(ARG_LO(2));
  emit(BPF_JMP | BPF_JEQ | BPF_K, 1, 0, PROT_READ | PROT_WRITE);
  RET(KILL);
  LD(ARG_HI(1));
  emit(BPF_JMP | BPF_JEQ | BPF_K, 4, 0, 0);  /* len < 4 GiB */
  emit(BPF_JMP | BPF_JEQ | BPF_K, 0, 2, 1);  /* len = 4 GiB exactly */
  LD(ARG_LO(1));
  emit(BPF_JMP | BPF_JEQ | BPF_K, 1, 0, 0);
  RET(KILL);
  for (unsigned m = 0; m < nbases; m++) {
    uint32_t bh = (uint32_t)(bases[m] >> 32), bl = (uint32_t)bases[m];
    LD(ARG_HI(0));
    emit(BPF_JMP | BPF_JEQ | BPF_K, 0, 3, bh);     /* addr.hi == base.hi: addr.lo >= base.lo */
    LD(ARG_LO(0));
    emit(BPF_JMP | BPF_JGE | BPF_K, 0, 5, bl);
    RET(ALLOW);
    emit(BPF_JMP | BPF_JEQ | BPF_K, 0, 3, bh + 1); /* addr.hi == base.hi + 1: addr.lo < base.lo */
    LD(ARG_LO(0));
    emit(BPF_JMP | BPF_JGE | BPF_K, 1, 0, bl);
    RET(ALLOW);
  }
  RET(KILL);
}

static void build_filter(const uint64_t *bases, unsigned nbases) {
  nprog = 0;
  LD(offsetof(struct seccomp_data, arch));
  emit(BPF_JMP | BPF_JEQ | BPF_K, 1, 0, SANDBOX_AUDIT_ARCH);
  RET(KILL);
  LD(offsetof(struct seccomp_data, nr));
#if defined(__x86_64__)
  /* x32 system calls (bit 30) are another ABI's numbers */
  emit(BPF_JMP | BPF_JGE | BPF_K, 0, 1, 0x40000000u);
  RET(KILL);
#endif
  for (size_t k = 0; k < NALLOWED; k++) {
    emit(BPF_JMP | BPF_JEQ | BPF_K, 0, 1, (uint32_t)allowed[k].nr);
    RET(ALLOW);
  }
  if (files_preopen_count())
    for (size_t k = 0; k < NALLOWED_DIR; k++) {
      emit(BPF_JMP | BPF_JEQ | BPF_K, 0, 1, (uint32_t)allowed_dir[k].nr);
      RET(ALLOW);
    }
  static const int sigs[] = { SIGSEGV, SIGBUS, SIGFPE, SIGILL };
  /* rt_sigaction(sig, …): the fault handler resets a signal to SIG_DFL before an internal error
   * re-raises it */
  emit(BPF_JMP | BPF_JEQ | BPF_K, 0, 2 + 2 * 4, __NR_rt_sigaction);
  LD(ARG_LO(0));
  for (int k = 0; k < 4; k++) {
    emit(BPF_JMP | BPF_JEQ | BPF_K, 0, 1, (uint32_t)sigs[k]);
    RET(ALLOW);
  }
  RET(KILL);
  /* the last test: anything but mprotect dies here; the block needs no long jump */
  emit(BPF_JMP | BPF_JEQ | BPF_K, 1, 0, __NR_mprotect);
  RET(KILL);
  emit_mprotect(bases, nbases);
}

/* ---- Landlock (--dir only) ----------------------------------------------------------------- */

/* The generic syscall numbers (the same on x86-64 and aarch64); glibc 2.36 has no wrappers. */
#define NR_landlock_create_ruleset 444
#define NR_landlock_add_rule 445
#define NR_landlock_restrict_self 446
#define LL_CREATE_RULESET_VERSION (1u << 0)
#define LL_RULE_PATH_BENEATH 1

/* Every file system right Landlock ABI v handles (v1: 13 rights; v2 refer; v3 truncate; v5 ioctl_dev) */
static uint64_t landlock_handled(int v) {
  uint64_t r = (1ull << 13) - 1;
  if (v >= 2) r |= 1ull << 13;
  if (v >= 3) r |= 1ull << 14;
  if (v >= 5) r |= 1ull << 15;
  return r;
}

/* Beneath a preopen: read, write, list, create and remove files, directories and symlinks, rename
 * (refer), truncate. Not execute, device nodes, sockets, fifos or device ioctls: no WASI call
 * needs them. */
#define LL_ALLOWED_BENEATH ((1ull << 1) | (1ull << 2) | (1ull << 3) | (1ull << 4) | (1ull << 5) | (1ull << 7) | \
                            (1ull << 8) | (1ull << 12) | (1ull << 13) | (1ull << 14))

static int landlock_version;

/* Confines every path the loader may open from now on to the preopened directories. 0, or -1 with
 * `why` filled. Must come after no_new_privs and before seccomp (which allows no landlock call). */
static int landlock_confine(char *why, size_t n) {
  long v = syscall(NR_landlock_create_ruleset, NULL, 0, LL_CREATE_RULESET_VERSION);
  if (v < 1) {
    snprintf(why, n, "Landlock unavailable (%s)", strerror(errno));
    return -1;
  }
  landlock_version = (int)v;
  struct { uint64_t handled_access_fs; } attr = { landlock_handled((int)v) };
  int rs = (int)syscall(NR_landlock_create_ruleset, &attr, sizeof attr, 0);
  if (rs < 0) {
    snprintf(why, n, "landlock_create_ruleset: %s", strerror(errno));
    return -1;
  }
  for (int k = 0; k < files_preopen_count(); k++) {
    struct __attribute__((packed)) { uint64_t allowed_access; int32_t parent_fd; } beneath = {
      LL_ALLOWED_BENEATH & attr.handled_access_fs, files_preopen_fd(k),
    };
    if (syscall(NR_landlock_add_rule, rs, LL_RULE_PATH_BENEATH, &beneath, 0) < 0) {
      snprintf(why, n, "landlock_add_rule: %s", strerror(errno));
      close(rs);
      return -1;
    }
  }
  if (syscall(NR_landlock_restrict_self, rs, 0) < 0) {
    snprintf(why, n, "landlock_restrict_self: %s", strerror(errno));
    close(rs);
    return -1;
  }
  close(rs);
  return 0;
}

/* ---- steps ---------------------------------------------------------------------------------- */

static int report;
static char report_buf[2048];
static size_t report_len;

static void note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void note(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(report_buf + report_len, sizeof report_buf - report_len, fmt, ap);
  va_end(ap);
  if (n > 0) report_len += (size_t)n < sizeof report_buf - report_len ? (size_t)n : sizeof report_buf - report_len - 1;
}

/* The fds kept open besides 0, 1 and 2: the state file and whatever sandbox_keep_fd named. */
#define MAX_KEEP 8
static int keep[MAX_KEEP];
static unsigned nkeep;

void sandbox_keep_fd(int fd) {
  if (fd > 2 && nkeep < MAX_KEEP) keep[nkeep++] = fd;
}

static int cmp_int(const void *a, const void *b) { return *(const int *)a - *(const int *)b; }

/* Closes every fd but 0, 1, 2 and the kept ones; returns the highest fd left open. */
static int close_fds(void) {
  qsort(keep, nkeep, sizeof keep[0], cmp_int);
  unsigned first = 3;
  int ok = 1;
  for (unsigned k = 0; k <= nkeep; k++) {
    unsigned last = k < nkeep ? (unsigned)keep[k] - 1 : ~0u;
    if (k < nkeep && (unsigned)keep[k] < first) continue; /* a duplicate */
    if (last >= first && syscall(__NR_close_range, first, last, 0) < 0) ok = 0;
    if (k < nkeep) first = (unsigned)keep[k] + 1;
  }
  if (!ok) {
    /* kernels before 5.9 (and emulators without close_range): one by one */
    struct rlimit r;
    long max = getrlimit(RLIMIT_NOFILE, &r) == 0 && r.rlim_cur < 65536 ? (long)r.rlim_cur : 65536;
    for (long fd = 3; fd < max; fd++) {
      int kept = 0;
      for (unsigned k = 0; k < nkeep; k++) kept |= keep[k] == fd;
      if (!kept) close((int)fd);
    }
  }
  return nkeep ? keep[nkeep - 1] : 2;
}

static const struct { const char *name; int flag; } namespaces[] = {
  { "user", CLONE_NEWUSER }, { "mount", CLONE_NEWNS }, { "net", CLONE_NEWNET },
  { "ipc", CLONE_NEWIPC }, { "uts", CLONE_NEWUTS },
};

int want_report(int flag) {
  if (flag) return 1;
  const char *e = gate_getenv("GATE_SANDBOX_REPORT");
  return e && *e && strcmp(e, "0") != 0;
}

#ifdef GATE_TEST_HOOKS
/* Test builds only: GATE_RUN_TEST_SANDBOX_TRY=WHAT makes a call after the filter is installed; a
 * forbidden one dies of SIGSYS, an allowed one prints its result and the loader goes on. */
static void test_try(void) {
  const char *what = gate_getenv("GATE_RUN_TEST_SANDBOX_TRY");
  if (!what) return;
  long r = -2;
  if (strcmp(what, "openat") == 0) r = openat(AT_FDCWD, "/etc/hostname", O_RDONLY);
  else if (strcmp(what, "socket") == 0) r = socket(AF_INET, SOCK_STREAM, 0);
  else if (strcmp(what, "getpid") == 0) r = syscall(__NR_getpid);
  else if (strcmp(what, "mprotect-exec") == 0) r = mprotect(inst.memory, PAGE, PROT_READ | PROT_EXEC);
  else if (strcmp(what, "mprotect-rwx") == 0) r = mprotect(inst.memory, PAGE, PROT_READ | PROT_WRITE | PROT_EXEC);
  else if (strcmp(what, "mprotect-text") == 0) r = mprotect(inst.text, PAGE, PROT_READ | PROT_WRITE);
  else if (strcmp(what, "mprotect-past") == 0) r = mprotect(inst.memory + (4ull << 30), PAGE, PROT_READ | PROT_WRITE);
  else if (strcmp(what, "mprotect-long") == 0) r = mprotect(inst.memory, (4ull << 30) + PAGE, PROT_READ | PROT_WRITE);
  else if (strcmp(what, "mprotect-memory") == 0) r = mprotect(inst.memory + (4ull << 30) - PAGE, PAGE, PROT_READ | PROT_WRITE);
  else if (strcmp(what, "sigaction-segv") == 0) r = signal(SIGSEGV, SIG_DFL) == SIG_ERR ? -1 : 0;
  else if (strcmp(what, "sigaction-usr1") == 0) r = signal(SIGUSR1, SIG_DFL) == SIG_ERR ? -1 : 0;
  if (r < 0) fprintf(stderr, "gate-run: test: %s returned %ld (%s)\n", what, r, strerror(errno));
  else fprintf(stderr, "gate-run: test: %s returned %ld\n", what, r);
}
#endif

int sandbox_enter(int emulated, int report_flag) {
  report = want_report(report_flag);
  sandbox_keep_fd(suspend_state_fd());
  uint64_t bases[1 + 64];
  unsigned nbases = 0;
  bases[nbases++] = (uint64_t)inst.memory;
  nbases += store_reservations(bases + 1, 64);

  /* stdio must not allocate or fstat once the filter is in: give stdin and stdout static
   * buffers now (stderr is unbuffered) */
  static char inbuf[1 << 16], outbuf[1 << 16];
  setvbuf(stdin, inbuf, _IOFBF, sizeof inbuf);
  setvbuf(stdout, outbuf, isatty(1) ? _IOLBF : _IOFBF, sizeof outbuf);

  /* 1. file descriptors: the image memfd is closed (its mappings stay), inherited ones too */
  int top = close_fds();
  img.fd = -1;

  /* 2. rlimits: no new fd (with --dir: the program's files and a path walk's directories), no
   * core dump (it would write the instance's memory to disk) */
  rlim_t fd_limit = (rlim_t)top + 1 + (files_preopen_count() ? FILES_FD_BUDGET : 0);
  struct rlimit nofile = { fd_limit, fd_limit }, core = { 0, 0 };
  if (setrlimit(RLIMIT_NOFILE, &nofile) < 0) note("gate-run: sandbox: RLIMIT_NOFILE: %s\n", strerror(errno));
  if (setrlimit(RLIMIT_CORE, &core) < 0) note("gate-run: sandbox: RLIMIT_CORE: %s\n", strerror(errno));

  /* 3. namespaces, each on its own so that a refusal names it; pid is skipped (docs/sandbox.md) */
  char entered[96] = "", missed[96] = "";
  for (size_t k = 0; k < sizeof namespaces / sizeof namespaces[0]; k++) {
    if (unshare(namespaces[k].flag) == 0) {
      strcat(entered, " ");
      strcat(entered, namespaces[k].name);
    } else {
      note("gate-run: sandbox: namespace %s not entered: %s\n", namespaces[k].name, strerror(errno));
      strcat(missed, " ");
      strcat(missed, namespaces[k].name);
    }
  }
  note("gate-run: sandbox: namespace pid not entered: skipped (it needs a fork, and the filter allows no system call that names a process)\n");

  /* 4. no_new_privs and the filter */
  build_filter(bases, nbases);
  struct sock_fprog fprog = { .len = (unsigned short)nprog, .filter = prog };
  /* seccomp(2) first; prctl for kernels before 3.17. qemu-user refuses both (ENOSYS, EINVAL). */
  char failed[160] = "";
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
    snprintf(failed, sizeof failed, "prctl(PR_SET_NO_NEW_PRIVS): %s", strerror(errno));
  } else {
    /* --dir widens the filter only where Landlock holds every path to the preopens */
    char why[160];
    if (files_preopen_count() && landlock_confine(why, sizeof why) < 0) {
      if (!emulated) {
        fprintf(stderr, "gate-run: sandbox: --dir needs Landlock to confine file access to the preopened directories (%s): refusing to run\n", why);
        return -1;
      }
      note("gate-run: sandbox: no Landlock under emulation (%s): file access is confined by the loader's path walk only\n", why);
    }
    if (syscall(__NR_seccomp, SECCOMP_SET_MODE_FILTER, 0, &fprog) < 0) {
      int e = errno;
      if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &fprog, 0, 0) < 0) {
        int n = snprintf(failed, sizeof failed, "seccomp: %s, ", strerror(e));
        snprintf(failed + n, sizeof failed - n, "prctl(PR_SET_SECCOMP): %s", strerror(errno));
      }
    }
  }
  if (failed[0] && !emulated) {
    fprintf(stderr, "gate-run: sandbox: cannot install the seccomp filter (%s): refusing to run unconfined "
            "(--emulated allows it under qemu-user, which cannot filter system calls)\n", failed);
    return -1;
  }
  if (failed[0]) note("gate-run: sandbox: no seccomp filter under emulation (%s): the program runs unconfined by seccomp\n", failed);
  if (report) {
    (void)!write(2, report_buf, report_len);
    char ll[64] = "";
    if (landlock_version) snprintf(ll, sizeof ll, ", Landlock (ABI %d) on %d director%s", landlock_version,
                                   files_preopen_count(), files_preopen_count() == 1 ? "y" : "ies");
    fprintf(stderr, "gate-run: sandbox: namespaces entered:%s; not entered: pid%s; rlimits NOFILE=%d CORE=0; %s%s\n",
            entered[0] ? entered : " none", missed, (int)fd_limit,
            failed[0] ? "no seccomp filter" : "no_new_privs, seccomp filter installed", ll);
  }
#ifdef GATE_TEST_HOOKS
  test_try();
#endif
  return 0;
}
