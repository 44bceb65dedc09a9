/* gate-run's native loader: maps an image, instantiates it, and runs `_start` or answers the
 * batch protocol the conformance runner speaks (docs/image-format.md, "Loader"). */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "abi.h"
#include "gate.h"

static void usage(void) {
  fputs("usage: " LOADER_NAME " IMAGE [--stack-size BYTES] [--batch] [--state-out FILE] [--suspend-after MS]\n"
        "       [--suspend-at-check N] [--invoke EXPORT] [--env K=V]... [--dir HOST::GUEST]... [--instance-file PATH] [--timeout SECONDS]\n"
        "       [--max-memory BYTES]\n"
        "       [--emulated] [--sandbox-report] [--seccomp-whitelist] [-- ARGS...]\n"
#ifdef GATE_TEST_HOOKS
        "       [--no-sandbox]   (test build only: no fd closing, namespaces or seccomp, for valgrind)\n"
#endif
        , stderr);
  exit(EXIT_BAD_IMAGE);
}

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

int main(int argc, char **argv) {
  const char *path = NULL, *state_path = NULL, *invoke = NULL, *instance_path = NULL, *timeout = NULL;
  int batch_mode = 0, emulated = 0, sandbox_report = 0, print_whitelist = 0, no_sandbox = 0;
  uint64_t stack_size = 8ull << 20, suspend_after = 0, at_check = 0;
  int dash = argc;
  suspend_early();
  take_environment();
  /* a reader that went away is the program's business (fd_write returns EPIPE, as under node:wasi),
   * not a signal that kills the loader; set here since an ignored SIGPIPE is inherited */
  signal(SIGPIPE, SIG_IGN);
  for (int k = 1; k < argc; k++) {
    if (strcmp(argv[k], "--") == 0) { dash = k; break; }
    if (strcmp(argv[k], "--batch") == 0) batch_mode = 1;
    else if (strcmp(argv[k], "--emulated") == 0) emulated = 1;
    else if (strcmp(argv[k], "--sandbox-report") == 0) sandbox_report = 1;
    else if (strcmp(argv[k], "--seccomp-whitelist") == 0) print_whitelist = 1;
#ifdef GATE_TEST_HOOKS
    /* test builds only (gate-run-x86_64-test): valgrind cannot run under the seccomp filter, and
     * needs the fds the sandbox closes; bench/README.md, "Instruction counts" */
    else if (strcmp(argv[k], "--no-sandbox") == 0) no_sandbox = 1;
#endif
    else if (strcmp(argv[k], "--state-out") == 0 && k + 1 < argc) state_path = argv[++k];
    else if (strcmp(argv[k], "--suspend-after") == 0 && k + 1 < argc) {
      char *end;
      suspend_after = strtoull(argv[++k], &end, 10);
      if (*end || !suspend_after) usage();
    } else if (strcmp(argv[k], "--suspend-at-check") == 0 && k + 1 < argc) {
      /* tests only (docs/image-format.md, "Loader"); gate-run does not pass it on */
      char *end;
      at_check = strtoull(argv[++k], &end, 10);
      if (*end || !at_check) usage();
    } else if (strcmp(argv[k], "--invoke") == 0 && k + 1 < argc) invoke = argv[++k];
    else if (strcmp(argv[k], "--instance-file") == 0 && k + 1 < argc) instance_path = argv[++k];
    else if (strcmp(argv[k], "--timeout") == 0 && k + 1 < argc) timeout = argv[++k];
    else if (strcmp(argv[k], "--stack-size") == 0 && k + 1 < argc) stack_size = strtoull(argv[++k], NULL, 0);
    else if (strcmp(argv[k], "--max-memory") == 0 && k + 1 < argc) {
      char *end;
      const char *v = argv[++k];
      unsigned long long bytes = strtoull(v, &end, 0);
      if (*end || !*v || v[0] == '-') {
        fprintf(stderr, "gate-run: --max-memory %s: a number of bytes\n", v);
        return EXIT_BAD_IMAGE;
      }
      instance_max_pages = bytes / 65536 < 65536 ? bytes / 65536 : 65536;
    }
    else if (strcmp(argv[k], "--env") == 0 && k + 1 < argc) {
      if (!strchr(argv[k + 1], '=')) usage();
      hostcall_add_env(argv[++k]); /* the program's whole environment: the host's never leaks */
    } else if (strcmp(argv[k], "--dir") == 0 && k + 1 < argc) {
      if (files_add_dir(argv[++k]) < 0) return EXIT_BAD_IMAGE;
    }
    else if (argv[k][0] == '-' || path) usage();
    else path = argv[k];
  }
  /* the whitelist of a run with these options (--dir adds the file system calls) */
  if (print_whitelist) { sandbox_print_whitelist(); return 0; }
  if (!path) usage();
  if (timeout && timeout_arm(timeout) < 0) return EXIT_BAD_IMAGE;
  /* the program's argv: the image, then the arguments after -- */
  hostcall_add_arg(path);
  for (int k = dash + 1; k < argc; k++) hostcall_add_arg(argv[k]);
  if (hostcall_init() < 0) return EXIT_BAD_IMAGE;
  if (stack_size < 65536 || stack_size > (1ull << 30)) usage();
  stack_size = (stack_size + 65535) & ~65535ull;
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
  if (suspend_install(state_path, suspend_after, at_check) < 0) return EXIT_BAD_IMAGE;
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
    for (int k = dash + 1; k < argc && n < e->param_count && words + 2 <= MAX_ARG_WORDS; k++) {
      const uint8_t t = img.strings[e->types_off + n];
      char *end = "";
      if (t == 0x7b) {
        if (parse_v128(argv[k], args + words) < 0) end = "bad";
        words++;
      } else if (t == 0x7d || t == 0x7c) {
        double d = strtod(argv[k], &end);
        if (t == 0x7d) { float f = (float)d; uint32_t w; memcpy(&w, &f, 4); args[words] = w; }
        else memcpy(&args[words], &d, 8);
      } else args[words] = (uint64_t)strtoll(argv[k], &end, 0);
      if (*end) { fprintf(stderr, "gate-run: bad argument %s\n", argv[k]); return EXIT_BAD_IMAGE; }
      words++;
      n++;
    }
    if (n != e->param_count || (dash < argc ? argc - dash - 1 : 0) != (int)n) {
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
