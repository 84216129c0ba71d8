/** Exit codes pad returns; documented in README and stable across versions. */
export const ExitCode = {
  /** The command did what it was asked. */
  Ok: 0,
  /** A runtime failure: the database, a file, libpcap, the model. */
  Failure: 1,
  /** A bad flag, value or argument: nothing was done. */
  Usage: 2,
  /** `pad detect --exit-code` stored anomalies. */
  Anomalies: 3,
  /** Another pad of the same role holds the database's lock: this run did nothing. */
  Busy: 4,
} as const;

/** A bad flag, value or argument; `main.ts` prints the message and exits with {@linkcode ExitCode.Usage}. */
export class UsageError extends Error {
  override name = "UsageError";
}

/** A failure the user can act on; the message is one line that says what to do. */
export class PadError extends Error {
  override name = "PadError";
}

/** Another process of the same role (collect, detect, prune) is running on this database. */
export class BusyError extends Error {
  override name = "BusyError";
}

/** The message of anything thrown. */
export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
