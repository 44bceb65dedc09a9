/* String processing of stdin: lines, words and characters counted; word frequencies in a hash
 * table, the most frequent printed in a fixed order; each line reversed, title-cased and with
 * its vowels squeezed; strtok, strstr, strspn and a hand-rolled replace. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct entry { char *word; int count; struct entry *next; } entry;
#define BUCKETS 1024
static entry *table[BUCKETS];
static int distinct;

static unsigned hash(const char *s) { unsigned h = 2166136261u; while (*s) h = (h ^ (unsigned char)*s++) * 16777619u; return h; }

static void count_word(const char *w) {
  unsigned h = hash(w) % BUCKETS;
  for (entry *e = table[h]; e; e = e->next) if (strcmp(e->word, w) == 0) { e->count++; return; }
  entry *e = malloc(sizeof *e);
  e->word = strdup(w);
  e->count = 1;
  e->next = table[h];
  table[h] = e;
  distinct++;
}

static int by_count(const void *a, const void *b) {
  const entry *x = *(entry *const *)a, *y = *(entry *const *)b;
  if (x->count != y->count) return y->count - x->count;
  return strcmp(x->word, y->word);
}

static char *replace_all(const char *s, const char *from, const char *to) {
  size_t n = 0, fl = strlen(from), tl = strlen(to);
  for (const char *p = s; (p = strstr(p, from)); p += fl) n++;
  char *out = malloc(strlen(s) + n * (tl > fl ? tl - fl : 0) + 1), *o = out;
  for (const char *p = s, *q; ; p = q + fl) {
    q = strstr(p, from);
    if (!q) { strcpy(o, p); break; }
    memcpy(o, p, (size_t)(q - p));
    o += q - p;
    memcpy(o, to, tl);
    o += tl;
  }
  return out;
}

int main(void) {
  char line[4096];
  long lines = 0, words = 0, chars = 0, letters = 0, digits = 0, spaces = 0, upper = 0, punct = 0;
  while (fgets(line, sizeof line, stdin)) {
    size_t len = strlen(line);
    chars += (long)len;
    if (len && line[len - 1] == '\n') line[--len] = 0;
    lines++;
    for (size_t k = 0; k < len; k++) {
      unsigned char c = (unsigned char)line[k];
      letters += isalpha(c) != 0;
      digits += isdigit(c) != 0;
      spaces += isspace(c) != 0;
      upper += isupper(c) != 0;
      punct += ispunct(c) != 0;
    }
    char reversed[4096], titled[4096], squeezed[4096];
    for (size_t k = 0; k < len; k++) reversed[k] = line[len - 1 - k];
    reversed[len] = 0;
    int start = 1;
    for (size_t k = 0; k <= len; k++) {
      unsigned char c = (unsigned char)line[k];
      titled[k] = (char)(start ? toupper(c) : tolower(c));
      start = !isalnum(c);
    }
    size_t j = 0;
    for (size_t k = 0; k < len; k++) if (!strchr("aeiouAEIOU", line[k]) || (j && squeezed[j - 1] != line[k])) squeezed[j++] = line[k];
    squeezed[j] = 0;
    char *swapped = replace_all(line, "the", "THE");
    printf("%3ld| %s\n   < %s\n   T %s\n   s %s\n   r %s\n", lines, line, reversed, titled, squeezed, swapped);
    free(swapped);
    char copy[4096];
    strcpy(copy, line);
    for (char *save = NULL, *w = strtok_r(copy, " \t,.;:!?\"()-", &save); w; w = strtok_r(NULL, " \t,.;:!?\"()-", &save)) {
      for (char *p = w; *p; p++) *p = (char)tolower((unsigned char)*p);
      count_word(w);
      words++;
    }
    printf("   leading blanks %zu, first word length %zu\n", strspn(line, " \t"), strcspn(line + strspn(line, " \t"), " \t"));
  }
  printf("lines %ld words %ld chars %ld letters %ld digits %ld spaces %ld upper %ld punct %ld distinct %d\n", lines, words,
         chars, letters, digits, spaces, upper, punct, distinct);
  entry **all = malloc(sizeof *all * (size_t)(distinct ? distinct : 1));
  int n = 0;
  for (int b = 0; b < BUCKETS; b++) for (entry *e = table[b]; e; e = e->next) all[n++] = e;
  qsort(all, (size_t)n, sizeof *all, by_count);
  for (int k = 0; k < n && k < 12; k++) printf("%2d. %-14s %d\n", k + 1, all[k]->word, all[k]->count);
  return lines ? 0 : 2;
}
