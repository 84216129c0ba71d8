/// <reference no-default-lib="true" />
/// <reference lib="deno.worker" />
/**
 * The import's reading thread: opens the capture file, reads, decodes and counts it into
 * rounds, and posts each round as it closes, encoded (see `round_codec.ts`). The importing
 * thread stores them meanwhile, so reading and storing, each about half an import, overlap.
 *
 * @module
 */
import { PcapError } from "../../ffi/mod.ts";
import { errorMessage, PadError } from "../errors.ts";
import { LocalNetworks } from "../net/networks.ts";
import { isStorableTime } from "../round.ts";
import {
  type FileRoundsEnd,
  type FileRoundsOptions,
  type FromImportWorker,
  MAX_ROUNDS_IN_FLIGHT,
  type ToImportWorker,
} from "./import_protocol.ts";
import {
  type CaptureFile,
  CaptureFileError,
  describeLinkType,
  openCaptureFile,
} from "./offline.ts";
import { encodeRound } from "./round_codec.ts";
import { serializeError } from "./thread_error.ts";
import { RoundSlicer } from "./round_slicer.ts";
import { RoundTraffic, Strangers } from "./round_traffic.ts";

/** Frames between two progress messages. */
const PROGRESS_FRAMES = 0x10000;

let file: CaptureFile | null = null;
let options: FileRoundsOptions | null = null;

function post(message: FromImportWorker, transfer: Transferable[] = []): void {
  self.postMessage(message, transfer);
}

self.onmessage = (event: MessageEvent<ToImportWorker>) => {
  try {
    if (event.data.type === "open") {
      options = event.data.options;
      file = openCapture(options);
      post({ type: "opened", reader: file.reader });
    } else {
      post({ type: "end", end: readRounds(file!, options!) });
      file!.close();
    }
  } catch (error) {
    post({ type: "error", error: serializeError(error) });
  }
};

/** Reads every frame of `file` into rounds, posting each; returns what else it saw. */
function readRounds(file: CaptureFile, options: FileRoundsOptions): FileRoundsEnd {
  const inFlight = new Int32Array(options.inFlight);
  const local = new LocalNetworks(options.local);
  const strangers = new Strangers();
  const slicer = new RoundSlicer({
    roundLengthMs: options.roundLengthMs,
    newTraffic: () =>
      new RoundTraffic({
        local,
        maxPackets: options.maxPackets,
        payloadBytes: options.payloadBytes,
        strangers,
      }),
    store: (slot, traffic, malformed) => {
      for (let n = Atomics.load(inFlight, 0); n >= MAX_ROUNDS_IN_FLIGHT;) {
        Atomics.wait(inFlight, 0, n, 1_000);
        n = Atomics.load(inFlight, 0);
      }
      Atomics.add(inFlight, 0, 1);
      const round = encodeRound(traffic.result());
      post({ type: "round", slot, round, malformed }, [round.numbers.buffer]);
    },
  });
  const span = { first: Infinity, last: -Infinity };
  let stoppedBy: FileRoundsEnd["stoppedBy"] = null;
  try {
    for (let result = file.next(); result !== null; result = file.next()) {
      const timeMs = file.timeMs;
      slicer.add(result, timeMs);
      if ((file.counts.frames & (PROGRESS_FRAMES - 1)) === 0) {
        post({ type: "progress", frames: file.counts.frames, rounds: slicer.counts.rounds });
      }
      if (isStorableTime(timeMs)) {
        if (timeMs < span.first) span.first = timeMs;
        if (timeMs > span.last) span.last = timeMs;
      }
    }
  } catch (error) {
    if (!(error instanceof CaptureFileError)) throw error;
    stoppedBy = { kind: error.kind, message: error.message };
  }
  slicer.finish();
  return {
    counts: { ...file.counts },
    undecoded: [...file.undecoded].map((
      [type, frames],
    ): [string, number] => [describeLinkType(type), frames]),
    slices: slicer.counts,
    span,
    stoppedBy,
    strangers: { packets: strangers.packets, top: strangers.top(3) },
  };
}

function openCapture(options: FileRoundsOptions): CaptureFile {
  try {
    Deno.statSync(options.file);
  } catch (error) {
    throw new PadError(`Cannot read capture file ${options.file}: ${errorMessage(error)}`);
  }
  try {
    return openCaptureFile(options.file, {
      filter: options.filter,
      reader: options.reader,
      // Only stored packet rows keep payload bytes.
      payload: options.maxPackets > 0 && options.payloadBytes > 0,
    });
  } catch (error) {
    if (error instanceof PcapError) {
      throw new PadError(
        `Cannot import ${options.file}: ${error.message} (pcap and pcapng files are accepted)`,
        { cause: error },
      );
    }
    if (
      error instanceof Deno.errors.PermissionDenied || error instanceof Deno.errors.IsADirectory
    ) {
      throw new PadError(`Cannot read capture file ${options.file}: ${errorMessage(error)}`, {
        cause: error,
      });
    }
    throw error;
  }
}
