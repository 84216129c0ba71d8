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
  // Per flow: its port's rows, and how many of them the flow gives back exactly.
  const rows = new Int32Array(flows.length);
  const same = new Int32Array(flows.length);
  const onlyFlow = (row: TrafficRow) => {
    const key = portKey(row.protocol, row.port);
    return key === null ? -1 : flowOf.get(key) ?? -1;
  };
  for (const row of traffic) {
    const index = onlyFlow(row);
    if (index < 0) continue;
    rows[index]!++;
    if (givesBack(flows[index]!, row)) same[index]!++;
  }
  const carriers = new Set<number>();
  for (let index = 0; index < flows.length; index++) {
    const flow = flows[index]!;
    const expected = (flow.packetsIn > 0 ? 1 : 0) + (flow.packetsOut > 0 ? 1 : 0);
    if (expected > 0 && rows[index] === expected && same[index] === expected) carriers.add(index);
  }
  return {
    stored: carriers.size === 0 ? traffic : traffic.filter((row) => !carriers.has(onlyFlow(row))),
    carriers,
  };
}

/** A number for a TCP or UDP port; null for other transports and portless traffic. */
function portKey(protocol: string, port: number | null): number | null {
  if (port === null) return null;
  if (protocol === "tcp") return port * 2;
  return protocol === "udp" ? port * 2 + 1 : null;
}

/**
 * Whether `row` is what the `round_traffic` view reads back from `flow` for its direction:
 * its packets and bytes that way, one peer, one remote port (none without ports), and for TCP
 * out no accepted connection.
 */
function givesBack(flow: FlowRow, row: TrafficRow): boolean {
  const incoming = row.direction === "in";
  return row.packets === (incoming ? flow.packetsIn : flow.packetsOut) &&
    row.bytes === (incoming ? flow.bytesIn : flow.bytesOut) && row.peers === 1 &&
    row.remotePorts === (flow.remotePort === null ? 0 : 1) &&
    (row.accepts ?? null) === (!incoming && flow.protocol === "tcp" ? 0 : null);
}
