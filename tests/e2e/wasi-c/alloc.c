/* malloc/free churn: blocks of random sizes (a few bytes to 1 MiB, so memory grows) allocated,
 * filled with a pattern, resized with realloc, freed in random order; calloc must give zeros; a
 * linked list and a growing array on top. Every block's contents are checked before it goes.
 * Prints checksums and counts (never addresses); exit status 1 if anything was corrupted. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t state = 88172645463325252ull;
static uint64_t next(void) { /* xorshift64 */
  state ^= state << 13;
  state ^= state >> 7;
  state ^= state << 17;
  return state;
}

typedef struct { unsigned char *p; size_t size; unsigned char seed; } block;

static void fill(block *b) { for (size_t k = 0; k < b->size; k++) b->p[k] = (unsigned char)(b->seed + k * 7); }
static int intact(const block *b, size_t n) {
  for (size_t k = 0; k < n; k++) if (b->p[k] != (unsigned char)(b->seed + k * 7)) return 0;
  return 1;
}

static size_t random_size(void) {
  uint64_t r = next() % 100;
  if (r < 60) return 1 + next() % 64;
  if (r < 90) return 64 + next() % 4096;
  if (r < 99) return 4096 + next() % 65536;
  return 65536 + next() % (1 << 20);
}

struct node { struct node *next; int value; char tag[20]; };

#define SLOTS 512

int main(void) {
  static block slots[SLOTS];
  unsigned long allocs = 0, frees = 0, reallocs = 0, corrupt = 0;
  uint64_t live_bytes = 0, peak = 0;
  for (int round = 0; round < 20000; round++) {
    block *b = &slots[next() % SLOTS];
    uint64_t action = next() % 10;
    if (!b->p) {
      b->size = random_size();
      b->seed = (unsigned char)next();
      b->p = malloc(b->size);
      if (!b->p) { printf("malloc(%zu) failed\n", b->size); return 1; }
      fill(b);
      allocs++;
      live_bytes += b->size;
    } else if (action < 3) {
      size_t size = random_size();
      unsigned char *p = realloc(b->p, size);
      if (!p) { printf("realloc(%zu) failed\n", size); return 1; }
      b->p = p;
      /* what survived a realloc is the old prefix */
      if (!intact(b, size < b->size ? size : b->size)) corrupt++;
      live_bytes = live_bytes - b->size + size;
      b->size = size;
      fill(b);
      reallocs++;
    } else {
      if (!intact(b, b->size)) corrupt++;
      free(b->p);
      b->p = NULL;
      live_bytes -= b->size;
      frees++;
    }
    if (live_bytes > peak) peak = live_bytes;
  }
  for (int k = 0; k < SLOTS; k++) {
    if (!slots[k].p) continue;
    if (!intact(&slots[k], slots[k].size)) corrupt++;
    free(slots[k].p);
    frees++;
  }
  printf("churn: %lu mallocs, %lu reallocs, %lu frees, peak %llu live bytes, %lu corrupted\n", allocs, reallocs, frees,
         (unsigned long long)peak, corrupt);

  int zeros = 1;
  for (int k = 0; k < 200; k++) {
    size_t n = 1 + next() % 5000;
    unsigned char *p = calloc(n, 4);
    for (size_t j = 0; j < n * 4; j++) zeros &= p[j] == 0;
    memset(p, 0xee, n * 4);
    free(p);
  }
  printf("calloc gave zeros after dirty frees: %s\n", zeros ? "yes" : "NO");
  void *huge = malloc((size_t)1 << 31);
  printf("malloc(2 GiB): %s\n", huge ? "granted" : "refused");
  free(huge);

  struct node *head = NULL;
  for (int k = 0; k < 5000; k++) {
    struct node *n = malloc(sizeof *n);
    n->value = (int)(next() % 1000);
    snprintf(n->tag, sizeof n->tag, "node-%d", k);
    n->next = head;
    head = n;
  }
  /* drop the odd values, then sum and count what is left */
  struct node **at = &head;
  int dropped = 0;
  while (*at) {
    if ((*at)->value % 2) { struct node *gone = *at; *at = gone->next; free(gone); dropped++; }
    else at = &(*at)->next;
  }
  long sum = 0;
  int left = 0;
  const char *last = "";
  for (struct node *n = head; n; n = n->next) { sum += n->value; left++; last = n->tag; }
  printf("list: dropped %d, kept %d, sum %ld, last %s\n", dropped, left, sum, last);
  while (head) { struct node *n = head->next; free(head); head = n; }

  int *arr = NULL;
  size_t len = 0, cap = 0;
  for (int k = 0; k < 300000; k++) {
    if (len == cap) { cap = cap ? cap * 2 : 4; arr = realloc(arr, cap * sizeof *arr); }
    arr[len++] = k ^ (k >> 3);
  }
  long long check = 0;
  for (size_t k = 0; k < len; k++) check += arr[k] * (long long)(k % 13);
  printf("array: %zu ints, capacity %zu, checksum %lld\n", len, cap, check);
  free(arr);
  return corrupt ? 1 : 0;
}
