/**
 * Telling the configured targets what happened since the last run, and what they missed: each
 * opened and resolved incident is queued for every target in the database before it is tried,
 * so a target that is down (Alertmanager restarting, a hook failing) is tried again on the next
 * run and nothing is lost.
 *
 * @module
 */
import { logger } from "../log.ts";
import type { Database } from "../store/database.ts";
import {
  activeIncidents,
  type Incident,
  incidentById,
  pendingDeliveries,
  queueDeliveries,
  queueResolutions,
  recordDelivery,
} from "../store/incidents.ts";
import type { IncidentSource } from "./incident_message.ts";
import { deliver, refreshAlerts, type Target, targetName } from "./notify.ts";

const log = logger("alert");

/** What a run told, and what it could not. */
export interface TellResult {
  delivered: number;
  failed: number;
}

/**
 * Queues the incidents `opened` in this run for every target, queues the resolution of every
 * incident told before that is no longer open, tries everything pending for the targets, and
 * tells Alertmanager again about the incidents still open.
 */
export async function tellIncidents(
  db: Database,
  targets: readonly Target[],
  opened: readonly Incident[],
  source: IncidentSource,
  now: number,
): Promise<TellResult> {
  const result: TellResult = { delivered: 0, failed: 0 };
  if (targets.length === 0) return result;
  const byName = new Map(targets.map((t) => [targetName(t), t]));
  for (const incident of opened) {
    queueDeliveries(db, incident.id, "opened", [...byName.keys()], now);
  }
  queueResolutions(db, now);
  for (const delivery of pendingDeliveries(db, [...byName.keys()])) {
    const incident = incidentById(db, delivery.incidentId);
    if (!incident) continue;
    try {
      await deliver(byName.get(delivery.target)!, incident, delivery.event, source, now);
      recordDelivery(db, delivery.id, Date.now());
      result.delivered++;
    } catch (error) {
      const why = error instanceof Error ? error.message : String(error);
      recordDelivery(db, delivery.id, Date.now(), why);
      result.failed++;
      log.warn("Could not tell {target} that incident {id} {event}: {why}; tried again next run", {
        target: delivery.target,
        id: incident.id,
        event: delivery.event,
        why,
      });
    }
  }
  const stillOpen = activeIncidents(db).filter((i) => i.status === "open");
  for (const target of targets) {
    if (target.kind !== "alertmanager") continue;
    try {
      await refreshAlerts(target.url, stillOpen, source, now);
    } catch (error) {
      log.warn("Could not refresh the open incidents' alerts: {why}", {
        why: error instanceof Error ? error.message : String(error),
      });
    }
  }
  return result;
}
