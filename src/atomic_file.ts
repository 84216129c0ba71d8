/**
 * Replacing a file so that a reader sees the old content or the new, never a part: the data is
 * written to a new temporary file beside it, flushed to disk, and renamed over it. The Prometheus
 * textfile, the HTML report and model files are written this way.
 *
 * Only a regular file (or a path where nothing is yet) is replaced: renaming over a device node
 * would turn `/dev/null` into a file, and over the database would destroy it. Both are refused
 * by {@linkcode checkOutputFile}, which every writer calls first.
 *
 * @module
 */
import { basename, dirname, join, resolve } from "./path.ts";
import { errorMessage, PadError, UsageError } from "./errors.ts";

const encoder = new TextEncoder();

/** Where an output file comes from and what it must never be. */
export interface OutputTarget {
  /** The flag or argument that named it, for the error message (`--prometheus`, `-o`). */
  flag: string;
  /** Files pad must not replace: the database's own (see `databaseFiles()` in the store). */
  protect?: readonly string[];
}

/**
 * Throws {@linkcode UsageError} when `path` names something pad must not replace: anything that
 * exists and is not a regular file (a device, a pipe, a socket, a directory), or one of
 * `target.protect` (the same file by device and inode, so a symbolic or hard link to the
 * database is refused too). A path where nothing exists yet is fine.
 */
export function checkOutputFile(path: string, target: OutputTarget): void {
  const info = statOrNull(path);
  if (info === null) return;
  if (!info.isFile) {
    throw new UsageError(
      `Invalid ${target.flag} "${path}": it is ${kindOf(info)}, not a regular file; ` +
        "pad replaces the files it writes whole, so give the path of a regular file",
    );
  }
  for (const protectedPath of target.protect ?? []) {
    const other = statOrNull(protectedPath);
    if (other !== null && sameFile(info, other, path, protectedPath)) {
      throw new UsageError(
        `Invalid ${target.flag} "${path}": it is pad's database or one of its files ` +
          `(${protectedPath}); choose another file`,
      );
    }
  }
}

/**
 * Writes `data` to `path` atomically with `mode`, set explicitly so the umask neither hides the
 * file from a reader running as another user (node_exporter) nor widens a private one. The
 * temporary file is created new (never written through an existing file or link) in the same
 * directory, since a rename is atomic only within one file system. The target is checked first
 * ({@linkcode checkOutputFile}); other errors are one line: "Cannot write PATH: why".
 */
export function writeFileAtomic(
  path: string,
  data: string | Uint8Array,
  mode: number,
  target: OutputTarget,
): void {
  checkOutputFile(path, target);
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

/** What a non-regular file is, in words: "a character device", "a directory", … */
export function kindOf(info: Deno.FileInfo): string {
  if (info.isDirectory) return "a directory";
  if (info.isCharDevice) return "a character device";
  if (info.isBlockDevice) return "a block device";
  if (info.isFifo) return "a named pipe";
  if (info.isSocket) return "a socket";
  return info.isFile ? "a regular file" : "not a regular file";
}

/** Whether anything exists at `path` (following links); an error reading it counts as no. */
export function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

/** `Deno.statSync` (following links), or null where nothing exists. */
function statOrNull(path: string): Deno.FileInfo | null {
  try {
    return Deno.statSync(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound || error instanceof Deno.errors.NotADirectory) {
      return null;
    }
    throw new PadError(`Cannot examine ${path}: ${errorMessage(error)}`, { cause: error });
  }
}

function sameFile(a: Deno.FileInfo, b: Deno.FileInfo, pathA: string, pathB: string): boolean {
  if (a.dev !== null && a.ino !== null && b.dev !== null && b.ino !== null) {
    return a.dev === b.dev && a.ino === b.ino;
  }
  return Deno.realPathSync(pathA) === Deno.realPathSync(pathB);
}

/** A usage error unless `dir` is a directory pad can create files in. */
export function checkWritableDirectory(dir: string, flagName: string): void {
  const fix = `create it, or give ${flagName} a path in another directory`;
  let info: Deno.FileInfo;
  try {
    info = Deno.statSync(dir);
  } catch (error) {
    throw new UsageError(
      `Invalid ${flagName}: cannot use directory ${dir} (${errorMessage(error)}): ${fix}`,
    );
  }
  if (!info.isDirectory) {
    throw new UsageError(`Invalid ${flagName}: ${dir} is not a directory: ${fix}`);
  }
  try {
    Deno.removeSync(Deno.makeTempFileSync({ dir, prefix: ".pad-check-" }));
  } catch (error) {
    throw new UsageError(
      `Invalid ${flagName}: cannot write in ${dir} (${errorMessage(error)}): ${fix}`,
    );
  }
}
