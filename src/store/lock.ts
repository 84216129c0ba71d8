import { BusyError } from "../errors.ts";

/**
 * The roles that take a lock: one collector, one model writer (detect, model import) and one
 * capture import (two at once could both store a file's rounds, or both resume its import).
 */
export type LockRole = "collect" | "detect" | "import";

/** Every role, for the list of files that belong to a database. */
export const LOCK_ROLES: readonly LockRole[] = ["collect", "detect", "import"];

/** The lock file of `role` beside the database at `dbPath`. */
export function lockPath(dbPath: string, role: LockRole): string {
  return `${dbPath}.${role}.lock`;
}

/**
 * Takes the lock of one role on a database: an exclusive `flock` on `DB.ROLE.lock` beside it.
 * The kernel drops the lock when the process dies, even by SIGKILL, so a crashed run never
 * blocks the next. Throws {@linkcode BusyError} at once when held.
 */
export function lockRole(dbPath: string, role: LockRole): Disposable {
  const path = lockPath(dbPath, role);
  const file = Deno.openSync(path, { create: true, write: true, mode: 0o600 });
  if (!file.tryLockSync(true)) {
    file.close();
    throw new BusyError(
      `Another pad ${role} is running on ${dbPath} (it holds ${path}); this run did nothing`,
    );
  }
  return {
    [Symbol.dispose]() {
      file.close(); // closing the descriptor releases the lock
    },
  };
}
