/* The snapshot .wasm (docs/snapshot-format.md), written by the loader itself when the program
 * stops (docs/image-format.md, section 14 "Snapshot template"): byte for byte what writeSnapshot of
 * @wagc/snapshot-format writes for the same state (tests/migration/snapshot-writer.test.ts).
 *
 * Everything that does not depend on the running instance was decided when the image was linked
 * and recorded in the template: which sections of the program module (section 10) are copied and
 * in what order, the globals' and tables' types, the original element and data segments. What is
 * left here is the state: memory size and runs of non-zero bytes, globals, tables, the stack.
 *
 * It runs inside the sandbox (docs/sandbox.md): no allocation, only write(2) to the output fd
 * opened before the program started. Each section is produced twice, once to count its bytes (its
 * size comes first in the file) and once to write them. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "abi.h"
#include "gate.h"

#define NONE 0xffffffffu
#define TEMPLATE_HEADER 96
#define TEMPLATE_VERSION 1
#define T_TABLES 1
#define T_INPUT_TABLES 2
#define T_EXPORTS 4
#define T_DATA_COUNT 8
#define T_MEMORY_MAX 16
#define T_V128_GLOBAL 32
#define T_MEMORY 64
enum { P_SECTION, P_MEMORY, P_GLOBAL, P_TABLE, P_ELEMENT, P_EXPORT, P_DATA_COUNT, P_DATA };
/* a run of memory ends before this many zero 32-bit words (SPLIT_ZERO_WORDS) */
#define SPLIT_ZERO_WORDS 16
#define SNAPSHOT_VERSION 1

static const uint8_t *tp;  /* the template's pool */
static uint32_t th[24];    /* its header words */
static const uint8_t *mod; /* the program module as section 10 records it */
static uint32_t mod_len;
/* section 10's record of the program (main) and of the runtime library */
static uint32_t prog_rec[12], lib_rec[12];
static int have_lib;

static char error[300];
static int fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int fail(const char *fmt, ...) {
  if (!error[0]) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(error, sizeof error, fmt, ap);
    va_end(ap);
  }
  return -1;
}
const char *snapshot_error(void) { return error; }

static uint32_t rd32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }

/* ---- output: counted, or buffered and written ---------------------------------------------- */

static int out_fd;
static int counting;
static uint64_t counted, written;
static uint8_t buf[1 << 16];
static size_t buffered;
static int out_bad;

static void flush(void) {
  size_t at = 0;
  while (at < buffered && !out_bad) {
    ssize_t w = write(out_fd, buf + at, buffered - at);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) { out_bad = errno ? errno : EIO; break; }
    at += (size_t)w;
  }
  buffered = 0;
}

static void put(const void *p, uint64_t n) {
  if (counting) { counted += n; return; }
  written += n;
  const uint8_t *b = p;
  if (n >= sizeof buf) {
    /* memory runs: straight from the instance's memory */
    flush();
    while (n && !out_bad) {
      ssize_t w = write(out_fd, b, n > (1u << 30) ? 1u << 30 : (size_t)n);
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0) { out_bad = errno ? errno : EIO; break; }
      b += w;
      n -= (uint64_t)w;
    }
    return;
  }
  if (buffered + n > sizeof buf) flush();
  memcpy(buf + buffered, b, n);
  buffered += n;
}
static void u8(uint8_t v) { put(&v, 1); }
static void uleb(uint64_t v) {
  uint8_t b[10];
  int n = 0;
  do { b[n] = v & 0x7f; v >>= 7; if (v) b[n] |= 0x80; n++; } while (v);
  put(b, (uint64_t)n);
}
static void sleb(int64_t v) {
  uint8_t b[10];
  int n = 0, more = 1;
  while (more) {
    uint8_t c = v & 0x7f;
    v >>= 7;
    if ((v == 0 && !(c & 0x40)) || (v == -1 && (c & 0x40))) more = 0;
    else c |= 0x80;
    b[n++] = c;
  }
  put(b, (uint64_t)n);
}
static int uleb_size(uint64_t v) { int n = 1; while (v >>= 7) n++; return n; }

/* ---- the state ----------------------------------------------------------------------------- */

static uint32_t st_state, st_trap, st_status;
static const site_entry *st_site;
static const uint64_t *st_fp;
static uint32_t st_pages;

/* A funcref word of the image (low: type id + 1, high: linked function) as the portable word
 * (docs/snapshot-format.md, "References"): module << 32 | function index + 1; -1 (error set) for
 * a function of no module a snapshot can name. */
static int portable(uint8_t type, uint64_t bits, uint64_t *out) {
  if (type != 0x70 || bits == 0) { *out = bits; return 0; }
  uint32_t linked = (uint32_t)(bits >> 32);
  const uint32_t *rec = NULL;
  if (linked >= prog_rec[4] && linked - prog_rec[4] < prog_rec[6]) rec = prog_rec;
  else if (have_lib && linked >= lib_rec[4] && linked - lib_rec[4] < lib_rec[6]) rec = lib_rec;
  if (!rec) return fail("funcref to linked function %u, of no module a snapshot can name", (unsigned)linked);
  *out = (rec == prog_rec ? 0 : 1ull << 32) | (uint64_t)(rec[5] + linked - rec[4] + 1);
  return 0;
}

/* A reference's constant expression: ref.null t, or ref.func of a function of the program. */
static int ref_expr(uint8_t type, uint64_t bits, const char *what) {
  uint64_t p;
  if (portable(type, bits, &p) < 0) return -1;
  if (p == 0) { u8(0xd0); u8(type); u8(0x0b); return 0; }
  if (type != 0x70) return fail("%s holds a non-null externref (a host handle no constant expression can write)", what);
  if (p >> 32) return fail("%s holds a function of the runtime library, which the snapshot's module cannot name", what);
  u8(0xd2); uleb((uint32_t)p - 1); u8(0x0b);
  return 0;
}

/* ---- memory runs (findRuns and mergeRuns of @wagc/snapshot-format) -------------------------- */

/* Calls each(start, end) for every run of non-zero memory: a run ends before SPLIT_ZERO_WORDS or
 * more zero words, starts and ends at non-zero bytes; runs closer than `gap` bytes are one run. */
static uint64_t runs(uint64_t gap, int (*each)(uint64_t, uint64_t)) {
  uint64_t count = 0, words = (uint64_t)st_pages * 16384;
  int open = 0, have = 0;
  uint64_t start = 0, last_word = 0, rs = 0, re = 0;
  uint32_t last_value = 0;
  const uint32_t *w = (const uint32_t *)inst.memory;
  for (uint64_t g = 0; g < words; g++) {
    if ((g & 16383) == 0) {
      /* whole zero pages are skipped 8 bytes at a time */
      const uint64_t *q = (const uint64_t *)(w + g);
      uint32_t k = 0;
      while (k < 8192 && !q[k]) k++;
      if (k == 8192) { g += 16383; continue; }
    }
    uint32_t v = w[g];
    if (!v) continue;
    if (open && g - last_word - 1 >= SPLIT_ZERO_WORDS) {
      uint64_t end = last_word * 4 + 1 + ((31 - __builtin_clz(last_value)) >> 3);
      if (have && start - re < gap) re = end;
      else {
        if (have) { count++; if (each && each(rs, re) < 0) return ~0ull; }
        rs = start; re = end; have = 1;
      }
      open = 0;
    }
    if (!open) { open = 1; start = g * 4 + (__builtin_ctz(v) >> 3); }
    last_word = g;
    last_value = v;
  }
  if (open) {
    uint64_t end = last_word * 4 + 1 + ((31 - __builtin_clz(last_value)) >> 3);
    if (have && start - re < gap) re = end;
    else {
      if (have) { count++; if (each && each(rs, re) < 0) return ~0ull; }
      rs = start; re = end; have = 1;
    }
  }
  if (have) { count++; if (each && each(rs, re) < 0) return ~0ull; }
  return count;
}

static int write_run(uint64_t s, uint64_t e) {
  u8(0); u8(0x41); sleb((int32_t)(uint32_t)s); u8(0x0b);
  uleb(e - s);
  put(inst.memory + s, e - s);
  return 0;
}

/* ---- sections ------------------------------------------------------------------------------ */

static uint64_t gap; /* the merge gap the data section's runs need (0: none) */
static uint64_t nruns;

static int data_dropped(uint32_t x) {
  if (x >= prog_rec[11]) return 0;
  return (*(uint64_t *)(inst.vmctx + VMCTX_GLOBALS + 8ull * (prog_rec[10] + x)) & 0xffffffffu) == 0;
}

static uint32_t data_count(void) { return th[14] + (uint32_t)nruns; }

static int memory_payload(void) {
  uleb(1);
  u8(th[1] & T_MEMORY_MAX ? 1 : 0);
  uleb(st_pages);
  if (th[1] & T_MEMORY_MAX) uleb(th[2]);
  return 0;
}

static int global_payload(void) {
  uleb(th[7]);
  const uint8_t *types = tp + th[8];
  /* a v128 global takes two slots, bytes 0-7 first */
  for (uint32_t k = 0, slot = prog_rec[7]; k < th[7]; k++) {
    uint8_t t = types[2 * k], mut = types[2 * k + 1];
    uint64_t v = *(uint64_t *)(inst.vmctx + VMCTX_GLOBALS + 8ull * slot);
    slot += t == 0x7b ? 2 : 1;
    u8(t); u8(mut);
    switch (t) {
      case 0x7b: {
        uint64_t hi = *(uint64_t *)(inst.vmctx + VMCTX_GLOBALS + 8ull * (slot - 1));
        u8(0xfd); uleb(12); put(&v, 8); put(&hi, 8); u8(0x0b); /* v128.const */
        break;
      }
      case 0x7f: u8(0x41); sleb((int32_t)(uint32_t)v); u8(0x0b); break;
      case 0x7e: u8(0x42); sleb((int64_t)v); u8(0x0b); break;
      case 0x7d: { uint32_t x = (uint32_t)v; u8(0x43); put(&x, 4); u8(0x0b); break; }
      case 0x7c: u8(0x44); put(&v, 8); u8(0x0b); break;
      case 0x70: case 0x6f: {
        char what[32];
        snprintf(what, sizeof what, "global %u", (unsigned)k);
        if (ref_expr(t, v, what) < 0) return -1;
        break;
      }
      default: return fail("global %u of type 0x%02x, which no snapshot can write", (unsigned)k, t);
    }
  }
  return 0;
}

static uint32_t table_size(uint32_t k) { return *(uint32_t *)(inst.vmctx + tables_desc(k) + 8); }
static const uint64_t *table_words(uint32_t k) { return *(uint64_t *const *)(inst.vmctx + tables_desc(k)); }

static int table_payload(void) {
  uleb(th[9]);
  for (uint32_t k = 0; k < th[9]; k++) {
    const uint8_t *t = tp + th[11] + 12ull * k;
    uint32_t elem = rd32(t), min = rd32(t + 4), max = rd32(t + 8), size = table_size(k);
    if (size < min || (max != NONE && size > max)) return fail("table %u of %u entries, outside its limits", (unsigned)(th[10] + k), (unsigned)size);
    u8((uint8_t)elem); u8(max == NONE ? 0 : 1); uleb(size);
    if (max != NONE) uleb(max);
  }
  return 0;
}

static uint32_t element_count(void) {
  uint32_t n = th[12];
  for (uint32_t k = 0; k < th[9]; k++) n += table_size(k) > 0;
  return n;
}

static int element_payload(void) {
  uleb(element_count());
  const uint8_t *e = tp + th[13];
  for (uint32_t k = 0; k < th[12]; k++) {
    u8(k < tables_segment_count() && tables_segment_dropped(k) ? 7 : 5);
    put(tp + rd32(e + 8 * k), rd32(e + 8 * k + 4));
  }
  for (uint32_t k = 0; k < th[9]; k++) {
    uint32_t size = table_size(k);
    if (!size) continue;
    uint8_t elem = (uint8_t)rd32(tp + th[11] + 12ull * k);
    u8(6); uleb(th[10] + k); u8(0x41); u8(0); u8(0x0b); u8(elem); uleb(size);
    const uint64_t *words = table_words(k);
    for (uint32_t j = 0; j < size; j++) {
      char what[48];
      snprintf(what, sizeof what, "table %u entry %u", (unsigned)(th[10] + k), (unsigned)j);
      if (ref_expr(elem, words[j], what) < 0) return -1;
    }
  }
  return 0;
}

static int data_payload(void) {
  uleb(data_count());
  const uint8_t *d = tp + th[15];
  for (uint32_t x = 0; x < th[14]; x++) {
    uint32_t mode = rd32(d + 12 * x), start = rd32(d + 12 * x + 4), len = rd32(d + 12 * x + 8);
    u8(1); /* passive */
    if (mode == 0 || data_dropped(x)) u8(0); /* applied at instantiation, or dropped: empty */
    else { uleb(len); put(mod + start, len); }
  }
  if (runs(gap, write_run) == ~0ull) return -1;
  return 0;
}

static int data_count_payload(void) { uleb(data_count()); return 0; }

/* gate.* sections */
static int has_v128;

static int snapshot_payload(void) {
  /* version 2 only when a v128 value is written (snapshot-format/src/types.ts) */
  uleb(has_v128 ? 2 : SNAPSHOT_VERSION);
  u8((uint8_t)st_state);
  u8(LOADER_ARCH == IMAGE_ARCH_X86_64 ? 1 : 2);
  uleb(st_trap);
  uleb(st_status);
  uleb(th[1] & T_TABLES ? 1 : th[1] & T_INPUT_TABLES ? 1 : 0);
  uleb(0); /* imported globals: immutable ones come from the importer */
  return 0;
}

/* Offset from fp of canonical slot s of a function with n parameters (ARCHITECTURE.md, Frames). */
static int64_t slot_offset(uint32_t s, uint32_t n) {
  return s < n ? 8 * (int64_t)(n - s) : -8 * (int64_t)(s - n + 1);
}

/* Calls each frame, innermost first, as state_write walks them. */
static uint32_t frame_count(void) { return st_site ? 1 + (uint32_t)stack_callers(st_fp) : 0; }

static int frame_module(uint32_t linked, int *runtime, uint32_t *func) {
  const uint32_t *rec = NULL;
  if (linked >= prog_rec[4] && linked - prog_rec[4] < prog_rec[6]) rec = prog_rec;
  else if (have_lib && linked >= lib_rec[4] && linked - lib_rec[4] < lib_rec[6]) rec = lib_rec;
  if (!rec) return fail("frame of linked function %u, of no module a snapshot can name", (unsigned)linked);
  *runtime = rec != prog_rec;
  *func = rec[5] + linked - rec[4];
  return 0;
}

static int stack_payload(void) {
  uint32_t n = frame_count();
  /* the runtime library's digest, when a frame is the library's */
  int runtime_frames = 0;
  const site_entry *site = st_site;
  const uint64_t *fp = st_fp;
  for (uint32_t k = 0; k < n; k++) {
    int rt;
    uint32_t func;
    if (frame_module(site->func, &rt, &func) < 0) return -1;
    runtime_frames |= rt;
    if (k + 1 < n) {
      const site_entry *caller = image_site_at(*fp - (uint64_t)inst.text);
      fp = (const uint64_t *)((uint64_t)fp + 8 + caller->fp_offset);
      site = caller;
    }
  }
  if (runtime_frames && th[4] != NONE) { uleb(32); put(tp + th[4], 32); }
  else uleb(0);
  uleb(n);
  site = st_site;
  fp = st_fp;
  for (uint32_t k = 0; k < n; k++) {
    const func_entry *f = &img.funcs[site->func];
    int rt;
    uint32_t func;
    frame_module(site->func, &rt, &func);
    /* a v128 value takes two slots, bytes 8-15 in the first: one value of 16 bytes */
    const uint8_t *types = img.strings + site->types_off;
    uint32_t values = 0;
    for (uint32_t s = 0; s < site->slot_count; s++, values++) if (types[s] == 0x7b && s + 1 < site->slot_count) s++;
    u8(rt ? 1 : 0); uleb(func); uleb(site->site); uleb(values);
    for (uint32_t s = 0; s < site->slot_count; s++) {
      uint8_t t = types[s];
      uint64_t v = *(const uint64_t *)((const uint8_t *)fp + slot_offset(s, f->param_count));
      if (t == 0x7b && s + 1 < site->slot_count) {
        uint64_t lo = *(const uint64_t *)((const uint8_t *)fp + slot_offset(s + 1, f->param_count));
        u8(t); put(&lo, 8); put(&v, 8);
        s++;
        continue;
      }
      if (t == 0x7f || t == 0x7d) v &= 0xffffffffu;
      if (portable(t, v, &v) < 0) return -1;
      u8(t); put(&v, 8);
    }
    if (k + 1 < n) {
      const site_entry *caller = image_site_at(*fp - (uint64_t)inst.text);
      fp = (const uint64_t *)((uint64_t)fp + 8 + caller->fp_offset);
      site = caller;
    }
  }
  return 0;
}

static int buffer_payload(void) { uleb(0); return 0; }

static int export_payload(void) {
  if (th[1] & T_EXPORTS) put(mod + th[16], th[17]);
  else u8(0);
  return 0;
}

/* One section: id, size, (custom) name, payload; the payload produced twice (count, write). */
static const uint8_t *copy_from;
static uint32_t copy_len;
static int copy_payload(void) { put(copy_from, copy_len); return 0; }

static int section(uint8_t id, const void *name, uint32_t name_len, int (*payload)(void)) {
  int was = counting;
  uint64_t before = counted;
  counting = 1;
  counted = 0;
  if (payload() < 0) return -1;
  uint64_t size = counted + (name ? (uint64_t)uleb_size(name_len) + name_len : 0);
  counting = was;
  counted = before;
  if (size > 0xffffffffull) return fail("snapshot too large: a section of more than 4 GiB");
  u8(id);
  uleb(size);
  if (name) { uleb(name_len); put(name, name_len); }
  return payload();
}

static int custom(const char *name, int (*payload)(void)) { return section(0, name, (uint32_t)strlen(name), payload); }

static int snapshot_body(void) {
  put("\0asm\1\0\0\0", 8);
  const uint8_t *pieces = tp + th[19];
  int has_stack = st_site != NULL;
  for (uint32_t k = 0; k < th[18]; k++) {
    const uint8_t *p = pieces + 24ull * k;
    uint32_t kind = rd32(p), id = rd32(p + 4), name_off = rd32(p + 8), name_len = rd32(p + 12), off = rd32(p + 16), len = rd32(p + 20);
    int r = 0;
    switch (kind) {
      case P_SECTION:
        copy_from = mod + off;
        copy_len = len;
        r = section((uint8_t)id, id == 0 ? mod + name_off : NULL, name_len, copy_payload);
        break;
      case P_MEMORY: r = section(5, NULL, 0, memory_payload); break;
      case P_GLOBAL: r = section(6, NULL, 0, global_payload); break;
      case P_TABLE: r = section(4, NULL, 0, table_payload); break;
      case P_ELEMENT: if (element_count()) r = section(9, NULL, 0, element_payload); break;
      case P_EXPORT: if (!has_stack) r = section(7, NULL, 0, export_payload); break;
      case P_DATA_COUNT: r = section(12, NULL, 0, data_count_payload); break;
      case P_DATA: if (data_count()) r = section(11, NULL, 0, data_payload); break;
      default: return fail("bad snapshot template (piece kind)");
    }
    if (r < 0) return -1;
  }
  if (custom("gate.snapshot", snapshot_payload) < 0) return -1;
  if (has_stack && custom("gate.stack", stack_payload) < 0) return -1;
  if (custom("gate.buffer", buffer_payload) < 0) return -1;
  if (has_stack && custom("gate.export", export_payload) < 0) return -1;
  return 0;
}

/* Reads section 10's record of the module named `name` into rec; 0 when there is none. */
static int module_record(const char *name, uint32_t *rec) {
  if (!img.modules || img.modules_size < 4) return 0;
  uint32_t n = rd32(img.modules);
  if (4 + 48ull * n > img.modules_size) return 0;
  size_t len = strlen(name);
  for (uint32_t k = 0; k < n; k++) {
    const uint8_t *m = img.modules + 4 + 48ull * k;
    if (rd32(m + 4) != len || (uint64_t)rd32(m) + len > img.strings_size || memcmp(img.strings + rd32(m), name, len) != 0) continue;
    for (int j = 0; j < 12; j++) rec[j] = rd32(m + 4 * j);
    return 1;
  }
  return 0;
}

/* Checks the template against the image once it is loaded: -1 (message printed) for a bad one. */
static int check_template(void) {
  if (!img.snapshot_template) return fail("the image has no snapshot template (built by an older wagc?): recompile it");
  if (img.snapshot_template_size < TEMPLATE_HEADER) return fail("bad snapshot template (truncated)");
  memcpy(th, img.snapshot_template, sizeof th);
  tp = img.snapshot_template + TEMPLATE_HEADER;
  uint64_t pool = img.snapshot_template_size - TEMPLATE_HEADER;
  if (th[0] != TEMPLATE_VERSION || th[20] != pool) return fail("bad snapshot template (version or size)");
  if (!module_record("main", prog_rec)) return fail("the image does not record its program module");
  have_lib = module_record("wasi_snapshot_preview1", lib_rec);
  if ((uint64_t)prog_rec[2] + prog_rec[3] > img.strings_size) return fail("bad modules section");
  mod = img.strings + prog_rec[2];
  mod_len = prog_rec[3];
  if (th[6]) {
    static char why[256];
    uint32_t n = th[6] < sizeof why - 1 ? th[6] : (uint32_t)sizeof why - 1;
    if ((uint64_t)th[5] + n > pool) return fail("bad snapshot template (error)");
    memcpy(why, tp + th[5], n);
    why[n] = 0;
    return fail("%s", why);
  }
  /* every range the writer copies lies inside the template or the module */
  if ((uint64_t)th[8] + 2ull * th[7] > pool || (uint64_t)th[11] + 12ull * th[9] > pool || (uint64_t)th[13] + 8ull * th[12] > pool ||
      (uint64_t)th[15] + 12ull * th[14] > pool || (uint64_t)th[19] + 24ull * th[18] > pool || (th[4] != NONE && (uint64_t)th[4] + 32 > pool) ||
      (uint64_t)th[16] + th[17] > mod_len)
    return fail("bad snapshot template (ranges)");
  for (uint32_t k = 0; k < th[12]; k++) {
    const uint8_t *e = tp + th[13] + 8ull * k;
    if ((uint64_t)rd32(e) + rd32(e + 4) > pool) return fail("bad snapshot template (element)");
  }
  for (uint32_t x = 0; x < th[14]; x++) {
    const uint8_t *d = tp + th[15] + 12ull * x;
    if ((uint64_t)rd32(d + 4) + rd32(d + 8) > mod_len) return fail("bad snapshot template (data)");
  }
  for (uint32_t k = 0; k < th[18]; k++) {
    const uint8_t *p = tp + th[19] + 24ull * k;
    if ((uint64_t)rd32(p + 8) + rd32(p + 12) > mod_len || (uint64_t)rd32(p + 16) + rd32(p + 20) > mod_len || rd32(p + 4) > 12)
      return fail("bad snapshot template (piece)");
  }
  uint64_t gslots = 0;
  for (uint32_t k = 0; k < th[7]; k++) gslots += tp[th[8] + 2 * k] == 0x7b ? 2 : 1;
  if ((uint64_t)prog_rec[7] + gslots > img.nglobals || (uint64_t)prog_rec[10] + prog_rec[11] > img.nglobals)
    return fail("bad snapshot template (globals)");
  if (th[9] != tables_count()) return fail("the image's tables and its snapshot template disagree");
  return 0;
}

/* Writes the snapshot of the instance as it stands to fd; 0, or -1 with snapshot_error() set. */
int snapshot_write(int fd, uint32_t state, uint32_t trap_id, uint32_t status, const site_entry *site, const uint64_t *fp) {
  error[0] = 0;
  if (check_template() < 0) return -1;
  st_state = state;
  st_trap = trap_id;
  st_status = status;
  st_site = site;
  st_fp = fp;
  st_pages = img.has_memory ? *(uint32_t *)(inst.vmctx + VMCTX_MEMORY_PAGES) : 0;
  if (!(th[1] & T_MEMORY) && st_pages) return fail("memory given, but the module has none");
  has_v128 = (th[1] & T_V128_GLOBAL) != 0;
  if (site) {
    const site_entry *s = site;
    const uint64_t *f = fp;
    for (uint32_t k = 0, n = frame_count(); k < n; k++) {
      for (uint32_t j = 0; j < s->slot_count; j++) has_v128 |= img.strings[s->types_off + j] == 0x7b;
      if (k + 1 < n) {
        const site_entry *caller = image_site_at(*f - (uint64_t)inst.text);
        f = (const uint64_t *)((uint64_t)f + 8 + caller->fp_offset);
        s = caller;
      }
    }
  }
  /* the runs, merged with a doubling gap while there are more than a module may have segments */
  uint64_t room = th[21] - th[14];
  gap = 0;
  nruns = runs(0, NULL);
  for (uint64_t g = SPLIT_ZERO_WORDS * 8; nruns > room; g *= 2) { gap = g; nruns = runs(gap, NULL); }
  out_fd = fd;
  out_bad = 0;
  buffered = 0;
  written = 0;
  counting = 0;
  if (snapshot_body() < 0) return -1;
  flush();
  if (out_bad) { errno = out_bad; return fail("%s", strerror(out_bad)); }
  if (written > th[22]) {
    static char m[160];
    snprintf(m, sizeof m, "snapshot too large: %llu bytes, more than the %u bytes (1 GiB) a WebAssembly module may have",
             (unsigned long long)written, th[22]);
    return fail("%s", m);
  }
  return 0;
}
