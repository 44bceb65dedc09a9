/* The running instance: all mutable state (linear memory, vmctx with globals and table, the wasm
 * stack) lives in one memfd, or the --instance-file (instance_file.c), mapped MAP_SHARED (ARCHITECTURE §5).
 * Linear memory comes first, at offset 0, so that an instance file reads as the memory it holds. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include "abi.h"
#include "gate.h"

instance inst;
uint64_t instance_max_pages = 65536;

#define PAGE 65536ull
/* base + u32 index + u32 offset stays inside: 8 GiB, plus a guard for the access width */
#define RESERVATION ((8ull << 30) + PAGE)

typedef void (*entry_fn)(void *vmctx, const uint64_t *args, uint64_t nargs, void *code);

static uint64_t align_up(uint64_t v, uint64_t a) { return (v + a - 1) / a * a; }

/* The data of the image's stored page at file offset `at`, into linear memory at `to`: the page's
 * holes (zero blocks the writer left out) are neither read nor written, so the memory gets no
 * page for them. */
static void copy_page_data(uint8_t *to, uint64_t at) {
  uint64_t end = at + PAGE, pos = at;
  while (pos < end) {
    off_t data = lseek(img.fd, (off_t)pos, SEEK_DATA);
    if (data < 0) { if (errno == ENXIO) return; data = (off_t)pos; }
    if ((uint64_t)data >= end) return;
    off_t hole = lseek(img.fd, data, SEEK_HOLE);
    uint64_t stop = hole < 0 || (uint64_t)hole > end ? end : (uint64_t)hole;
    memcpy(to + ((uint64_t)data - at), img.file + data, stop - (uint64_t)data);
    pos = stop;
  }
}

/* The text and read-only data copied into a memfd at their file offsets (noexec mounts); its fd,
 * or -1. */
static int text_copy(void) {
  int m = memfd_create("gate-image-text", MFD_CLOEXEC);
  if (m < 0 || ftruncate(m, (off_t)img.file_size) < 0) return -1;
  if (pwrite(m, img.file + img.text_off, img.text_size, (off_t)img.text_off) != (ssize_t)img.text_size) return -1;
  if (img.rodata_size && pwrite(m, img.file + img.rodata_off, img.rodata_size, (off_t)img.rodata_off) != (ssize_t)img.rodata_size) return -1;
  return m;
}

#define FIELD64(off) (*(uint64_t *)(inst.vmctx + (off)))
#define FIELD32(off) (*(uint32_t *)(inst.vmctx + (off)))

int instance_create(uint64_t stack_size) {
  uint64_t ctx_need = VMCTX_GLOBALS + 8ull * img.nglobals;
  if (store_vmctx_size() > ctx_need) ctx_need = store_vmctx_size();
  if (tables_vmctx_end() > ctx_need) ctx_need = tables_vmctx_end();
  /* the tables' entries follow the vmctx, each with room to grow (tables.c) */
  uint64_t tables_at = align_up(ctx_need, 8);
  uint64_t ctx_size = align_up(tables_at + tables_entry_bytes(), PAGE);
  uint64_t max_pages = img.memory_max == 0xffffffffu ? 65536 : img.memory_max;
  /* --max-memory: memory.grow fails (-1) past it; a memory that starts larger is refused */
  if (img.has_memory && img.memory_initial > instance_max_pages) {
    fprintf(stderr, "gate-run: the program's memory starts at %u pages (%llu bytes), more than --max-memory allows (%llu bytes)\n",
            img.memory_initial, (unsigned long long)img.memory_initial * PAGE, (unsigned long long)instance_max_pages * PAGE);
    return -1;
  }
  if (max_pages > instance_max_pages) max_pages = instance_max_pages;
  uint64_t mem_off = 0, ctx_off = img.has_memory ? max_pages * PAGE : 0;
  /* the stack: STACK_HEADROOM bytes for the stubs below the program's stack_size bytes */
  uint64_t size = ctx_off + ctx_size + STACK_HEADROOM + stack_size;
  int fd;
  if (instance_file_wanted()) {
    /* the image's pages are put in the file (reflink or sparse copy), not copied below */
    fd = instance_file_create(size, mem_off);
    if (fd < 0) return -1;
  } else {
    fd = memfd_create("gate-instance", MFD_CLOEXEC);
    if (fd < 0 || ftruncate(fd, (off_t)size) < 0) {
      perror("gate-run: instance memfd");
      return -1;
    }
  }
  /* the image's fd stays open for the text mapping below (the sandbox closes it) */
  img.src_fd = -1;
  uint8_t *state = mmap(NULL, ctx_size + STACK_HEADROOM + stack_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, (off_t)ctx_off);
  if (state == MAP_FAILED) { perror("gate-run: map instance"); return -1; }
  inst.vmctx = state;
  inst.stack_base = state + ctx_size + STACK_HEADROOM;
  inst.stack_size = stack_size;

  /* text, executable, straight from the image's memfd; then, at the next 64 KiB boundary, the
   * read-only data (function table, passive data segments): readable, never executable, so no
   * byte a module chose is ever mapped executable (docs/image-format.md, section 13) */
  uint64_t span = img.rodata_at + img.rodata_size;
  if (!span) span = 65536;
  inst.text = mmap(NULL, span, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (inst.text == MAP_FAILED) { perror("gate-run: reserve text"); return -1; }
  int text_fd = img.fd;
  if (img.text_size && mmap(inst.text, img.text_size, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_FIXED, text_fd, img.text_off) == MAP_FAILED) {
    /* a file system mounted noexec refuses an executable mapping of its files: the text (and the
     * read-only data) are copied into a memfd at the same offsets and mapped from there */
    text_fd = (errno == EPERM || errno == EACCES) ? text_copy() : -1;
    if (text_fd < 0 || mmap(inst.text, img.text_size, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_FIXED, text_fd, img.text_off) == MAP_FAILED) {
      perror("gate-run: map text");
      return -1;
    }
  }
  if (img.rodata_size && mmap(inst.text + img.rodata_at, img.rodata_size, PROT_READ, MAP_PRIVATE | MAP_FIXED, text_fd, img.rodata_off) == MAP_FAILED) {
    perror("gate-run: map read-only data");
    return -1;
  }
#ifdef GATE_TEST_HOOKS
  /* GATE_RUN_TEST_MAPS: the protection of every mapping of the text's span, as the kernel has it */
  if (gate_getenv("GATE_RUN_TEST_MAPS")) {
    FILE *maps = fopen("/proc/self/maps", "r");
    char line[512];
    while (maps && fgets(line, sizeof line, maps)) {
      unsigned long lo, hi;
      char perms[8];
      if (sscanf(line, "%lx-%lx %7s", &lo, &hi, perms) != 3) continue;
      if (lo >= (uint64_t)inst.text && lo < (uint64_t)inst.text + span) {
        fprintf(stderr, "gate-run: test: text+0x%llx..0x%llx %s\n", (unsigned long long)(lo - (uint64_t)inst.text),
                (unsigned long long)(hi - (uint64_t)inst.text), perms);
      }
    }
    if (maps) fclose(maps);
  }
#endif

  /* linear memory: the whole reservation inaccessible, the file behind its maximum size, the
   * current pages read-write; memory.grow is an mprotect (ARCHITECTURE §4) */
  inst.memory = mmap(NULL, RESERVATION, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (inst.memory == MAP_FAILED) { perror("gate-run: reserve memory"); return -1; }
  inst.reservation = RESERVATION;
  if (img.has_memory) {
    if (max_pages && mmap(inst.memory, max_pages * PAGE, PROT_NONE, MAP_SHARED | MAP_FIXED, fd, mem_off) == MAP_FAILED) {
      perror("gate-run: map memory");
      return -1;
    }
    if (img.memory_initial && mprotect(inst.memory, img.memory_initial * PAGE, PROT_READ | PROT_WRITE) < 0) {
      perror("gate-run: memory");
      return -1;
    }
    for (uint32_t k = 0; !instance_file_wanted() && k < img.npages; k++) {
      uint32_t page;
      uint64_t at;
      memcpy(&page, img.memory_index + 16 * k, 4);
      memcpy(&at, img.memory_index + 16 * k + 8, 8);
      copy_page_data(inst.memory + page * PAGE, at);
    }
  }
  close(fd);

  FIELD64(VMCTX_STACK_LIMIT) = instance_stack_limit();
  FIELD64(VMCTX_MEMORY_BASE) = (uint64_t)inst.memory;
  FIELD32(VMCTX_MEMORY_PAGES) = img.has_memory ? img.memory_initial : 0;
  FIELD32(VMCTX_MEMORY_MAX_PAGES) = img.has_memory ? (uint32_t)max_pages : 0;
  FIELD64(VMCTX_TEXT_BASE) = (uint64_t)inst.text;
  FIELD64(VMCTX_FN_HOSTCALL) = (uint64_t)rt_hostcall;
  FIELD64(VMCTX_FN_TRAP) = (uint64_t)rt_trap;
  FIELD64(VMCTX_FN_GROW) = (uint64_t)rt_grow;
  FIELD64(VMCTX_FN_CHECK) = (uint64_t)rt_check;
  FIELD64(VMCTX_FN_TABLE) = (uint64_t)rt_table;
  uint8_t *table = inst.vmctx + VMCTX_GLOBALS + 8ull * img.nglobals;
  FIELD64(VMCTX_TABLE_BASE) = (uint64_t)table;
  FIELD32(VMCTX_TABLE_SIZE) = img.has_table ? img.table_initial : 0;
  FIELD32(VMCTX_TABLE_MAX) = img.has_table ? img.table_max : 0;
  FIELD64(VMCTX_STACK_TOP) = (uint64_t)(inst.stack_base + stack_size);
  if (img.nglobals) memcpy(inst.vmctx + VMCTX_GLOBALS, img.globals, 8ull * img.nglobals);
  if (store_create() < 0) return -1;
  tables_create(inst.vmctx + tables_at);
  return 0;
}

/* Calls linked function `func` through the entry stub; the result is left in the vmctx. */
uint64_t instance_call(uint32_t func, const uint64_t *args, uint64_t nargs) {
  entry_fn entry = (entry_fn)(inst.text + img.entry_stub);
  FIELD64(VMCTX_STACK_TOP) = (uint64_t)(inst.stack_base + inst.stack_size);
  entry(inst.vmctx, args, nargs, inst.text + img.funcs[func].code_start);
  return FIELD64(VMCTX_RESULT_INT);
}

/* memory.grow of the memory whose descriptor (u64 base, u32 pages, u32 max) is at vmctx + desc:
 * VMCTX_MEMORY_BASE for an ordinary image, one of section 9's for a store (the code generator
 * passes only offsets the linker gave it) */
uint32_t rt_grow(uint32_t delta, uint8_t *vmctx, uint64_t desc) {
  uint8_t *base = *(uint8_t **)(vmctx + desc);
  uint32_t old = *(uint32_t *)(vmctx + desc + 8);
  uint32_t max = *(uint32_t *)(vmctx + desc + 12);
  if (delta > max - old) return 0xffffffffu;
  if (delta && mprotect(base + old * PAGE, delta * PAGE, PROT_READ | PROT_WRITE) < 0) return 0xffffffffu;
  *(uint32_t *)(vmctx + desc + 8) = old + delta;
  return old;
}

/* The program's stack is [stack_base, stack_base + stack_size): a frame fits when its lowest
 * address (fp − frame_size) is at or above stack_base (docs/ARCHITECTURE.md, "The stack limit"). */
uint64_t instance_stack_limit(void) { return (uint64_t)inst.stack_base; }
