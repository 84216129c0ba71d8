/**
 * Progress of long work (a detect backfill, a large import) on stderr, where a person watches
 * a terminal: one line rewritten in place at most five times a second, cleared at the end.
 * Nothing where stderr is not a terminal (cron logs, the journal) or with --quiet.
 *
 * @module
 */
const encoder = new TextEncoder();

/** A progress line; `update` takes what is done so far; disposing it clears the line. */
export interface Progress extends Disposable {
  update(done: number, detail?: string): void;
}

const SILENT: Progress = { update() {}, [Symbol.dispose]() {} };

/**
 * A progress line for `total` units (`word` like "rounds"), or one without a total (null):
 * done, rate, and where the total is known the time left.
 */
export function progress(
  label: string,
  word: string,
  total: number | null,
  quiet: boolean,
): Progress {
  if (quiet || !Deno.stderr.isTerminal()) return SILENT;
  const started = performance.now();
  let shownAt = 0;
  let shown = false;
  return {
    update(done, detail) {
      const now = performance.now();
      if (now - shownAt < 200) return;
      shownAt = now;
      const seconds = (now - started) / 1000;
      const rate = done / Math.max(seconds, 1e-3);
      const left = total !== null && rate > 0 && done > 0
        ? `, about ${formatSeconds((total - done) / rate)} left`
        : "";
      const of = total !== null ? `/${total}` : "";
      const text = `${label}: ${done}${of} ${word}, ${rate.toFixed(rate < 10 ? 1 : 0)}/s${left}` +
        (detail ? ` (${detail})` : "");
      Deno.stderr.writeSync(encoder.encode(`\r\x1b[2K${text}`));
      shown = true;
    },
    [Symbol.dispose]() {
      if (shown) Deno.stderr.writeSync(encoder.encode("\r\x1b[2K"));
    },
  };
}

function formatSeconds(s: number): string {
  if (s < 90) return `${Math.ceil(s)} s`;
  if (s < 5400) return `${Math.ceil(s / 60)} min`;
  return `${(s / 3600).toFixed(1)} h`;
}
