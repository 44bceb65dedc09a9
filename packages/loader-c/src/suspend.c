/* Suspension, state dumps and resumption (ARCHITECTURE §2, §3; docs/image-format.md, "State dump" and
 * section 11 "Resume").
 *
 * A suspend request (SIGQUIT, or the --suspend-after timer's SIGALRM) sets the stack limit to ~0
 * in vmctx and, when the signal interrupted generated code, in the stack-limit register: the next
 * entry or loop check fails and calls rt_check, which finds every frame canonical (all values in
 * their slots), writes them with the globals and memory to the state file, and exits. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>
#include "abi.h"
#include "gate.h"

static int state_fd = -1;

#define FIELD64(off) (*(volatile uint64_t *)(inst.vmctx + (off)))

static volatile sig_atomic_t early_request;

static void on_suspend_signal(int sig, siginfo_t *info, void *uc) {
  (void)sig;
  (void)info;
  if (!inst.vmctx) {
    /* before the instance exists: applied by suspend_install */
    early_request = 1;
    return;
  }
  FIELD64(VMCTX_SUSPEND_REQUESTED) = 1;
  FIELD64(VMCTX_STACK_LIMIT) = ~0ull;
  uint64_t pc, sp, fp;
  arch_context_regs(uc, &pc, &sp, &fp);
  if (pc >= (uint64_t)inst.text && pc < (uint64_t)inst.text + img.text_size) arch_set_stack_limit(uc, ~0ull);
}

static void install_handlers(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_suspend_signal;
  /* no SA_RESTART: a read blocked in the host returns EINTR, and the library's retry loop then
   * suspends at its loop check (the read restarts on resume) */
  sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGQUIT, &sa, NULL);
  sigaction(SIGALRM, &sa, NULL);
}

/* First thing in main: a SIGQUIT that comes while the image is still being mapped suspends the
 * program at its first check instead of killing the loader. */
void suspend_early(void) {
  install_handlers();
  /* blocked since the first instruction (entry.c): one that came meanwhile is delivered now,
   * to the handler, and suspends the program at its first check */
  sigset_t quit;
  sigemptyset(&quit);
  sigaddset(&quit, SIGQUIT);
  sigprocmask(SIG_UNBLOCK, &quit, NULL);
}

/* --suspend-at-check N (a test option, docs/image-format.md "Loader"): every entry and loop check
 * fails into rt_check, which redoes the stack check itself, counts the checks that pass and
 * suspends at the Nth. Unlike a timer it stops at the same point of the wasm execution on every
 * run and on both arches (checks are wasm function entries and loop headers). Only the checks of
 * the entry call count (from suspend_arm_checks), not those of start functions: a snapshot
 * taken in a start function would resume it and forget the call. */
static uint64_t check_target, checks_passed;
static int counting;

void suspend_arm_checks(void) {
  if (!check_target || counting) return;
  counting = 1;
  FIELD64(VMCTX_STACK_LIMIT) = ~0ull;
}

int suspend_install(const char *state_path, uint64_t after_ms, uint64_t at_check) {
  if (state_path) {
    state_fd = open(state_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (state_fd < 0) {
      fprintf(stderr, "gate-run: cannot write %s: %s\n", state_path, strerror(errno));
      return -1;
    }
  }
  install_handlers();
  check_target = at_check;
  if (early_request) {
    FIELD64(VMCTX_SUSPEND_REQUESTED) = 1;
    FIELD64(VMCTX_STACK_LIMIT) = ~0ull;
  }
  if (after_ms) {
    struct itimerval t = { { 0, 0 }, { (time_t)(after_ms / 1000), (suseconds_t)(after_ms % 1000) * 1000 } };
    setitimer(ITIMER_REAL, &t, NULL);
  }
  return 0;
}

/* From rt_check, once the frame is known to fit the stack (a frame that does not is a trap). */
int suspend_counted_check(uint64_t *sp, uint64_t *fp) {
  if (!counting) return 0;
  if (++checks_passed == check_target) {
    /* as a suspend request from here on: deferred while the program has files open */
    counting = 0;
    suspend_at_check(sp, fp);
  }
  return 1;
}

void suspend_report_checks(void) {
  if (!counting) return;
  char line[64];
  int n = snprintf(line, sizeof line, "checks %llu\n", (unsigned long long)checks_passed);
  (void)!write(2, line, n);
}

/* The --state-out file's fd (kept open by the sandbox), or -1. */
int suspend_state_fd(void) { return state_fd; }

int suspend_requested(void) { return FIELD64(VMCTX_SUSPEND_REQUESTED) != 0; }

static int put(const void *p, size_t n) {
  const uint8_t *b = p;
  while (n) {
    ssize_t w = write(state_fd, b, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return -1;
    b += w;
    n -= (size_t)w;
  }
  return 0;
}

static int put32(uint32_t v) { return put(&v, 4); }

static void state_dump(uint32_t state, uint32_t trap_id, uint32_t status, const site_entry *site, const uint64_t *fp);

/* Offset from fp of canonical slot s of a function with n parameters (ARCHITECTURE.md, Frames). */
static int64_t slot_offset(uint32_t s, uint32_t n) {
  return s < n ? 8 * (int64_t)(n - s) : -8 * (int64_t)(s - n + 1);
}

/*
 * The state file (docs/image-format.md, "State dump"): "WAGCSTAT", version, state, trap id,
 * exit status; the global slots; memory (page count, then the non-zero pages); the frames,
 * innermost first. Nothing is written without --state-out.
 */
void state_write(uint32_t state, uint32_t trap_id, uint32_t status, const site_entry *site, const uint64_t *fp) {
  state_dump(state, trap_id, status, site, fp);
  /* the snapshot .wasm (snapshot.c), put in place by the output helper (output.c) */
  if (!output_wanted(state)) {
    output_abandon();
    return;
  }
  if (snapshot_write(output_fd(), state, trap_id, status, site, fp) < 0) {
    output_abandon();
    cli_error("cannot write the snapshot %s: %s", cli_printable(output_path()), snapshot_error());
    _exit(EXIT_BAD_IMAGE);
  }
  if (output_commit(state == STATE_SUSPENDED) < 0) _exit(EXIT_BAD_IMAGE);
}

static void state_dump(uint32_t state, uint32_t trap_id, uint32_t status, const site_entry *site, const uint64_t *fp) {
  if (state_fd < 0) return;
  int fd = state_fd;
  int bad = 0;
  bad |= put("WAGCSTAT", 8);
  bad |= put32(2);
  bad |= put32(state);
  bad |= put32(trap_id);
  bad |= put32(status);
  bad |= put32(img.nglobals);
  bad |= put(inst.vmctx + VMCTX_GLOBALS, 8ull * img.nglobals);
  uint32_t pages = img.has_memory ? *(uint32_t *)(inst.vmctx + VMCTX_MEMORY_PAGES) : 0;
  uint32_t nonzero = 0;
  for (uint32_t p = 0; p < pages; p++) {
    const uint64_t *w = (const uint64_t *)(inst.memory + (uint64_t)p * 65536);
    for (uint32_t k = 0; k < 8192; k++) if (w[k]) { nonzero++; break; }
  }
  bad |= put32(pages);
  bad |= put32(nonzero);
  for (uint32_t p = 0; p < pages; p++) {
    const uint64_t *w = (const uint64_t *)(inst.memory + (uint64_t)p * 65536);
    uint32_t k = 0;
    while (k < 8192 && !w[k]) k++;
    if (k == 8192) continue;
    bad |= put32(p);
    bad |= put32(0);
    bad |= put(w, 65536);
  }
  /* the innermost frame, then its callers out to the entry stub (trap.c's walk) */
  uint32_t nframes = site ? 1 + (uint32_t)stack_callers(fp) : 0;
  bad |= put32(nframes);
  for (uint32_t k = 0; k < nframes; k++) {
    const func_entry *f = &img.funcs[site->func];
    bad |= put32(site->func);
    bad |= put32(site->site);
    bad |= put32(site->slot_count);
    bad |= put32(0);
    static const uint8_t zeros[8];
    bad |= put(img.strings + site->types_off, site->slot_count);
    bad |= put(zeros, (8 - site->slot_count % 8) % 8);
    for (uint32_t s = 0; s < site->slot_count; s++) {
      uint64_t v = *(const uint64_t *)((const uint8_t *)fp + slot_offset(s, f->param_count));
      bad |= put(&v, 8);
    }
    if (k + 1 < nframes) {
      const site_entry *caller = image_site_at(*fp - (uint64_t)inst.text);
      fp = (const uint64_t *)((uint64_t)fp + 8 + caller->fp_offset);
      site = caller;
    }
  }
  /* tables (section 12): current size and entries, then which element segments are dropped */
  bad |= put32(tables_count());
  for (uint32_t k = 0; k < tables_count(); k++) {
    uint32_t desc = tables_desc(k);
    uint32_t size = *(uint32_t *)(inst.vmctx + desc + 8);
    bad |= put32(size);
    bad |= put32(0);
    bad |= put(*(uint64_t **)(inst.vmctx + desc), 8ull * size);
  }
  bad |= put32(tables_segment_count());
  for (uint32_t k = 0; k < tables_segment_count(); k++) {
    uint8_t d = (uint8_t)tables_segment_dropped(k);
    bad |= put(&d, 1);
  }
  if (bad) (void)!write(2, "gate-run: cannot write the state file\n", 38);
  close(fd);
  state_fd = -1;
}

/* From rt_check: the failed check was a suspend request. Never returns. */
_Noreturn void suspend_now(uint64_t *sp, uint64_t *fp) {
  const site_entry *site = image_site_at(*sp - (uint64_t)inst.text);
  (void)!write(2, "suspended\n", 10);
  /* the innermost frame at its site: the loop, or the function's entry */
  stack_trace_site(site, fp);
  state_write(STATE_SUSPENDED, 0, 0, site, fp);
  _exit(EXIT_SUSPENDED);
}

/* A request is deferred while the state could not be written so that resuming it is the same
 * program:
 * - a file is open: a snapshot records no open files (docs/snapshot-format.md, "Open files");
 *   the close that ends the last one makes the request again;
 * - a start function runs: a snapshot records one call, the stack being resumed, and nothing
 *   of the `_start` (or --invoke) call that is still to come after it; the start function's
 *   return makes the request again ("Start functions").
 * The check's slow path returns with the ordinary stack limit back, the request is forgotten by
 * the host calls (a blocked read must not keep returning EINTR), and the program suspends at
 * its next check once nothing holds it. The stack trace etc. come then. */
static volatile sig_atomic_t deferred;
static int in_start;

void suspend_at_check(uint64_t *sp, uint64_t *fp) {
  if (files_open_count() == 0 && !in_start) suspend_now(sp, fp);
  if (!deferred) {
    char line[200];
    int n = in_start
      ? snprintf(line, sizeof line, "gate-run: suspension deferred until the start function returns: a snapshot records no call still to come\n")
      : snprintf(line, sizeof line, "gate-run: suspension deferred until the program closes its files (fd %d is open): a snapshot records no open files\n",
                 files_first_open());
    (void)!write(2, line, (size_t)n);
  }
  /* the suspend signals blocked: one between the two stores would leave a failing limit with no
   * request, which the next check would take for a stack overflow */
  sigset_t block, old;
  sigemptyset(&block);
  sigaddset(&block, SIGQUIT);
  sigaddset(&block, SIGALRM);
  sigprocmask(SIG_BLOCK, &block, &old);
  deferred = 1;
  FIELD64(VMCTX_SUSPEND_REQUESTED) = 0;
  FIELD64(VMCTX_STACK_LIMIT) = instance_stack_limit();
  sigprocmask(SIG_SETMASK, &old, NULL);
}

static void rearm(void) {
  if (!deferred) return;
  deferred = 0;
  FIELD64(VMCTX_SUSPEND_REQUESTED) = 1;
  FIELD64(VMCTX_STACK_LIMIT) = ~0ull;
}

void suspend_files_closed(void) { rearm(); }

void suspend_start_phase(int on) {
  in_start = on;
  if (!on) rearm();
}

/* ---- resumption (section 11) -------------------------------------------------------------- */

typedef void (*resume_fn)(void *vmctx, uint64_t *fp, uint64_t *sp, void *pc);

static uint32_t rd32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }

/* Checks section 11: 1 when it holds a stack to resume, 2 for a halted instance (nothing runs
 * but --invoke), 0 without the section, -1 for a bad one. */
static const uint8_t *resume_sec;
static uint64_t resume_size;
static uint32_t resume_stub, nframes_resume;
static uint64_t *resume_fp, *resume_sp;
static uint8_t *resume_pc;

int resume_load(const uint8_t *sec, uint64_t size) {
  resume_sec = sec;
  resume_size = size;
  if (!sec) return 0;
  if (size < 16) { fprintf(stderr, "gate-run: bad image: truncated resume section\n"); return -1; }
  resume_stub = rd32(sec + 4);
  nframes_resume = rd32(sec + 12);
  uint32_t entry_return = rd32(sec + 8);
  const uint8_t *text = img.file + img.text_off;
  /* the stubs the loader enters (docs/image-format.md, section 11): resume after entry, saving
   * what entry saves (the same first bytes), and entry's return point right after its call */
  if (resume_stub >= img.text_size || entry_return >= img.text_size || resume_stub % 16 || entry_return <= img.entry_stub ||
      entry_return >= resume_stub || resume_stub + 16 > img.text_size || img.entry_stub + 16 > img.text_size ||
      memcmp(text + resume_stub, text + img.entry_stub, 16) != 0 || (img.arch == LOADER_ARCH && !arch_returns_after_call(text, entry_return))) {
    fprintf(stderr, "gate-run: bad image: resume stubs\n");
    return -1;
  }
  uint64_t at = 16;
  for (uint32_t k = 0; k < nframes_resume; k++) {
    if (at + 16 > size) { fprintf(stderr, "gate-run: bad image: truncated resume frame\n"); return -1; }
    uint32_t code = rd32(sec + at), fp_offset = rd32(sec + at + 4), params = rd32(sec + at + 8), slots = rd32(sec + at + 12);
    /* each frame is at a site of the site map, with that site's frame offset and slots and its
     * function's parameters: the code it resumes finds what it expects */
    const site_entry *site = code < img.text_size ? image_site_at(code) : NULL;
    if (!site || site->fp_offset != fp_offset || site->slot_count != slots || img.funcs[site->func].param_count != params ||
        params > slots || (uint64_t)slots * 8 > size - at - 16) {
      fprintf(stderr, "gate-run: bad image: resume frame %u\n", k);
      return -1;
    }
    at += 16 + 8ull * slots;
  }
  if (at != size) { fprintf(stderr, "gate-run: bad image: resume section size\n"); return -1; }
  if (rd32(sec) != (nframes_resume ? 1u : 0u)) { fprintf(stderr, "gate-run: bad image: resume state\n"); return -1; }
  return nframes_resume ? 1 : 2;
}

/* Writes the frames (outermost first) below the stack top: each frame's return address slot at
 * its fp, its slots around it; the outermost returns into the entry stub. The frames land where
 * they were when the snapshot was taken (the same stack top, the same wasm-level frame sizes on
 * every arch), and each must fit as its check required it to: its lowest address, fp −
 * frame_size, at or above the stack limit. Nothing else is needed: the resume stub runs on the
 * loader's stack, so a snapshot taken at a --stack-size resumes at that --stack-size. */
static int resume_build(void) {
  const uint8_t *sec = resume_sec;
  uint64_t lo = instance_stack_limit(), top = (uint64_t)inst.stack_base + inst.stack_size;
  uint64_t ret = (uint64_t)inst.text + rd32(sec + 8);
  uint64_t at = 16;
  uint64_t fp = 0, prev_fp_offset = 0;
  for (uint32_t k = 0; k < nframes_resume; k++) {
    uint32_t code = rd32(sec + at), fp_offset = rd32(sec + at + 4), params = rd32(sec + at + 8), slots = rd32(sec + at + 12);
    /* the frame's bytes below fp: its function's, at least what the slots and fp_offset say */
    uint64_t frame = img.funcs[image_site_at(code)->func].frame_size;
    if (frame < 8ull * (slots - params) + fp_offset) frame = 8ull * (slots - params) + fp_offset;
    fp = k == 0 ? top - 8ull * params - 8 : fp - prev_fp_offset - 8;
    if (fp < lo + frame || fp + 8ull * params + 8 > top) {
      fprintf(stderr, "gate-run: the snapshot's stack does not fit in --stack-size\n");
      return -1;
    }
    *(uint64_t *)fp = ret;
    for (uint32_t s = 0; s < slots; s++) {
      uint64_t v;
      memcpy(&v, sec + at + 16 + 8ull * s, 8);
      *(uint64_t *)(fp + slot_offset(s, params)) = v;
    }
    ret = (uint64_t)inst.text + code;
    prev_fp_offset = fp_offset;
    at += 16 + 8ull * slots;
  }
  resume_fp = (uint64_t *)fp;
  resume_sp = (uint64_t *)(fp - prev_fp_offset);
  resume_pc = (uint8_t *)ret;
  return 0;
}

uint32_t resume_outermost_func(void) {
  if (!resume_sec || !nframes_resume) return 0xffffffffu;
  const site_entry *s = image_site_at(rd32(resume_sec + 16));
  return s ? s->func : 0xffffffffu;
}

/* Runs the resumed stack to its end (the outermost function's return); 0, or -1. */
int resume_run(void) {
  if (resume_build() < 0) return -1;
  resume_fn fn = (resume_fn)(inst.text + resume_stub);
  fn(inst.vmctx, resume_fp, resume_sp, resume_pc);
  return 0;
}
