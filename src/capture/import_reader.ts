/**
 * A capture file read into rounds on a second thread (`import_worker.ts`) while this one stores
 * them: on an office LAN, reading and counting the file and storing its rounds take about as
 * long each, so an import takes little more than the longer of the two.
 *
 * @module
 */
import {
  type FileRoundsEnd,
  type FileRoundsOptions,
  type FromImportWorker,
  type ToImportWorker,
} from "./import_protocol.ts";
import { decodeRound } from "./round_codec.ts";
import { reviveError } from "./thread_error.ts";
import type { RoundTrafficResult } from "./round_traffic.ts";

export type { FileRoundsEnd } from "./import_protocol.ts";

/** What the importer does with each round, and with the reading's progress. */
export interface RoundSink {
  round(slot: number, round: RoundTrafficResult, malformed: number): void;
  progress(frames: number, rounds: number): void;
}

/** An open capture file whose rounds a worker reads; disposing of it stops the worker. */
export class FileRounds implements Disposable {
  readonly #worker: Worker;
  readonly #inFlight: Int32Array;
  /** Where the worker's messages go next; errors of the worker itself go to `#crashed`. */
  #receive: (message: FromImportWorker) => void = () => {};
  #crashed: (error: Error) => void = () => {};

  private constructor(readonly reader: "pad" | "libpcap", worker: Worker, inFlight: Int32Array) {
    this.#worker = worker;
    this.#inFlight = inFlight;
  }

  /**
   * Opens `options.file` in a new worker; rejects with the `PadError` that says why it cannot
   * be read (missing, not a capture file, a bad filter).
   */
  static open(options: Omit<FileRoundsOptions, "inFlight">): Promise<FileRounds> {
    const worker = new Worker(new URL("./import_worker.ts", import.meta.url), { type: "module" });
    const inFlight = new SharedArrayBuffer(Int32Array.BYTES_PER_ELEMENT);
    return new Promise<FileRounds>((resolve, reject) => {
      let rounds: FileRounds | null = null;
      const fail = (error: Error) => {
        worker.terminate();
        reject(error);
      };
      worker.onerror = (event: ErrorEvent) => {
        // An uncaught error inside the worker would otherwise take this thread down too.
        event.preventDefault();
        const error = new Error(`Import worker failed: ${event.message}`);
        if (rounds) rounds.#crashed(error);
        else fail(error);
      };
      worker.onmessage = (event: MessageEvent<FromImportWorker>) => {
        const message = event.data;
        if (rounds) rounds.#receive(message);
        else if (message.type === "opened") {
          resolve(rounds = new FileRounds(message.reader, worker, new Int32Array(inFlight)));
        } else if (message.type === "error") fail(reviveError(message.error));
      };
      send(worker, { type: "open", options: { ...options, inFlight } });
    });
  }

  /**
   * Reads the file, handing each round to `sink` as it closes; resolves with what else the
   * reading saw. An error thrown by `sink` stops the reading and rejects.
   */
  read(sink: RoundSink): Promise<FileRoundsEnd> {
    return new Promise<FileRoundsEnd>((resolve, reject) => {
      const fail = (error: unknown) => {
        this.#receive = () => {};
        this.#worker.terminate();
        reject(error);
      };
      this.#crashed = fail;
      this.#receive = (message) => {
        switch (message.type) {
          case "round":
            try {
              sink.round(message.slot, decodeRound(message.round), message.malformed);
            } catch (error) {
              fail(error);
              return;
            }
            Atomics.sub(this.#inFlight, 0, 1);
            Atomics.notify(this.#inFlight, 0);
            break;
          case "progress":
            sink.progress(message.frames, message.rounds);
            break;
          case "end":
            resolve(message.end);
            break;
          case "error":
            fail(reviveError(message.error));
            break;
        }
      };
      send(this.#worker, { type: "read" });
    });
  }

  [Symbol.dispose](): void {
    this.#worker.terminate();
  }
}

function send(worker: Worker, message: ToImportWorker): void {
  worker.postMessage(message);
}
