import type { Output } from "../output.ts";

/** Options of `pad report`. */
export interface ReportOptions {
  db: string;
  /** The HTML file to write. */
  output: string;
  /** First moment covered, ms since the epoch. */
  since: number;
  /** End of the range (exclusive), ms since the epoch; now when absent. */
  until?: number;
}

/** Writes one self-contained HTML report. (Stub: being built.) */
export function runReport(_options: ReportOptions, _out: Output): Promise<void> | void {
  throw new Error("pad report is not built yet");
}
