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

  constructor(reason: string, offset: number, funcIndex = -1, section?: string) {
    const where: string[] = [];
    if (section) where.push(`in ${section} section`);
    if (funcIndex >= 0) where.push(`in function ${funcIndex}`);
    if (offset >= 0) where.push(`at offset ${offset}`);
    super(where.length ? `${reason} (${where.join(', ')})` : reason);
    this.name = 'CompileError';
    this.offset = offset;
    this.reason = reason;
    this.funcIndex = funcIndex;
  }
}
