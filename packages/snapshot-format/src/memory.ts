import { SnapshotError } from './errors';
import type { MemoryInput } from './types';

export const PAGE = 65536;
const WORDS_PER_PAGE = PAGE / 4;

/** A run of memory to write as one segment: bytes [start, end). */
export interface Run {
  start: number;
  end: number;
}

/**
 * The page at `p` as 16384 little-endian words, or null when it is known to be zero (absent from
 * a page map). Views when aligned; otherwise a copy into `scratch`.
 */
function pageWords(mem: MemoryInput, p: number, scratch: Uint32Array): Uint32Array | null {
  let bytes: Uint8Array | undefined;
  if ('data' in mem) bytes = mem.data.subarray(p * PAGE, (p + 1) * PAGE);
  else {
    bytes = mem.pageMap.get(p);
    if (!bytes) return null;
  }
  if (bytes.byteOffset % 4 === 0) return new Uint32Array(bytes.buffer, bytes.byteOffset, WORDS_PER_PAGE);
  new Uint8Array(scratch.buffer).set(bytes);
  return scratch;
}

/** Checks a MemoryInput's shape against `pages`. */
export function checkMemoryInput(mem: MemoryInput): void {
  if (!Number.isInteger(mem.pages) || mem.pages < 0 || mem.pages > 65536) throw new SnapshotError(`cannot write snapshot: memory size ${mem.pages} pages is not 0 … 65536`);
  if ('data' in mem) {
    if (mem.data.length < mem.pages * PAGE) {
      throw new SnapshotError(`cannot write snapshot: memory data has ${mem.data.length} bytes, ${mem.pages} pages need ${mem.pages * PAGE}`);
    }
  } else {
    for (const [p, b] of mem.pageMap) {
      if (!Number.isInteger(p) || p < 0 || p >= mem.pages) throw new SnapshotError(`cannot write snapshot: memory page ${p} is outside the memory's ${mem.pages} pages`);
      if (b.length !== PAGE) throw new SnapshotError(`cannot write snapshot: memory page ${p} has ${b.length} bytes, not 65536`);
    }
  }
}

/**
 * The runs of non-zero memory (docs/snapshot-format.md, "The data section"): a run ends before
 * `splitWords` or more zero words; runs start and end at non-zero bytes.
 */
export function findRuns(mem: MemoryInput, splitWords: number): Run[] {
  const runs: Run[] = [];
  const scratch = new Uint32Array(WORDS_PER_PAGE);
  let open = false;
  let startByte = 0;
  let lastWord = -1; // global index of the last non-zero word
  let lastValue = 0;
  const pageList: number[] = 'data' in mem
    ? Array.from({ length: mem.pages }, (_, k) => k)
    : Array.from(mem.pageMap.keys()).sort((a, b) => a - b);
  for (const p of pageList) {
    const words = pageWords(mem, p, scratch);
    if (!words) continue;
    // whole zero pages (most of a big memory) are skipped by memcmp, not by a loop in JS
    if (Buffer.compare(Buffer.from(words.buffer, words.byteOffset, PAGE), ZERO_PAGE) === 0) continue;
    const base = p * WORDS_PER_PAGE;
    for (let w = 0; w < WORDS_PER_PAGE; w++) {
      const v = words[w];
      if (v === 0) continue;
      const g = base + w;
      if (open && g - lastWord - 1 >= splitWords) {
        runs.push({ start: startByte, end: lastWord * 4 + 1 + ((31 - Math.clz32(lastValue)) >> 3) });
        open = false;
      }
      if (!open) {
        open = true;
        startByte = g * 4 + ((31 - Math.clz32(v & -v)) >> 3);
      }
      lastWord = g;
      lastValue = v;
    }
  }
  if (open) runs.push({ start: startByte, end: lastWord * 4 + 1 + ((31 - Math.clz32(lastValue)) >> 3) });
  return runs;
}

const ZERO_PAGE = Buffer.alloc(PAGE);

/** Merges runs separated by fewer than `gapBytes` bytes (used when there are too many). */
export function mergeRuns(runs: Run[], gapBytes: number): Run[] {
  const out: Run[] = [];
  for (const r of runs) {
    const last = out[out.length - 1];
    if (last && r.start - last.end < gapBytes) last.end = r.end;
    else out.push({ start: r.start, end: r.end });
  }
  return out;
}

/** Copies memory [start, end) to `out` at `pos` (absent pages are left as the zeros `out` holds). */
export function copyRun(mem: MemoryInput, start: number, end: number, out: Uint8Array, pos: number): void {
  if ('data' in mem) {
    out.set(mem.data.subarray(start, end), pos);
    return;
  }
  let a = start;
  while (a < end) {
    const p = Math.floor(a / PAGE);
    const b = Math.min(end, (p + 1) * PAGE);
    const page = mem.pageMap.get(p);
    if (page) out.set(page.subarray(a - p * PAGE, b - p * PAGE), pos + (a - start));
    a = b;
  }
}
