/**
 * The anomaly threshold: calibrated from the scores of recent **normal** rounds, never from the
 * batch being judged (the original flagged the worst round of every batch, whatever happened).
 *
 * ## The rule
 *
 * Keep the last `capacity` scores of rounds judged normal (default 1,440: one day, the host's
 * whole daily cycle), oldest dropped first. Until `minSamples` of them exist (default 30) the
 * threshold is not ready and nothing is flagged. Then, peaks over threshold (Pickands–Balkema–de
 * Haan): take the `k` largest scores (`k` = 2% of them, at least 10), measure how far each lies
 * above the next one down, `t`, and fit a generalized Pareto distribution to these excesses by
 * probability-weighted moments (Hosking & Wallis, 1987), its shape clamped to [0, 0.5] (no tail
 * lighter than exponential: a score is the largest of many squared errors; none so heavy that a
 * few dozen points could justify it). The
 * threshold is the score that distribution expects normal rounds to exceed with probability
 * `risk` (default 10⁻⁴, ten times below the 1-in-1,000 false-alarm target, for the estimate's own
 * error): `t + σ/ξ · ((risk · n / k)^(−ξ) − 1)` (`t − σ · ln(risk · n / k)` when ξ ≈ 0), and
 * never below the highest score remembered.
 *
 * Before the fit, remembered scores beyond a far-out fence — Tukey's, on the log scale: `Q3 + fence
 * · IQR` of the log scores, `fence` = 4 — are left out. A score remembered from a model that was
 * still learning (the first hours), or an anomaly scored just under a threshold it then raised,
 * can lie far above everything else; kept, that one score would hold the threshold up for a day
 * (measured in the live eval: thresholds of 125–410 over normal scores that stayed below 25, so a
 * SYN scan scoring 61 went unflagged).
 *
 * The state ({@linkcode ThresholdState}, plain JSON) is persisted with the model.
 *
 * @module
 */

/** Settings of a {@linkcode Threshold}. */
export interface ThresholdOptions {
  /** Normal scores remembered (default 1440). */
  capacity: number;
  /** Normal scores needed before anything is flagged (default 30). */
  minSamples: number;
  /** Probability that a normal round exceeds the threshold (default 1e-4). */
  risk: number;
  /** Share of the remembered scores that forms the tail (default 0.02). */
  tailFraction: number;
  /** Least number of scores in the tail (default 10). */
  minTail: number;
  /** The fitted quantile is multiplied by this (default 1.5). */
  margin: number;
  /** Scores beyond Q3 + fence · IQR of the log scores are left out of the fit (default 4). */
  fence: number;
}

/** The defaults. */
export const DEFAULT_THRESHOLD_OPTIONS: Readonly<ThresholdOptions> = Object.freeze({
  capacity: 1440,
  minSamples: 30,
  risk: 1e-4,
  tailFraction: 0.02,
  minTail: 10,
  margin: 1.5,
  fence: 4,
});

/** A threshold as JSON. */
export interface ThresholdState {
  version: 1;
  options: ThresholdOptions;
  /** Remembered normal scores, oldest first. */
  scores: number[];
}

/** The tail fit behind a threshold, for reports and metrics. */
export interface TailFit {
  /** Scores remembered. */
  n: number;
  /** Scores in the tail. */
  k: number;
  /** Where the tail starts. */
  start: number;
  /** Generalized Pareto shape and scale of the excesses over `start`. */
  shape: number;
  scale: number;
  /** The threshold. */
  value: number;
}

/** Scores are kept to six significant digits: compact JSON that round-trips exactly. */
function keep(score: number): number {
  return Number(score.toPrecision(6));
}

/** A threshold calibrated from recent normal scores; see the module documentation. */
export class Threshold {
  readonly options: Readonly<ThresholdOptions>;
  #scores: number[];
  #fit: TailFit | null | undefined;

  constructor(options: Partial<ThresholdOptions> = {}, scores: readonly number[] = []) {
    this.options = Object.freeze(checkOptions({ ...DEFAULT_THRESHOLD_OPTIONS, ...options }));
    this.#scores = [];
    this.observe(scores);
  }

  /** A threshold from {@linkcode toJSON}'s output; throws on anything else. */
  static fromJSON(state: unknown): Threshold {
    const s = state as Partial<ThresholdState> | null;
    if (typeof s !== "object" || s === null || s.version !== 1 || !Array.isArray(s.scores)) {
      throw new TypeError("Threshold state is not a version 1 threshold");
    }
    if (!s.scores.every((x) => typeof x === "number" && Number.isFinite(x))) {
      throw new TypeError("Threshold state holds a score that is not a finite number");
    }
    return new Threshold(s.options ?? {}, s.scores);
  }

  /** Remembers the scores of rounds judged normal, oldest first; non-finite ones are ignored. */
  observe(scores: Iterable<number>): void {
    for (const score of scores) {
      if (Number.isFinite(score)) this.#scores.push(keep(score));
    }
    const excess = this.#scores.length - this.options.capacity;
    if (excess > 0) this.#scores.splice(0, excess);
    this.#fit = undefined;
  }

  /** Normal scores remembered. */
  get count(): number {
    return this.#scores.length;
  }

  /** Whether enough normal scores exist to flag anything. */
  get ready(): boolean {
    return this.#scores.length >= this.options.minSamples;
  }

  /** The threshold, or `null` while not {@linkcode ready}. */
  get value(): number | null {
    return this.tail()?.value ?? null;
  }

  /** Whether a score is above the threshold; always `false` while not ready. */
  isAnomalous(score: number): boolean {
    const value = this.value;
    return value !== null && score > value;
  }

  /** The tail fit behind the threshold, or `null` while not ready. */
  tail(): TailFit | null {
    if (this.#fit === undefined) {
      this.#fit = this.ready ? fitTail(this.#scores, this.options) : null;
    }
    return this.#fit;
  }

  /** Plain JSON to persist with the model. */
  toJSON(): ThresholdState {
    return { version: 1, options: { ...this.options }, scores: [...this.#scores] };
  }
}

function checkOptions(o: ThresholdOptions): ThresholdOptions {
  for (const key of ["capacity", "minSamples"] as const) {
    if (!Number.isInteger(o[key]) || o[key] < 1) {
      throw new RangeError(`Threshold ${key} must be a positive integer: got ${o[key]}`);
    }
  }
  if (!Number.isInteger(o.minTail) || o.minTail < 3) {
    throw new RangeError(`Threshold minTail must be an integer of at least 3: got ${o.minTail}`);
  }
  if (o.minTail >= o.minSamples) {
    throw new RangeError(
      `Threshold minTail must be below minSamples (${o.minSamples}): got ${o.minTail}`,
    );
  }
  if (o.minSamples > o.capacity) {
    throw new RangeError(
      `Threshold minSamples must not exceed capacity (${o.capacity}): got ${o.minSamples}`,
    );
  }
  if (!(o.risk > 0 && o.risk < 1)) {
    throw new RangeError(`Threshold risk must be in (0, 1): got ${o.risk}`);
  }
  if (!(o.margin >= 1) || !Number.isFinite(o.margin)) {
    throw new RangeError(`Threshold margin must be at least 1: got ${o.margin}`);
  }
  if (!(o.fence > 0) || !Number.isFinite(o.fence)) {
    throw new RangeError(`Threshold fence must be a positive number: got ${o.fence}`);
  }
  if (!(o.tailFraction > 0 && o.tailFraction < 1)) {
    throw new RangeError(`Threshold tailFraction must be in (0, 1): got ${o.tailFraction}`);
  }
  return o;
}

/** Peaks over threshold with a probability-weighted-moments fit; see the module documentation. */
export function fitTail(scores: readonly number[], options: ThresholdOptions): TailFit {
  const sorted = withinFence([...scores].sort((a, b) => a - b), options.fence);
  const n = sorted.length;
  const k = Math.min(n - 1, Math.max(options.minTail, Math.ceil(options.tailFraction * n)));
  const start = sorted[n - k - 1]!;
  const excesses = sorted.slice(n - k).map((x) => x - start); // ascending
  // b0 = E[Y], b1 = E[Y F(Y)], unbiased estimators on the sorted sample.
  let b0 = 0, b1 = 0;
  excesses.forEach((y, i) => {
    b0 += y;
    b1 += (i / (k - 1)) * y;
  });
  b0 /= k;
  b1 /= k;
  let shape = 0, scale = 0;
  if (b0 > 0 && 2 * b1 - b0 > 0) {
    shape = 2 - b0 / (2 * b1 - b0);
    scale = (2 * b0 * (b0 - b1)) / (2 * b1 - b0);
  }
  if (!(shape > 0)) {
    // No lighter tail than the exponential's: a round's score is the largest of many squared
    // errors (the Gumbel domain, shape 0), and a bounded tail read off a few dozen points is
    // more likely noise; the exponential's scale is then the mean excess.
    shape = 0;
    scale = b0;
  }
  shape = Math.min(0.5, shape);
  if (!(scale > 0)) scale = Math.max(Math.abs(start) * 1e-6, 1e-12);
  const r = (options.risk * n) / k;
  const value = Math.abs(shape) < 1e-6
    ? start - scale * Math.log(r)
    : start + (scale / shape) * (Math.pow(r, -shape) - 1);
  return { n, k, start, shape, scale, value: Math.max(options.margin * value, sorted[n - 1]!) };
}

/**
 * The sorted `scores` up to Tukey's far-out fence on the log scale (scores are positive and
 * skewed: on the log scale their bulk is nearly symmetric). Quartiles by nearest rank.
 */
function withinFence(sorted: number[], fence: number): number[] {
  const log = (x: number) => Math.log(Math.max(x, 1e-12));
  const n = sorted.length;
  const q1 = log(sorted[Math.floor(n / 4)]!);
  const q3 = log(sorted[Math.floor((3 * n) / 4)]!);
  const limit = Math.exp(q3 + fence * (q3 - q1));
  let end = n;
  while (end > 0 && sorted[end - 1]! > limit) end--;
  return sorted.slice(0, end);
}
