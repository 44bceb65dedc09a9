/**
 * The one error the compiler throws for bad input. The message carries the location; the CLI
 * prints `message` on one line and exits 1.
 */
export class CompileError extends Error {
  /** Byte offset in the input module, or -1 when the error has no single location. */
  readonly offset: number;
  /** The spec's reason, without location, e.g. "unexpected end" or "type mismatch". */
  readonly reason: string;
  /** Function index (module-wide, imports included) when the error is inside a body. */
  readonly funcIndex: number;

  /**
   * Set when the module is valid WebAssembly of a proposal the compiler does not implement: the
   * proposal's name (features.ts, `notSupported`). Null for malformed, invalid or too large input.
   */
  feature: string | null = null;

  /** `item` names the entry of the section the error is in, e.g. `import 3`. */
  constructor(reason: string, offset: number, funcIndex = -1, section?: string, item?: string) {
    const where: string[] = [];
    if (section) where.push(`in ${section} section`);
    if (item) where.push(item);
    if (funcIndex >= 0) where.push(`in function ${funcIndex}`);
    if (offset >= 0) where.push(`at offset ${offset}`);
    super(where.length ? `${reason} (${where.join(', ')})` : reason);
    this.name = 'CompileError';
    this.offset = offset;
    this.reason = reason;
    this.funcIndex = funcIndex;
  }
}

/**
 * Text safe for a terminal: control characters (C0 but tab, DEL, C1, the Unicode line separators)
 * written as \xNN. Names come from untrusted modules, images and snapshots, and every message and
 * listing that shows one goes through this (issue 11: an import name with ESC]0;… set the
 * terminal's title, ESC[2J cleared the screen and \r faked a "compiled OK" line).
 */
export function printable(s: string): string {
  // eslint-disable-next-line no-control-regex
  return s.replace(/[\u0000-\u0008\u000a-\u001f\u007f-\u009f\u2028\u2029]/g, (ch) => `\\x${ch.charCodeAt(0).toString(16).padStart(2, '0')}`);
}
