/**
 * Database growth per day of collection: real `pad collect --probe procfs` rounds on `lo` while
 * UDP traffic flows (python3, 127.0.0.1 and ::1 only), two databases side by side on the same
 * packets: the default (counts and flows, no packet rows) and `--packets 10000` (also up to
 * 10,000 packet rows a round: pad 0.2's default). Bytes per round are the growth of
 * `page_count × page_size` after a checkpoint, averaged over the measured rounds (the first
 * round of a fresh file, which also creates the schema, is left out), then × 1,440 rounds a day.
 * The anchor is tcpdump writing the same packets to a pcap file at the same time.
 *
 * Rounds are shorter than cron's 55 s to keep the bench short, and the traffic is faster by the
 * same factor, so each round holds the packets of a 55 s round at the stated rate: what a round
 * stores depends on its packets and ports, not on its length (sweeps are merged per port).
 *
 *     deno run -A --unstable-net bench/growth_bench.ts [--rounds N] [--seconds S] [--rate R]
 *       [--quick]
 *
 * @module
 */

import { DatabaseSync } from "node:sqlite";
import { openDatabase } from "../src/store/database.ts";
import { storeRoundHistory } from "../fixtures/history.ts";
import { generateHistory } from "../fixtures/synthetic.ts";
import { freeUdpPort, pacedTraffic, startTcpdump } from "./support/loopback.ts";
import { int, intFlag, PAD, progress, run } from "./support/measure.ts";
import { emitResult, lowerIsBetter } from "./support/result.ts";

/** Measured rounds (after one warm-up round). */
const ROUNDS = intFlag("--rounds", 4, 2);
/** Length of each round. */
const SECONDS = intFlag("--seconds", 11, 6);
/** The stated traffic rate: datagrams/s during a real 55 s round. */
const RATE = intFlag("--rate", 100);
const CRON_ROUND_S = 55;
const ROUNDS_PER_DAY = 1_440;
/** `pad prune` defaults: rounds kept 7 days, packet rows 24 h. */
const KEEP_DAYS = 7;
/** `pad collect --packets`: pad 0.2's default, a row for every packet up to this many. */
const MAX_PACKETS = 10_000;
const WITH_ROWS = `--packets ${MAX_PACKETS}`;
const MB = 1e6;

/** A database's size: the file (whole pages) and the bytes its rows and indexes use in them. */
interface Size {
  fileBytes: number;
  usedBytes: number;
}

/** The size after moving the WAL's pages into the file; `used` from the dbstat table. */
function databaseSize(path: string): Size {
  const db = new DatabaseSync(path);
  try {
    db.exec("PRAGMA wal_checkpoint(TRUNCATE)");
    const get = (name: string) =>
      Number((db.prepare(`PRAGMA ${name}`).get() as Record<string, number>)[name]);
    const used = db.prepare("SELECT sum(pgsize - unused) AS used FROM dbstat").get() as {
      used: number;
    };
    return { fileBytes: get("page_count") * get("page_size"), usedBytes: Number(used.used) };
  } finally {
    db.close();
  }
}

/**
 * Bytes a round's counts take for a busier host than this one: a day of the synthetic server of
 * fixtures/synthetic.ts (services, client ports churning, a daily rhythm) stored as collect
 * stores rounds (fixtures/history.ts), after one warm-up hour.
 */
function syntheticCounts(path: string): { perRound: number; ports: number; traffic: number } {
  const rounds = generateHistory({ seed: 42, rounds: 25 * 60 });
  const store = (from: number, to: number) => {
    using db = openDatabase(path);
    storeRoundHistory(db, rounds.slice(from, to));
  };
  store(0, 60);
  const before = databaseSize(path).usedBytes;
  store(60, rounds.length);
  const day = rounds.slice(60);
  return {
    perRound: (databaseSize(path).usedBytes - before) / day.length,
    ports: day.reduce((sum, r) => sum + r.occupied.length, 0) / day.length,
    traffic: day.reduce((sum, r) => sum + r.traffic.length, 0) / day.length,
  };
}

interface Round {
  packets_seen: number;
  packets_stored: number;
  ports: number;
}

function lastRound(path: string): Round {
  const db = new DatabaseSync(path, { readOnly: true });
  try {
    return db.prepare(
      "SELECT packets_seen, packets_stored, " +
        "(SELECT count(*) FROM rounds_ports WHERE round_id = rounds.id) AS ports " +
        "FROM rounds ORDER BY id DESC LIMIT 1",
    ).get() as unknown as Round;
  } finally {
    db.close();
  }
}

const dir = Deno.makeTempDirSync({ prefix: "pad_growth_bench_" });
try {
  const rate = Math.round(RATE * CRON_ROUND_S / SECONDS);
  const port = freeUdpPort();
  const filter = `udp port ${port}`;
  const pcap = `${dir}/same.pcap`;
  const configs = { default: [], [WITH_ROWS]: ["--packets", String(MAX_PACKETS)] };
  const paths = Object.fromEntries(
    Object.keys(configs).map((name, i) => [name, `${dir}/growth-${i}.db`]),
  ) as Record<string, string>;
  const sizes: Record<string, Size[]> = { default: [], [WITH_ROWS]: [] };
  const stored: number[] = [];
  const seen: number[] = [];
  const ports: number[] = [];

  console.log(
    `## database growth: ${ROUNDS} rounds of ${SECONDS} s (after one warm-up round), ` +
      `${int(rate)} datagrams/s = the packets of a ${CRON_ROUND_S} s round at ${RATE}/s`,
  );
  const tcpdump = await startTcpdump(filter, pcap);
  const traffic = pacedTraffic(rate, port);
  let captured: number;
  try {
    for (let round = 0; round <= ROUNDS; round++) {
      progress(`round ${round} of ${ROUNDS}${round === 0 ? " (warm-up)" : ""}: ${SECONDS} s`);
      await Promise.all(
        Object.entries(configs).map(([name, extra]) =>
          run([
            ...PAD,
            "--quiet",
            "--db",
            paths[name]!,
            "collect",
            "--probe",
            "procfs",
            "--interface",
            "lo",
            "--filter",
            filter,
            "--duration",
            `${SECONDS}s`,
            ...extra,
          ])
        ),
      );
      for (const [name, path] of Object.entries(paths)) sizes[name]!.push(databaseSize(path));
      const last = lastRound(paths[WITH_ROWS]!);
      seen.push(last.packets_seen);
      stored.push(last.packets_stored);
      ports.push(last.ports);
    }
  } finally {
    await traffic.stop();
    captured = (await tcpdump.stop()).captured;
  }

  // Bytes the rows use, not whole pages: a counts-only round adds less than a page.
  const perRound = (name: string, key: keyof Size = "usedBytes") =>
    (sizes[name]!.at(-1)![key] - sizes[name]![0]![key]) / ROUNDS;
  const full = perRound(WITH_ROWS);
  const counts = perRound("default");
  const measured = seen.slice(1);
  const packetsPerRound = measured.reduce((a, b) => a + b, 0) / ROUNDS;
  const rowsPerRound = stored.slice(1).reduce((a, b) => a + b, 0) / ROUNDS;
  const pcapPerPacket = Deno.statSync(pcap).size / captured;
  const pcapPerRound = pcapPerPacket * packetsPerRound;
  const perRow = (full - counts) / rowsPerRound;

  for (const [name, each] of Object.entries(sizes)) {
    console.log(
      `${name.padEnd(16)} after each round: file ${
        each.map((s) => int(s.fileBytes)).join(", ")
      } bytes; used by rows and indexes ${each.map((s) => int(s.usedBytes)).join(", ")} bytes`,
    );
  }
  console.log(
    `per round: ${int(packetsPerRound)} packets seen, ${int(rowsPerRound)} packet rows; ` +
      `default ${int(counts)} bytes (file ${int(perRound("default", "fileBytes"))}), ` +
      `${WITH_ROWS} ${int(full)} bytes (file ${int(perRound(WITH_ROWS, "fileBytes"))}) ` +
      `(${perRow.toFixed(0)} bytes a packet row); pcap of the same packets ${int(pcapPerRound)} ` +
      `bytes (${pcapPerPacket.toFixed(0)} a packet)`,
  );

  const day = (bytes: number) => bytes * ROUNDS_PER_DAY / MB;
  const portsPerRound = ports.slice(1).reduce((a, b) => a + b, 0) / ROUNDS;
  const note = `${RATE} datagrams/s (${int(packetsPerRound)} packets a round), --probe procfs ` +
    `(${
      portsPerRound.toFixed(0)
    } ports occupied); bytes the rows and indexes use, over ${ROUNDS} ` +
    `rounds of ${SECONDS} s at ${int(rate)}/s, × ${ROUNDS_PER_DAY} rounds a day`;
  const pcapDay = day(pcapPerRound);
  for (const [name, bytes] of [["default (counts and flows)", counts], [WITH_ROWS, full]]) {
    emitResult({
      section: "growth",
      figure: `database growth per day, ${name}`,
      value: day(bytes as number),
      unit: "MB/day",
      anchor: "tcpdump -w of the same packets (pcap bytes a day)",
      anchorValue: pcapDay,
      ...lowerIsBetter(day(bytes as number), pcapDay, ["smaller", "larger"]),
      note,
    });
  }
  progress("a day of the synthetic server's rounds, stored as collect stores them");
  const busy = syntheticCounts(`${dir}/synthetic.db`);
  console.log(
    `counts of a busier host (the synthetic server: ${busy.ports.toFixed(0)} ports occupied, ${
      busy.traffic.toFixed(0)
    } traffic rows a round): ${int(busy.perRound)} bytes a round, ${
      day(busy.perRound).toFixed(1)
    } MB a day, ${(KEEP_DAYS * day(busy.perRound)).toFixed(0)} MB for ${KEEP_DAYS} days`,
  );
  // What `pad prune` defaults keep: 7 days of rounds with their counts and flows.
  const steady = KEEP_DAYS * day(counts);
  emitResult({
    section: "growth",
    figure: `steady size with pad prune defaults (${KEEP_DAYS} d of rounds, counts and flows)`,
    value: steady,
    unit: "MB",
    anchor: "tcpdump -w of the same packets, 24 h kept",
    anchorValue: pcapDay,
    ...lowerIsBetter(steady, pcapDay, ["smaller", "larger"]),
    note: `${note}; computed: ${KEEP_DAYS} × ${ROUNDS_PER_DAY} × a default round; with the ` +
      `counts of the synthetic server (${busy.ports.toFixed(0)} ports, ${
        busy.traffic.toFixed(0)
      } traffic rows a round) ${(KEEP_DAYS * day(busy.perRound)).toFixed(0)} MB`,
  });
  // With --packets, prune keeps a day of packet rows (--keep-packets).
  const capped = KEEP_DAYS * day(counts) + day(perRow * MAX_PACKETS);
  console.log(
    `with prune defaults: ${steady.toFixed(0)} MB at ${RATE} datagrams/s; with ${WITH_ROWS}, ` +
      `${(KEEP_DAYS * day(counts) + day(full - counts)).toFixed(0)} MB, at most about ${
        capped.toFixed(0)
      } MB when every round fills its ${int(MAX_PACKETS)} packet rows (≥ ${
        int(MAX_PACKETS / CRON_ROUND_S)
      } packets/s)`,
  );
} finally {
  Deno.removeSync(dir, { recursive: true });
}
