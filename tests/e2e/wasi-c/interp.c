/* A small interpreter: a tokenizer, a recursive-descent parser building a tree (malloc'd nodes),
 * and a tree-walking evaluator with recursive functions, local scopes, while/if, integer arrays
 * and print. Runs the program on stdin, or the built-in one when stdin is empty. A runtime error
 * (division by zero, index out of range, unknown name) prints a message and exits with 3; a
 * syntax error exits with 2.
 *
 *   fn fib(n) { if (n < 2) { return n; } return fib(n - 1) + fib(n - 2); }
 *   let a = array(10); let i = 0; while (i < len(a)) { a[i] = i * i; i = i + 1; }
 *   print "fib", fib(20), a[9];
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef long long val;

/* ---- tokens ---- */
enum { T_END, T_NUM, T_NAME, T_STR, T_OP };
static const char *src;
static int tok, line = 1;
static val tok_num;
static char tok_text[64];

static _Noreturn void syntax(const char *what) {
  printf("syntax error, line %d: %s (at \"%s\")\n", line, what, tok_text);
  exit(2);
}

static void next(void) {
  while (*src && (isspace((unsigned char)*src) || *src == '#')) {
    if (*src == '#') while (*src && *src != '\n') src++;
    else if (*src++ == '\n') line++;
  }
  if (!*src) { tok = T_END; strcpy(tok_text, "end of input"); return; }
  if (isdigit((unsigned char)*src)) {
    tok = T_NUM;
    tok_num = strtoll(src, (char **)&src, 10);
    snprintf(tok_text, sizeof tok_text, "%lld", tok_num);
    return;
  }
  if (isalpha((unsigned char)*src) || *src == '_') {
    int n = 0;
    while (isalnum((unsigned char)*src) || *src == '_') { if (n < 63) tok_text[n++] = *src; src++; }
    tok_text[n] = 0;
    tok = T_NAME;
    return;
  }
  if (*src == '"') {
    int n = 0;
    src++;
    while (*src && *src != '"') { if (n < 63) tok_text[n++] = *src; src++; }
    if (!*src) syntax("unterminated string");
    src++;
    tok_text[n] = 0;
    tok = T_STR;
    return;
  }
  static const char *two[] = { "==", "!=", "<=", ">=", "&&", "||" };
  for (int k = 0; k < 6; k++) if (strncmp(src, two[k], 2) == 0) { strcpy(tok_text, two[k]); src += 2; tok = T_OP; return; }
  tok_text[0] = *src++;
  tok_text[1] = 0;
  tok = T_OP;
}

static int is_op(const char *op) { return tok == T_OP && strcmp(tok_text, op) == 0; }
static int is_word(const char *w) { return tok == T_NAME && strcmp(tok_text, w) == 0; }
static void expect_op(const char *op) { if (!is_op(op)) { char m[32]; snprintf(m, sizeof m, "expected %s", op); syntax(m); } next(); }

/* ---- tree ---- */
enum { N_NUM, N_VAR, N_STR, N_BIN, N_NEG, N_NOT, N_CALL, N_INDEX, N_LET, N_ASSIGN, N_SETINDEX, N_IF, N_WHILE, N_RETURN, N_PRINT, N_BLOCK, N_EXPR };
typedef struct node {
  int kind, line;
  val num;
  char name[64];
  struct node *a, *b, *c;
  struct node **list;
  int count;
} node;

static node *mk(int kind) { node *n = calloc(1, sizeof *n); n->kind = kind; n->line = line; return n; }
static void push(node *n, node *item) { n->list = realloc(n->list, sizeof *n->list * (size_t)(n->count + 1)); n->list[n->count++] = item; }

static node *expr(void);

static node *primary(void) {
  node *n;
  if (tok == T_NUM) { n = mk(N_NUM); n->num = tok_num; next(); return n; }
  if (tok == T_STR) { n = mk(N_STR); strcpy(n->name, tok_text); next(); return n; }
  if (is_op("(")) { next(); n = expr(); expect_op(")"); return n; }
  if (is_op("-")) { next(); n = mk(N_NEG); n->a = primary(); return n; }
  if (is_op("!")) { next(); n = mk(N_NOT); n->a = primary(); return n; }
  if (tok != T_NAME) syntax("expected a value");
  char name[64];
  strcpy(name, tok_text);
  next();
  if (is_op("(")) {
    n = mk(N_CALL);
    strcpy(n->name, name);
    next();
    while (!is_op(")")) { push(n, expr()); if (!is_op(")")) expect_op(","); }
    next();
    return n;
  }
  n = mk(N_VAR);
  strcpy(n->name, name);
  if (is_op("[")) { next(); node *i = mk(N_INDEX); i->a = n; i->b = expr(); expect_op("]"); return i; }
  return n;
}

/* precedence climbing over one table of binary operators */
static const struct { const char *op; int prec; } binops[] = {
  { "||", 1 }, { "&&", 2 }, { "==", 3 }, { "!=", 3 }, { "<", 4 }, { "<=", 4 }, { ">", 4 }, { ">=", 4 },
  { "+", 5 }, { "-", 5 }, { "*", 6 }, { "/", 6 }, { "%", 6 },
};
static int prec_of(void) {
  if (tok != T_OP) return 0;
  for (size_t k = 0; k < sizeof binops / sizeof binops[0]; k++) if (strcmp(tok_text, binops[k].op) == 0) return binops[k].prec;
  return 0;
}
static node *binary(int min) {
  node *l = primary();
  for (int p; (p = prec_of()) >= min && p;) {
    node *n = mk(N_BIN);
    strcpy(n->name, tok_text);
    next();
    n->a = l;
    n->b = binary(p + 1);
    l = n;
  }
  return l;
}
static node *expr(void) { return binary(1); }

static node *block(void);
static node *statement(void) {
  node *n;
  if (is_word("let")) {
    next();
    n = mk(N_LET);
    if (tok != T_NAME) syntax("expected a name");
    strcpy(n->name, tok_text);
    next();
    expect_op("=");
    n->a = expr();
    expect_op(";");
    return n;
  }
  if (is_word("if")) {
    next(); n = mk(N_IF); expect_op("("); n->a = expr(); expect_op(")"); n->b = block();
    if (is_word("else")) { next(); n->c = is_word("if") ? statement() : block(); }
    return n;
  }
  if (is_word("while")) { next(); n = mk(N_WHILE); expect_op("("); n->a = expr(); expect_op(")"); n->b = block(); return n; }
  if (is_word("return")) { next(); n = mk(N_RETURN); n->a = expr(); expect_op(";"); return n; }
  if (is_word("print")) {
    next(); n = mk(N_PRINT);
    for (;;) { push(n, expr()); if (!is_op(",")) break; next(); }
    expect_op(";");
    return n;
  }
  node *e = expr();
  if (is_op("=")) {
    next();
    if (e->kind == N_VAR) { n = mk(N_ASSIGN); strcpy(n->name, e->name); n->a = expr(); }
    else if (e->kind == N_INDEX) { n = mk(N_SETINDEX); n->a = e; n->b = expr(); }
    else syntax("cannot assign to that");
  } else { n = mk(N_EXPR); n->a = e; }
  expect_op(";");
  return n;
}
static node *block(void) {
  node *n = mk(N_BLOCK);
  expect_op("{");
  while (!is_op("}")) { if (tok == T_END) syntax("expected }"); push(n, statement()); }
  next();
  return n;
}

/* ---- evaluation ---- */
typedef struct { char name[64]; node *params, *body; } function;
static function funcs[64];
static int nfuncs;

typedef struct var { char name[64]; val v; struct var *next; } var;
typedef struct scope { var *vars; struct scope *up; } scope;

typedef struct { val *items; val len; } array;
static array arrays[256];
static int narrays;

static int err_line;
static _Noreturn void fail(const char *what, const char *name) {
  printf("runtime error, line %d: %s%s%s\n", err_line, what, name ? " " : "", name ? name : "");
  exit(3);
}

static var *lookup(scope *s, const char *name) {
  for (; s; s = s->up) for (var *v = s->vars; v; v = v->next) if (strcmp(v->name, name) == 0) return v;
  return NULL;
}
static void define(scope *s, const char *name, val v) {
  var *x = malloc(sizeof *x);
  strcpy(x->name, name);
  x->v = v;
  x->next = s->vars;
  s->vars = x;
}
static void drop(scope *s) { while (s->vars) { var *n = s->vars->next; free(s->vars); s->vars = n; } }

static array *arr(val handle) {
  if (handle < 0 || handle >= narrays) fail("not an array", NULL);
  return &arrays[handle];
}

static int returning;
static val returned;
static long steps, calls, depth, max_depth;

static val eval(node *n, scope *s);
static void exec(node *n, scope *s);

static val call(node *n, scope *s) {
  val args[8];
  if (n->count > 8) fail("too many arguments to", n->name);
  for (int k = 0; k < n->count; k++) args[k] = eval(n->list[k], s);
  err_line = n->line;
  if (strcmp(n->name, "array") == 0) {
    if (narrays == 256 || args[0] < 0 || args[0] > 1000000) fail("bad array size", NULL);
    arrays[narrays].items = calloc((size_t)args[0] + 1, sizeof(val));
    arrays[narrays].len = args[0];
    return narrays++;
  }
  if (strcmp(n->name, "len") == 0) return arr(args[0])->len;
  for (int f = 0; f < nfuncs; f++) {
    if (strcmp(funcs[f].name, n->name) != 0) continue;
    if (funcs[f].params->count != n->count) fail("wrong number of arguments to", n->name);
    scope local = { NULL, NULL };
    for (int k = 0; k < n->count; k++) define(&local, funcs[f].params->list[k]->name, args[k]);
    calls++;
    if (++depth > max_depth) max_depth = depth;
    if (depth > 5000) fail("recursion too deep in", n->name);
    exec(funcs[f].body, &local);
    depth--;
    drop(&local);
    val r = returning ? returned : 0;
    returning = 0;
    return r;
  }
  fail("unknown function", n->name);
}

static val eval(node *n, scope *s) {
  steps++;
  err_line = n->line;
  switch (n->kind) {
    case N_NUM: return n->num;
    case N_VAR: { var *v = lookup(s, n->name); if (!v) fail("unknown variable", n->name); return v->v; }
    case N_NEG: return -eval(n->a, s);
    case N_NOT: return !eval(n->a, s);
    case N_CALL: return call(n, s);
    case N_INDEX: {
      array *a = arr(eval(n->a, s));
      val i = eval(n->b, s);
      if (i < 0 || i >= a->len) fail("index out of range", NULL);
      return a->items[i];
    }
    case N_BIN: {
      const char *op = n->name;
      if (strcmp(op, "&&") == 0) return eval(n->a, s) && eval(n->b, s);
      if (strcmp(op, "||") == 0) return eval(n->a, s) || eval(n->b, s);
      val l = eval(n->a, s), r = eval(n->b, s);
      err_line = n->line;
      switch (op[0]) {
        case '+': return l + r;
        case '-': return l - r;
        case '*': return l * r;
        case '/': if (!r) fail("division by zero", NULL); return l / r;
        case '%': if (!r) fail("division by zero", NULL); return l % r;
        case '=': return l == r;
        case '!': return l != r;
        case '<': return op[1] ? l <= r : l < r;
        case '>': return op[1] ? l >= r : l > r;
      }
    }
  }
  fail("cannot evaluate", NULL);
}

static void exec(node *n, scope *s) {
  if (returning) return;
  err_line = n->line;
  switch (n->kind) {
    case N_LET: define(s, n->name, eval(n->a, s)); return;
    case N_ASSIGN: { val v = eval(n->a, s); var *x = lookup(s, n->name); if (!x) fail("assignment to unknown", n->name); x->v = v; return; }
    case N_SETINDEX: {
      array *a = arr(eval(n->a->a, s));
      val i = eval(n->a->b, s), v = eval(n->b, s);
      if (i < 0 || i >= a->len) fail("index out of range", NULL);
      a->items[i] = v;
      return;
    }
    case N_IF: if (eval(n->a, s)) exec(n->b, s); else if (n->c) exec(n->c, s); return;
    case N_WHILE: while (!returning && eval(n->a, s)) exec(n->b, s); return;
    case N_RETURN: returned = eval(n->a, s); returning = 1; return;
    case N_PRINT:
      for (int k = 0; k < n->count; k++) {
        if (k) putchar(' ');
        if (n->list[k]->kind == N_STR) fputs(n->list[k]->name, stdout);
        else printf("%lld", eval(n->list[k], s));
      }
      putchar('\n');
      return;
    case N_BLOCK: {
      scope inner = { NULL, s };
      for (int k = 0; k < n->count && !returning; k++) exec(n->list[k], &inner);
      drop(&inner);
      return;
    }
    case N_EXPR: eval(n->a, s); return;
  }
}

static const char *builtin_program =
  "# the built-in program\n"
  "fn fib(n) { if (n < 2) { return n; } return fib(n - 1) + fib(n - 2); }\n"
  "fn gcd(a, b) { while (b != 0) { let t = b; b = a % b; a = t; } return a; }\n"
  "fn sieve(n) {\n"
  "  let p = array(n + 1); let count = 0; let i = 2;\n"
  "  while (i <= n) {\n"
  "    if (p[i] == 0) { count = count + 1; let j = i * i; while (j <= n) { p[j] = 1; j = j + i; } }\n"
  "    i = i + 1;\n"
  "  }\n"
  "  return count;\n"
  "}\n"
  "fn collatz(n) { let steps = 0; while (n != 1) { if (n % 2 == 0) { n = n / 2; } else { n = 3 * n + 1; } steps = steps + 1; } return steps; }\n"
  "print \"fib(22) =\", fib(22);\n"
  "print \"gcd(1071, 462) =\", gcd(1071, 462);\n"
  "print \"primes below 30000:\", sieve(30000);\n"
  "let best = 0; let arg = 0; let k = 1;\n"
  "while (k < 3000) { let c = collatz(k); if (c > best) { best = c; arg = k; } k = k + 1; }\n"
  "print \"longest collatz below 3000:\", arg, best;\n"
  "let big = 1; let n = 1; while (n <= 20) { big = big * n; n = n + 1; } print \"20! =\", big;\n";

int main(void) {
  static char buf[1 << 16];
  size_t n = fread(buf, 1, sizeof buf - 1, stdin);
  buf[n] = 0;
  src = n ? buf : builtin_program;
  next();
  node *prog = mk(N_BLOCK);
  while (tok != T_END) {
    if (is_word("fn")) {
      next();
      if (tok != T_NAME || nfuncs == 64) syntax("expected a function name");
      function *f = &funcs[nfuncs++];
      strcpy(f->name, tok_text);
      next();
      f->params = mk(N_BLOCK);
      expect_op("(");
      while (!is_op(")")) {
        if (tok != T_NAME) syntax("expected a parameter");
        node *p = mk(N_VAR);
        strcpy(p->name, tok_text);
        push(f->params, p);
        next();
        if (!is_op(")")) expect_op(",");
      }
      next();
      f->body = block();
    } else push(prog, statement());
  }
  scope global = { NULL, NULL };
  for (int k = 0; k < prog->count; k++) exec(prog->list[k], &global);
  printf("[%d functions, %ld evaluations, %ld calls, deepest %ld]\n", nfuncs, steps, calls, max_depth);
  return 0;
}
