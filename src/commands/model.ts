import type { Output } from "../output.ts";

/** `pad model export FILE`: writes the current model as one file. (Stub: being built.) */
export function runModelExport(_options: { db: string; file: string }, _out: Output): void {
  throw new Error("pad model export is not built yet");
}

/** `pad model import FILE`: installs a model file as the next version. (Stub: being built.) */
export function runModelImport(_options: { db: string; file: string }, _out: Output): void {
  throw new Error("pad model import is not built yet");
}

/** `pad model merge A B … -o OUT`: federated averaging. (Stub: being built.) */
export function runModelMerge(
  _options: { inputs: string[]; output: string },
  _out: Output,
): Promise<void> | void {
  throw new Error("pad model merge is not built yet");
}
