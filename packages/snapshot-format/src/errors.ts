/**
 * Everything wrong with a snapshot, or with what was given to write one, is a SnapshotError:
 * one line naming what is wrong and, when it has one, the byte offset.
 */
export class SnapshotError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SnapshotError';
  }
}
