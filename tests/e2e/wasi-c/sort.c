/* qsort and bsearch through function pointers: records sorted by several comparators (stable
 * order made explicit by a tie-breaker), a dispatch table of operations called indirectly, and
 * a hand-written merge sort taking the comparator as a parameter, checked against qsort. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
  int id;
  int score;
  double weight;
  char name[12];
} record;

static uint32_t state = 2463534242u;
static uint32_t next(void) { /* xorshift32: the same data under every runtime */
  state ^= state << 13;
  state ^= state >> 17;
  state ^= state << 5;
  return state;
}

static int by_id(const void *a, const void *b) {
  const record *x = a, *y = b;
  return (x->id > y->id) - (x->id < y->id);
}
static int by_score_then_id(const void *a, const void *b) {
  const record *x = a, *y = b;
  if (x->score != y->score) return x->score < y->score ? -1 : 1;
  return by_id(a, b);
}
static int by_name_then_id(const void *a, const void *b) {
  int c = strcmp(((const record *)a)->name, ((const record *)b)->name);
  return c ? c : by_id(a, b);
}
static int by_weight_desc(const void *a, const void *b) {
  const record *x = a, *y = b;
  if (x->weight != y->weight) return x->weight > y->weight ? -1 : 1;
  return by_id(a, b);
}
static int cmp_int(const void *a, const void *b) {
  int x = *(const int *)a, y = *(const int *)b;
  return (x > y) - (x < y);
}

typedef int (*comparator)(const void *, const void *);

static void merge_sort(record *a, record *tmp, size_t n, comparator cmp) {
  if (n < 2) return;
  size_t h = n / 2;
  merge_sort(a, tmp, h, cmp);
  merge_sort(a + h, tmp, n - h, cmp);
  size_t i = 0, j = h, k = 0;
  while (i < h && j < n) tmp[k++] = cmp(&a[j], &a[i]) < 0 ? a[j++] : a[i++];
  while (i < h) tmp[k++] = a[i++];
  while (j < n) tmp[k++] = a[j++];
  memcpy(a, tmp, n * sizeof *a);
}

static long sum_scores(const record *r, size_t n) { long s = 0; for (size_t k = 0; k < n; k++) s += r[k].score; return s; }
static long max_score(const record *r, size_t n) { long m = r[0].score; for (size_t k = 1; k < n; k++) if (r[k].score > m) m = r[k].score; return m; }
static long count_even(const record *r, size_t n) { long c = 0; for (size_t k = 0; k < n; k++) c += r[k].score % 2 == 0; return c; }

#define N 2000

int main(void) {
  static record recs[N], copy[N], tmp[N];
  static const char *syll[] = { "ka", "lo", "mi", "nu", "ra", "te", "zo", "bi" };
  for (int k = 0; k < N; k++) {
    recs[k].id = (int)(next() % 100000);
    recs[k].score = (int)(next() % 1000) - 500;
    recs[k].weight = (double)(next() % 10000) / 100.0;
    snprintf(recs[k].name, sizeof recs[k].name, "%s%s%s", syll[next() % 8], syll[next() % 8], syll[next() % 8]);
  }
  const struct { const char *name; comparator cmp; } orders[] = {
    { "id", by_id }, { "score", by_score_then_id }, { "name", by_name_then_id }, { "weight desc", by_weight_desc },
  };
  for (size_t o = 0; o < sizeof orders / sizeof orders[0]; o++) {
    memcpy(copy, recs, sizeof recs);
    qsort(copy, N, sizeof *copy, orders[o].cmp);
    memcpy(tmp, recs, sizeof recs);
    static record merged[N];
    memcpy(merged, recs, sizeof recs);
    merge_sort(merged, tmp, N, orders[o].cmp);
    int sorted = 1;
    for (int k = 1; k < N; k++) if (orders[o].cmp(&copy[k - 1], &copy[k]) > 0) sorted = 0;
    printf("by %-12s sorted=%d same-as-merge-sort=%d first=(%d %d %.2f %s) last=(%d %d %.2f %s)\n", orders[o].name, sorted,
           memcmp(copy, merged, sizeof copy) == 0, copy[0].id, copy[0].score, copy[0].weight, copy[0].name,
           copy[N - 1].id, copy[N - 1].score, copy[N - 1].weight, copy[N - 1].name);
    for (int k = 0; k < N; k += 400) printf("  %4d: %6d %5d %7.2f %s\n", k, copy[k].id, copy[k].score, copy[k].weight, copy[k].name);
  }
  /* bsearch over ids */
  memcpy(copy, recs, sizeof recs);
  qsort(copy, N, sizeof *copy, by_id);
  int found = 0;
  for (int k = 0; k < N; k += 7) {
    record key = { .id = recs[k].id };
    record *hit = bsearch(&key, copy, N, sizeof *copy, by_id);
    found += hit && hit->id == recs[k].id;
  }
  record missing = { .id = 100001 };
  printf("bsearch: %d of %d found, missing id %s\n", found, (N + 6) / 7, bsearch(&missing, copy, N, sizeof *copy, by_id) ? "found" : "absent");
  /* a table of operations called through pointers */
  long (*ops[])(const record *, size_t) = { sum_scores, max_score, count_even };
  const char *op_names[] = { "sum", "max", "even" };
  for (size_t k = 0; k < 3; k++) printf("%s = %ld\n", op_names[k], ops[k](recs, N));
  int ints[1000];
  for (int k = 0; k < 1000; k++) ints[k] = (int)next();
  qsort(ints, 1000, sizeof *ints, cmp_int);
  long long check = 0;
  for (int k = 0; k < 1000; k++) check = check * 31 + ints[k];
  printf("ints: min %d max %d median %d checksum %lld\n", ints[0], ints[999], ints[500], check);
  return 0;
}
