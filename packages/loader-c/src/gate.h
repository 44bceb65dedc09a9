/* gate-run: the loader's shared declarations. */
#ifndef GATE_H
#define GATE_H

#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>

/* exit statuses (README) */
#define EXIT_TRAP 134
#define EXIT_BAD_IMAGE 2
#define EXIT_SUSPENDED 3
/* --timeout ran out (as timeout(1)) */
#define EXIT_TIMEOUT 124

/* the state file's states (docs/image-format.md, "State dump") */
#define STATE_HALTED 0
#define STATE_SUSPENDED 1
#define STATE_TRAPPED 2
#define STATE_EXITED 3

/* the most results an export may have (the compiler's limit of a type, LIMITS.results): several
 * come back in the top of the wasm stack, which is far larger than 8 bytes a result */
#define MAX_RESULTS 1000

/* image header arch tags (ARCH_TAG in packages/linker/src/image/format.ts) and this build's own:
 * a loader runs only images of the arch it was compiled for */
#define IMAGE_ARCH_X86_64 1
#define IMAGE_ARCH_ARM64 2
#if defined(__x86_64__)
#define LOADER_ARCH IMAGE_ARCH_X86_64
#define LOADER_ARCH_NAME "x86-64"
#define LOADER_NAME "gate-run-x86_64"
#elif defined(__aarch64__)
#define LOADER_ARCH IMAGE_ARCH_ARM64
#define LOADER_ARCH_NAME "arm64"
#define LOADER_NAME "gate-run-aarch64"
#else
#error "gate-run: no loader for this CPU (x86-64 and aarch64 only)"
#endif

typedef struct {
  uint32_t code_start, code_end, frame_size, param_count, wasm_offset, name_off, name_len;
} func_entry;

typedef struct {
  uint32_t code_offset, func, site, fp_offset, wasm_offset, slot_count, types_off;
} site_entry;

typedef struct {
  uint32_t kind, index, name_off, name_len, param_count, result_count, types_off;
} export_entry;

typedef struct {
  const uint8_t *file; /* the whole image, mapped read-only */
  size_t file_size;
  int fd; /* memfd holding the image */
  int src_fd; /* the image file itself, until instance_create (--instance-file clones from it) */
  uint32_t arch;
  uint64_t text_off, text_size;
  /* section 13: read-only data mapped after the text at text offset rodata_at (no section: 0) */
  uint64_t rodata_off, rodata_size, rodata_at;
  const func_entry *funcs;
  uint32_t nfuncs;
  const site_entry *sites;
  uint32_t nsites;
  const uint8_t *strings;
  uint64_t strings_size;
  const uint64_t *globals;
  uint32_t nglobals;
  const uint8_t *global_types;
  const uint8_t *modules; /* section 10, or NULL */
  uint64_t modules_size;
  const uint32_t *starts;
  uint32_t nstarts;
  const export_entry *exports;
  uint32_t nexports;
  uint32_t entry_stub, instantiation_trap;
  uint32_t has_memory, memory_initial, memory_max;
  uint32_t has_table, table_initial, table_max;
  uint32_t cpu_features; /* CPU_FEATURE_* bits (abi.h) */
  const uint8_t *memory_index;
  uint32_t npages;
  const uint8_t *store; /* section 9, or NULL */
  uint64_t store_size;
  int resume; /* section 11: 1 a stack to resume, 2 a halted instance, 0 none */
  const uint8_t *snapshot_template; /* section 14, or NULL */
  uint64_t snapshot_template_size;
} image;

/* Below the program's stack (--stack-size bytes, all of them its own): room for what the stubs
 * push under a frame that passed its check (at most 16 bytes), and never part of the budget
 * (docs/ARCHITECTURE.md, "The stack limit"). 64 KiB keeps the stack 64 KiB-aligned. */
#define STACK_HEADROOM 65536ull

typedef struct {
  uint8_t *vmctx;
  uint8_t *text;
  uint8_t *memory;
  uint8_t *stack_base; /* the stack limit: the lowest address of the program's stack */
  uint64_t stack_size; /* --stack-size, the program's own bytes; STACK_HEADROOM lies below */
  uint64_t reservation;
} instance;

extern image img;
extern instance inst;
extern sigjmp_buf trap_jump;
extern volatile int trap_jump_armed;

/* cli.c: gate-run's command line (the loader is the gate-run command) */
struct options {
  const char *image, *snapshot, *state_out, *invoke, *instance_file, *timeout;
  const char **envs, **dirs;
  int nenv, ndir;
  char **prog_args;
  int nprog;
  uint64_t stack_size, max_memory_pages, suspend_after, at_check;
  int sandbox_report, batch, emulated, whitelist, no_sandbox;
};
void cli_parse(int argc, char **argv, struct options *o);
_Noreturn void cli_exec_foreign(const struct options *o, const char *arch);
void cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
const char *cli_printable(const char *s);

/* output.c: where the snapshot goes (a regular file atomically, or through a device or FIFO) */
int output_check(const char *path, const char *image, int explicit_path);
int output_start(void);
int output_fd(void);
int output_commit(int suspended);
void output_abandon(void);
const char *output_path(void);
int output_wanted(uint32_t state);

/* snapshot.c: the snapshot .wasm, written by the loader from the image's template (section 14) */
const char *snapshot_error(void);
int snapshot_write(int fd, uint32_t state, uint32_t trap_id, uint32_t status, const site_entry *site, const uint64_t *fp);

/* main.c: the few host variables the loader reads (copied before the environment is wiped) */
const char *gate_getenv(const char *name);

/* image.c */
int image_load(const char *path);
const char *image_string(uint32_t off, uint32_t len);
const func_entry *image_func_at(uint64_t text_offset);
const site_entry *image_site_at(uint64_t text_offset);
const export_entry *image_export(const char *name, size_t len);

/* instance.c */
/* --max-memory BYTES, in 64 KiB pages (65536 without it) */
extern uint64_t instance_max_pages;
int instance_create(uint64_t stack_size);
uint64_t instance_call(uint32_t func, const uint64_t *args, uint64_t nargs);
uint32_t rt_grow(uint32_t delta, uint8_t *vmctx, uint64_t desc);
/* the stack limit the entry and loop checks compare with when no suspension is requested */
uint64_t instance_stack_limit(void);

/* instance_file.c: --instance-file */
void instance_file_set(const char *path, int report);
int instance_file_wanted(void);
int instance_file_create(uint64_t size, uint64_t mem_off);

/* timeout.c: --timeout */
int timeout_arm(const char *seconds);

/* trap.c */
void trap_install(void);
_Noreturn void trap_raise(uint64_t id, const uint64_t *fp, uint64_t pc, int skip_first);
void rt_trap(uint64_t id, uint64_t *sp, uint8_t *vmctx, uint64_t *fp);
void rt_check(uint64_t *sp, uint8_t *vmctx, uint64_t *fp);
extern const char *const trap_messages[];

/* store.c: several instances (docs/image-format.md, section 9) */
int store_load(void);
int store_create(void);
int store_instantiate(uint32_t k);
uint32_t store_start(uint32_t k);
uint32_t store_vmctx_size(void);
uint32_t store_instance_count(void);
int store_in_memory(uint64_t addr);
const export_entry *store_export(uint32_t k, const char *name, size_t len);

/* tables.c: tables and element segments (docs/image-format.md, section 12) */
int tables_load(const uint8_t *p, uint64_t size);
uint64_t tables_vmctx_end(void);
uint64_t tables_entry_bytes(void);
void tables_create(uint8_t *area);
uint32_t tables_count(void);
int tables_check_words(const uint8_t *function_table, uint32_t nfuncs);
uint32_t tables_desc(uint32_t k);
uint32_t tables_segment_count(void);
int tables_segment_dropped(uint32_t k);
void tables_set_segment_dropped(uint32_t k, int d);
uint64_t rt_table(uint64_t op, uint64_t *args, uint64_t a, uint64_t b, uint8_t *vmctx);

/* suspend.c */
void suspend_early(void);
int suspend_install(const char *state_path, uint64_t after_ms, uint64_t at_check);
/* --suspend-at-check: from here on every check is counted (run_to_end, before the entry call). */
void suspend_arm_checks(void);
/* From rt_check with --suspend-at-check: 1 when the check passes (counted; suspends at the Nth),
 * 0 for a real stack overflow. */
int suspend_counted_check(uint64_t *sp, uint64_t *fp);
/* With --suspend-at-check, when the run ends without suspending: "checks N" on stderr. */
void suspend_report_checks(void);
/* The linked function of a resumed stack's outermost frame, or 0xffffffff. */
uint32_t resume_outermost_func(void);
int suspend_requested(void);
void state_write(uint32_t state, uint32_t trap_id, uint32_t status, const site_entry *site, const uint64_t *fp);
_Noreturn void suspend_now(uint64_t *sp, uint64_t *fp);
/* rt_check with a suspend request: suspends, or (files open) defers it and returns */
void suspend_at_check(uint64_t *sp, uint64_t *fp);
/* files.c: the program has no file open any more; a deferred request suspends at the next check */
void suspend_files_closed(void);
/* main.c: a start function runs (1) or has returned (0); a request is deferred while it runs */
void suspend_start_phase(int on);
int resume_load(const uint8_t *sec, uint64_t size);
int resume_run(void);
void stack_trace(uint64_t pc, const uint64_t *fp);
void stack_trace_site(const site_entry *s, const uint64_t *fp);
/* The frames above fp (callers whose return addresses are sites), as stack traces walk them. */
uint64_t stack_callers(const uint64_t *fp);

/* sandbox.c (docs/sandbox.md) */
int sandbox_enter(int emulated, int report);
/* --sandbox-report or GATE_SANDBOX_REPORT=1 */
int want_report(int flag);
void sandbox_print_whitelist(void);
/* Keeps fd (> 2) open through sandbox_enter, which closes every other fd above 2. */
void sandbox_keep_fd(int fd);
unsigned store_reservations(uint64_t *bases, unsigned max);
int suspend_state_fd(void);

/* hostcall.c */
uint64_t rt_hostcall(uint64_t id, uint64_t *args, uint8_t *vmctx);
void hostcall_add_arg(const char *s);
void hostcall_add_env(const char *kv);
/* before the sandbox (and after the arguments): reads the status of fds 0-2, opens the --dir
 * directories; -1 (message printed) when one cannot be opened */
int hostcall_init(void);

/* files.c: guest fds, --dir preopens and the file host calls */
#define FILES_MAX_FDS 64
/* host fds the sandbox leaves room for with --dir: the program's files and two path walks */
#define FILES_FD_BUDGET 256
/* WASI filetypes, and the packed HOSTCALL_FD_STAT answer: bits 0-7 filetype, 8-15 fdflags, then */
#define FILETYPE_UNKNOWN 0
#define FILETYPE_BLOCK_DEVICE 1
#define FILETYPE_CHARACTER_DEVICE 2
#define FILETYPE_DIRECTORY 3
#define FILETYPE_REGULAR_FILE 4
#define FILETYPE_SOCKET_STREAM 6
#define FILETYPE_SYMBOLIC_LINK 7
#define FD_STAT_READABLE (1ull << 16)
#define FD_STAT_WRITABLE (1ull << 17)
#define FD_STAT_TTY (1ull << 18)
#define FD_STAT_OPEN (1ull << 19)
#define FD_STAT_FILE (1ull << 20) /* a preopen or what path_open opened: seekable, file rights */
int files_add_dir(const char *spec);
int files_init(void);
int files_preopen_count(void);
int files_preopen_fd(int k);
int files_host_fd(uint32_t g);
uint64_t files_info(uint32_t g);
int files_open_count(void);
int files_first_open(void);
int64_t files_close(uint32_t g);
int64_t files_prestat(uint32_t g);
int64_t files_prestat_name(uint32_t g, uint8_t *p, uint32_t len);
int64_t files_path_open(uint32_t dir, uint32_t lookup, const uint8_t *path, uint32_t len, uint32_t oflags,
                        uint32_t fdflags, uint32_t access);
int64_t files_seek(uint32_t g, int64_t offset, uint32_t whence);
int64_t files_filestat(uint32_t g, uint8_t *out);
int64_t files_path_filestat(uint32_t dir, uint32_t lookup, const uint8_t *path, uint32_t len, uint8_t *out);
int64_t files_path_op(uint32_t op, uint32_t dir, const uint8_t *path, uint32_t len);
int64_t files_rename(uint32_t dir1, const uint8_t *p1, uint32_t len1, uint32_t dir2, const uint8_t *p2, uint32_t len2);
int64_t files_sync(uint32_t g, uint32_t data_only);
int64_t files_truncate(uint32_t g, int64_t size);
int64_t files_readdir(uint32_t g, uint8_t *buf, uint32_t len, uint64_t cookie);

/* arch */
int arch_context_regs(void *ucontext, uint64_t *pc, uint64_t *sp, uint64_t *fp);
/* Sets the stack-limit register (r14, x26) of an interrupted context. */
void arch_set_stack_limit(void *ucontext, uint64_t limit);
/* The CPU_FEATURE_* bits this CPU has; 0 on failure. Checks against img.cpu_features. */
uint32_t arch_cpu_features(void);
int arch_check_cpu_features(uint32_t need);
/* 1 when text offset `off` follows a call instruction (a return address): sites, the entry stub's
 * return point, resume frames */
int arch_returns_after_call(const uint8_t *text, uint64_t off);

#endif
