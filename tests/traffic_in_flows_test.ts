/**
 * `round_traffic` is a view: the rows stored in `port_traffic` and those read back from the flows
 * that carry them. Whatever is stored where, it gives exactly the counts the round had.
 */
import assert from "node:assert/strict";
import { decodeFrame } from "../src/capture/decode.ts";
import { RoundTraffic } from "../src/capture/round_traffic.ts";
import { LocalNetworks, PRIVATE_NETWORKS } from "../src/net/networks.ts";
import type { FlowRow, TrafficRow } from "../src/round.ts";
import { type Database, openDatabase } from "../src/store/database.ts";
import { storeRound } from "../src/store/rounds.ts";
import { lanFrames } from "../fixtures/lan_capture.ts";
import { mixedFrames } from "../fixtures/mixed_capture.ts";
import { tempDir } from "../fixtures/pad_cli.ts";

const START = Date.UTC(2026, 10, 23, 8, 0, 0);

/** One round of `frames` as import counts it, stored; returns its id and its counts. */
function storeCaptured(
  db: Database,
  frames: Iterable<{ data: Uint8Array; tsMs: number }>,
  local: readonly string[],
): { id: number; counts: TrafficRow[] } {
  const traffic = new RoundTraffic({
    local: new LocalNetworks(local),
    maxPackets: 0,
    payloadBytes: 0,
  });
  for (const { data, tsMs } of frames) {
    const decoded = decodeFrame(1, data, tsMs, data.length);
    if (decoded.kind === "ip") traffic.add(decoded.packet);
  }
  const { counts, flows } = traffic.result();
  const id = storeRound(db, {
    startTime: START,
    endTime: START + 60_000,
    source: "import",
    status: "complete",
    traffic: counts,
    flows,
  });
  return { id, counts };
}

/** The counts `round_traffic` gives for a round, as comparable text, sorted. */
function readBack(db: Database, roundId: number): string[] {
  return db.prepare(
    "SELECT port_id, protocol, direction, packets, bytes, peers, remote_ports, accepts " +
      "FROM round_traffic WHERE round_id = ?",
  ).all(roundId).map((r) =>
    `${r.port_id}/${r.protocol}/${r.direction} ${r.packets} ${r.bytes} ${r.peers} ` +
    `${r.remote_ports} ${r.accepts}`
  ).sort();
}

function asText(counts: readonly TrafficRow[]): string[] {
  return counts.map((t) =>
    `${t.port}/${t.protocol}/${t.direction} ${t.packets} ${t.bytes} ${t.peers} ` +
    `${t.remotePorts} ${t.accepts ?? null}`
  ).sort();
}

function storedRows(db: Database, roundId: number): number {
  return Number(
    db.prepare("SELECT count(*) AS n FROM port_traffic WHERE round_id = ?").get(roundId)!.n,
  );
}

Deno.test("round_traffic gives back every count a round was stored with, though its flows hold most of them", () => {
  using dir = tempDir();
  using db = openDatabase(`${dir.path}/pad.db`);
  // An office LAN where every address is this host's (client and server rows of each flow),
  // and a host with remote peers, inbound connections and traffic to neither end.
  const lan = storeCaptured(db, lanFrames(30_000, { startMs: START, spanMs: 60_000 }), [
    ...PRIVATE_NETWORKS,
  ]);
  const mixed = storeCaptured(db, mixedFrames(30_000, { remotes: 3_000 }), [
    "93.184.0.0/18",
    "2001:db8:1::/120",
  ]);
  for (const round of [lan, mixed]) {
    assert.deepEqual(readBack(db, round.id), asText(round.counts));
  }
  // Most of the LAN's rows are a client port's one connection: its flow holds them.
  assert.ok(lan.counts.length > 1_000, `${lan.counts.length} rows`);
  assert.ok(storedRows(db, lan.id) < lan.counts.length / 5, `${storedRows(db, lan.id)} stored`);
  const carriers = db.prepare(
    "SELECT count(*) AS n FROM flows WHERE round_id = ? AND carries_traffic = 1",
  ).get(lan.id)!.n;
  assert.ok(Number(carriers) > lan.counts.length / 3, `${carriers} flows carry rows`);
  // Deleting a round takes both kinds of rows with it.
  db.exec(`DELETE FROM rounds WHERE id = ${lan.id}`);
  assert.deepEqual(readBack(db, lan.id), []);
  assert.deepEqual(readBack(db, mixed.id), asText(mixed.counts));
});

/** A flow of `port` with `packetsIn` and `packetsOut` packets of 100 bytes. */
function flow(
  port: number | null,
  protocol: FlowRow["protocol"],
  packetsIn: number,
  packetsOut: number,
): FlowRow {
  return {
    protocol,
    family: 4,
    localAddr: "192.0.2.1",
    port,
    remoteAddr: "192.0.2.9",
    remotePort: port === null ? null : 443,
    direction: "out",
    firstSeen: START,
    lastSeen: START + 1,
    packetsIn,
    packetsOut,
    bytesIn: packetsIn * 100,
    bytesOut: packetsOut * 100,
    tcpFlags: protocol === "tcp" ? 0x18 : null,
    state: protocol === "tcp" ? "open" : null,
    dnsQuery: null,
    dnsAnswer: null,
  };
}

/** The rows a port with one peer and one remote port counts for `packetsIn` and `packetsOut`. */
function rows(
  port: number | null,
  protocol: TrafficRow["protocol"],
  packetsIn: number,
  packetsOut: number,
  accepts = 0,
): TrafficRow[] {
  const common = { port, protocol, peers: 1, remotePorts: port === null ? 0 : 1 };
  return [
    { ...common, direction: "in", packets: packetsIn, bytes: packetsIn * 100 },
    {
      ...common,
      direction: "out",
      packets: packetsOut,
      bytes: packetsOut * 100,
      ...(protocol === "tcp" ? { accepts } : {}),
    },
  ];
}

Deno.test("a port's rows are left to its flow only where the flow gives them back exactly", () => {
  using dir = tempDir();
  using db = openDatabase(`${dir.path}/pad.db`);
  const traffic: TrafficRow[] = [
    ...rows(50_001, "tcp", 3, 2), // one connection: its flow holds it
    ...rows(50_002, "udp", 1, 1), // likewise
    ...rows(8_080, "tcp", 3, 2, 1), // it accepted a connection: a flow cannot say so
    ...rows(50_003, "tcp", 6, 4), // two connections from one port
    ...rows(50_004, "tcp", 5, 2), // a packet its one flow did not hold (past the flow limit)
    ...rows(null, "icmp", 1, 1), // portless
  ];
  const flows = [
    flow(50_001, "tcp", 3, 2),
    flow(50_002, "udp", 1, 1),
    flow(8_080, "tcp", 3, 2),
    flow(50_003, "tcp", 3, 2),
    { ...flow(50_003, "tcp", 3, 2), remotePort: 444 },
    flow(50_004, "tcp", 4, 2),
    flow(null, "icmp", 1, 1),
  ];
  const id = storeRound(db, {
    startTime: START,
    endTime: START + 60_000,
    source: "import",
    status: "complete",
    traffic,
    flows: { rows: flows, over: 1 },
  });
  assert.deepEqual(readBack(db, id), asText(traffic));
  assert.deepEqual(
    db.prepare(
      "SELECT DISTINCT port_id, protocol FROM port_traffic WHERE round_id = ? ORDER BY 1, 2",
    ).all(id).map((r) => `${r.port_id}/${r.protocol}`),
    ["null/icmp", "8080/tcp", "50003/tcp", "50004/tcp"],
  );
  assert.deepEqual(
    db.prepare("SELECT id FROM flows WHERE round_id = ? AND carries_traffic = 1 ORDER BY id")
      .all(id).map((r) => r.id),
    [1, 2],
  );
});
