/**
 * Replacing a file so that a reader sees the old content or the new, never a part: the data is
 * written to a new temporary file beside it, flushed to disk, and renamed over it. The Prometheus
 * textfile, the HTML report and model files are written this way.
 *
 * @module
 */
import { basename, dirname, join, resolve } from "node:path";
import { errorMessage, PadError } from "./errors.ts";

const encoder = new TextEncoder();

/**
 * Writes `data` to `path` atomically with `mode`, set explicitly so the umask neither hides the
 * file from a reader running as another user (node_exporter) nor widens a private one. The
 * temporary file is created new (never written through an existing file or link) in the same
 * directory, since a rename is atomic only within one file system. Errors are one line:
 * "Cannot write PATH: why".
 */
export function writeFileAtomic(path: string, data: string | Uint8Array, mode: number): void {
  const dir = dirname(resolve(path));
  try {
    if (!Deno.statSync(dir).isDirectory) throw new Error(`${dir} is not a directory`);
  } catch (error) {
    const why = error instanceof Deno.errors.NotFound
      ? `the directory ${dir} does not exist; create it`
      : errorMessage(error);
    throw new PadError(`Cannot write ${path}: ${why}`, { cause: error });
  }
  const temporary = join(dir, `.${basename(path)}.${Deno.pid}.${crypto.randomUUID().slice(0, 8)}`);
  try {
    {
      using file = Deno.openSync(temporary, { write: true, createNew: true, mode });
      Deno.chmodSync(temporary, mode);
      const bytes = typeof data === "string" ? encoder.encode(data) : data;
      for (let at = 0; at < bytes.length;) at += file.writeSync(bytes.subarray(at));
      // Without it, a crash soon after the rename can leave an empty file under the new name.
      file.syncSync();
    }
    Deno.renameSync(temporary, path);
  } catch (error) {
    try {
      Deno.removeSync(temporary);
    } catch {
      // Never created, or renamed already: the first error is the one to show.
    }
    const why = error instanceof Deno.errors.PermissionDenied
      ? "permission denied"
      : error instanceof Deno.errors.IsADirectory
      ? "it is a directory"
      : errorMessage(error);
    throw new PadError(`Cannot write ${path}: ${why}`, { cause: error });
  }
}
