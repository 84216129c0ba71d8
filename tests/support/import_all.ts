/**
 * Run by tests/tcpdump_captures_test.ts in its own process (so a hang is a timeout, not a stuck
 * test run): imports every capture of a directory into one database, and after each checks
 * that the database is intact and that table reads and the report work on it; detect runs
 * every 100 files and at the end. Prints one JSON object: per file what pad decoded, and every
 * failure that was not a clear PadError (a stack trace, in the test's words).
 *
 * Usage: deno run -A tests/support/import_all.ts DIR DB
 */
import { runDetect } from "../../src/commands/detect.ts";
import { runImport } from "../../src/commands/import.ts";
import { runReport } from "../../src/commands/report.ts";
import { openCaptureFile } from "../../src/capture/offline.ts";
import { decodesLinkType } from "../../src/capture/decode.ts";
import { PadError } from "../../src/errors.ts";
import { setupLogging } from "../../src/log.ts";
import { BufferOutput } from "../../src/output.ts";
import { existingTables, readTable } from "../../src/store/catalog.ts";
import { checkIntact, openDatabaseReadOnly } from "../../src/store/database.ts";

/** What one capture gave. */
export interface CaptureOutcome {
  file: string;
  linkType: number;
  /** Every frame's link type is one pad decodes. */
  decoded: boolean;
  frames: number;
  /** Frames pad found IPv4 or IPv6 in: decoded packets and those malformed past the IP header. */
  ip: number;
  /** The import's clear error (a damaged record after the frames before it), if any. */
  refused: string | null;
}

/** The whole run. */
export interface ImportAllReport {
  outcomes: CaptureOutcome[];
  /** Anything other than a PadError: file, step and stack. */
  crashes: { file: string; step: string; stack: string }[];
  rounds: number;
  scored: number;
  seconds: number;
}

const [dir, db] = Deno.args;
setupLogging({ format: "text", quiet: true, debug: false });
const started = performance.now();
const report: ImportAllReport = { outcomes: [], crashes: [], rounds: 0, scored: 0, seconds: 0 };
const files = [...Deno.readDirSync(dir!)].map((e) => e.name)
  .filter((n) => /\.pcap(ng)?$/.test(n)).sort();

/** Runs `step`; a PadError is a clear refusal (returned), anything else a crash (recorded). */
async function attempt(file: string, step: string, f: () => unknown): Promise<string | null> {
  try {
    await f();
    return null;
  } catch (error) {
    if (error instanceof PadError) return error.message;
    report.crashes.push({ file, step, stack: error instanceof Error ? error.stack! : `${error}` });
    return null;
  }
}

async function detect(file: string): Promise<void> {
  await attempt(file, "detect", async () => {
    const result = await runDetect(
      { db: db!, warmup: 60, seed: 1, rescore: false, maxEpochs: 1, format: "text" },
      new BufferOutput(),
    );
    report.scored += result.scored;
  });
}

for (const [k, file] of files.entries()) {
  const path = `${dir}/${file}`;
  const outcome: CaptureOutcome = {
    file,
    linkType: -1,
    decoded: true,
    frames: 0,
    ip: 0,
    refused: null,
  };
  await attempt(file, "decode", () => {
    using capture = openCaptureFile(path);
    outcome.linkType = capture.linkType;
    try {
      for (let r = capture.next(); r !== null; r = capture.next()) {
        if (r.kind === "ip" || (r.kind === "malformed" && /ipv[46]/.test(r.protocols))) {
          outcome.ip++;
        }
      }
    } finally {
      outcome.frames = capture.counts.frames;
      outcome.decoded = capture.undecoded.size === 0 && decodesLinkType(capture.linkType);
    }
  });
  outcome.refused = await attempt(file, "import", async () => {
    const result = await runImport(
      // Some of tcpdump's captures are byte for byte the same file under two names.
      {
        db: db!,
        file: path,
        roundLengthMs: 60_000,
        maxPackets: 10_000,
        payloadBytes: 0,
        again: true,
      },
      new BufferOutput(),
    );
    report.rounds += result.rounds;
  });
  await attempt(file, "read", () => {
    using conn = openDatabaseReadOnly(db!);
    checkIntact(conn, db!);
    for (const table of existingTables(conn)) {
      for (const _ of readTable(conn, table, { limit: 0 }).rows) {
        // every row read
      }
    }
  });
  await attempt(file, "report", () => {
    runReport({ db: db!, output: `${db}.html`, since: 0 }, new BufferOutput());
  });
  if ((k + 1) % 100 === 0) await detect(file);
  report.outcomes.push(outcome);
}
await detect("(all)");
report.seconds = (performance.now() - started) / 1000;
console.log(JSON.stringify(report));
