/**
 * Windows of consecutive encoded rounds: what the network takes, one window per scored round.
 *
 * The window of round `i` is rounds `i − W + 1 … i` (oldest first) of the list given; the round
 * scored (and reconstructed) is the window's last. Rounds are consecutive in the list, whatever
 * the time between them: a gap in collection simply joins the rounds before and after it (the
 * hour features tell the network how much time passed). The first `W − 1` rounds of a list have
 * too little history: their windows are padded at the front with the list's earliest round, as
 * if the host had stood still before it. Callers that have more history pass the `W − 1` rounds
 * before the first one to score and start at `first = W − 1`, so no padding happens.
 *
 * A batch shares the encoded rounds instead of copying them into each window, so a day of
 * history costs one copy of each round, not `W`.
 *
 * @module
 */
import type { RoundData } from "../round.ts";
import type { FeatureLayout } from "./feature_layout.ts";
import { encodeRound } from "./features.ts";

/** Windows over a shared list of encoded rounds. */
export interface WindowBatch {
  /** Rounds per window. */
  readonly window: number;
  /** Features per round. */
  readonly length: number;
  /** The encoded rounds, oldest first. */
  readonly rounds: readonly Float32Array[];
  /** For each window, the index in `rounds` of its last round (the round it scores). */
  readonly ends: readonly number[];
}

/**
 * One window per round of `rounds[first…]`, each ending at its round; see the module
 * documentation for the padding of the first rounds.
 */
export function buildWindows(
  rounds: readonly Float32Array[],
  window: number,
  first = 0,
): WindowBatch {
  if (!Number.isInteger(window) || window < 1) {
    throw new RangeError(`Window must be a positive integer: got ${window}`);
  }
  if (!Number.isInteger(first) || first < 0 || first > rounds.length) {
    throw new RangeError(`First round must be in [0, ${rounds.length}]: got ${first}`);
  }
  const length = rounds[0]?.length ?? 0;
  for (const [i, r] of rounds.entries()) {
    if (r.length !== length) {
      throw new RangeError(`Round ${i} has ${r.length} features, round 0 has ${length}`);
    }
  }
  const ends = Array.from({ length: rounds.length - first }, (_, k) => first + k);
  return { window, length, rounds, ends };
}

/**
 * One window per round of `rounds`, each ending at its round after its own context
 * (`contextOf(round)`: the rounds before it, oldest first, at most `window − 1`), padded at the
 * front with the oldest round it has, as {@linkcode buildWindows} pads. Each round is encoded
 * once however many windows share it. This is how detect scores and learns, and how a model
 * import calibrates its threshold.
 */
export function contextWindows(
  rounds: readonly RoundData[],
  contextOf: (round: RoundData, index: number) => readonly RoundData[],
  window: number,
  layout: FeatureLayout,
): WindowBatch {
  const encoded = new Map<number, Float32Array>();
  const encode = (round: RoundData) => {
    let e = encoded.get(round.id);
    if (!e) encoded.set(round.id, e = encodeRound(round, layout));
    return e;
  };
  const list: Float32Array[] = [];
  const ends: number[] = [];
  rounds.forEach((round, index) => {
    const before = contextOf(round, index);
    const context = before.slice(Math.max(0, before.length - (window - 1))).map(encode);
    const own = encode(round);
    while (context.length < window - 1) context.unshift(context[0] ?? own);
    list.push(...context, own); // references: a round shared by windows is stored once
    ends.push(list.length - 1);
  });
  return { window, length: layout.length, rounds: list, ends };
}

/** The windows at `indices` (in that order), e.g. those of the rounds that were not flagged. */
export function selectWindows(batch: WindowBatch, indices: readonly number[]): WindowBatch {
  const ends = indices.map((index) => {
    if (!Number.isInteger(index) || index < 0 || index >= batch.ends.length) {
      throw new RangeError(`Window index must be in [0, ${batch.ends.length}): got ${index}`);
    }
    return batch.ends[index]!;
  });
  return { ...batch, ends };
}

/** Copies window `index` into `out` at `offset`: `window × length` values, oldest round first. */
export function copyWindow(
  batch: WindowBatch,
  index: number,
  out: Float32Array,
  offset = 0,
): void {
  const end = batch.ends[index]!;
  for (let step = 0; step < batch.window; step++) {
    const source = batch.rounds[Math.max(0, end - batch.window + 1 + step)]!;
    out.set(source, offset + step * batch.length);
  }
}

/** The last round of window `index`: the round it scores. */
export function lastRound(batch: WindowBatch, index: number): Float32Array {
  return batch.rounds[batch.ends[index]!]!;
}
