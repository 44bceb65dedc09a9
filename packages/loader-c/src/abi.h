/* The contract with generated code: vmctx offsets, trap ids, host call ids.
 * Mirrors packages/frontend/src/runtime/vmctx.ts (a test keeps them equal) and
 * docs/ARCHITECTURE.md. */
#ifndef GATE_ABI_H
#define GATE_ABI_H

#define VMCTX_STACK_LIMIT 0
#define VMCTX_MEMORY_BASE 8
#define VMCTX_MEMORY_PAGES 16
#define VMCTX_MEMORY_MAX_PAGES 20
#define VMCTX_TEXT_BASE 24
#define VMCTX_HOST_RSP 32
#define VMCTX_FN_HOSTCALL 40
#define VMCTX_FN_TRAP 48
#define VMCTX_FN_GROW 56
#define VMCTX_FN_CHECK 64
#define VMCTX_TABLE_BASE 72
#define VMCTX_TABLE_SIZE 80
#define VMCTX_TABLE_MAX 84
#define VMCTX_RESULT_INT 88
#define VMCTX_RESULT_FLOAT 96
#define VMCTX_STACK_TOP 104
#define VMCTX_SUSPEND_REQUESTED 112
#define VMCTX_FN_TABLE 120
#define VMCTX_GLOBALS 128

#define TRAP_UNREACHABLE 1
#define TRAP_INTEGER_DIVIDE_BY_ZERO 2
#define TRAP_INTEGER_OVERFLOW 3
#define TRAP_INVALID_CONVERSION 4
#define TRAP_OUT_OF_BOUNDS_MEMORY 5
#define TRAP_UNDEFINED_ELEMENT 6
#define TRAP_UNINITIALIZED_ELEMENT 7
#define TRAP_INDIRECT_CALL_TYPE_MISMATCH 8
#define TRAP_CALL_STACK_EXHAUSTED 9
#define TRAP_OUT_OF_BOUNDS_TABLE 10
#define TRAP_SUSPENDED 11
#define TRAP_EXIT 12
#define TRAP_COUNT 13

/* table operations of VMCTX_FN_TABLE (TableOp in vmctx.ts) */
#define TABLE_OP_GET 1
#define TABLE_OP_SET 2
#define TABLE_OP_SIZE 3
#define TABLE_OP_GROW 4
#define TABLE_OP_FILL 5
#define TABLE_OP_COPY 6
#define TABLE_OP_INIT 7
#define TABLE_OP_ELEM_DROP 8
#define TABLE_OP_TRAP 0xffffffffffffffffull

/* Meta cpu_features bits: CPU features the image's code needs beyond baseline x86-64. */
#define CPU_FEATURE_POPCNT 1
#define CPU_FEATURE_LZCNT 2
#define CPU_FEATURE_BMI1 4

#define HOSTCALL_EXIT 0
#define HOSTCALL_WRITE 1
#define HOSTCALL_READ 2
#define HOSTCALL_ARGS_SIZES 3
#define HOSTCALL_ARGS_GET 4
#define HOSTCALL_CLOCK_TIME 5
#define HOSTCALL_CLOCK_RES 6
#define HOSTCALL_RANDOM 7
#define HOSTCALL_POLL 8
#define HOSTCALL_FD_STAT 9
#define HOSTCALL_CLOSE 10
#define HOSTCALL_SCHED_YIELD 11

#endif
