/* Tables and element segments (docs/image-format.md, section 12 "Tables"; docs/ARCHITECTURE.md,
 * "Tables"): every table's descriptor in vmctx, its entries in the instance mapping with room to
 * grow, and the table routine generated code calls for table.get/set/size/grow/fill/copy/init
 * and elem.drop. Everything read from the section is checked here before use. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "abi.h"
#include "gate.h"

#define NONE 0xffffffffu
/* a table without a maximum (or a larger one) can grow to this many entries; more fails as
 * table.grow may (it returns -1) */
#define GROW_CAP (1u << 20)
#define MAX_ENTRIES (1u << 24)

typedef struct { uint32_t desc_off, initial, max, init_off, elem_type, reserved; } table_entry;
typedef struct { uint32_t count, entries_off, dropped; } segment_entry;

static uint32_t ntables, nsegs;
static const table_entry *tables;
static const segment_entry *segs;
static uint64_t *capacity;  /* entries each table has room for */
static uint8_t *dropped;    /* element segment k dropped (elem.drop, or active/declarative) */

static int bad(const char *what) {
  fprintf(stderr, "gate-run: bad image: tables: %s\n", what);
  return -1;
}

static uint32_t cap_of(const table_entry *t) {
  uint32_t cap = t->max != NONE && t->max < GROW_CAP ? t->max : GROW_CAP;
  return cap > t->initial ? cap : t->initial;
}

int tables_load(const uint8_t *p, uint64_t size) {
  if (!p) return 0;
  if (size < 8) return bad("truncated");
  memcpy(&ntables, p, 4);
  memcpy(&nsegs, p + 4, 4);
  if (8 + 24ull * ntables + 12ull * nsegs > size) return bad("truncated");
  tables = (const table_entry *)(p + 8);
  segs = (const segment_entry *)(p + 8 + 24ull * ntables);
  for (uint32_t k = 0; k < ntables; k++) {
    const table_entry *t = &tables[k];
    /* the code addresses table k's descriptor where the linker put it, after the globals and a
     * store's memory descriptors (docs/image-format.md, section 12): anywhere else the code would
     * read a descriptor nobody wrote */
    uint32_t memories = 0;
    if (img.store && img.store_size >= 8) memcpy(&memories, img.store + 4, 4);
    if (t->desc_off != VMCTX_GLOBALS + 8ull * img.nglobals + 16ull * ((uint64_t)memories + k)) return bad("descriptor offset");
    if (t->initial > MAX_ENTRIES || (t->max != NONE && t->max < t->initial)) return bad("table limits");
    if (t->init_off != NONE && (t->init_off > img.strings_size || 8ull * t->initial > img.strings_size - t->init_off)) return bad("initial entries outside the string table");
  }
  for (uint32_t k = 0; k < nsegs; k++) {
    const segment_entry *s = &segs[k];
    if (s->entries_off > img.strings_size || 8ull * s->count > img.strings_size - s->entries_off) return bad("segment outside the string table");
  }
  capacity = calloc(ntables + 1, sizeof *capacity);
  dropped = calloc(nsegs + 1, 1);
  if (!capacity || !dropped) return bad("out of memory");
  for (uint32_t k = 0; k < nsegs; k++) dropped[k] = segs[k].dropped != 0;
  return 0;
}

/* Bytes of the vmctx the descriptors need, and of the entries after it. */
uint64_t tables_vmctx_end(void) {
  uint64_t end = 0;
  for (uint32_t k = 0; k < ntables; k++) if (tables[k].desc_off + 16ull > end) end = tables[k].desc_off + 16ull;
  return end;
}

uint64_t tables_entry_bytes(void) {
  uint64_t n = 0;
  for (uint32_t k = 0; k < ntables; k++) n += 8ull * cap_of(&tables[k]);
  return n;
}

#define DESC_BASE(off) (*(uint64_t **)(inst.vmctx + (off)))
#define DESC_SIZE(off) (*(uint32_t *)(inst.vmctx + (off) + 8))
#define DESC_MAX(off) (*(uint32_t *)(inst.vmctx + (off) + 12))

/* Descriptors and initial entries, the entries at `area` (tables_entry_bytes() of the mapping). */
void tables_create(uint8_t *area) {
  for (uint32_t k = 0; k < ntables; k++) {
    const table_entry *t = &tables[k];
    capacity[k] = cap_of(t);
    DESC_BASE(t->desc_off) = (uint64_t *)area;
    DESC_SIZE(t->desc_off) = t->initial;
    DESC_MAX(t->desc_off) = t->max;
    if (t->init_off != NONE) memcpy(area, img.strings + t->init_off, 8ull * t->initial);
    area += 8 * capacity[k];
  }
}

/* A funcref table's initial words name linked functions: each non-null one a function of the
 * function table `ft` (section 13: count, then code offset and type id + 1 each) whose trusted
 * type is the word's low half, as the linker writes them. 0, or -1 after the message. */
int tables_check_words(const uint8_t *ft, uint32_t nfuncs) {
  for (uint32_t k = 0; k < ntables; k++) {
    const table_entry *t = &tables[k];
    if (t->init_off == NONE || t->elem_type != 0x70) continue;
    for (uint32_t j = 0; j < t->initial; j++) {
      uint64_t w;
      memcpy(&w, img.strings + t->init_off + 8ull * j, 8);
      if (!w) continue;
      uint32_t f = (uint32_t)(w >> 32), type;
      if (f >= nfuncs) return bad("a table entry names no function");
      memcpy(&type, ft + 12 + 8ull * f, 4);
      if ((uint32_t)w != type) return bad("a table entry's type is not its function's");
    }
  }
  return 0;
}

uint32_t tables_count(void) { return ntables; }
uint32_t tables_desc(uint32_t k) { return tables[k].desc_off; }
uint32_t tables_segment_count(void) { return nsegs; }
int tables_segment_dropped(uint32_t k) { return dropped[k]; }
void tables_set_segment_dropped(uint32_t k, int d) { dropped[k] = (uint8_t)d; }

static _Noreturn void bad_operand(void) {
  fputs("gate-run: bad image: table operation names no table or segment\n", stderr);
  _exit(EXIT_BAD_IMAGE);
}

/* The table routine (vmctx.fnTable). `args` is the first operand's home slot; the next ones are
 * below it. Out of bounds: TABLE_OP_TRAP, with nothing written (the generated code traps). */
uint64_t rt_table(uint64_t op, uint64_t *args, uint64_t a, uint64_t b, uint8_t *vmctx) {
  (void)vmctx;
  if (op != TABLE_OP_ELEM_DROP && a >= ntables) bad_operand();
  uint32_t desc = op != TABLE_OP_ELEM_DROP ? tables[a].desc_off : 0;
  switch (op) {
    case TABLE_OP_GET: {
      uint32_t i = (uint32_t)args[0];
      if (i >= DESC_SIZE(desc)) return TABLE_OP_TRAP;
      return DESC_BASE(desc)[i];
    }
    case TABLE_OP_SET: {
      uint32_t i = (uint32_t)args[0];
      if (i >= DESC_SIZE(desc)) return TABLE_OP_TRAP;
      DESC_BASE(desc)[i] = args[-1];
      return 0;
    }
    case TABLE_OP_SIZE:
      return DESC_SIZE(desc);
    case TABLE_OP_GROW: {
      uint64_t v = args[0];
      uint32_t n = (uint32_t)args[-1], old = DESC_SIZE(desc);
      uint64_t limit = capacity[a];
      if (DESC_MAX(desc) != NONE && DESC_MAX(desc) < limit) limit = DESC_MAX(desc);
      if ((uint64_t)old + n > limit) return NONE;
      uint64_t *e = DESC_BASE(desc);
      for (uint32_t k = 0; k < n; k++) e[old + k] = v;
      DESC_SIZE(desc) = old + n;
      return old;
    }
    case TABLE_OP_FILL: {
      uint32_t i = (uint32_t)args[0], n = (uint32_t)args[-2];
      uint64_t v = args[-1];
      if ((uint64_t)i + n > DESC_SIZE(desc)) return TABLE_OP_TRAP;
      uint64_t *e = DESC_BASE(desc);
      for (uint32_t k = 0; k < n; k++) e[i + k] = v;
      return 0;
    }
    case TABLE_OP_COPY: {
      if (b >= ntables) bad_operand();
      uint32_t sdesc = tables[b].desc_off;
      uint32_t d = (uint32_t)args[0], s = (uint32_t)args[-1], n = (uint32_t)args[-2];
      if ((uint64_t)d + n > DESC_SIZE(desc) || (uint64_t)s + n > DESC_SIZE(sdesc)) return TABLE_OP_TRAP;
      memmove(DESC_BASE(desc) + d, DESC_BASE(sdesc) + s, 8ull * n);
      return 0;
    }
    case TABLE_OP_INIT: {
      if (b >= nsegs) bad_operand();
      uint32_t d = (uint32_t)args[0], s = (uint32_t)args[-1], n = (uint32_t)args[-2];
      uint32_t count = dropped[b] ? 0 : segs[b].count;
      if ((uint64_t)s + n > count || (uint64_t)d + n > DESC_SIZE(desc)) return TABLE_OP_TRAP;
      memcpy(DESC_BASE(desc) + d, img.strings + segs[b].entries_off + 8ull * s, 8ull * n);
      return 0;
    }
    case TABLE_OP_ELEM_DROP:
      if (b >= nsegs) bad_operand();
      dropped[b] = 1;
      return 0;
  }
  bad_operand();
}
