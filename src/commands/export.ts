import type { Output } from "../output.ts";

/** Options of `pad export`. */
export interface ExportOptions {
  db: string;
  /** node_exporter textfile-collector file to (re)write atomically. */
  prometheus: string;
}

/** Writes the fleet metrics file. (Stub: being built.) */
export function runExport(_options: ExportOptions, _out: Output): void {
  throw new Error("pad export is not built yet");
}
