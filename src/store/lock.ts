import { BusyError } from "../errors.ts";

/**
 * Takes the lock of one role (collect, detect) on a database: an exclusive `flock` on
 * `DB.ROLE.lock` beside it. The kernel drops the lock when the process dies, even by SIGKILL,
 * so a crashed run never blocks the next. Throws {@linkcode BusyError} at once when held.
 */
export function lockRole(dbPath: string, role: string): Disposable {
  const path = `${dbPath}.${role}.lock`;
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
