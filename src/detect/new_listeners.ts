/**
 * The new-listener rule: a round in which a service listens on a port that no earlier round had
 * a listener on is an anomaly, whatever its score. A new service is the first thing a person
 * watching a host's ports wants to hear about, once; the model alone can miss it on a busy host
 * (in an earlier live eval run, `ncat -l` on a new port scored 3.5 against a threshold of 32). Only what the
 * procfs probe can tell is counted: TCP sockets in LISTEN, and unconnected UDP sockets outside
 * the ephemeral range (clients' unconnected UDP sockets, DNS lookups among them, live there).
 *
 * @module
 */
import { isEphemeral, type OccupiedPort, type RoundData } from "../round.ts";
import type { AnomalyPort } from "../store/detections.ts";

/** The key of a listener the rule follows (`tcp/22`), or null for any other socket. */
export function listenerKey(p: OccupiedPort): string | null {
  if (p.listening !== true) return null;
  if (p.protocol === "udp" && isEphemeral(p.port)) return null;
  return `${p.protocol}/${p.port}`;
}

/**
 * The listeners of `round` not in `known`, as anomaly ports, then adds all of the round's
 * listeners to `known` (so each new listener is reported once, in the first round it appears).
 */
export function newListeners(round: RoundData, known: Set<string>): AnomalyPort[] {
  const found = new Map<string, AnomalyPort>();
  for (const p of round.occupied) {
    const key = listenerKey(p);
    if (key === null || known.has(key) || found.has(key)) continue;
    found.set(key, {
      port: p.port,
      protocol: p.protocol,
      error: 1,
      pid: p.pid,
      command: p.command,
    });
  }
  for (const p of round.occupied) {
    const key = listenerKey(p);
    if (key !== null) known.add(key);
  }
  return [...found.values()];
}
