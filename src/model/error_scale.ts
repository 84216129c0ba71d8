/**
 * The error scale: how surprising a feature's reconstruction error is. Pure arithmetic on
 * typed arrays, without TensorFlow.js.
 *
 * Each feature's squared error `s` is divided by the size of its typical deviation on normal
 * rounds, `E[s²] / E[s]` (running means kept with the model; for an event that comes and goes,
 * such as a client's ephemeral port in a bin, the error it makes when it happens; for steady
 * noise, three times its variance), at least `channelFloor` times the same ratio pooled over the
 * feature's channel (an event common across bins, like a stray SYN on a random port, stays
 * ordinary in a bin that never saw it), and at least `errorFloor` (a feature always
 * reconstructed exactly: a stable listener, an empty port range). Where a feature counts sockets
 * that need not listen it is also at least `socketFloor` times the error of one such socket: a
 * client's ephemeral port lands in a random bin and a sweep catches it or not by chance (the
 * live eval's benign rounds scored 125–817 for one to five client sockets a sweep happened to
 * see), so a few are never a surprise, however rarely the warm-up saw any. A round's score is
 * the mean of its `scoreTop` largest standardized errors.
 *
 * @module
 */
import type { DetectorConfig } from "./config.ts";
import { PORT_COUNT } from "../round.ts";
import {
  CHANNEL_SPECS,
  type FeatureLayout,
  GLOBAL_SPECS,
  type GlobalParts,
} from "./feature_layout.ts";

/**
 * Per feature, the running means of its squared error `s` and of `s²` on normal rounds
 * (`[E s…, E s²…]`, `2 × layout.length` values), and over how many rounds.
 */
export interface ErrorMoments {
  values: Float64Array;
  rounds: number;
}

/** Sums of squared errors (and of their squares) per feature, and how many rounds counted. */
export class ErrorSums {
  readonly sums: Float64Array;
  readonly counts: Float64Array;
  windows = 0;

  constructor(readonly length: number) {
    this.sums = new Float64Array(2 * length);
    this.counts = new Float64Array(length);
  }

  /** Adds one round's errors: `actual` against `predicted[offset…]`, where `mask` is 1. */
  add(
    actual: ArrayLike<number>,
    predicted: ArrayLike<number>,
    offset: number,
    mask: ArrayLike<number>,
  ): void {
    const length = this.length;
    for (let f = 0; f < length; f++) {
      if (mask[f] === 0) continue;
      const d = actual[f]! - predicted[offset + f]!;
      const s = d * d;
      this.sums[f] = this.sums[f]! + s;
      this.sums[length + f] = this.sums[length + f]! + s * s;
      this.counts[f] = this.counts[f]! + 1;
    }
    this.windows++;
  }
}

/**
 * The moments after folding `sums` into `previous`: running means that remember about
 * `errorMemory` rounds. Quantized to float32, so a saved and reloaded detector divides by the
 * same numbers.
 */
export function foldMoments(
  previous: ErrorMoments,
  sums: ErrorSums,
  errorMemory: number,
): ErrorMoments {
  const length = sums.length;
  const kept = Math.min(previous.rounds, errorMemory);
  const values = new Float64Array(2 * length);
  for (let f = 0; f < length; f++) {
    const n = sums.counts[f]!;
    for (const at of [f, length + f]) {
      values[at] = n + kept > 0
        ? Math.fround((kept * previous.values[at]! + sums.sums[at]!) / (kept + n))
        : 0;
    }
  }
  return { values, rounds: Math.min(kept + sums.windows, errorMemory) };
}

/**
 * What each feature's squared error is divided by: its typical deviation `E[s²] / E[s]`, but
 * at least `channelFloor` times the same ratio pooled over its channel's bins, at least
 * `errorFloor`, and where the feature counts sockets that need not listen at least `socketFloor`
 * times the squared error of one socket.
 */
export function divisors(
  layout: FeatureLayout,
  moments: Float64Array,
  c: Pick<DetectorConfig, "errorFloor" | "channelFloor" | "socketFloor">,
): Float32Array {
  const { length, binFeatures } = layout;
  const channels = layout.channels.length;
  const pooled = new Float64Array(2 * channels);
  for (let f = 0; f < binFeatures; f++) {
    pooled[f % channels] = pooled[f % channels]! + moments[f]!;
    pooled[channels + (f % channels)] = pooled[channels + (f % channels)]! + moments[length + f]!;
  }
  const ratio = (mean: number, square: number) => (mean > 0 ? square / mean : 0);
  const oneSocket = oneSocketErrors(layout);
  const out = new Float32Array(length);
  for (let f = 0; f < length; f++) {
    const own = ratio(moments[f]!, moments[length + f]!);
    const shared = f < binFeatures
      ? c.channelFloor * ratio(pooled[f % channels]!, pooled[channels + (f % channels)]!)
      : 0;
    out[f] = Math.max(own, shared, c.socketFloor * oneSocket[f]!, c.errorFloor);
  }
  return out;
}

const oneSocketCache = new Map<FeatureLayout, Float32Array>();

/**
 * Per feature, the squared error of one socket more or less where the feature counts sockets
 * that need not listen — a bin's other TCP or UDP sockets, the round's occupied TCP, UDP
 * and ephemeral ports (scales as in features.ts) —, else 0.
 */
function oneSocketErrors(layout: FeatureLayout): Float32Array {
  let out = oneSocketCache.get(layout);
  if (out) return out;
  out = new Float32Array(layout.length);
  const inBin = (1 / Math.log2(1 + layout.portsPerBin)) ** 2;
  // A host always holds a socket or two (pad's own, a client's): in the round's totals the unit
  // is one socket more than one, 1 → 2, a third of 0 → 1 on the log scale.
  const inTotal = ((Math.log(3) - Math.log(2)) / Math.log1p(PORT_COUNT)) ** 2;
  for (let b = 0; b < layout.bins; b++) {
    CHANNEL_SPECS.forEach((spec, c) => {
      if (spec.source === "occupied" && !spec.listening) {
        out![b * layout.channels.length + c] = inBin;
      }
    });
  }
  GLOBAL_SPECS.forEach((spec, g) => {
    const parts = spec.parts as GlobalParts;
    if (parts !== null && "occupied" in parts && parts.occupied !== "listening") {
      out![layout.binFeatures + g] = inTotal;
    }
  });
  oneSocketCache.set(layout, out);
  return out;
}

/**
 * Each feature's standardized squared error: `(actual − predicted)² / divisor` where `mask`
 * is 1, else 0.
 */
export function standardizedErrors(
  actual: ArrayLike<number>,
  predicted: ArrayLike<number>,
  offset: number,
  mask: ArrayLike<number>,
  divisor: Float32Array,
): Float32Array {
  const out = new Float32Array(divisor.length);
  for (let f = 0; f < divisor.length; f++) {
    if (mask[f] === 0) continue;
    const d = actual[f]! - predicted[offset + f]!;
    out[f] = (d * d) / divisor[f]!;
  }
  return out;
}

/** Mean of the `k` largest values. */
export function topMean(values: Float32Array, k: number): number {
  if (k >= values.length) return values.reduce((a, b) => a + b, 0) / values.length;
  // A small sorted buffer: k is tiny next to the feature count.
  const top = new Float64Array(k);
  for (const v of values) {
    if (v <= top[k - 1]!) continue;
    let i = k - 1;
    while (i > 0 && top[i - 1]! < v) {
      top[i] = top[i - 1]!;
      i--;
    }
    top[i] = v;
  }
  return top.reduce((a, b) => a + b, 0) / k;
}
