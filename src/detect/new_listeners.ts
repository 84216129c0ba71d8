/**
 * The new-listener rule: a round in which a service listens on a port that no earlier round had
 * a listener on is an anomaly, whatever its score. A new service is the first thing a person
 * watching a host's ports wants to hear about, once; the model alone can miss it on a busy host
 * (in an earlier live eval run, `ncat -l` on a new port scored 3.5 against a threshold of 32).
 *
 * A listener is what the procfs probe can tell — TCP sockets in LISTEN, unconnected UDP sockets
 * outside the ephemeral range (clients' unconnected UDP sockets, DNS lookups among them, live
 * there) — or what traffic shows: a local TCP port outside the ephemeral range that accepted a
 * connection (sent a SYN-ACK), which catches a listener that lived between two sweeps and the
 * services of an imported capture.
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

/** A round's new listeners: those a sweep saw, and those only its traffic showed. */
export interface NewListeners {
  swept: AnomalyPort[];
  accepting: AnomalyPort[];
}

/**
 * The listeners of `round` not in `known`, as anomaly ports, then adds all of the round's
 * listeners to `known` (so each new listener is reported once, in the first round it appears).
 */
export function newListeners(round: RoundData, known: Set<string>): NewListeners {
  const swept = new Map<string, AnomalyPort>();
  for (const p of round.occupied) {
    const key = listenerKey(p);
    if (key === null || known.has(key) || swept.has(key)) continue;
    swept.set(key, {
      port: p.port,
      protocol: p.protocol,
      error: 1,
      pid: p.pid,
      command: p.command,
    });
  }
  const accepting = new Map<string, AnomalyPort>();
  for (const t of round.traffic) {
    if (t.port === null || !(t.accepts! > 0) || isEphemeral(t.port)) continue;
    const key = `tcp/${t.port}`;
    if (known.has(key) || swept.has(key) || accepting.has(key)) continue;
    // The owner, where a sweep saw the port without telling it listened (the listen probe).
    const owner = round.occupied.find((o) => o.protocol === "tcp" && o.port === t.port);
    accepting.set(key, {
      port: t.port,
      protocol: "tcp",
      error: 1,
      pid: owner?.pid,
      command: owner?.command,
    });
  }
  for (const key of [...swept.keys(), ...accepting.keys()]) known.add(key);
  for (const p of round.occupied) {
    const key = listenerKey(p);
    if (key !== null) known.add(key);
  }
  return { swept: [...swept.values()], accepting: [...accepting.values()] };
}
