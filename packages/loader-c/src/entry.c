/* The loader's first instructions (linked with -e gate_entry, before the C library's _start):
 * SIGQUIT is blocked before anything else runs, so a suspend request that arrives while the C
 * library starts, the arguments are read or the image is mapped is kept pending instead of
 * killing the loader; main unblocks it once its handler is installed (suspend_early), and the
 * request is honoured at the program's first check (docs/sandbox.md, "Signals"). A signal that
 * arrives during execve itself, before this instruction, the kernel delivers with the default
 * action: gate-run then starts the loader again with the request (packages/cli/src/gate-run.ts). */
#if defined(__x86_64__)
__asm__(
  "  .text\n"
  "  .globl gate_entry\n"
  "  .type gate_entry, @function\n"
  "gate_entry:\n"
  "  mov %rdx, %r12\n"               /* the kernel's rdx (an exit function for _start) */
  "  pushq $4\n"                      /* the set: bit SIGQUIT - 1 */
  "  mov $14, %eax\n"                 /* rt_sigprocmask */
  "  xor %edi, %edi\n"                /* SIG_BLOCK */
  "  mov %rsp, %rsi\n"
  "  xor %edx, %edx\n"
  "  mov $8, %r10d\n"
  "  syscall\n"
  "  add $8, %rsp\n"
  "  mov %r12, %rdx\n"
  "  jmp _start\n"
  "  .size gate_entry, . - gate_entry\n");
#elif defined(__aarch64__)
__asm__(
  "  .text\n"
  "  .globl gate_entry\n"
  "  .type gate_entry, %function\n"
  "gate_entry:\n"
  "  mov x9, x0\n"                    /* the kernel's x0 (an exit function for _start) */
  "  mov x10, #4\n"                   /* the set: bit SIGQUIT - 1 */
  "  str x10, [sp, #-16]!\n"
  "  mov x0, #0\n"                    /* SIG_BLOCK */
  "  mov x1, sp\n"
  "  mov x2, #0\n"
  "  mov x3, #8\n"
  "  mov x8, #135\n"                  /* rt_sigprocmask */
  "  svc #0\n"
  "  add sp, sp, #16\n"
  "  mov x0, x9\n"
  "  b _start\n"
  "  .size gate_entry, . - gate_entry\n");
#endif
