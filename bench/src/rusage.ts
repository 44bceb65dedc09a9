/**
 * Preloaded (`node --require`) into a process the compile benchmark measures: at exit it writes the
 * process's CPU time (getrusage: all its threads) and peak resident memory as JSON to the file
 * named by WAGC_BENCH_RUSAGE. The peak is /proc/self/status's VmHWM, not getrusage's maxrss, which
 * keeps the peak of the process it was forked from (the benchmark's own) across the exec.
 */
import { readFileSync, writeFileSync } from 'fs';

const file = process.env.WAGC_BENCH_RUSAGE;
if (file) {
  process.on('exit', () => {
    const r = process.resourceUsage();
    const hwm = /^VmHWM:\s*(\d+) kB/m.exec(readFileSync('/proc/self/status', 'utf8'));
    writeFileSync(file, JSON.stringify({ userMs: r.userCPUTime / 1000, systemMs: r.systemCPUTime / 1000, maxRssKb: hwm ? Number(hwm[1]) : r.maxRSS }));
  });
}
