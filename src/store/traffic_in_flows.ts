/**
 * Traffic rows a flow already holds. Most `round_traffic` rows of a busy host are a client's
 * port that made one connection in the round: its `in` and `out` rows say nothing that
 * connection's flow does not (packets and bytes each way, one peer, one remote port). Such rows
 * are not stored; the flow is marked `carries_traffic` and the `round_traffic` view reads them
 * back from it (sql/0017_traffic_in_flows.sql). A row is left to the flow only where reading it
 * back gives exactly the row counted, so the view stays exact.
 *
 * @module
 */
import type { FlowRow, TrafficRow } from "../round.ts";

/** The traffic rows to store, and the flows (by index) that hold the others. */
export interface TrafficSplit {
  stored: readonly TrafficRow[];
  carriers: Set<number>;
}

/** Splits a round's traffic rows into those stored and those its flows carry. */
export function splitTraffic(
  traffic: readonly TrafficRow[],
  flows: readonly FlowRow[],
): TrafficSplit {
  // The only flow of each local port and transport (-1: more than one).
  const flowOf = new Map<number, number>();
  for (let index = 0; index < flows.length; index++) {
    const flow = flows[index]!;
    const key = portKey(flow.protocol, flow.port);
    if (key !== null) flowOf.set(key, flowOf.has(key) ? -1 : index);
  }
  const rowsOf = new Map<number, TrafficRow[]>();
  for (const row of traffic) {
    const key = portKey(row.protocol, row.port);
    if (key === null || (flowOf.get(key) ?? -1) < 0) continue;
    const rows = rowsOf.get(key);
    if (rows) rows.push(row);
    else rowsOf.set(key, [row]);
  }
  const carried = new Set<TrafficRow>();
  const carriers = new Set<number>();
  for (const [key, rows] of rowsOf) {
    const index = flowOf.get(key)!;
    const readBack = rowsReadBack(flows[index]!);
    if (rows.length !== readBack.length) continue;
    if (!rows.every((row) => readBack.some((back) => sameRow(row, back)))) continue;
    carriers.add(index);
    for (const row of rows) carried.add(row);
  }
  return {
    stored: carried.size === 0 ? traffic : traffic.filter((row) => !carried.has(row)),
    carriers,
  };
}

/** A number for a TCP or UDP port; null for other transports and portless traffic. */
function portKey(protocol: string, port: number | null): number | null {
  if (port === null) return null;
  if (protocol === "tcp") return port * 2;
  return protocol === "udp" ? port * 2 + 1 : null;
}

/** The traffic rows the `round_traffic` view reads from a flow that carries them. */
function rowsReadBack(flow: FlowRow): TrafficRow[] {
  const common = {
    port: flow.port,
    protocol: flow.protocol,
    peers: 1,
    remotePorts: flow.remotePort === null ? 0 : 1,
  };
  const rows: TrafficRow[] = [];
  if (flow.packetsIn > 0) {
    rows.push({ ...common, direction: "in", packets: flow.packetsIn, bytes: flow.bytesIn });
  }
  if (flow.packetsOut > 0) {
    rows.push({
      ...common,
      direction: "out",
      packets: flow.packetsOut,
      bytes: flow.bytesOut,
      ...(flow.protocol === "tcp" ? { accepts: 0 } : {}),
    });
  }
  return rows;
}

function sameRow(a: TrafficRow, b: TrafficRow): boolean {
  return a.direction === b.direction && a.packets === b.packets && a.bytes === b.bytes &&
    a.peers === b.peers && a.remotePorts === b.remotePorts &&
    (a.accepts ?? null) === (b.accepts ?? null);
}
