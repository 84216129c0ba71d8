/**
 * Ground truth shared by the eval's scenario runners (eval/live.ts, eval/replay.ts) and its scorer
 * (eval/score.ts): which stretches of a database's rounds an anomaly was active in.
 *
 * @module
 */

/** One anomaly made on purpose. */
export interface Episode {
  /** Anomaly type, the row of the results table: "nmap SYN scan", "new listener", … */
  type: string;
  /** When the anomaly started, ms since the epoch (round times are compared with this). */
  start: number;
  /** When it stopped. Rounds overlapping [start, end) are the anomaly's rounds. */
  end: number;
  /**
   * Until when its after-effects last (TIME_WAIT sockets after a connection burst, say), ms since
   * the epoch; rounds in [end, settled) are neither counted as the anomaly's nor as benign.
   */
  settled: number;
  /** What exactly was run, for the results' footnotes. */
  command: string;
  /**
   * A benign change (a device that joins for good): a hard negative, whose incidents count and
   * whose detection is no success.
   */
  benign?: boolean;
  /** When a person accepted the incidents the episode had opened so far, ms since the epoch. */
  acceptedAt?: number;
  /**
   * A change that stays (a service deployed for good): its episode runs to the end of the run,
   * whatever `end` its scenario returned.
   */
  staysToTheEnd?: boolean;
}

/** A database made by a scenario runner, with what happened in it. */
export interface LabelledDatabase {
  /** Scenario set name, e.g. "live" or "replay: synscan spliced". */
  name: string;
  /** Path of the SQLite database (rounds collected or imported, not yet detected). */
  db: string;
  episodes: Episode[];
}
