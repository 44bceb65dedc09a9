/* WASI files on a preopened directory (gate-run --dir, node:wasi preopens): wasi-libc's stdio,
 * stat, directories, rename and unlink, and raw path_open calls that try to leave the preopen.
 * Prints what it sees; the test runs it under both and compares. argv[1] is the preopen's
 * guest name. Expects in it: a file "in.txt" (hello\n), a symlink "link-in" -> "in.txt", a
 * symlink "link-out" -> "../outside.txt" and "abs-out" -> "/etc/hostname". */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <wasi/api.h>

static char path[512];
static const char *at(const char *root, const char *name) {
  snprintf(path, sizeof path, "%s/%s", root, name);
  return path;
}

static int cmp(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static void list(const char *dir) {
  DIR *d = opendir(dir);
  if (!d) { printf("opendir %s: %s\n", dir, strerror(errno)); return; }
  char *names[64];
  int n = 0;
  struct dirent *e;
  while ((e = readdir(d)) && n < 64) {
    if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
    names[n++] = strdup(e->d_name);
  }
  closedir(d);
  qsort(names, n, sizeof names[0], cmp);
  printf("%s:", dir);
  for (int k = 0; k < n; k++) printf(" %s", names[k]);
  printf("\n");
}

static void raw_open(const char *p, int follow) {
  __wasi_fd_t fd;
  __wasi_errno_t e = __wasi_path_open(3, follow ? __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW : 0, p, 0,
                                      __WASI_RIGHTS_FD_READ, 0, 0, &fd);
  printf("path_open(%s, follow %d): %s\n", p, follow, e ? strerror(e) : "ok");
  if (!e) (void)__wasi_fd_close(fd);
}

int main(int argc, char **argv) {
  const char *root = argc > 1 ? argv[1] : "/o";
  char buf[256];
  /* read a file the host put there */
  FILE *f = fopen(at(root, "in.txt"), "r");
  if (!f) { printf("fopen in.txt: %s\n", strerror(errno)); return 1; }
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  buf[n] = 0;
  printf("in.txt: %zu bytes: %s", n, buf);
  fclose(f);
  /* write, seek, tell, read back */
  f = fopen(at(root, "out.txt"), "w+");
  if (!f) { printf("fopen out.txt: %s\n", strerror(errno)); return 1; }
  for (int k = 0; k < 1000; k++) fprintf(f, "line %d\n", k);
  printf("ftell after writing: %ld\n", ftell(f));
  fseek(f, 7000, SEEK_SET);
  n = fread(buf, 1, 20, f);
  buf[n] = 0;
  printf("at 7000: %s|\n", buf);
  fseek(f, -10, SEEK_END);
  printf("ftell at end-10: %ld\n", ftell(f));
  fclose(f);
  struct stat st;
  if (stat(at(root, "out.txt"), &st) == 0) printf("stat out.txt: size %lld regular %d\n", (long long)st.st_size, S_ISREG(st.st_mode));
  else printf("stat out.txt: %s\n", strerror(errno));
  int fd = open(at(root, "out.txt"), O_RDWR);
  printf("ftruncate: %d\n", ftruncate(fd, 100));
  printf("fsync: %d\n", fsync(fd));
  if (fstat(fd, &st) == 0) printf("fstat: size %lld\n", (long long)st.st_size);
  close(fd);
  /* directories */
  printf("mkdir sub: %d\n", mkdir(at(root, "sub"), 0755));
  printf("mkdir sub again: %s\n", mkdir(at(root, "sub"), 0755) ? strerror(errno) : "ok");
  f = fopen(at(root, "sub/a.txt"), "w");
  fputs("a\n", f);
  fclose(f);
  { char from[512]; strcpy(from, at(root, "sub/a.txt")); printf("rename: %s\n", rename(from, at(root, "sub/b.txt")) ? strerror(errno) : "ok"); }
  list(root);
  list(at(root, "sub"));
  printf("stat sub/a.txt: %s\n", stat(at(root, "sub/a.txt"), &st) ? strerror(errno) : "exists");
  printf("rmdir non-empty: %s\n", rmdir(at(root, "sub")) ? strerror(errno) : "ok");
  printf("unlink: %d\n", unlink(at(root, "sub/b.txt")));
  printf("rmdir: %d\n", rmdir(at(root, "sub")));
  printf("unlink missing: %s\n", unlink(at(root, "nope")) ? strerror(errno) : "ok");
  printf("fopen missing: %s\n", fopen(at(root, "nope/x"), "r") ? "ok" : strerror(errno));
  /* symlinks: inside followed, outside refused */
  f = fopen(at(root, "link-in"), "r");
  if (f) { n = fread(buf, 1, sizeof buf - 1, f); buf[n] = 0; printf("link-in: %s", buf); fclose(f); }
  else printf("link-in: %s\n", strerror(errno));
  raw_open("link-in", 1);
  raw_open("link-in", 0);
  raw_open("link-out", 1);
  raw_open("abs-out", 1);
  raw_open("../outside.txt", 1);
  raw_open("/etc/hostname", 1);
  raw_open("sub2/../in.txt", 1);
  raw_open("./in.txt", 1);
  raw_open("in.txt/", 1);
  /* trailing slashes: a directory is asked for */
  printf("mkdir sub3/: %s\n", mkdir(at(root, "sub3/"), 0755) ? strerror(errno) : "ok");
  printf("stat in.txt/: %s\n", stat(at(root, "in.txt/"), &st) ? strerror(errno) : "ok");
  printf("unlink in.txt/: %s\n", unlink(at(root, "in.txt/")) ? strerror(errno) : "ok");
  printf("rmdir sub3/: %s\n", rmdir(at(root, "sub3/")) ? strerror(errno) : "ok");
  raw_open("", 1);
  printf("unlink out.txt: %d\n", unlink(at(root, "out.txt")));
  list(root);
  return 0;
}
