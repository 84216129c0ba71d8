/**
 * Space kept aside for prune. SQLite cannot delete a row without writing: its write-ahead log
 * and shared-memory file need room, so on a disk filled to the last byte the one command that
 * would free space could not run. pad keeps a small file of zeros beside the database
 * (`DB.reserve`); prune removes it when the disk is full, does its work in short steps, and
 * makes it again once there is room.
 *
 * @module
 */

/** Bytes kept aside: a batch of deleted rows' pages in the log, and the -shm file. */
export const RESERVE_BYTES = 4 * 1024 * 1024;

/** The reserve file of the database at `dbPath`. */
export function reservePath(dbPath: string): string {
  return `${dbPath}.reserve`;
}

/** Makes the reserve if it is missing and there is room; gives up quietly when there is not. */
export function keepReserve(dbPath: string): void {
  const path = reservePath(dbPath);
  try {
    if (Deno.statSync(path).size >= RESERVE_BYTES) return;
  } catch {
    // missing: made below
  }
  try {
    writeZeros(path);
  } catch {
    try {
      Deno.removeSync(path); // a part is no reserve; the next prune tries again
    } catch {
      // nothing written
    }
  }
}

/**
 * Writes the reserve's zeros, not a sparse file: the blocks must be taken now to be given back
 * later. One 64 KiB buffer written again and again: a 4 MiB buffer written at once took 30 ms
 * (its pages faulted in one by one), a tenth of what a small import costs.
 */
function writeZeros(path: string): void {
  const zeros = new Uint8Array(64 * 1024);
  using file = Deno.openSync(path, { write: true, create: true, truncate: true, mode: 0o600 });
  for (let written = 0; written < RESERVE_BYTES; written += zeros.length) {
    for (let at = 0; at < zeros.length;) at += file.writeSync(zeros.subarray(at));
  }
}

/** Removes the reserve; true if there was one to give back. */
export function releaseReserve(dbPath: string): boolean {
  try {
    Deno.removeSync(reservePath(dbPath));
    return true;
  } catch {
    return false;
  }
}
