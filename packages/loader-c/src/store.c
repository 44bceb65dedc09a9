/* Several instances in one image (docs/image-format.md, section 9 "Store"): each with its own
 * memory and table descriptors in vmctx, instantiated one by one when the batch protocol asks.
 * Everything read from the section is checked here before use. */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include "abi.h"
#include "gate.h"

#define PAGE 65536ull
#define RESERVATION ((8ull << 30) + PAGE)
#define NONE 0xffffffffu
#define MAX_MEMORIES 64

typedef struct { uint32_t desc_off, initial, max; } store_memory;
typedef struct { uint32_t desc_off, entries_off, initial, max; } store_table;
typedef struct {
  uint32_t name_off, name_len, start, export_first, export_count, elem_first, elem_count, data_first, data_count,
      check_first, check_count;
} store_instance;
typedef struct { uint32_t table_desc, offset, count, entries_off; } store_elem;
typedef struct { uint32_t memory_desc, offset, len, bytes_off; } store_data;
typedef struct { uint32_t desc_off, kind, min; } store_check;

static uint32_t vmctx_size, nmem, ntab, ninst, nexp, nelem, ndata, ncheck;
static const store_memory *mems;
static const store_table *tabs;
static const store_instance *insts;
static const export_entry *exps;
static const store_elem *elems;
static const store_data *datas;
static const store_check *checks;
static uint8_t *reservations[MAX_MEMORIES];

static int bad(const char *what) {
  fprintf(stderr, "gate-run: bad image: store: %s\n", what);
  return -1;
}

static int in_strings(uint64_t off, uint64_t len) { return off <= img.strings_size && len <= img.strings_size - off; }

/* A descriptor (16 bytes) after the globals, inside the vmctx the section asks for. */
static int desc_ok(uint32_t off) {
  return off >= VMCTX_GLOBALS + 8ull * img.nglobals && (uint64_t)off + 16 <= vmctx_size && off % 8 == 0;
}

static int is_memory_desc(uint32_t off) {
  for (uint32_t k = 0; k < nmem; k++) if (mems[k].desc_off == off) return 1;
  return 0;
}

static int is_table_desc(uint32_t off) {
  for (uint32_t k = 0; k < ntab; k++) if (tabs[k].desc_off == off) return 1;
  return 0;
}

uint32_t store_vmctx_size(void) { return img.store ? vmctx_size : 0; }
uint32_t store_instance_count(void) { return img.store ? ninst : 0; }

int store_load(void) {
  if (!img.store) return 0;
  const uint8_t *p = img.store;
  uint64_t size = img.store_size;
  if (size < 32) return bad("truncated");
  uint32_t h[8];
  memcpy(h, p, 32);
  vmctx_size = h[0]; nmem = h[1]; ntab = h[2]; ninst = h[3]; nexp = h[4]; nelem = h[5]; ndata = h[6]; ncheck = h[7];
  uint64_t need = 32 + 12ull * nmem + 16ull * ntab + 44ull * ninst + 28ull * nexp + 16ull * nelem + 16ull * ndata + 12ull * ncheck;
  if (need > size) return bad("truncated");
  if (nmem > MAX_MEMORIES) return bad("too many memories");
  if (vmctx_size > (256u << 20)) return bad("vmctx too large");
  p += 32;
  mems = (const store_memory *)p; p += 12ull * nmem;
  tabs = (const store_table *)p; p += 16ull * ntab;
  insts = (const store_instance *)p; p += 44ull * ninst;
  exps = (const export_entry *)p; p += 28ull * nexp;
  elems = (const store_elem *)p; p += 16ull * nelem;
  datas = (const store_data *)p; p += 16ull * ndata;
  checks = (const store_check *)p;
  for (uint32_t k = 0; k < nmem; k++) {
    const store_memory *m = &mems[k];
    if (!desc_ok(m->desc_off)) return bad("memory descriptor outside vmctx");
    if (m->initial > 65536 || (m->max != NONE && (m->max > 65536 || m->max < m->initial))) return bad("memory limits");
  }
  for (uint32_t k = 0; k < ntab; k++) {
    const store_table *t = &tabs[k];
    if (!desc_ok(t->desc_off)) return bad("table descriptor outside vmctx");
    if (t->initial > (1u << 24)) return bad("table too large");
  }
  for (uint32_t k = 0; k < ninst; k++) {
    const store_instance *i = &insts[k];
    if (!in_strings(i->name_off, i->name_len)) return bad("instance name outside the string table");
    if (i->start != NONE && i->start >= img.nfuncs) return bad("start function index");
    if ((uint64_t)i->export_first + i->export_count > nexp || (uint64_t)i->elem_first + i->elem_count > nelem ||
        (uint64_t)i->data_first + i->data_count > ndata || (uint64_t)i->check_first + i->check_count > ncheck) {
      return bad("instance ranges");
    }
  }
  for (uint32_t k = 0; k < nexp; k++) {
    const export_entry *e = &exps[k];
    if (!in_strings(e->name_off, e->name_len) || !in_strings(e->types_off, (uint64_t)e->param_count + e->result_count)) return bad("export outside the string table");
    if (e->kind == 0 ? e->index >= img.nfuncs : e->index >= img.nglobals) return bad("export index");
    if (e->result_count > MAX_RESULTS) return bad("export results");
  }
  for (uint32_t k = 0; k < nelem; k++) {
    const store_elem *s = &elems[k];
    if (!is_table_desc(s->table_desc)) return bad("element segment table");
    if (!in_strings(s->entries_off, 8ull * s->count)) return bad("element segment outside the string table");
    for (uint32_t e = 0; e < s->count; e++) {
      uint32_t w[2];
      memcpy(w, img.strings + s->entries_off + 8ull * e, 8);
      if (w[0] && w[1] >= img.nfuncs) return bad("element function index");
    }
  }
  for (uint32_t k = 0; k < ndata; k++) {
    if (!is_memory_desc(datas[k].memory_desc)) return bad("data segment memory");
    if (!in_strings(datas[k].bytes_off, datas[k].len)) return bad("data segment outside the string table");
  }
  for (uint32_t k = 0; k < ncheck; k++) {
    if (checks[k].kind == 0 ? !is_memory_desc(checks[k].desc_off) : !is_table_desc(checks[k].desc_off)) return bad("import check");
  }
  return 0;
}

#define DESC_BASE(off) (*(uint64_t *)(inst.vmctx + (off)))
#define DESC_SIZE(off) (*(uint32_t *)(inst.vmctx + (off) + 8))
#define DESC_MAX(off) (*(uint32_t *)(inst.vmctx + (off) + 12))

int store_create(void) {
  if (!img.store) return 0;
  for (uint32_t k = 0; k < nmem; k++) {
    const store_memory *m = &mems[k];
    /* its own guard reservation; memory.grow is an mprotect within it (rt_grow) */
    uint8_t *base = mmap(NULL, RESERVATION, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (base == MAP_FAILED) { perror("gate-run: reserve memory"); return -1; }
    if (m->initial && mprotect(base, m->initial * PAGE, PROT_READ | PROT_WRITE) < 0) { perror("gate-run: memory"); return -1; }
    reservations[k] = base;
    DESC_BASE(m->desc_off) = (uint64_t)base;
    DESC_SIZE(m->desc_off) = m->initial;
    DESC_MAX(m->desc_off) = m->max == NONE ? 65536 : m->max;
  }
  /* the tables' descriptors and entries are set up by tables.c (section 12) */
  return 0;
}

/* The bases of the store's memory reservations (for the sandbox's mprotect rule). */
unsigned store_reservations(uint64_t *bases, unsigned max) {
  unsigned n = 0;
  for (uint32_t k = 0; k < nmem && k < MAX_MEMORIES && n < max; k++) if (reservations[k]) bases[n++] = (uint64_t)reservations[k];
  return n;
}

int store_in_memory(uint64_t addr) {
  for (uint32_t k = 0; k < nmem && k < MAX_MEMORIES; k++) {
    if (reservations[k] && addr >= (uint64_t)reservations[k] && addr < (uint64_t)reservations[k] + RESERVATION) return 1;
  }
  return 0;
}

/* Import size checks, then element and data segments in order (the spec's instantiation: what
 * a segment wrote stays written when a later one is out of bounds). Returns 0, a trap id, or -1
 * when an imported memory or table is now smaller than the importer requires. */
int store_instantiate(uint32_t k) {
  const store_instance *i = &insts[k];
  for (uint32_t c = i->check_first; c < i->check_first + i->check_count; c++) {
    if (DESC_SIZE(checks[c].desc_off) < checks[c].min) return -1;
  }
  for (uint32_t s = i->elem_first; s < i->elem_first + i->elem_count; s++) {
    const store_elem *e = &elems[s];
    if ((uint64_t)e->offset + e->count > DESC_SIZE(e->table_desc)) return TRAP_OUT_OF_BOUNDS_TABLE;
    memcpy((uint8_t *)DESC_BASE(e->table_desc) + 8ull * e->offset, img.strings + e->entries_off, 8ull * e->count);
  }
  for (uint32_t s = i->data_first; s < i->data_first + i->data_count; s++) {
    const store_data *d = &datas[s];
    if ((uint64_t)d->offset + d->len > DESC_SIZE(d->memory_desc) * PAGE) return TRAP_OUT_OF_BOUNDS_MEMORY;
    memcpy((uint8_t *)DESC_BASE(d->memory_desc) + d->offset, img.strings + d->bytes_off, d->len);
  }
  return 0;
}

uint32_t store_start(uint32_t k) { return insts[k].start; }

const export_entry *store_export(uint32_t k, const char *name, size_t len) {
  const store_instance *i = &insts[k];
  for (uint32_t x = i->export_first; x < i->export_first + i->export_count; x++) {
    const export_entry *e = &exps[x];
    if (e->name_len == len && memcmp(img.strings + e->name_off, name, len) == 0) return e;
  }
  return NULL;
}
