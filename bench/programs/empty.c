/* Does nothing: its run time under each engine is that engine's fixed start cost (process start,
   image mapping), which the benchmark measures once and reports next to the programs. */
#include "common.h"

EXPORT("_start") void _start(void) {}
