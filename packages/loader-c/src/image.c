/* Reading and checking an image (docs/image-format.md). Every offset is checked against the
 * file before use: a corrupt image is an error message, never a crash. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include "abi.h"
#include "gate.h"

image img = { .fd = -1, .src_fd = -1 };

static int image_check_meaning(void);

/* The text as the file holds it (the loader checks code bytes before mapping them). */
static const uint8_t *inst_text_of_file(void) { return img.file + img.text_off; }

static int bad(const char *what) {
  fprintf(stderr, "gate-run: bad image: %s\n", what);
  return -1;
}

static uint32_t rd32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static uint64_t rd64(const uint8_t *p) { uint64_t v; memcpy(&v, p, 8); return v; }

/* The section of `kind`, or NULL; *size receives its size. */
static const uint8_t *section(uint32_t kind, uint64_t *off, uint64_t *size) {
  uint32_t n = rd32(img.file + 20);
  for (uint32_t k = 0; k < n; k++) {
    const uint8_t *e = img.file + 24 + 24 * (size_t)k;
    if (rd32(e) == kind) {
      *off = rd64(e + 8);
      *size = rd64(e + 16);
      return img.file + *off;
    }
  }
  return NULL;
}

int image_load(const char *path) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    fprintf(stderr, "gate-run: cannot open %s: %s\n", path, strerror(errno));
    return -1;
  }
  struct stat st;
  if (fstat(fd, &st) < 0 || st.st_size < 24) { close(fd); return bad("file too small"); }
  /* the image is mapped from the file itself, never copied (issue 14: a 59 MB image starts as
   * fast as a small one, and only the pages the loader reads are resident); the text is mapped
   * executable from it too (instance.c). Like an executable, the file must not be rewritten in
   * place while it runs: wagc replaces an image atomically (a new inode), which is safe. The fd
   * is kept for the text mapping and --instance-file's clone; the sandbox closes it. */
  img.src_fd = fd;
  img.fd = fd;
  img.file_size = st.st_size;
  img.file = mmap(NULL, st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
  if (img.file == MAP_FAILED) return bad("cannot map");
  if (memcmp(img.file, "WAGCIMG\0", 8) != 0) return bad("not a wagc image (bad magic)");
  if (rd32(img.file + 8) != 1) return bad("unsupported format version");
  img.arch = rd32(img.file + 12);
  uint32_t nsec = rd32(img.file + 20);
  if (24 + 24 * (uint64_t)nsec > img.file_size) return bad("truncated section table");
  for (uint32_t k = 0; k < nsec; k++) {
    const uint8_t *e = img.file + 24 + 24 * (size_t)k;
    uint64_t off = rd64(e + 8), size = rd64(e + 16);
    if (off > img.file_size || size > img.file_size - off) return bad("section past the end of the file");
  }
  uint64_t off, size;
  if (!section(1, &img.text_off, &img.text_size)) return bad("no text section");
  if (img.text_off % 65536) return bad("text not 64 KiB-aligned");
  img.rodata_at = (img.text_size + 65535) & ~65535ull;
  if (!section(13, &img.rodata_off, &img.rodata_size)) img.rodata_size = 0;
  else if (img.rodata_off % 65536) return bad("read-only data not 64 KiB-aligned");
  else if (img.rodata_at + img.rodata_size > (1ull << 32)) return bad("text and read-only data past 4 GiB");

  const uint8_t *p = section(5, &off, &size);
  img.strings = p;
  img.strings_size = p ? size : 0;

  p = section(2, &off, &size);
  if (!p || size < 4) return bad("no function map");
  img.nfuncs = rd32(p);
  if (4 + 28 * (uint64_t)img.nfuncs > size) return bad("truncated function map");
  img.funcs = (const func_entry *)(p + 4);
  for (uint32_t k = 0; k < img.nfuncs; k++) {
    const func_entry *f = &img.funcs[k];
    if (f->code_start > img.text_size || f->code_end > img.text_size || f->code_start > f->code_end) return bad("function outside text");
    if ((uint64_t)f->name_off + f->name_len > img.strings_size) return bad("function name outside the string table");
  }

  p = section(3, &off, &size);
  if (!p || size < 4) return bad("no site map");
  img.nsites = rd32(p);
  if (4 + 28 * (uint64_t)img.nsites > size) return bad("truncated site map");
  img.sites = (const site_entry *)(p + 4);
  for (uint32_t k = 0; k < img.nsites; k++) {
    const site_entry *s = &img.sites[k];
    if (s->code_offset > img.text_size || s->func >= img.nfuncs) return bad("site outside text");
    if (k > 0 && s->code_offset < img.sites[k - 1].code_offset) return bad("site map not sorted");
  }

  p = section(4, &off, &size);
  if (!p || size < 48) return bad("no metadata");
  img.entry_stub = rd32(p);
  img.instantiation_trap = rd32(p + 4);
  img.has_memory = rd32(p + 8);
  img.memory_initial = rd32(p + 12);
  img.memory_max = rd32(p + 16);
  img.has_table = rd32(p + 20);
  img.table_initial = rd32(p + 24);
  img.table_max = rd32(p + 28);
  img.nglobals = rd32(p + 32);
  img.nstarts = rd32(p + 36);
  img.nexports = rd32(p + 40);
  img.cpu_features = rd32(p + 44);
  uint64_t need = 48 + 4 * (uint64_t)img.nstarts + 28 * (uint64_t)img.nexports + img.nglobals;
  if (need > size) return bad("truncated metadata");
  img.starts = (const uint32_t *)(p + 48);
  img.exports = (const export_entry *)(p + 48 + 4 * (size_t)img.nstarts);
  img.global_types = p + 48 + 4 * (size_t)img.nstarts + 28 * (size_t)img.nexports;
  if (img.entry_stub >= img.text_size) return bad("entry stub outside text");
  if (img.instantiation_trap > TRAP_OUT_OF_BOUNDS_TABLE) return bad("unknown instantiation trap"); /* 11 and 12 are a suspension and an exit */
  if (img.has_memory && (img.memory_initial > 65536 || (img.memory_max != 0xffffffffu && (img.memory_max > 65536 || img.memory_max < img.memory_initial)))) return bad("memory limits");
  for (uint32_t k = 0; k < img.nstarts; k++) if (img.starts[k] >= img.nfuncs) return bad("start function index");
  for (uint32_t k = 0; k < img.nexports; k++) {
    const export_entry *e = &img.exports[k];
    if ((uint64_t)e->name_off + e->name_len > img.strings_size) return bad("export name outside the string table");
    if ((uint64_t)e->types_off + e->param_count + e->result_count > img.strings_size) return bad("export types outside the string table");
    if (e->kind == 0 ? e->index >= img.nfuncs : e->index >= img.nglobals) return bad("export index");
    if (e->result_count > MAX_RESULTS) return bad("export results");
  }

  p = section(6, &off, &size);
  if ((uint64_t)img.nglobals * 8 > (p ? size : 0)) return bad("truncated globals");
  img.globals = (const uint64_t *)p;

  /* section 7 (table 0's entries) is no longer read: section 12 has every table */
  if (img.has_table && img.table_initial > (1u << 24)) return bad("table too large");

  p = section(8, &off, &size);
  if (!p || size < 8) return bad("no memory index");
  img.npages = rd32(p);
  if (8 + 16 * (uint64_t)img.npages > size) return bad("truncated memory index");
  img.memory_index = p + 8;
  for (uint32_t k = 0; k < img.npages; k++) {
    uint32_t page = rd32(img.memory_index + 16 * k);
    uint64_t at = rd64(img.memory_index + 16 * k + 8);
    if (!img.has_memory || page >= img.memory_initial) return bad("memory page outside memory");
    if (at > img.file_size || img.file_size - at < 65536) return bad("memory page past the end of the file");
  }

  uint64_t tsize = 0;
  const uint8_t *t = section(12, &off, &tsize);
  /* generated code reads every table through its descriptor (section 12): an image with a table
   * and without the section would hand it zeros or table words as descriptors */
  if (img.has_table && !t) return bad("a table without its tables section (12)");
  img.store = section(9, &off, &img.store_size);
  if (tables_load(t, tsize) < 0) return -1;

  if (store_load() < 0) return -1;
  uint64_t rsize = 0;
  const uint8_t *r = section(11, &off, &rsize);
  int resume = resume_load(r, rsize);
  if (resume < 0) return -1;
  img.resume = resume;
  uint64_t msize = 0;
  img.modules = section(10, &off, &msize);
  img.modules_size = img.modules ? msize : 0;
  /* the snapshot template (snapshot.c checks it when a snapshot is written) */
  uint64_t tsz = 0;
  img.snapshot_template = section(14, &off, &tsz);
  img.snapshot_template_size = img.snapshot_template ? tsz : 0;
  /* an image of another arch is refused by main.c, naming both; its code means nothing here */
  return img.arch == LOADER_ARCH ? image_check_meaning() : 0;
}

/*
 * What the generated code trusts, checked for meaning and not only for range (a corrupt image is
 * one line and exit 2, never a wild jump): the stubs the loader enters, the function table
 * call_indirect jumps through, every site inside its function, the data segments memory.init
 * copies from. The resume frames are checked against the site map by resume_load.
 */
static int image_check_meaning(void) {
  /* the stubs come first in the text: entry at 0, then resume (which saves what entry saves) */
  uint64_t first_function = img.text_size;
  for (uint32_t k = 0; k < img.nfuncs; k++) {
    if (img.funcs[k].frame_size && img.funcs[k].code_start < first_function) first_function = img.funcs[k].code_start;
  }
  if (img.entry_stub != 0) return bad("the entry stub is not at the start of the text");
  if (first_function < 16) return bad("no room for the stubs before the functions");
  for (uint32_t k = 0; k < img.nfuncs; k++) {
    const func_entry *f = &img.funcs[k];
    /* functions are 16-byte aligned; a host call stub or an unresolved import has no frame */
    if (f->frame_size && (f->code_start % 16 || f->code_start == f->code_end)) return bad("function not at a 16-byte boundary");
    if (f->frame_size % 8) return bad("frame size");
  }
  /* the function table starts the read-only data: a count, then (code offset, type id + 1) */
  if (img.nfuncs) {
    const uint8_t *ro = img.file + img.rodata_off;
    if (!img.rodata_size) return bad("no read-only data section (13): the function table is missing");
    if (img.rodata_size < 8 + 8ull * img.nfuncs || rd32(ro) != img.nfuncs) return bad("the function table does not list every function");
    for (uint32_t k = 0; k < img.nfuncs; k++) {
      if (rd32(ro + 8 + 8ull * k) != img.funcs[k].code_start) return bad("the function table and the function map disagree");
    }
    if (tables_check_words(ro, img.nfuncs) < 0) return -1;
  }
  for (uint32_t k = 0; k < img.nsites; k++) {
    const site_entry *s = &img.sites[k];
    const func_entry *f = &img.funcs[s->func];
    if (s->code_offset <= f->code_start || s->code_offset > f->code_end) return bad("site outside its function");
    if (s->fp_offset > f->frame_size || s->fp_offset % 8) return bad("site frame offset");
    if ((uint64_t)s->types_off + s->slot_count > img.strings_size) return bad("site slot types outside the string table");
    if (s->slot_count > f->param_count + f->frame_size / 8) return bad("site slot count");
    if (!arch_returns_after_call(inst_text_of_file(), s->code_offset)) return bad("site not after a call");
  }
  /* data segment states (section 10 says where each module's are): 0, or bytes inside the
   * read-only data, where memory.init copies from */
  if (img.modules) {
    if (img.modules_size < 4 || 4 + 48ull * rd32(img.modules) > img.modules_size) return bad("truncated modules section");
    uint32_t n = rd32(img.modules);
    for (uint32_t k = 0; k < n; k++) {
      const uint8_t *m = img.modules + 4 + 48ull * k;
      uint32_t base = rd32(m + 40), count = rd32(m + 44);
      if ((uint64_t)base + count > img.nglobals) return bad("data segment states outside the globals");
      for (uint32_t x = 0; x < count; x++) {
        uint64_t v = img.globals[base + x];
        uint64_t at = v >> 32, len = v & 0xffffffffu;
        if (!v) continue;
        if (img.global_types[base + x] != 0x7e || at < img.rodata_at || at + len > img.rodata_at + img.rodata_size) return bad("data segment state outside the read-only data");
      }
    }
  }
  return 0;
}

/* A name from the image for messages: at most 255 bytes of it, with control characters (C0, DEL,
 * and C1 as UTF-8 encodes them) written as \xNN, so that a module's names cannot drive the
 * terminal (issue 11: an import name set its title, cleared it and faked a line). */
const char *image_string(uint32_t off, uint32_t len) {
  static char buf[256 * 4 + 1];
  size_t n = len < 255 ? len : 255, o = 0;
  const uint8_t *p = img.strings + off;
  for (size_t k = 0; k < n; k++) {
    uint8_t c = p[k];
    int c1 = c == 0xc2 && k + 1 < n && p[k + 1] >= 0x80 && p[k + 1] <= 0x9f;
    if (c < 0x20 || c == 0x7f || c1) {
      o += (size_t)snprintf(buf + o, sizeof buf - o, "\\x%02x", c);
      if (c1) o += (size_t)snprintf(buf + o, sizeof buf - o, "\\x%02x", p[++k]);
    } else buf[o++] = (char)c;
  }
  buf[o] = 0;
  return buf;
}

const func_entry *image_func_at(uint64_t text_offset) {
  for (uint32_t k = 0; k < img.nfuncs; k++) {
    const func_entry *f = &img.funcs[k];
    if (text_offset >= f->code_start && text_offset < f->code_end) return f;
  }
  return NULL;
}

const site_entry *image_site_at(uint64_t text_offset) {
  uint32_t lo = 0, hi = img.nsites;
  while (lo < hi) {
    uint32_t mid = (lo + hi) / 2;
    if (img.sites[mid].code_offset < text_offset) lo = mid + 1;
    else hi = mid;
  }
  if (lo < img.nsites && img.sites[lo].code_offset == text_offset) return &img.sites[lo];
  return NULL;
}

const export_entry *image_export(const char *name, size_t len) {
  for (uint32_t k = 0; k < img.nexports; k++) {
    const export_entry *e = &img.exports[k];
    if (e->name_len == len && memcmp(img.strings + e->name_off, name, len) == 0) return e;
  }
  return NULL;
}
