/* The program's file descriptors and the preopened directories of `--dir HOST::GUEST`
 * (docs/sandbox.md, "Files"; docs/ARCHITECTURE.md, "Host calls").
 *
 * Guest fds are not host fds: guest 0-2 are the loader's stdio, guest 3.. the preopens in
 * command-line order, then what path_open returns (lowest free number). A guest path is resolved
 * here one component at a time from the preopen's directory fd, never by the kernel from a
 * string: every component is opened with O_NOFOLLOW relative to the directory before it, `..`
 * pops back to a directory already walked (never above the preopen), an absolute path or symlink
 * target is refused, and a relative symlink is spliced into the rest of the path (40 at most, as
 * the kernel). The same walk runs on both arches (qemu-user 7.2 has no openat2), so a program
 * sees the same answers everywhere. Landlock (sandbox.c) is the second wall beneath it. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "abi.h"
#include "gate.h"

#define MAX_PREOPENS 16
#define MAX_LINKS 40
#define MAX_DEPTH 64
/* a path that would leave its preopen: not a Linux errno; the library maps it to WASI ENOTCAPABLE */
#define E_NOTCAPABLE 1000

typedef struct {
  int host;      /* host fd, -1: free */
  uint64_t info; /* the packed HOSTCALL_FD_STAT answer */
  int preopen;   /* index in pre[] or -1 */
  uint64_t dir_pos; /* directories: the next fd_readdir cookie the host fd is positioned at */
} guest_fd;

static guest_fd fds[FILES_MAX_FDS];
static struct { const char *host, *guest; } pre[MAX_PREOPENS];
static int npre;
/* files path_open made that are open now (preopens and stdio not counted) */
static int nopen;

int files_add_dir(const char *spec) {
  if (npre == MAX_PREOPENS) {
    fprintf(stderr, "gate-run: --dir: at most %d directories\n", MAX_PREOPENS);
    return -1;
  }
  const char *sep = strstr(spec, "::");
  char *host = strdup(spec);
  if (!host) abort();
  const char *guest = sep ? sep + 2 : "";
  if (sep) host[sep - spec] = 0;
  if (!sep || !host[0] || !guest[0]) {
    fprintf(stderr, "gate-run: --dir %s: expected HOST::GUEST (two non-empty paths)\n", spec);
    return -1;
  }
  pre[npre].host = host;
  pre[npre].guest = guest;
  npre++;
  return 0;
}

/*
 * File systems a preopen never reaches (docs/sandbox.md, "Files"): those that show the kernel's
 * and other processes' state rather than files (/proc/self/mem writes the loader's own text,
 * /proc/self/environ is the host's environment), by their statfs magic. A directory on one is
 * not entered, a file on one not opened: ENOTCAPABLE, as for a path leaving the preopen.
 */
static const struct { unsigned long magic; const char *name; } pseudo[] = {
  { 0x9fa0, "proc" },             /* PROC_SUPER_MAGIC */
  { 0x62656572, "sysfs" },        /* SYSFS_MAGIC */
  { 0x64626720, "debugfs" },      /* DEBUGFS_MAGIC */
  { 0x74726163, "tracefs" },      /* TRACEFS_MAGIC */
  { 0x73636673, "securityfs" },   /* SECURITYFS_MAGIC */
  { 0x27e0eb, "cgroup" },         /* CGROUP_SUPER_MAGIC */
  { 0x63677270, "cgroup2" },      /* CGROUP2_SUPER_MAGIC */
  { 0xcafe4a11, "bpf" },          /* BPF_FS_MAGIC */
  { 0x1cd1, "devpts" },           /* DEVPTS_SUPER_MAGIC */
  { 0x6165676c, "pstore" },       /* PSTOREFS_MAGIC */
  { 0xde5e81e4, "efivarfs" },     /* EFIVARFS_MAGIC */
  { 0x62656570, "configfs" },     /* CONFIGFS_MAGIC */
  { 0x65735543, "fusectl" },      /* FUSE_CTL_SUPER_MAGIC */
  { 0x42494e4d, "binfmt_misc" },  /* BINFMTFS_MAGIC */
  { 0x19800202, "mqueue" },       /* MQUEUE_MAGIC */
  { 0x6e736673, "nsfs" },         /* NSFS_MAGIC */
  { 0xf97cff8c, "selinuxfs" },    /* SELINUX_MAGIC */
  { 0x43415d53, "smackfs" },      /* SMACK_MAGIC */
  { 0x67596969, "rpc_pipefs" },   /* RPCAUTH_GSSMAGIC */
  { 0x6e667364, "nfsd" },         /* NFSD_MAGIC */
};

/* The pseudo file system `fd` is on, or NULL (also NULL when fstatfs fails: the caller's next
 * step fails then, or the file is an ordinary one). */
static const char *pseudo_fs(int fd) {
  struct statfs sf;
  if (fstatfs(fd, &sf) < 0) return NULL;
  for (size_t k = 0; k < sizeof pseudo / sizeof pseudo[0]; k++) {
    if ((unsigned long)(uint32_t)sf.f_type == pseudo[k].magic) return pseudo[k].name;
  }
  return NULL;
}

int files_preopen_count(void) { return npre; }

int files_preopen_fd(int k) { return fds[3 + k].host; }

/* WASI filetype of a stat mode; pipes as node:wasi (libuv) reports them: stream sockets */
static uint64_t filetype(mode_t m) {
  if (S_ISREG(m)) return FILETYPE_REGULAR_FILE;
  if (S_ISDIR(m)) return FILETYPE_DIRECTORY;
  if (S_ISCHR(m)) return FILETYPE_CHARACTER_DEVICE;
  if (S_ISBLK(m)) return FILETYPE_BLOCK_DEVICE;
  if (S_ISFIFO(m) || S_ISSOCK(m)) return FILETYPE_SOCKET_STREAM;
  if (S_ISLNK(m)) return FILETYPE_SYMBOLIC_LINK;
  return FILETYPE_UNKNOWN;
}

static uint64_t fdflags_of(int fl) {
  uint64_t flags = 0;
  if (fl & O_APPEND) flags |= 1;
  if (fl & O_NONBLOCK) flags |= 4;
  if ((fl & O_SYNC) == O_SYNC) flags |= 16;
  else if (fl & O_DSYNC) flags |= 2;
  return flags;
}

static uint64_t probe_fd(int fd) {
  int fl = fcntl(fd, F_GETFL);
  struct stat st;
  if (fl < 0 || fstat(fd, &st) < 0) return 0;
  int acc = fl & O_ACCMODE;
  uint64_t info = filetype(st.st_mode) | fdflags_of(fl) << 8 | FD_STAT_OPEN;
  if (acc == O_RDONLY || acc == O_RDWR) info |= FD_STAT_READABLE;
  if (acc == O_WRONLY || acc == O_RDWR) info |= FD_STAT_WRITABLE;
  if (isatty(fd)) info |= FD_STAT_TTY;
  return info;
}

/* Before the sandbox: the status of fds 0-2, and the preopened directories opened. */
int files_init(void) {
  for (int g = 0; g < FILES_MAX_FDS; g++) fds[g] = (guest_fd){ -1, 0, -1, 0 };
  for (int g = 0; g < 3; g++) {
    fds[g].info = probe_fd(g);
    if (fds[g].info) fds[g].host = g;
  }
  for (int k = 0; k < npre; k++) {
    int fd = open(pre[k].host, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
      fprintf(stderr, "gate-run: --dir %s::%s: cannot open %s: %s\n", pre[k].host, pre[k].guest, pre[k].host, strerror(errno));
      return -1;
    }
    const char *fs = pseudo_fs(fd);
    if (fs) {
      fprintf(stderr, "gate-run: --dir %s::%s: %s is on a %s file system, which shows the host's kernel and processes, not files: refused\n",
              pre[k].host, pre[k].guest, pre[k].host, fs);
      close(fd);
      return -1;
    }
    sandbox_keep_fd(fd);
    fds[3 + k] = (guest_fd){ fd, FILETYPE_DIRECTORY | FD_STAT_OPEN | FD_STAT_READABLE | FD_STAT_FILE, k, 0 };
  }
  return 0;
}

int files_host_fd(uint32_t g) { return g < FILES_MAX_FDS ? fds[g].host : -1; }

uint64_t files_info(uint32_t g) { return g < FILES_MAX_FDS && fds[g].host >= 0 ? fds[g].info : 0; }

int files_open_count(void) { return nopen; }

/* The first open file's guest fd (for messages), or -1. */
int files_first_open(void) {
  for (int g = 3 + npre; g < FILES_MAX_FDS; g++) if (fds[g].host >= 0) return g;
  return -1;
}

/* HOSTCALL_CLOSE */
int64_t files_close(uint32_t g) {
  if (g >= FILES_MAX_FDS || fds[g].host < 0) return -EBADF;
  int host = fds[g].host;
  if (fds[g].preopen < 0 && g > 2) nopen--;
  fds[g].host = -1;
  fds[g].info = 0;
  fds[g].preopen = -1;
  /* as POSIX close: the fd is gone even when close reports an error */
  int r = close(host) < 0 && errno != EINTR ? -errno : 0;
  if (nopen == 0) suspend_files_closed();
  return r;
}

/* ---- path resolution ------------------------------------------------------------------------ */

/* The directory to resolve a path against: a guest fd that is a directory opened here. */
static int dir_host(uint32_t g) {
  if (g >= FILES_MAX_FDS || fds[g].host < 0) return -EBADF;
  if (!(fds[g].info & FD_STAT_FILE)) return -EBADF;
  if ((fds[g].info & 0xff) != FILETYPE_DIRECTORY) return -ENOTDIR;
  return fds[g].host;
}

typedef struct {
  int stack[MAX_DEPTH]; /* stack[0] is the starting directory (not ours to close) */
  int depth;
  char last[NAME_MAX + 1];
  int dir_only; /* the path ended in a slash: the last component must be a directory */
} walk;

static void walk_release(walk *w, int keep_top) {
  for (int k = w->depth - (keep_top ? 1 : 0); k >= 1; k--) close(w->stack[k]);
  if (!keep_top) w->depth = 0;
}

/* The directory the last component lives in (w->stack[w->depth]), after walk_path. */
#define WALK_DIR(w) ((w)->stack[(w)->depth])

/*
 * Resolves `path` (len bytes of guest memory) from directory `base` down to the directory of its
 * last component, which goes to w->last ("." when the path names a directory itself). With
 * `follow`, a last component that is a symlink is followed too. 0, or -errno: -E_NOTCAPABLE (WASI
 * ENOTCAPABLE) for a path that leaves the directory.
 */
static int walk_path(walk *w, int base, const uint8_t *path, uint32_t len, int follow) {
  static char work[2 * PATH_MAX + 2], spliced[2 * PATH_MAX + 2];
  if (len > PATH_MAX) return -ENAMETOOLONG;
  if (memchr(path, 0, len)) return -EINVAL;
  if (len == 0) return -ENOENT;
  memcpy(work, path, len);
  work[len] = 0;
  w->stack[0] = base;
  w->depth = 0;
  w->dir_only = 0;
  int links = 0;
  const char *p = work;
  if (*p == '/') return -E_NOTCAPABLE;
  for (;;) {
    while (*p == '/') p++;
    if (!*p) {
      strcpy(w->last, ".");
      return 0;
    }
    const char *end = strchr(p, '/');
    if (!end) end = p + strlen(p);
    size_t n = (size_t)(end - p);
    if (n > NAME_MAX) { walk_release(w, 0); return -ENAMETOOLONG; }
    char comp[NAME_MAX + 1];
    memcpy(comp, p, n);
    comp[n] = 0;
    const char *rest = end;
    while (*rest == '/') rest++;
    int is_last = !*rest;
    if (strcmp(comp, ".") == 0) {
      if (is_last) { strcpy(w->last, "."); return 0; }
      p = rest;
      continue;
    }
    if (strcmp(comp, "..") == 0) {
      if (w->depth == 0) { walk_release(w, 0); return -E_NOTCAPABLE; }
      close(w->stack[w->depth--]);
      if (is_last) { strcpy(w->last, "."); return 0; }
      p = rest;
      continue;
    }
    if (is_last) {
      /* a trailing slash asks for a directory, and follows a symlink, as POSIX does */
      int dir_only = *end == '/';
      struct stat st;
      if (!(follow || dir_only) || fstatat(WALK_DIR(w), comp, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISLNK(st.st_mode)) {
        memcpy(w->last, comp, n + 1);
        w->dir_only = dir_only;
        return 0;
      }
    } else {
      int fd = openat(WALK_DIR(w), comp, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (fd >= 0) {
        /* a mount of procfs, sysfs… beneath the preopen: not entered */
        if (pseudo_fs(fd)) { close(fd); walk_release(w, 0); return -E_NOTCAPABLE; }
        if (w->depth + 1 >= MAX_DEPTH) { close(fd); walk_release(w, 0); return -ENAMETOOLONG; }
        w->stack[++w->depth] = fd;
        p = rest;
        continue;
      }
      if (errno != ENOTDIR && errno != ELOOP) { int e = errno; walk_release(w, 0); return -e; }
    }
    /* a symlink (or not a directory): read it, and go on with its target and the rest */
    char target[PATH_MAX + 1];
    ssize_t t = readlinkat(WALK_DIR(w), comp, target, PATH_MAX);
    if (t < 0) { walk_release(w, 0); return errno == EINVAL ? -ENOTDIR : -errno; }
    target[t] = 0;
    if (target[0] == '/') { walk_release(w, 0); return -E_NOTCAPABLE; }
    if (++links > MAX_LINKS) { walk_release(w, 0); return -ELOOP; }
    size_t restlen = strlen(end);
    if ((size_t)t + restlen + 1 > sizeof spliced) { walk_release(w, 0); return -ENAMETOOLONG; }
    memcpy(spliced, target, (size_t)t);
    memcpy(spliced + t, end, restlen + 1);
    memcpy(work, spliced, (size_t)t + restlen + 1);
    p = work;
  }
}

/* ---- the host calls -------------------------------------------------------------------------- */

/* HOSTCALL_PRESTAT: the guest name's length, or -EBADF for a fd that is no preopen */
int64_t files_prestat(uint32_t g) {
  if (g >= FILES_MAX_FDS || fds[g].host < 0 || fds[g].preopen < 0) return -EBADF;
  return (int64_t)strlen(pre[fds[g].preopen].guest);
}

/* HOSTCALL_PRESTAT_NAME */
int64_t files_prestat_name(uint32_t g, uint8_t *p, uint32_t len) {
  int64_t n = files_prestat(g);
  if (n < 0) return n;
  if (len < (uint64_t)n) return -ENOBUFS;
  memcpy(p, pre[fds[g].preopen].guest, (size_t)n);
  return 0;
}

static int new_guest_fd(void) {
  for (int g = 3 + npre; g < FILES_MAX_FDS; g++) if (fds[g].host < 0) return g;
  return -1;
}

/* HOSTCALL_PATH_OPEN: WASI oflags (creat 1, directory 2, excl 4, trunc 8), fdflags (append 1,
 * dsync 2, nonblock 4, rsync 8, sync 16), access (1 read, 2 write). The new guest fd or -errno. */
int64_t files_path_open(uint32_t dir, uint32_t lookup, const uint8_t *path, uint32_t len, uint32_t oflags,
                        uint32_t fdflags, uint32_t access) {
  int base = dir_host(dir);
  if (base < 0) return base;
  int g = new_guest_fd();
  if (g < 0) return -EMFILE;
  walk w;
  int r = walk_path(&w, base, path, len, lookup & 1);
  if (r < 0) return r;
  int flags = O_CLOEXEC | O_NOCTTY | O_NOFOLLOW; /* the walk followed what it was asked to */
  if (w.dir_only) flags |= O_DIRECTORY;
  if (oflags & 1) flags |= O_CREAT;
  if (oflags & 2) flags |= O_DIRECTORY;
  if (oflags & 4) flags |= O_EXCL;
  if (oflags & 8) flags |= O_TRUNC;
  if (fdflags & 1) flags |= O_APPEND;
  if (fdflags & 2) flags |= O_DSYNC;
  if (fdflags & 4) flags |= O_NONBLOCK;
  if (fdflags & 8) flags |= O_RSYNC;
  if (fdflags & 16) flags |= O_SYNC;
  if ((access & 3) == 3) flags |= O_RDWR;
  else if (access & 2) flags |= O_WRONLY;
  else flags |= O_RDONLY;
  /* device nodes are not files: opening one (a disk, /dev/mem, a terminal) is never the program's
   * to do, and some act on being opened, so they are refused before the open */
  struct stat st;
  if (fstatat(WALK_DIR(&w), w.last, &st, AT_SYMLINK_NOFOLLOW) == 0 && (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode))) {
    walk_release(&w, 0);
    return -E_NOTCAPABLE;
  }
  int fd = openat(WALK_DIR(&w), w.last, flags, 0644);
  int e = errno;
  walk_release(&w, 0);
  if (fd < 0) return -e;
  if (fstat(fd, &st) < 0) { e = errno; close(fd); return -e; }
  /* the last component itself may be a mount point of a pseudo file system, or a device swapped
   * in since the check */
  if (pseudo_fs(fd) || S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)) { close(fd); return -E_NOTCAPABLE; }
  uint64_t info = filetype(st.st_mode) | (uint64_t)(fdflags & 0x1f) << 8 | FD_STAT_OPEN | FD_STAT_FILE;
  int acc = flags & O_ACCMODE;
  if (acc == O_RDONLY || acc == O_RDWR) info |= FD_STAT_READABLE;
  if (acc == O_WRONLY || acc == O_RDWR) info |= FD_STAT_WRITABLE;
  fds[g] = (guest_fd){ fd, info, -1, 0 };
  nopen++;
  return g;
}

/* a file or directory opened here; stdio answers ESPIPE to seeks, as before --dir */
static int file_host(uint32_t g) {
  if (g >= FILES_MAX_FDS || fds[g].host < 0) return -EBADF;
  return fds[g].info & FD_STAT_FILE ? fds[g].host : -ESPIPE;
}

/* HOSTCALL_SEEK: whence 0 set, 1 cur, 2 end (WASI's order is Linux's). The new offset or -errno. */
int64_t files_seek(uint32_t g, int64_t offset, uint32_t whence) {
  int fd = file_host(g);
  if (fd < 0) return fd;
  if (whence > 2) return -EINVAL;
  if ((fds[g].info & 0xff) == FILETYPE_DIRECTORY) return -EISDIR;
  off_t r = lseek(fd, offset, (int)whence);
  return r < 0 ? -errno : (int64_t)r;
}

/* WASI filestat (64 bytes): dev @0, ino @8, filetype u8 @16, nlink @24, size @32, atim @40,
 * mtim @48, ctim @56 */
static void put_filestat(uint8_t *out, const struct stat *st) {
  uint64_t v[8] = {
    (uint64_t)st->st_dev, (uint64_t)st->st_ino, filetype(st->st_mode), (uint64_t)st->st_nlink, (uint64_t)st->st_size,
    (uint64_t)st->st_atim.tv_sec * 1000000000 + (uint64_t)st->st_atim.tv_nsec,
    (uint64_t)st->st_mtim.tv_sec * 1000000000 + (uint64_t)st->st_mtim.tv_nsec,
    (uint64_t)st->st_ctim.tv_sec * 1000000000 + (uint64_t)st->st_ctim.tv_nsec,
  };
  memcpy(out, v, 64);
}

/* HOSTCALL_FILESTAT: stdio too (fstat of the loader's own 0-2 is outside the sandbox without --dir:
 * those answer from what was probed at start) */
int64_t files_filestat(uint32_t g, uint8_t *out) {
  if (g >= FILES_MAX_FDS || fds[g].host < 0) return -EBADF;
  if (!(fds[g].info & FD_STAT_FILE)) {
    memset(out, 0, 64);
    out[16] = (uint8_t)(fds[g].info & 0xff);
    return 0;
  }
  struct stat st;
  if (fstat(fds[g].host, &st) < 0) return -errno;
  put_filestat(out, &st);
  return 0;
}

/* HOSTCALL_PATH_FILESTAT */
int64_t files_path_filestat(uint32_t dir, uint32_t lookup, const uint8_t *path, uint32_t len, uint8_t *out) {
  int base = dir_host(dir);
  if (base < 0) return base;
  walk w;
  int r = walk_path(&w, base, path, len, lookup & 1);
  if (r < 0) return r;
  struct stat st;
  r = fstatat(WALK_DIR(&w), w.last, &st, AT_SYMLINK_NOFOLLOW) < 0 ? -errno : 0;
  walk_release(&w, 0);
  if (r == 0 && w.dir_only && !S_ISDIR(st.st_mode)) r = -ENOTDIR;
  if (r == 0) put_filestat(out, &st);
  return r;
}

/* HOSTCALL_PATH_OP: 0 mkdir, 1 unlink a file, 2 remove a directory */
int64_t files_path_op(uint32_t op, uint32_t dir, const uint8_t *path, uint32_t len) {
  int base = dir_host(dir);
  if (base < 0) return base;
  if (op > 2) return -EINVAL;
  walk w;
  int r = walk_path(&w, base, path, len, 0);
  if (r < 0) return r;
  struct stat st;
  if (op == 1 && w.dir_only) {
    /* unlink("x/"): not a file, whatever x is */
    r = fstatat(WALK_DIR(&w), w.last, &st, AT_SYMLINK_NOFOLLOW) < 0 ? -errno : S_ISDIR(st.st_mode) ? -EISDIR : -ENOTDIR;
    walk_release(&w, 0);
    return r;
  }
  if (op == 0) r = mkdirat(WALK_DIR(&w), w.last, 0755);
  else r = unlinkat(WALK_DIR(&w), w.last, op == 2 ? AT_REMOVEDIR : 0);
  r = r < 0 ? -errno : 0;
  walk_release(&w, 0);
  return r;
}

/* HOSTCALL_RENAME */
int64_t files_rename(uint32_t dir1, const uint8_t *p1, uint32_t len1, uint32_t dir2, const uint8_t *p2, uint32_t len2) {
  int b1 = dir_host(dir1), b2 = dir_host(dir2);
  if (b1 < 0) return b1;
  if (b2 < 0) return b2;
  static walk w1, w2;
  int r = walk_path(&w1, b1, p1, len1, 0);
  if (r < 0) return r;
  r = walk_path(&w2, b2, p2, len2, 0);
  if (r < 0) { walk_release(&w1, 0); return r; }
  struct stat st;
  if ((w1.dir_only || w2.dir_only) && fstatat(WALK_DIR(&w1), w1.last, &st, AT_SYMLINK_NOFOLLOW) == 0 && !S_ISDIR(st.st_mode)) r = -ENOTDIR;
  else r = syscall(__NR_renameat2, WALK_DIR(&w1), w1.last, WALK_DIR(&w2), w2.last, 0) < 0 ? -errno : 0;
  walk_release(&w1, 0);
  walk_release(&w2, 0);
  return r;
}

/* HOSTCALL_SYNC: fsync, or fdatasync when data_only */
int64_t files_sync(uint32_t g, uint32_t data_only) {
  int fd = file_host(g);
  if (fd == -ESPIPE) return -EINVAL; /* stdio: as fsync on a pipe or terminal */
  if (fd < 0) return fd;
  return (data_only ? fdatasync(fd) : fsync(fd)) < 0 ? -errno : 0;
}

/* HOSTCALL_TRUNCATE */
int64_t files_truncate(uint32_t g, int64_t size) {
  int fd = file_host(g);
  if (fd == -ESPIPE) return -EINVAL;
  if (fd < 0) return fd;
  if (size < 0) return -EINVAL;
  return ftruncate(fd, size) < 0 ? -errno : 0;
}

/* linux_dirent64 */
struct dirent64_raw {
  uint64_t d_ino;
  int64_t d_off;
  unsigned short d_reclen;
  unsigned char d_type;
  char d_name[];
};

static uint8_t dirent_type(unsigned char t) {
  switch (t) {
    case DT_BLK: return FILETYPE_BLOCK_DEVICE;
    case DT_CHR: return FILETYPE_CHARACTER_DEVICE;
    case DT_DIR: return FILETYPE_DIRECTORY;
    case DT_REG: return FILETYPE_REGULAR_FILE;
    case DT_SOCK: return FILETYPE_SOCKET_STREAM;
    case DT_LNK: return FILETYPE_SYMBOLIC_LINK;
    default: return FILETYPE_UNKNOWN;
  }
}

/*
 * HOSTCALL_READDIR: WASI dirents (d_next u64 @0, d_ino u64 @8, d_namlen u32 @16, d_type u8 @20,
 * the name at 24) from entry number `cookie` on, as many as fit; the last may be cut short (the
 * program sees buf_used = buf_len and asks again with a larger buffer). A cookie is the entry's
 * position in the kernel's order, which is stable while the directory is not changed. Bytes
 * written, or -errno.
 */
int64_t files_readdir(uint32_t g, uint8_t *buf, uint32_t len, uint64_t cookie) {
  int fd = file_host(g);
  if (fd == -ESPIPE) return -ENOTDIR;
  if (fd < 0) return fd;
  if ((fds[g].info & 0xff) != FILETYPE_DIRECTORY) return -ENOTDIR;
  static uint8_t raw[32768];
  /* the host fd is where the last call left it, when that was entry `cookie` */
  uint64_t pos = fds[g].dir_pos;
  if (cookie < pos || cookie == 0) {
    if (lseek(fd, 0, SEEK_SET) < 0) return -errno;
    pos = 0;
  }
  uint32_t used = 0;
  for (;;) {
    long n = syscall(__NR_getdents64, fd, raw, sizeof raw);
    if (n < 0) return -errno;
    if (n == 0) break;
    for (long off = 0; off < n;) {
      struct dirent64_raw *d = (struct dirent64_raw *)(raw + off);
      off += d->d_reclen;
      if (pos++ < cookie) continue;
      uint8_t head[24];
      uint64_t next = pos;
      uint32_t namlen = (uint32_t)strlen(d->d_name);
      memcpy(head, &next, 8);
      memcpy(head + 8, &d->d_ino, 8);
      memcpy(head + 16, &namlen, 4);
      memset(head + 20, 0, 4);
      head[20] = dirent_type(d->d_type);
      uint32_t k = len - used < 24 ? len - used : 24;
      memcpy(buf + used, head, k);
      used += k;
      k = len - used < namlen ? len - used : namlen;
      memcpy(buf + used, d->d_name, k);
      used += k;
      if (used == len) {
        /* full: the next call starts over from the cookie it asks for */
        fds[g].dir_pos = ~0ull;
        return used;
      }
    }
  }
  fds[g].dir_pos = pos;
  return used;
}
