/**
 * Slicing a capture into rounds by the packets' own time stamps: each packet goes to the round
 * of its time (a slot of `roundLengthMs`, aligned like cron minutes), whatever order the file
 * holds them in. A stamp far from its neighbours (a damaged record dated 2030, two captures
 * joined in the wrong order, a multi-queue capture slightly out of order) no longer pulls the
 * packets after it into its round.
 *
 * Rounds are kept open while frames of their slot keep coming, and handed to `store` once the
 * capture has moved on for a while ({@linkcode STALE_FRAMES}) or when more than
 * {@linkcode MAX_OPEN} are open, so memory stays bounded on any file. A packet whose round was
 * already stored (its slot revisited long after) starts another round of the same slot; the
 * counts say how many did, so the caller can suggest sorting the capture first.
 *
 * @module
 */
import type { DecodeResult } from "./decode.ts";
import type { RoundTraffic } from "./round_traffic.ts";
import { isStorableTime } from "../round.ts";

/** Frames after its last one that a round stays open for (a late packet still finds it). */
const STALE_FRAMES = 1_000;

/** Rounds open at once at most; the least recently fed is stored first beyond it. */
const MAX_OPEN = 16;

/** A round being filled. */
interface OpenRound {
  slot: number;
  traffic: RoundTraffic;
  malformed: number;
  /** The frame that fed it last. */
  lastFrame: number;
}

/** What the slicer saw besides the rounds. */
export interface SliceCounts {
  rounds: number;
  /** Frames stamped earlier than the frame before them. */
  outOfOrder: number;
  /** Packets that came after their round was stored (they made another round of the slot). */
  late: number;
  /** Frames stamped where no round can be (before 1970, after 9999), not imported. */
  outOfRange: number;
  /** The first of those: its frame number and stamp. */
  firstOutOfRange: { frame: number; timeMs: number } | null;
}

/** Routes a capture's frames to the rounds of their time stamps. */
export class RoundSlicer {
  readonly counts: SliceCounts = {
    rounds: 0,
    outOfOrder: 0,
    late: 0,
    outOfRange: 0,
    firstOutOfRange: null,
  };
  readonly #roundLengthMs: number;
  readonly #newTraffic: () => RoundTraffic;
  readonly #store: (slot: number, traffic: RoundTraffic, malformed: number) => void;
  // The open rounds (at most MAX_OPEN + 1), an array rather than a Map by slot: a Map whose
  // entries come and go replaces its table now and then, and V8 links each old table to its
  // successor. Once an old table is promoted, it keeps the next one and the rounds it holds alive
  // through every young-generation collection: an import of an office LAN promoted 107 MB of
  // rounds that way, its young collections took 272 ms instead of 111, and its peak memory
  // doubled.
  readonly #open: OpenRound[] = [];
  readonly #stored = new Set<number>();
  #frame = 0;
  #previousMs = -Infinity;
  /** The round the last frame went to, while it is open. */
  #last: OpenRound | null = null;

  constructor(options: {
    roundLengthMs: number;
    newTraffic: () => RoundTraffic;
    store: (slot: number, traffic: RoundTraffic, malformed: number) => void;
  }) {
    this.#roundLengthMs = options.roundLengthMs;
    this.#newTraffic = options.newTraffic;
    this.#store = options.store;
  }

  /** Adds one frame, stamped `timeMs`, as the decoder made it. */
  add(result: DecodeResult, timeMs: number): void {
    const frame = ++this.#frame;
    if (!isStorableTime(timeMs)) {
      this.counts.outOfRange++;
      this.counts.firstOutOfRange ??= { frame, timeMs };
      return;
    }
    if (timeMs < this.#previousMs) this.counts.outOfOrder++;
    this.#previousMs = timeMs;
    if (result.kind === "non-ip") return;
    const slot = Math.floor(timeMs / this.#roundLengthMs) * this.#roundLengthMs;
    // Most frames go to the round of the frame before them: no search for those.
    let round = this.#last?.slot === slot ? this.#last : this.#open.find((r) => r.slot === slot);
    if (!round) {
      if (this.#stored.has(slot) && result.kind === "ip") this.counts.late++;
      round = { slot, traffic: this.#newTraffic(), malformed: 0, lastFrame: frame };
      this.#open.push(round);
    }
    round.lastFrame = frame;
    this.#last = round;
    if (result.kind === "ip") round.traffic.add(result.packet);
    else round.malformed++;
    if (frame % 256 === 0 || this.#open.length > MAX_OPEN) this.#storeStale();
  }

  /** Stores every round still open, oldest first. */
  finish(): void {
    this.#storeRounds([...this.#open]);
  }

  /** Stores the rounds not fed for {@linkcode STALE_FRAMES}, then the least recently fed. */
  #storeStale(): void {
    const open = [...this.#open];
    const stale = open.filter((r) => r.lastFrame < this.#frame - STALE_FRAMES);
    const excess = open.length - stale.length - MAX_OPEN;
    if (excess > 0) {
      const fresh = open.filter((r) => !stale.includes(r)).sort((a, b) =>
        a.lastFrame - b.lastFrame
      );
      stale.push(...fresh.slice(0, excess));
    }
    this.#storeRounds(stale);
  }

  #storeRounds(rounds: OpenRound[]): void {
    for (const round of rounds.sort((a, b) => a.slot - b.slot)) {
      this.#open.splice(this.#open.indexOf(round), 1);
      if (this.#last === round) this.#last = null;
      // A slot of malformed frames only holds no packet: no round (nothing says it was watched).
      if (round.traffic.seen === 0) continue;
      this.#store(round.slot, round.traffic, round.malformed);
      this.#stored.add(round.slot);
      this.counts.rounds++;
    }
  }
}
