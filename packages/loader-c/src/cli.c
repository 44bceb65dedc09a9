/* gate-run's command line (README, "Use"): the loader is the gate-run command, so everything a
 * user types is read here, in C, with nothing in between (issue 14).
 *
 *   gate-run [OPTIONS] IMAGE [OPTIONS] [ARGS...]
 *
 * Options go before or after the image; the first argument after the image that is not an option
 * (or everything after `--`) starts the program's arguments, which are passed on as they are.
 * Every value option takes `--name VALUE` or `--name=VALUE`. A usage error is one line,
 * `gate-run: error: MESSAGE (see gate-run --help)`, and status 2. */
#define _GNU_SOURCE
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "gate.h"

#ifndef GATE_VERSION
#define GATE_VERSION "0.0.0"
#endif

/* The longest --timeout: a year (as the CLI always said). */
#define MAX_TIMEOUT 31536000.0

static const char help_text[] =
  "Usage: gate-run [OPTIONS] IMAGE [OPTIONS] [ARGS...]\n"
  "\n"
  "Runs a wagc image (wagc prog.wasm -o prog.img). Options go before or after IMAGE; the arguments\n"
  "after IMAGE, from the first one that is not an option (or all after --), are the program's.\n"
  "SIGQUIT (Ctrl-\\) suspends the program: it prints the stack and writes a snapshot (--snapshot FILE,\n"
  "default ./IMAGE-NAME.snapshot.wasm) that wagc compiles for any arch to resume it; SIGINT and\n"
  "SIGTERM end it. An image for another CPU (arm64 on x86-64) runs under qemu user-mode emulation\n"
  "(qemu-aarch64). Exit status: the program's proc_exit status, 0 when _start returns, 3 when\n"
  "suspended, 134 on a trap (message and stack trace on stderr), 124 when --timeout ran out, 2 for bad\n"
  "usage, a bad image or one that needs a CPU feature this CPU lacks.\n"
  "\n"
  "Options:\n"
  "  --env K=V               a variable of the program's environment (repeatable); --env K passes\n"
  "                          gate-run's own K. The program sees these and nothing else of gate-run's\n"
  "                          environment\n"
  "  --dir HOST::GUEST       preopen host directory HOST as GUEST for the program's WASI path\n"
  "                          functions (repeatable; fds 3.. in this order); --dir DIR is DIR::DIR.\n"
  "                          Paths cannot leave it (.., absolute paths and symlinks out are refused),\n"
  "                          and Landlock confines gate-run to these directories (not under qemu,\n"
  "                          which has no Landlock: there its path walk alone does). A suspension\n"
  "                          waits until the program has closed its files\n"
  "  --snapshot FILE         write the instance's state to FILE when the program suspends, returns,\n"
  "                          exits or traps (a regular file is replaced atomically; a device, a\n"
  "                          FIFO or a symlink's target is written through). Its directory is checked\n"
  "                          before the program starts\n"
  "  --suspend-after MS      suspend after MS milliseconds, as SIGQUIT does\n"
  "  --invoke EXPORT         call EXPORT (of a halted snapshot's image) with the program's arguments\n"
  "                          (i32/i64 decimal, floats as numbers; a v128 as 0x and 32 hex digits, byte\n"
  "                          15 first),\n"
  "                          print its results, one a line\n"
  "  --timeout SECONDS       stop the program after SECONDS of wall-clock time (decimals allowed, at\n"
  "                          most a year): one line on stderr, exit status 124\n"
  "  --max-memory BYTES      the most linear memory the program may have (rounded down to 64 KiB\n"
  "                          pages): memory.grow returns -1 past it, and a program whose memory starts\n"
  "                          larger is refused (default: 4 GiB, wasm's own limit)\n"
  "  --stack-size BYTES      the program's wasm call stack (default 8 MiB, 64 KiB to 1 GiB); a snapshot\n"
  "                          resumes with the size it was taken with\n"
  "  --instance-file PATH    keep the running instance's state (linear memory at offset 0, then vmctx\n"
  "                          and stack) in PATH instead of an anonymous memfd; its memory pages are\n"
  "                          cloned from the image by reflink where the filesystem can, else copied\n"
  "  --sandbox-report        say on stderr which namespaces gate-run entered and which it could not,\n"
  "                          and whether the seccomp filter is in (also GATE_SANDBOX_REPORT=1)\n"
  "  --help                  this text\n"
  "  --version               gate-run's version\n"
  "\n"
  "For tools and tests (docs/image-format.md, \"Loader\"): --state-out FILE (the state dump),\n"
  "--batch (the conformance runner's protocol), --suspend-at-check N, --emulated (run without the\n"
  "seccomp filter where it cannot be installed: qemu-user), --seccomp-whitelist"
#ifdef GATE_TEST_HOOKS
  ", --no-sandbox (this\n"
  "test build only)"
#endif
  ".\n";

/* C0, DEL and C1 control characters as \xNN (as printable() of @wagc/frontend): a name or path
 * in a message must not drive the terminal. C1 characters are U+0080–U+009F, 0xC2 0x80–0x9F in
 * UTF-8, written as their code point. */
const char *cli_printable(const char *s) {
  static char bufs[2][4096];
  static int which;
  char *buf = bufs[which ^= 1];
  size_t o = 0;
  for (const unsigned char *p = (const unsigned char *)s; *p && o + 5 < sizeof bufs[0]; p++) {
    unsigned c = *p;
    if (c == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f) c = *++p;
    else if (c == 0xe2 && p[1] == 0x80 && (p[2] == 0xa8 || p[2] == 0xa9)) { /* U+2028, U+2029 */
      o += (size_t)snprintf(buf + o, sizeof bufs[0] - o, "\\x%02x", p[2] == 0xa8 ? 0x28 : 0x29);
      p += 2;
      continue;
    }
    if (c < 0x20 || (c >= 0x7f && c <= 0x9f)) o += (size_t)snprintf(buf + o, sizeof bufs[0] - o, "\\x%02x", c);
    else buf[o++] = (char)c;
  }
  buf[o] = 0;
  return buf;
}

/* `gate-run: error: ` in the CLI's colours: bold name, red "error", when stderr is a terminal and
 * NO_COLOR is not set (chalk's rule). */
static int colour = -1;
void cli_error(const char *fmt, ...) {
  char msg[4096];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  /* one line: newlines inside become spaces */
  for (char *p = msg; *p; p++) if (*p == '\n') *p = ' ';
  /* decided once, before the sandbox (which allows no ioctl) */
  if (colour < 0) {
    const char *nc = getenv("NO_COLOR");
    colour = isatty(2) && !(nc && *nc);
  }
  if (colour) fprintf(stderr, "\x1b[1mgate-run\x1b[22m: \x1b[31merror\x1b[39m: %s\n", msg);
  else fprintf(stderr, "gate-run: error: %s\n", msg);
}

static _Noreturn void usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static _Noreturn void usage_error(const char *fmt, ...) {
  char msg[4096];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  cli_error("%s (see gate-run --help)", msg);
  exit(EXIT_BAD_IMAGE);
}

static int digits(const char *s) {
  if (!*s) return 0;
  for (; *s; s++) if (*s < '0' || *s > '9') return 0;
  return 1;
}

/* The CLI's --timeout rule: `^\s*[0-9]*\.?[0-9]+(e[+-]?[0-9]+)?\s*$`, case-insensitive. */
static int decimal_number(const char *s) {
  while (*s == ' ' || (*s >= '\t' && *s <= '\r')) s++;
  int before = 0, after = 0;
  while (*s >= '0' && *s <= '9') { s++; before++; }
  if (*s == '.') {
    s++;
    while (*s >= '0' && *s <= '9') { s++; after++; }
    if (!after) return 0;
  } else if (!before) return 0;
  if (*s == 'e' || *s == 'E') {
    s++;
    if (*s == '+' || *s == '-') s++;
    if (!(*s >= '0' && *s <= '9')) return 0;
    while (*s >= '0' && *s <= '9') s++;
  }
  while (*s == ' ' || (*s >= '\t' && *s <= '\r')) s++;
  return *s == 0;
}

/* "-5", "-.5": a negative number is a program argument (an --invoke argument), not an option. */
static int negative_number(const char *a) {
  return a[0] == '-' && ((a[1] >= '0' && a[1] <= '9') || (a[1] == '.' && a[2] >= '0' && a[2] <= '9'));
}

enum { V_NONE, V_ONE, V_MANY };
static const struct { const char *name; int value; } known[] = {
  { "snapshot", V_ONE }, { "suspend-after", V_ONE }, { "invoke", V_ONE }, { "env", V_MANY }, { "dir", V_MANY },
  { "instance-file", V_ONE }, { "timeout", V_ONE }, { "max-memory", V_ONE }, { "stack-size", V_ONE },
  { "sandbox-report", V_NONE }, { "help", V_NONE }, { "version", V_NONE },
  { "state-out", V_ONE }, { "batch", V_NONE }, { "suspend-at-check", V_ONE }, { "emulated", V_NONE },
  { "seccomp-whitelist", V_NONE },
#ifdef GATE_TEST_HOOKS
  { "no-sandbox", V_NONE },
#endif
};
#define NKNOWN (sizeof known / sizeof known[0])

/* Sets `o` from the command line, or exits (usage error, --help, --version). The environment is
 * still the host's here: --env K reads it. */
void cli_parse(int argc, char **argv, struct options *o) {
  memset(o, 0, sizeof *o);
  const char *nc = getenv("NO_COLOR");
  colour = isatty(2) && !(nc && *nc);
  o->stack_size = 8ull << 20;
  o->max_memory_pages = 65536;
  o->envs = calloc((size_t)argc + 1, sizeof *o->envs);
  o->dirs = calloc((size_t)argc + 1, sizeof *o->dirs);
  if (!o->envs || !o->dirs) abort();
  const char *given[NKNOWN] = { 0 };
  int k = 1;
  for (; k < argc; k++) {
    const char *a = argv[k];
    if (strcmp(a, "--") == 0) {
      k++;
      if (!o->image && k < argc) o->image = argv[k++];
      break;
    }
    if (a[0] != '-' || !a[1] || negative_number(a)) {
      if (o->image) break; /* the program's first argument */
      o->image = a;
      continue;
    }
    if (strcmp(a, "-h") == 0) a = "--help";
    if (a[1] != '-') usage_error("Unknown argument: %s", cli_printable(a));
    const char *name = a + 2, *eq = strchr(name, '=');
    size_t len = eq ? (size_t)(eq - name) : strlen(name);
    size_t which = NKNOWN;
    for (size_t j = 0; j < NKNOWN; j++) {
      if (strlen(known[j].name) == len && memcmp(known[j].name, name, len) == 0) which = j;
    }
    if (which == NKNOWN) usage_error("Unknown argument: %s", cli_printable(a));
    const char *v = NULL;
    if (known[which].value == V_NONE) {
      if (eq) usage_error("--%s takes no value", known[which].name);
    } else if (eq) v = eq + 1;
    else if (k + 1 < argc && strncmp(argv[k + 1], "--", 2) != 0) v = argv[++k];
    else usage_error("Not enough arguments following: %s", known[which].name);
    if (known[which].value == V_ONE && given[which]) usage_error("--%s given more than once", known[which].name);
    given[which] = v ? v : "";
    const char *n = known[which].name;
    if (strcmp(n, "help") == 0) {
      fputs(help_text, stdout);
      exit(0);
    } else if (strcmp(n, "version") == 0) {
      printf("gate-run %s\n", GATE_VERSION);
      exit(0);
    } else if (strcmp(n, "env") == 0) {
      const char *e = strchr(v, '=');
      if (e == v || !*v) usage_error("--env: expected K=V or K, got \"%s\"", cli_printable(v));
      if (e) o->envs[o->nenv++] = v;
      else {
        /* the variable of gate-run's own environment, if it has one */
        const char *own = getenv(v);
        if (own) {
          char *kv = malloc(strlen(v) + strlen(own) + 2);
          if (!kv) abort();
          sprintf(kv, "%s=%s", v, own);
          o->envs[o->nenv++] = kv;
        }
      }
    } else if (strcmp(n, "dir") == 0) {
      const char *sep = strstr(v, "::");
      if (!sep) {
        if (!*v) usage_error("--dir: expected HOST::GUEST, got \"%s\"", cli_printable(v));
        char *both = malloc(2 * strlen(v) + 3);
        if (!both) abort();
        sprintf(both, "%s::%s", v, v);
        o->dirs[o->ndir++] = both;
      } else {
        if (sep == v || !sep[2]) usage_error("--dir: expected HOST::GUEST, got \"%s\"", cli_printable(v));
        o->dirs[o->ndir++] = v;
      }
    } else if (strcmp(n, "snapshot") == 0) o->snapshot = v;
    else if (strcmp(n, "state-out") == 0) o->state_out = v;
    else if (strcmp(n, "invoke") == 0) o->invoke = v;
    else if (strcmp(n, "instance-file") == 0) o->instance_file = v;
    else if (strcmp(n, "sandbox-report") == 0) o->sandbox_report = 1;
    else if (strcmp(n, "batch") == 0) o->batch = 1;
    else if (strcmp(n, "emulated") == 0) o->emulated = 1;
    else if (strcmp(n, "seccomp-whitelist") == 0) o->whitelist = 1;
    else if (strcmp(n, "no-sandbox") == 0) o->no_sandbox = 1;
    else if (strcmp(n, "stack-size") == 0) {
      unsigned long long s = digits(v) ? strtoull(v, NULL, 10) : 0;
      if (!digits(v) || strlen(v) > 12 || s < 65536 || s > (1ull << 30))
        usage_error("--stack-size: a number of bytes from 65536 (64 KiB) to 1073741824 (1 GiB), not \"%s\"", cli_printable(v));
      o->stack_size = s;
    } else if (strcmp(n, "max-memory") == 0) {
      if (!digits(v)) usage_error("--max-memory: a number of bytes, not \"%s\"", cli_printable(v));
      /* more than 4 GiB is 4 GiB (and more digits than fit are more than 4 GiB) */
      unsigned long long b = strlen(v) > 15 ? 1ull << 32 : strtoull(v, NULL, 10);
      o->max_memory_pages = b / 65536 < 65536 ? b / 65536 : 65536;
    } else if (strcmp(n, "suspend-after") == 0) {
      unsigned long long ms = digits(v) && strlen(v) <= 15 ? strtoull(v, NULL, 10) : 0;
      if (!ms) usage_error("--suspend-after: a positive number of milliseconds");
      o->suspend_after = ms;
    } else if (strcmp(n, "suspend-at-check") == 0) {
      errno = 0;
      unsigned long long c = digits(v) && strlen(v) <= 20 ? strtoull(v, NULL, 10) : 0;
      if (errno) c = 0;
      if (!c) usage_error("--suspend-at-check: a positive number of checks, not \"%s\"", cli_printable(v));
      o->at_check = c;
    } else if (strcmp(n, "timeout") == 0) {
      double t = decimal_number(v) ? strtod(v, NULL) : NAN;
      if (!(t > 0) || !isfinite(t)) usage_error("--timeout: a positive number of seconds, not \"%s\"", cli_printable(v));
      if (t > MAX_TIMEOUT) usage_error("--timeout %s: at most %.0f seconds (a year)", cli_printable(v), MAX_TIMEOUT);
      /* as the CLI passed it on: at most 6 decimals, trailing zeros dropped, at least 1 µs */
      static char norm[64];
      if (t < 1e-6) strcpy(norm, "0.000001");
      else {
        snprintf(norm, sizeof norm, "%.6f", t);
        char *end = norm + strlen(norm);
        while (end[-1] == '0') *--end = 0;
        if (end[-1] == '.') *--end = 0;
      }
      o->timeout = norm;
    }
  }
  o->prog_args = argv + k;
  o->nprog = argc - k;
  if (!o->image && !o->whitelist) usage_error("expected one image");
}

/* The options as the aarch64 loader under qemu is given them (cli_exec_foreign): every value
 * already checked and resolved (--env K read here, --dir DIR made DIR::DIR). */
static char **rebuild(const struct options *o, const char *loader, int *n) {
  char **v = calloc(64 + 2 * (size_t)(o->nenv + o->ndir) + (size_t)o->nprog, sizeof *v);
  if (!v) abort();
  int c = 0;
  v[c++] = (char *)"qemu-aarch64";
  v[c++] = (char *)loader;
  v[c++] = (char *)"--emulated";
  static char stack[32], pages[32], after[32], at[32];
#define OPT(name, val) do { v[c++] = (char *)(name); v[c++] = (char *)(val); } while (0)
  if (o->snapshot) OPT("--snapshot", o->snapshot);
  if (o->state_out) OPT("--state-out", o->state_out);
  if (o->invoke) OPT("--invoke", o->invoke);
  if (o->instance_file) OPT("--instance-file", o->instance_file);
  if (o->timeout) OPT("--timeout", o->timeout);
  snprintf(stack, sizeof stack, "%llu", (unsigned long long)o->stack_size);
  OPT("--stack-size", stack);
  snprintf(pages, sizeof pages, "%llu", (unsigned long long)o->max_memory_pages * 65536);
  OPT("--max-memory", pages);
  if (o->suspend_after) { snprintf(after, sizeof after, "%llu", (unsigned long long)o->suspend_after); OPT("--suspend-after", after); }
  if (o->at_check) { snprintf(at, sizeof at, "%llu", (unsigned long long)o->at_check); OPT("--suspend-at-check", at); }
  for (int k = 0; k < o->nenv; k++) OPT("--env", o->envs[k]);
  for (int k = 0; k < o->ndir; k++) OPT("--dir", o->dirs[k]);
  if (o->sandbox_report) v[c++] = (char *)"--sandbox-report";
  if (o->batch) v[c++] = (char *)"--batch";
  v[c++] = (char *)"--";
  v[c++] = (char *)o->image;
  for (int k = 0; k < o->nprog; k++) v[c++] = o->prog_args[k];
  v[c] = NULL;
  *n = c;
#undef OPT
  return v;
}

/* The first executable `name` on $PATH (malloc'd), or NULL. */
static char *find_on_path(const char *name) {
  const char *path = getenv("PATH");
  if (!path) path = "/usr/local/bin:/usr/bin:/bin";
  while (*path) {
    const char *end = strchr(path, ':');
    size_t n = end ? (size_t)(end - path) : strlen(path);
    if (n) {
      char *p = malloc(n + strlen(name) + 2);
      if (!p) abort();
      memcpy(p, path, n);
      sprintf(p + n, "/%s", name);
      if (access(p, X_OK) == 0) return p;
      free(p);
    }
    path += n + (end ? 1 : 0);
  }
  return NULL;
}

/* An image for the other arch (arm64 on an x86-64 host): its loader, a static aarch64 binary
 * beside this one, runs under qemu user-mode emulation, started explicitly (binfmt_misc may not be
 * set up) and replacing this process, so that it is still the process the shell sees: a signal sent
 * to gate-run reaches qemu, which passes it to the guest. SIGQUIT stays blocked across the exec
 * (the mask is inherited), so a request made meanwhile is kept pending until the aarch64 loader's
 * handler takes it. Never returns: an error is one line and status 2. */
void cli_exec_foreign(const struct options *o, const char *arch) {
  char self[4096];
  ssize_t n = readlink("/proc/self/exe", self, sizeof self - 32);
  if (n <= 0) { cli_error("%s: %s image: cannot find this program's directory (/proc/self/exe: %s)", cli_printable(o->image), arch, strerror(errno)); exit(EXIT_BAD_IMAGE); }
  self[n] = 0;
  char *slash = strrchr(self, '/');
  strcpy(slash ? slash + 1 : self, "gate-run-aarch64");
  if (access(self, X_OK) != 0) {
    cli_error("%s: no %s loader built (%s); run npm run build (it is cross-compiled: install gcc-aarch64-linux-gnu and libc6-dev-arm64-cross, or run bash scripts/setup.sh)",
              cli_printable(o->image), arch, cli_printable(self));
    exit(EXIT_BAD_IMAGE);
  }
  char *qemu = find_on_path("qemu-aarch64");
  if (!qemu) {
    cli_error("%s: %s image on this %s host needs qemu-aarch64 on PATH (Debian package qemu-user)", cli_printable(o->image), arch, LOADER_ARCH_NAME);
    exit(EXIT_BAD_IMAGE);
  }
  int argc;
  char **argv = rebuild(o, self, &argc);
  /* the loader's environment: nothing of gate-run's but the sandbox report switch */
  static char report[256];
  char *envp[2] = { NULL, NULL };
  const char *r = getenv("GATE_SANDBOX_REPORT");
  if (r && strlen(r) < 200) { snprintf(report, sizeof report, "GATE_SANDBOX_REPORT=%s", r); envp[0] = report; }
  execve(qemu, argv, envp);
  cli_error("cannot start %s %s: %s", cli_printable(qemu), cli_printable(self), strerror(errno));
  exit(EXIT_BAD_IMAGE);
}
