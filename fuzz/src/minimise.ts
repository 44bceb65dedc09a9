/**
 * Shrinks a disagreeing generated module: greedily leaves out generator nodes (largest first;
 * statements vanish, expressions become zeros) while the same kind of disagreement persists.
 */
import { generate, type GenOptions } from './gen';
import { diffModule, type DiffOptions, type Verdict } from './diff';

export interface Minimised {
  seed: number;
  size: number;
  skip: string[];
  bytes: Uint8Array;
  verdict: Verdict;
  tries: number;
}

/** The kinds of the differences ("run", "memhash", "global g3", "compile", …). */
export function signature(differences: string[]): string {
  return differences.map((d) => d.slice(0, d.indexOf(':'))).sort().join(',');
}

const same = (a: Uint8Array, b: Uint8Array): boolean => a.length === b.length && a.every((x, k) => x === b[k]);

export async function minimise(gen: GenOptions, first: Verdict, opts: DiffOptions, budgetMs: number,
  log: (s: string) => void = () => undefined): Promise<Minimised> {
  const { seed, size } = gen;
  const deadline = Date.now() + budgetMs;
  const want = signature(first.differences);
  let skip = new Set<string>();
  let current = generate({ ...gen, skip });
  let verdict = first;
  let tries = 0;
  for (let pass = 0; Date.now() < deadline; pass++) {
    let progress = false;
    const candidates = [...current.nodes].sort((a, b) => b.size - a.size || a.id.length - b.id.length);
    for (const node of candidates) {
      if (Date.now() >= deadline) break;
      if (skip.has(node.id)) continue;
      const trial = new Set(skip).add(node.id);
      const g = generate({ ...gen, skip: trial });
      if (same(g.bytes, current.bytes)) continue; // inside a subtree already left out
      tries++;
      const v = await diffModule(g.bytes, opts);
      if (!v.skipped && v.differences.length && signature(v.differences) === want) {
        skip = trial;
        current = g;
        verdict = v;
        progress = true;
      }
    }
    log(`minimise pass ${pass}: ${current.bytes.length} bytes, ${skip.size} nodes left out, ${tries} tries`);
    if (!progress) break;
  }
  return { seed, size, skip: [...skip], bytes: current.bytes, verdict, tries };
}
