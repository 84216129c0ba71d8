/**
 * Grouping flagged rounds into incidents, as Zeek's notices and Alertmanager's groups do: one
 * alert per thing that happened, not per round.
 *
 * A flagged round joins, in this order of preference:
 * 1. an accepted incident of the same cause (its key), or whose ports cover all of the round's
 *    (a service accepted as legitimate stays so): the round is learned as normal, no alert;
 * 2. an incident of the same cause that took a round in the last quiet spell (default 30 min);
 * 3. the incident of the round just before it (consecutive rounds are one event: a scan's
 *    round and the TIME_WAIT sockets it leaves), unless it reports a new listener and that
 *    incident is not about one;
 * else it opens a new incident. A round that ignore rules cover (its ports, processes or
 * remote networks) opens an incident accepted from the start: told nowhere, learned as normal.
 * An open or acknowledged incident closes once a quiet spell of judged rounds passed without
 * a flagged round joining it.
 *
 * @module
 */
import type { LocalNetworks } from "../net/networks.ts";
import type { Database } from "../store/database.ts";
import { precedingRoundIds } from "../store/history.ts";
import {
  activeIncidents,
  closeQuietIncidents,
  extendIncident,
  type Incident,
  type IncidentCause,
  type IncidentRound,
  openIncident,
} from "../store/incidents.ts";

/** What a person told pad to leave alone (`--ignore-port`, `--ignore-process`, …). */
export interface IgnoreRules {
  /** `tcp/4445`, `udp/5353`. */
  ports: readonly string[];
  processes: readonly string[];
  /** Remote networks, e.g. a backup server or the office's printers. */
  networks: LocalNetworks | null;
}

/** No ignore rule at all. */
export const NO_IGNORE_RULES: IgnoreRules = { ports: [], processes: [], networks: null };

/** How incidents are formed. */
export interface IncidentPolicy {
  /** A quiet spell this long (of judged rounds) closes an incident; same-cause rounds within it join it. */
  quietSpellMs: number;
  ignore: IgnoreRules;
}

/** A flagged round with its cause, as detect stored it. */
export interface FlaggedRecord extends IncidentRound {
  cause: IncidentCause;
}

/** Groups one step's flagged rounds (oldest first); returns the incidents opened. */
export function recordIncidents(
  db: Database,
  flagged: readonly FlaggedRecord[],
  policy: IncidentPolicy,
  now: number,
): Incident[] {
  const opened: Incident[] = [];
  const active = activeIncidents(db);
  for (const round of flagged) {
    const joined = chooseIncident(db, active, round, policy);
    if (joined) {
      extendIncident(db, joined, round.cause, round);
      continue;
    }
    const rule = ignoredBy(round.cause, policy.ignore);
    const cause = rule
      ? { ...round.cause, summary: `ignored (${rule}): ${round.cause.summary}` }
      : round.cause;
    const id = openIncident(db, cause, round, now, rule ? "accepted" : "open");
    const incident: Incident = {
      id,
      status: rule ? "accepted" : "open",
      kind: cause.kind,
      causeKey: cause.key,
      summary: cause.summary,
      firstRoundId: round.roundId,
      lastRoundId: round.roundId,
      startTime: round.startTime,
      endTime: round.endTime,
      rounds: 1,
      peakScore: round.score,
      modelVersion: round.modelVersion,
      ports: cause.ports,
      peers: cause.peers,
      openedAt: now,
      closedAt: null,
      acknowledgedAt: null,
      acceptedAt: rule ? now : null,
    };
    active.unshift(incident);
    if (!rule) opened.push(incident);
  }
  return opened;
}

/** Closes the incidents a quiet spell has passed for, judged up to `judgedUntil`. */
export function closeQuiet(
  db: Database,
  judgedUntil: number,
  policy: IncidentPolicy,
  now: number,
): Incident[] {
  return closeQuietIncidents(db, judgedUntil - policy.quietSpellMs, now);
}

function chooseIncident(
  db: Database,
  active: Incident[],
  round: FlaggedRecord,
  policy: IncidentPolicy,
): Incident | undefined {
  const { cause } = round;
  const accepted = active.find((i) =>
    i.status === "accepted" && (i.causeKey === cause.key || coversPorts(i, cause))
  );
  if (accepted) return accepted;
  const live = active.filter((i) => i.status === "open" || i.status === "acknowledged");
  const sameCause = live.find((i) =>
    i.causeKey === cause.key && i.endTime >= round.startTime - policy.quietSpellMs
  );
  if (sameCause) return sameCause;
  const [previous] = precedingRoundIds(db, round.startTime, 1);
  const consecutive = live.find((i) => i.lastRoundId === previous);
  if (consecutive && (cause.kind !== "new listener" || consecutive.kind === "new listener")) {
    return consecutive;
  }
  return undefined;
}

/** Whether every port of `cause` is one of the incident's (and the cause names some). */
function coversPorts(incident: Incident, cause: IncidentCause): boolean {
  if (cause.kind === "new listener" || cause.ports.length === 0) return false;
  return cause.ports.every((p) =>
    incident.ports.some((q) => q.protocol === p.protocol && q.port === p.port)
  );
}

/** The ignore rule that covers the whole cause, in words; null when none does. */
function ignoredBy(cause: IncidentCause, rules: IgnoreRules): string | null {
  const ports = cause.ports.filter((p) => p.port !== null);
  if (ports.length > 0 && ports.every((p) => rules.ports.includes(`${p.protocol}/${p.port}`))) {
    return `--ignore-port ${[...new Set(ports.map((p) => `${p.protocol}/${p.port}`))].join(",")}`;
  }
  const owners = ports.map((p) => p.command);
  if (
    owners.length > 0 && owners.every((c) => c !== null && rules.processes.includes(c))
  ) {
    return `--ignore-process ${[...new Set(owners)].join(",")}`;
  }
  if (
    cause.peers.length > 0 && rules.networks !== null &&
    cause.peers.every((peer) => rules.networks!.has(peer))
  ) {
    return `--ignore-network ${cause.peers.join(",")}`;
  }
  return null;
}
