/* --instance-file PATH: the instance's mutable state (linear memory, vmctx, wasm stack) in a file
 * of the caller's choosing instead of the default memfd, mapped MAP_SHARED the same way, so that
 * the state outlives the loader (ARCHITECTURE §5; docs/image-format.md, "Instance file").
 *
 * The memory pages the image stores are cloned into the file by reflink (FICLONERANGE, the range
 * form of FICLONE) where the filesystem can: the file then shares the image's blocks until the
 * program writes them, and instantiation copies nothing. Elsewhere (ext4, tmpfs, another
 * filesystem than the image's) it is a sparse copy: only the data extents of each page
 * (SEEK_DATA/SEEK_HOLE) are copied, because copy_file_range writes zeros for a hole on ext4.
 * Everything else in the file is a hole until the program touches it. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>
#include "gate.h"

#define PAGE 65536ull

static const char *file_path;
static int report;

void instance_file_set(const char *path, int report_flag) {
  file_path = path;
  report = report_flag;
}

int instance_file_wanted(void) { return file_path != NULL; }

static int fail(int fd, const char *what, int e) {
  fprintf(stderr, "gate-run: --instance-file %s: %s: %s\n", file_path, what, strerror(e));
  if (fd >= 0) {
    close(fd);
    unlink(file_path); /* no half-made instance file is left behind */
  }
  return -1;
}

/* Copies [from, from + len) of src to dst at `to`, data extents only: a hole stays a hole. */
static int copy_sparse(int src, int dst, uint64_t from, uint64_t to, uint64_t len) {
  uint64_t end = from + len, at = from;
  while (at < end) {
    off_t data = lseek(src, (off_t)at, SEEK_DATA);
    if (data < 0 && errno == ENXIO) return 0; /* only a hole is left */
    if (data < 0) data = (off_t)at;            /* no SEEK_DATA here: all of it is data */
    if ((uint64_t)data >= end) return 0;
    off_t hole = lseek(src, data, SEEK_HOLE);
    uint64_t stop = hole < 0 || (uint64_t)hole > end ? end : (uint64_t)hole;
    off_t in = data, out = (off_t)(to + ((uint64_t)data - from));
    while ((uint64_t)in < stop) {
      ssize_t n = copy_file_range(src, &in, dst, &out, stop - (uint64_t)in, 0);
      if (n > 0) continue;
      /* not across these filesystems (or under an emulator without it): read and write */
      char buf[65536];
      size_t want = stop - (uint64_t)in < sizeof buf ? stop - (uint64_t)in : sizeof buf;
      ssize_t r = pread(src, buf, want, in);
      if (r <= 0) return -1;
      if (pwrite(dst, buf, (size_t)r, out) != r) return -1;
      in += r;
      out += r;
    }
    at = stop;
  }
  return 0;
}

/* Creates the file (size bytes, all holes) and puts the image's memory pages at mem_off + page ×
 * 64 KiB; returns its fd, or -1 after one line on stderr. */
int instance_file_create(uint64_t size, uint64_t mem_off) {
  int fd = open(file_path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) return fail(-1, "cannot create it", errno);
  struct stat st, ist;
  if (fstat(fd, &st) < 0) return fail(-1, "fstat", errno);
  if (img.src_fd >= 0 && fstat(img.src_fd, &ist) == 0 && st.st_dev == ist.st_dev && st.st_ino == ist.st_ino) {
    close(fd);
    fprintf(stderr, "gate-run: --instance-file %s: that is the image itself\n", file_path);
    return -1;
  }
  if (!S_ISREG(st.st_mode)) {
    close(fd);
    fprintf(stderr, "gate-run: --instance-file %s: not a regular file\n", file_path);
    return -1;
  }
  /* an old instance's blocks must not show through the holes */
  if (ftruncate(fd, 0) < 0 || ftruncate(fd, (off_t)size) < 0) return fail(fd, "cannot size it", errno);

  uint32_t cloned = 0, copied = 0;
  int clone_errno = 0;
  for (uint32_t k = 0; k < img.npages;) {
    uint32_t page;
    uint64_t at;
    memcpy(&page, img.memory_index + 16 * k, 4);
    memcpy(&at, img.memory_index + 16 * k + 8, 8);
    /* a run of pages consecutive both in memory and in the image: one clone */
    uint32_t n = 1;
    for (; k + n < img.npages; n++) {
      uint32_t p2;
      uint64_t a2;
      memcpy(&p2, img.memory_index + 16 * (k + n), 4);
      memcpy(&a2, img.memory_index + 16 * (k + n) + 8, 8);
      if (p2 != page + n || a2 != at + n * PAGE) break;
    }
    if (!clone_errno) {
      struct file_clone_range r = { .src_fd = img.src_fd, .src_offset = at, .src_length = n * PAGE,
                                    .dest_offset = mem_off + page * PAGE };
      if (ioctl(fd, FICLONERANGE, &r) == 0) {
        cloned += n;
        k += n;
        continue;
      }
      /* EOPNOTSUPP (ext4, tmpfs), EXDEV (another filesystem), EINVAL (an unaligned image), ENOTTY
       * (an emulator that does not pass the ioctl on): copy this run and every later one */
      clone_errno = errno ? errno : EOPNOTSUPP;
    }
    if (copy_sparse(img.src_fd, fd, at, mem_off + page * PAGE, n * PAGE) < 0) return fail(fd, "cannot copy the image's memory", errno);
    copied += n;
    k += n;
  }
  if (report) {
    if (copied) fprintf(stderr, "gate-run: instance file %s: %u memory pages cloned by reflink, %u copied sparse (reflink: %s)\n", file_path, cloned, copied, strerror(clone_errno));
    else fprintf(stderr, "gate-run: instance file %s: %u memory pages cloned by reflink\n", file_path, cloned);
  }
  return fd;
}
