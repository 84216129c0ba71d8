/**
 * Model files on disk: read and verified whole (the first line decides before a large file given
 * by mistake is read), restored to a detector, and written atomically without replacing anything
 * that is not a model file. The format itself is `model_file.ts`.
 *
 * @module
 */
import { checkOutputFile, type OutputTarget, writeFileAtomic } from "../atomic_file.ts";
import { errorMessage } from "../errors.ts";
import { type Detector, loadDetector, ModelFormatError } from "./detector.ts";
import { featureLayout } from "./feature_layout.ts";
import {
  decodeModelFile,
  MAX_FIRST_LINE,
  MODEL_FILE_MAGIC,
  type ModelContent,
  type ModelFile,
  ModelFileError,
  type NamedModelFile,
  PAD_VERSION,
  savedModelOfFile,
} from "./model_file.ts";

/** Reads and verifies a model file (see {@linkcode decodeModelFile}). */
export function readModelFile(path: string): ModelFile {
  let bytes: Uint8Array;
  try {
    // The first line decides, before a large file given by mistake (a database) is read whole.
    using file = Deno.openSync(path, { read: true });
    const head = new Uint8Array(MAX_FIRST_LINE);
    const n = file.readSync(head) ?? 0;
    if (!new TextDecoder().decode(head.subarray(0, n)).startsWith(`${MODEL_FILE_MAGIC} `)) {
      return decodeModelFile(head.subarray(0, n), path);
    }
    bytes = Deno.readFileSync(path);
  } catch (error) {
    if (error instanceof ModelFileError) throw error;
    throw new ModelFileError(`Cannot read model file ${path}: ${fileProblem(error)}`, {
      cause: error,
    });
  }
  return decodeModelFile(bytes, path);
}

/**
 * Reads a model file and restores its detector (see {@linkcode restoreDetector}). The caller
 * disposes the detector.
 */
export async function loadModelFile(
  path: string,
): Promise<NamedModelFile & { detector: Detector }> {
  const file = readModelFile(path);
  return { name: path, file, detector: await restoreDetector(path, file) };
}

/**
 * The detector of a file's content: the check that its weights fit its topology, that this pad
 * builds that topology from its configuration, and that it encodes rounds as the model expects.
 * `name` starts the error messages. The caller disposes the detector.
 */
export async function restoreDetector(name: string, content: ModelContent): Promise<Detector> {
  const own = featureLayout(content.config.bins).id;
  if (content.encoding !== own) {
    throw new ModelFileError(
      `Model file ${name} was trained on feature encoding "${content.encoding}"; this pad ` +
        `(${PAD_VERSION}) encodes "${own}": use a model written by a pad of the same encoding`,
    );
  }
  try {
    return await loadDetector(savedModelOfFile(content));
  } catch (error) {
    if (!(error instanceof ModelFormatError)) throw error;
    throw new ModelFileError(`Model file ${name} cannot be loaded: ${error.message}`, {
      cause: error,
    });
  }
}

/**
 * Writes a model file atomically (a temporary file beside it, then renamed over it) with mode
 * 0600: a model tells which ports a host uses and when. Replaces only a model file: any other
 * file at `path` (a database given by mistake) is refused and kept, as is what `target`
 * protects ({@linkcode checkOutputFile}).
 */
export function writeModelFile(path: string, bytes: Uint8Array, target: OutputTarget): void {
  checkOutputFile(path, target);
  refuseOtherFile(path);
  try {
    writeFileAtomic(path, bytes, 0o600, target);
  } catch (error) {
    throw new ModelFileError(errorMessage(error), { cause: error });
  }
}

/** Throws unless `path` is free or holds a model file. */
function refuseOtherFile(path: string): void {
  let head: Uint8Array;
  try {
    using file = Deno.openSync(path, { read: true });
    head = new Uint8Array(MODEL_FILE_MAGIC.length + 1);
    head = head.subarray(0, file.readSync(head) ?? 0);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return;
    throw new ModelFileError(`Cannot write model file ${path}: ${fileProblem(error)}`, {
      cause: error,
    });
  }
  if (new TextDecoder().decode(head) !== `${MODEL_FILE_MAGIC} `) {
    throw new ModelFileError(
      `Cannot write model file ${path}: it exists and is not a pad model file (kept); ` +
        "remove it or choose another name",
    );
  }
}

function fileProblem(error: unknown): string {
  if (error instanceof Deno.errors.NotFound) return "no such file or directory";
  if (error instanceof Deno.errors.PermissionDenied) return "permission denied";
  if (error instanceof Deno.errors.IsADirectory) return "it is a directory";
  return errorMessage(error);
}
