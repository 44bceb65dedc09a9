/**
 * Shrinks a disagreeing generated program: greedily leaves out generator nodes (largest first;
 * statements vanish, expressions become zeros) while the same kind of disagreement persists.
 */
import type { GenNode } from './gen';

/** A generated program: its modules' bytes and the generator nodes they were built from. */
export interface Subject { files: Uint8Array[]; nodes: GenNode[] }
export interface Check { differences: string[]; skipped?: string }

export interface Minimised {
  skip: string[];
  files: Uint8Array[];
  differences: string[];
  tries: number;
}

/** The kinds of the differences ("run", "memhash", "global g3", "compile", …). */
export function signature(differences: string[]): string {
  return differences.map((d) => d.slice(0, d.indexOf(':'))).sort().join(',');
}

const same = (a: Uint8Array[], b: Uint8Array[]): boolean =>
  a.length === b.length && a.every((x, k) => Buffer.from(x).equals(Buffer.from(b[k])));

export async function minimise(build: (skip: ReadonlySet<string>) => Subject, check: (files: Uint8Array[]) => Promise<Check>,
  first: string[], budgetMs: number, log: (s: string) => void = () => undefined): Promise<Minimised> {
  const deadline = Date.now() + budgetMs;
  const want = signature(first);
  let skip = new Set<string>();
  let current = build(skip);
  let differences = first;
  let tries = 0;
  const bytes = (s: Subject): number => s.files.reduce((n, f) => n + f.length, 0);
  for (let pass = 0; Date.now() < deadline; pass++) {
    let progress = false;
    const candidates = [...current.nodes].sort((a, b) => b.size - a.size || a.id.length - b.id.length);
    for (const node of candidates) {
      if (Date.now() >= deadline) break;
      if (skip.has(node.id)) continue;
      const trial = new Set(skip).add(node.id);
      const g = build(trial);
      if (same(g.files, current.files)) continue; // inside a subtree already left out
      tries++;
      const v = await check(g.files);
      if (!v.skipped && v.differences.length && signature(v.differences) === want) {
        skip = trial;
        current = g;
        differences = v.differences;
        progress = true;
      }
    }
    log(`minimise pass ${pass}: ${bytes(current)} bytes, ${skip.size} nodes left out, ${tries} tries`);
    if (!progress) break;
  }
  return { skip: [...skip], files: current.files, differences, tries };
}
