/**
 * Replacing a file so that a reader sees the old content or the new, never a part: the text is
 * written to a temporary file beside it, flushed to disk, and renamed over it.
 *
 * @module
 */
import { dirname, resolve } from "node:path";
import { errorMessage, PadError } from "../errors.ts";

const encoder = new TextEncoder();

/**
 * Writes `text` to `path` atomically with `mode` (set explicitly: the umask must not hide the
 * file from a reader running as another user, such as node_exporter). The temporary file is
 * `PATH.tmp-PID` in the same directory (a rename is atomic only within one file system).
 */
export function writeFileAtomic(path: string, text: string, mode: number): void {
  const dir = dirname(resolve(path));
  try {
    if (!Deno.statSync(dir).isDirectory) throw new PadError(`${dir} is not a directory`);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) {
      throw new PadError(`Cannot write ${path}: the directory ${dir} does not exist; create it`);
    }
    throw new PadError(`Cannot write ${path}: ${errorMessage(error)}`, { cause: error });
  }
  const temporary = `${path}.tmp-${Deno.pid}`;
  try {
    {
      using file = Deno.openSync(temporary, { write: true, create: true, truncate: true, mode });
      const bytes = encoder.encode(text);
      for (let at = 0; at < bytes.length;) at += file.writeSync(bytes.subarray(at));
      // Without it, a crash soon after the rename can leave an empty file under the new name.
      file.syncSync();
    }
    Deno.chmodSync(temporary, mode);
    Deno.renameSync(temporary, path);
  } catch (error) {
    try {
      Deno.removeSync(temporary);
    } catch {
      // It may not exist (open failed) or be gone already; the first error is the one to show.
    }
    throw new PadError(`Cannot write ${path}: ${errorMessage(error)}`, { cause: error });
  }
}
