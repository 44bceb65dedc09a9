/* Shared by every benchmark: no libc, only the two WASI imports wagc's runtime library provides.
   The same sources also build natively (bench/src/run.ts: gcc -O2 -DBENCH_NATIVE) for the native
   column: the two imports become write(2) and _exit(2), and main() calls the program's _start. */
#ifndef BENCH_COMMON_H
#define BENCH_COMMON_H

typedef unsigned char u8;
typedef unsigned int u32;
typedef int i32;
typedef unsigned long long u64;
typedef long long i64;
typedef unsigned long size_t;

typedef struct { const void *buf; size_t len; } ciovec;

#ifndef BENCH_NATIVE
__attribute__((import_module("wasi_snapshot_preview1"), import_name("fd_write")))
int wasi_fd_write(int fd, const ciovec *iovs, size_t count, size_t *written);
__attribute__((import_module("wasi_snapshot_preview1"), import_name("proc_exit"), noreturn))
void wasi_proc_exit(int status);

#define EXPORT(name) __attribute__((export_name(name)))
#else
long write(int fd, const void *buf, unsigned long count);
__attribute__((noreturn)) void _exit(int status);

static int wasi_fd_write(int fd, const ciovec *iovs, size_t count, size_t *written) {
  size_t n = 0;
  for (size_t k = 0; k < count; k++) n += (size_t)write(fd, iovs[k].buf, iovs[k].len);
  *written = n;
  return 0;
}

__attribute__((noreturn)) static void wasi_proc_exit(int status) { _exit(status); }

/* The C runtime has its own _start: the program's is bench_start, called by main. */
#define _start bench_start
#define EXPORT(name)
void bench_start(void);
int main(void) {
  bench_start();
  return 0;
}
#endif

static char out_buf[256];
static size_t out_len;

static void put_str(const char *s) {
  while (*s && out_len < sizeof out_buf) out_buf[out_len++] = *s++;
}

static void put_u64(u64 v) {
  char tmp[24];
  int n = 0;
  do { tmp[n++] = (char)('0' + v % 10); v /= 10; } while (v);
  while (n && out_len < sizeof out_buf) out_buf[out_len++] = tmp[--n];
}

static void put_hex64(u64 v) {
  put_str("0x");
  for (int s = 60; s >= 0; s -= 4) {
    if (out_len < sizeof out_buf) out_buf[out_len++] = "0123456789abcdef"[(v >> s) & 15];
  }
}

static u64 f64_bits(double d) {
  union { double d; u64 u; } x;
  x.d = d;
  return x.u;
}

/* Writes the line built so far (plus a newline) to stdout. */
static void flush_line(void) {
  if (out_len < sizeof out_buf) out_buf[out_len++] = '\n';
  ciovec iov = { out_buf, out_len };
  size_t written;
  wasi_fd_write(1, &iov, 1, &written);
  out_len = 0;
}

/* Stops the program with status 1 after a failed self-check. */
static void fail(const char *what) {
  put_str("FAILED: ");
  put_str(what);
  flush_line();
  wasi_proc_exit(1);
}

/* xorshift64: deterministic pseudo-random input data, identical on every engine. */
static u64 rng_state = 0x9e3779b97f4a7c15ull;
static u64 rng_next(void) {
  u64 x = rng_state;
  x ^= x << 13;
  x ^= x >> 7;
  x ^= x << 17;
  return rng_state = x;
}

/* Hides a value from the optimiser (an empty asm that may change it), so work sizes never fold at compile time. */
#define OPAQUE(x) ({ __typeof__(x) v_ = (x); __asm__ volatile("" : "+r"(v_)); v_; })

#endif
