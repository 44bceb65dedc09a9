/* gate-run's native loader: maps an image, instantiates it, and runs `_start` or answers the
 * batch protocol the conformance runner speaks (docs/image-format.md, "Loader"). */
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "abi.h"
#include "gate.h"

/* Runs the start functions (after the instantiation trap check); 0 on success, trap id otherwise. */
static int instantiate(void) {
  if (img.instantiation_trap) {
    char line[128];
    int n = snprintf(line, sizeof line, "trap: %s (during instantiation)\n", trap_messages[img.instantiation_trap]);
    (void)!write(2, line, n);
    return (int)img.instantiation_trap;
  }
  for (uint32_t k = 0; k < img.nstarts; k++) {
    int id = sigsetjmp(trap_jump, 1);
    if (id) { suspend_start_phase(0); return id; }
    trap_jump_armed = 1;
    suspend_start_phase(1);
    instance_call(img.starts[k], NULL, 0);
    suspend_start_phase(0);
    trap_jump_armed = 0;
  }
  return 0;
}

/* Store images: instance k's segments, then its start function; 0, a trap id, or -1 (an imported
 * memory or table is smaller than the importer requires). */
static int instantiate_one(uint32_t k) {
  int r = store_instantiate(k);
  if (r) return r;
  uint32_t start = store_start(k);
  if (start == 0xffffffffu) return 0;
  int id = sigsetjmp(trap_jump, 1);
  if (id) { trap_jump_armed = 0; suspend_start_phase(0); return id; }
  trap_jump_armed = 1;
  suspend_start_phase(1);
  instance_call(start, NULL, 0);
  suspend_start_phase(0);
  trap_jump_armed = 0;
  return 0;
}

static int hexval(int c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/* Decodes hex in place; returns the length or -1. */
static long unhex(char *s) {
  size_t n = strlen(s);
  if (n % 2) return -1;
  for (size_t k = 0; k < n / 2; k++) {
    int a = hexval(s[2 * k]), b = hexval(s[2 * k + 1]);
    if (a < 0 || b < 0) return -1;
    s[k] = (char)(a * 16 + b);
  }
  return (long)(n / 2);
}

/* Result k of an export that just returned, its bits in lo (and a v128's bytes 8-15 in hi): one
 * result comes back in rax/xmm0 (the entry stub stored them in the vmctx), several in memory,
 * result k in the slots argument k was pushed to, below the stack top, result 0 highest; each
 * takes 8 bytes, a v128 16 (docs/ARCHITECTURE.md, "Several results"). */
static void result_bits(const export_entry *e, uint32_t k, uint64_t *lo, uint64_t *hi) {
  const uint8_t *types = img.strings + e->types_off + e->param_count;
  uint8_t type = types[k];
  *hi = 0;
  if (e->result_count > 1) {
    uint64_t below = 0;
    for (uint32_t j = 0; j <= k; j++) below += types[j] == 0x7b ? 16 : 8;
    const uint8_t *at = inst.stack_base + inst.stack_size - below;
    memcpy(lo, at, 8);
    if (type == 0x7b) memcpy(hi, at + 8, 8);
  } else if (type == 0x7b) {
    memcpy(lo, inst.vmctx + VMCTX_RESULT_VECTOR, 8);
    memcpy(hi, inst.vmctx + VMCTX_RESULT_VECTOR + 8, 8);
  } else {
    /* references (0x70, 0x6f) are words in the integer register */
    *lo = *(uint64_t *)(inst.vmctx + (type == 0x7d || type == 0x7c ? VMCTX_RESULT_FLOAT : VMCTX_RESULT_INT));
  }
  if (type == 0x7f || type == 0x7d) *lo &= 0xffffffffu;
}

/* Parses a v128 argument: 32 hex digits (optionally 0x), bytes 15..0 as one number; pushes it as
 * two words, bytes 8-15 first (the higher slot: docs/ARCHITECTURE.md, "Frames"). 0 on success. */
static int parse_v128(const char *s, uint64_t *words) {
  if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) s += 2;
  if (strlen(s) != 32) return -1;
  uint64_t v[2] = { 0, 0 };
  for (int k = 0; k < 32; k++) {
    int h = hexval(s[k]);
    if (h < 0) return -1;
    v[k / 16] = v[k / 16] << 4 | (uint64_t)h;
  }
  words[0] = v[0];
  words[1] = v[1];
  return 0;
}

#define MAX_ARG_WORDS 2048

static void batch(void) {
  static char line[1 << 20];
  static uint64_t args[MAX_ARG_WORDS];
  static int64_t current = -1; /* store images: the instance invoke and get address */
  while (fgets(line, sizeof line, stdin)) {
    line[strcspn(line, "\r\n")] = 0;
    char *save = NULL;
    char *cmd = strtok_r(line, " ", &save);
    if (!cmd) continue;
    if (strcmp(cmd, "instantiate") == 0 || strcmp(cmd, "use") == 0) {
      char *arg = strtok_r(NULL, " ", &save);
      char *end = NULL;
      unsigned long k = arg ? strtoul(arg, &end, 10) : 0;
      if (!arg || *end || k >= store_instance_count()) { printf("error no instance\n"); fflush(stdout); continue; }
      current = (int64_t)k;
      if (cmd[0] == 'u') { printf("ok\n"); fflush(stdout); continue; }
      int r = instantiate_one((uint32_t)k);
      if (r < 0) printf("error unlinkable: imported memory or table too small\n");
      else if (r) printf("trap %d %s\n", r, trap_messages[r]);
      else printf("ok\n");
      fflush(stdout);
      continue;
    }
    char *name = strtok_r(NULL, " ", &save);
    if (!name) name = (char *)"";
    if (strcmp(name, "-") == 0) name[0] = 0; /* the empty name */
    long len = unhex(name);
    if (len < 0) { printf("error bad name\n"); fflush(stdout); continue; }
    const export_entry *e = !img.store ? image_export(name, (size_t)len)
                            : current >= 0 ? store_export((uint32_t)current, name, (size_t)len) : NULL;
    if (!e) { printf("error no export\n"); fflush(stdout); continue; }
    if (strcmp(cmd, "get") == 0) {
      if (e->kind != 1) { printf("error not a global\n"); fflush(stdout); continue; }
      uint64_t v = *(uint64_t *)(inst.vmctx + VMCTX_GLOBALS + 8ull * e->index);
      uint8_t t = img.global_types[e->index];
      if (t == 0x7f || t == 0x7d) v &= 0xffffffffu;
      /* a v128 global takes two slots, bytes 0-7 first */
      if (t == 0x7b) printf("ok %016llx", (unsigned long long)*(uint64_t *)(inst.vmctx + VMCTX_GLOBALS + 8ull * (e->index + 1)));
      else printf("ok ");
      printf("%016llx\n", (unsigned long long)v);
      fflush(stdout);
      continue;
    }
    if (strcmp(cmd, "invoke") != 0 || e->kind != 0) { printf("error bad command\n"); fflush(stdout); continue; }
    uint32_t n = 0, words = 0;
    char *a;
    int bad = 0;
    while ((a = strtok_r(NULL, " ", &save)) && n < e->param_count && words + 2 <= MAX_ARG_WORDS) {
      if (img.strings[e->types_off + n] == 0x7b) {
        if (parse_v128(a, args + words) < 0) bad = 1;
        words += 2;
      } else args[words++] = strtoull(a, NULL, 16);
      n++;
    }
    if (bad) { printf("error bad v128 argument\n"); fflush(stdout); continue; }
    if (n != e->param_count || a) { printf("error expected %u arguments\n", e->param_count); fflush(stdout); continue; }
    int id = sigsetjmp(trap_jump, 1);
    if (id) {
      trap_jump_armed = 0;
      printf("trap %d %s\n", id, trap_messages[id]);
      fflush(stdout);
      continue;
    }
    trap_jump_armed = 1;
    instance_call(e->index, args, words);
    trap_jump_armed = 0;
    fputs("ok", stdout);
    for (uint32_t k = 0; k < e->result_count; k++) {
      uint64_t lo, hi;
      result_bits(e, k, &lo, &hi);
      if (img.strings[e->types_off + e->param_count + k] == 0x7b) printf(" %016llx%016llx", (unsigned long long)hi, (unsigned long long)lo);
      else printf(" %016llx", (unsigned long long)lo);
    }
    putchar('\n');
    fflush(stdout);
  }
}

/* --invoke: the export's results as text, one a line (i32/i64 signed decimal, floats %.17g). */
static void print_result(const export_entry *e) {
  for (uint32_t k = 0; k < e->result_count; k++) {
    uint8_t t = img.strings[e->types_off + e->param_count + k];
    uint64_t v, hi;
    result_bits(e, k, &v, &hi);
    if (t == 0x7b) printf("0x%016llx%016llx\n", (unsigned long long)hi, (unsigned long long)v);
    else if (t == 0x7f) printf("%d\n", (int32_t)v);
    else if (t == 0x7e) printf("%lld\n", (long long)v);
    else if (t == 0x7d) { float f; uint32_t w = (uint32_t)v; memcpy(&f, &w, 4); printf("%.9g\n", f); }
    else { double d; memcpy(&d, &v, 8); printf("%.17g\n", d); }
  }
  fflush(stdout);
}

/* Runs `func` (or the resumed stack when func is -1) to its end; the state file says how it
 * ended. Returns the exit status. */
static int run_to_end(int64_t func, const uint64_t *args, uint32_t nargs, const export_entry *print) {
  int id = sigsetjmp(trap_jump, 1);
  if (id) {
    trap_jump_armed = 0;
    suspend_report_checks();
    state_write(STATE_TRAPPED, (uint32_t)id, 0, NULL, NULL);
    return EXIT_TRAP;
  }
  trap_jump_armed = 1;
  suspend_arm_checks();
  if (func < 0) {
    if (resume_run() < 0) return EXIT_BAD_IMAGE;
  } else instance_call((uint32_t)func, args, nargs);
  trap_jump_armed = 0;
  suspend_report_checks();
  if (print) print_result(print);
  state_write(STATE_HALTED, 0, 0, NULL, NULL);
  return 0;
}

/* The host environment's variables the loader itself reads, copied before environ is wiped. */
static struct { const char *name; char *value; } loader_env[] = {
  { "GATE_SANDBOX_REPORT", NULL },
  { "GATE_RUN_TEST_HIDE_CPU_FEATURES", NULL },
  { "GATE_RUN_TEST_SANDBOX_TRY", NULL },
  { "GATE_RUN_TEST_MAPS", NULL },
};

const char *gate_getenv(const char *name) {
  for (size_t k = 0; k < sizeof loader_env / sizeof loader_env[0]; k++) {
    if (strcmp(loader_env[k].name, name) == 0) return loader_env[k].value;
  }
  return NULL;
}

/* No host secret stays in the loader's memory (docs/sandbox.md): the variables it reads are
 * copied, then every byte of the environment strings the kernel put on the stack is zeroed and
 * environ emptied, before anything of the image is read. The program's environment is only the
 * --env pairs anyway (docs/ARCHITECTURE.md, "Host calls"). */
static void take_environment(void) {
  extern char **environ;
  for (size_t k = 0; k < sizeof loader_env / sizeof loader_env[0]; k++) {
    const char *v = getenv(loader_env[k].name);
    if (v && !(loader_env[k].value = strdup(v))) abort();
  }
  if (!environ) return;
  for (char **e = environ; *e; e++) explicit_bzero(*e, strlen(*e));
  environ[0] = NULL;
}

/* gate-run's options (cli.c) */
static struct options opt;
/* A snapshot goes to the helper's target when the program stops: always when suspended (to
 * --snapshot or ./IMAGE-NAME.snapshot.wasm), however it stops with --snapshot. Not with --batch,
 * nor for a tool that asked for the state dump alone (--state-out without --snapshot). */
static int snapshots;

/* The header's arch tag (docs/image-format.md, "Header"), or 0 when it cannot be read (image_load
 * then says why). */
static uint32_t header_arch(const char *path) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  uint8_t h[16];
  ssize_t n = pread(fd, h, sizeof h, 0);
  close(fd);
  if (n != (ssize_t)sizeof h || memcmp(h, "WAGCIMG", 8) != 0) return 0;
  uint32_t a;
  memcpy(&a, h + 12, 4);
  return a;
}

/* Once set up, the pages of the image file and of the loader's own code that were read to get
 * here (and their neighbours, which the kernel maps 64 KiB at a time) are let go: they are clean
 * file pages, read again from the page cache if a trap, a suspension or a host call needs them,
 * so an idle instance keeps resident only what it uses (issue 14, bench:startup's footprint). */
extern const char __executable_start[], etext[];
static void drop_setup_pages(void) {
  uintptr_t a = (uintptr_t)__executable_start & ~(uintptr_t)4095, b = ((uintptr_t)etext + 4095) & ~(uintptr_t)4095;
  madvise((void *)a, b - a, MADV_DONTNEED);
  madvise((void *)img.file, img.file_size, MADV_DONTNEED);
}

int main(int argc, char **argv) {
  suspend_early();
  /* the command line first: --env K reads gate-run's own environment */
  cli_parse(argc, argv, &opt);
  /* `gate-run` runs an image of the other arch through that arch's loader under qemu (the process
   * replaced: it stays the one the shell started), found on the host's PATH, so before the
   * environment is wiped; `gate-run-x86_64` and `gate-run-aarch64`, one loader per arch, refuse
   * it below */
  const char *me = strrchr(argv[0], '/');
  me = me ? me + 1 : argv[0];
  if (LOADER_ARCH == IMAGE_ARCH_X86_64 && opt.image && strcmp(me, LOADER_NAME) != 0 && header_arch(opt.image) == IMAGE_ARCH_ARM64)
    cli_exec_foreign(&opt, "arm64");
  take_environment();
  /* a reader that went away is the program's business (fd_write returns EPIPE, as under node:wasi),
   * not a signal that kills the loader; set here since an ignored SIGPIPE is inherited */
  signal(SIGPIPE, SIG_IGN);
  for (int k = 0; k < opt.ndir; k++) if (files_add_dir(opt.dirs[k]) < 0) return EXIT_BAD_IMAGE;
  /* the whitelist of a run with these options (--dir adds the file system calls) */
  if (opt.whitelist) { sandbox_print_whitelist(); return 0; }
  for (int k = 0; k < opt.nenv; k++) hostcall_add_env(opt.envs[k]); /* the program's whole environment */
  const char *path = opt.image;
  snapshots = !opt.batch && (opt.snapshot || !opt.state_out);
  if (snapshots && output_check(opt.snapshot ? opt.snapshot : path, path, opt.snapshot != NULL) < 0) return EXIT_BAD_IMAGE;
  /* before the image is read: the helper is a small copy of this process */
  if (snapshots && output_start() < 0) return EXIT_BAD_IMAGE;
  if (opt.timeout && timeout_arm(opt.timeout) < 0) return EXIT_BAD_IMAGE;
  /* the program's argv: the image, then its arguments */
  hostcall_add_arg(path);
  for (int k = 0; k < opt.nprog; k++) hostcall_add_arg(opt.prog_args[k]);
  if (hostcall_init() < 0) return EXIT_BAD_IMAGE;
  uint64_t stack_size = (opt.stack_size + 65535) & ~65535ull;
  instance_max_pages = opt.max_memory_pages;
  const char *instance_path = opt.instance_file;
  int batch_mode = opt.batch, emulated = opt.emulated, sandbox_report = opt.sandbox_report, no_sandbox = opt.no_sandbox;
  const char *invoke = opt.invoke;
  if (image_load(path) < 0) return EXIT_BAD_IMAGE;
  if (img.arch != LOADER_ARCH) {
    const char *other = img.arch == IMAGE_ARCH_X86_64 ? "x86-64" : img.arch == IMAGE_ARCH_ARM64 ? "arm64" : NULL;
    if (other) fprintf(stderr, "gate-run: this loader runs %s images; the image is for %s\n", LOADER_ARCH_NAME, other);
    else fprintf(stderr, "gate-run: this loader runs %s images; the image has an unknown arch tag %u\n", LOADER_ARCH_NAME, img.arch);
    return EXIT_BAD_IMAGE;
  }
  if (arch_check_cpu_features(img.cpu_features) < 0) return EXIT_BAD_IMAGE;
  if (instance_path) {
    if (img.store) {
      fprintf(stderr, "gate-run: --instance-file: unsupported for an image of several modules (a store)\n");
      return EXIT_BAD_IMAGE;
    }
    instance_file_set(instance_path, want_report(sandbox_report));
  }
  if (instance_create(stack_size) < 0) return EXIT_BAD_IMAGE;
  trap_install();
  if (suspend_install(opt.state_out, opt.suspend_after, opt.at_check) < 0) return EXIT_BAD_IMAGE;
  drop_setup_pages();
  /* from here on only the seccomp whitelist's system calls (docs/sandbox.md) */
  if (!no_sandbox && sandbox_enter(emulated, sandbox_report) < 0) return EXIT_BAD_IMAGE;
  if (img.store && batch_mode) {
    /* instances are instantiated on request ("instantiate K") */
    printf("ready\n");
    fflush(stdout);
    batch();
    return 0;
  }
  if (img.store) {
    for (uint32_t k = 0; k < store_instance_count(); k++) {
      int r = instantiate_one(k);
      if (r < 0) { fprintf(stderr, "gate-run: instance %u: imported memory or table too small\n", k); return EXIT_BAD_IMAGE; }
      if (r) { fprintf(stderr, "trap: %s (during instantiation)\n", trap_messages[r]); return EXIT_TRAP; }
    }
    return 0;
  }
  int trapped = instantiate();
  if (batch_mode) {
    if (trapped) printf("trap %d %s\n", trapped, trap_messages[trapped]);
    else printf("ready\n");
    fflush(stdout);
    if (!trapped) batch();
    return 0;
  }
  if (trapped) {
    state_write(STATE_TRAPPED, (uint32_t)trapped, 0, NULL, NULL);
    return EXIT_TRAP;
  }
  if (invoke) {
    /* a halted instance's export (e.g. one pre-initialised by a snapshot) */
    const export_entry *e = image_export(invoke, strlen(invoke));
    if (!e || e->kind != 0) {
      fprintf(stderr, "gate-run: no exported function %s\n", invoke);
      return EXIT_BAD_IMAGE;
    }
    static uint64_t args[MAX_ARG_WORDS];
    uint32_t n = 0, words = 0;
    for (int k = 0; k < opt.nprog && n < e->param_count && words + 2 <= MAX_ARG_WORDS; k++) {
      const char *a = opt.prog_args[k];
      const uint8_t t = img.strings[e->types_off + n];
      char *end = (char *)"";
      if (t == 0x7b) {
        if (parse_v128(a, args + words) < 0) end = (char *)"bad";
        words++;
      } else if (t == 0x7d || t == 0x7c) {
        double d = strtod(a, &end);
        if (t == 0x7d) { float f = (float)d; uint32_t w; memcpy(&w, &f, 4); args[words] = w; }
        else memcpy(&args[words], &d, 8);
      } else args[words] = (uint64_t)strtoll(a, &end, 0);
      if (*end || !*a) { cli_error("--invoke %s: bad argument %s", cli_printable(invoke), cli_printable(a)); return EXIT_BAD_IMAGE; }
      words++;
      n++;
    }
    if (n != e->param_count || opt.nprog != (int)n) {
      fprintf(stderr, "gate-run: %s takes %u arguments\n", invoke, e->param_count);
      return EXIT_BAD_IMAGE;
    }
    return run_to_end(e->index, args, words, e);
  }
  if (img.resume == 1) {
    /* a call suspended under --invoke prints its result when it ends here, as it would have
     * there (the export of the outermost frame's function; _start has none) */
    const export_entry *print = NULL;
    uint32_t outer = resume_outermost_func();
    for (uint32_t k = 0; k < img.nexports && !print; k++) {
      const export_entry *e = &img.exports[k];
      if (e->kind == 0 && e->index == outer && e->result_count) print = e;
    }
    return run_to_end(-1, NULL, 0, print);
  }
  if (img.resume == 2) {
    /* a halted snapshot: its entry already returned; exports run with --invoke */
    state_write(STATE_HALTED, 0, 0, NULL, NULL);
    return 0;
  }
  const export_entry *start = image_export("_start", 6);
  if (start && start->kind == 0) return run_to_end(start->index, NULL, 0, NULL);
  state_write(STATE_HALTED, 0, 0, NULL, NULL);
  return 0;
}
