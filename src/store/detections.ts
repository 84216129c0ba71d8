/** Writing what detect decides: model versions, round scores, anomalies and their ports. */
import { type Database, hasTable, transaction } from "./database.ts";
import type { IncidentCause } from "./incidents.ts";
import { numberOrNull, textOrNull } from "./row_values.ts";

/** One model version as stored. */
export interface StoredModel {
  id: number;
  created: number;
  encoding: string;
  topology: string;
  weights: Uint8Array;
  config: string;
  threshold: number | null;
  thresholdState: string;
  /** Rounds learned from, over all versions. */
  roundsTrained: number;
  /** Start of the newest round learned from; null before any. */
  trainedUntil: number | null;
  metrics: string | null;
}

/** How many versions keep their weights; older rows stay as history without them. */
export const WEIGHTED_VERSIONS = 24;

/**
 * The newest version that still has its weights, or null before the first (or in a database,
 * opened read-only, whose schema predates models).
 */
export function latestModel(db: Database): StoredModel | null {
  const [newest] = weightedModelIds(db);
  return newest === undefined ? null : storedModel(db, newest);
}

/** The versions that still have their weights, newest first. */
export function weightedModelIds(db: Database): number[] {
  if (!hasTable(db, "models")) return [];
  return db.prepare("SELECT id FROM models WHERE weights IS NOT NULL ORDER BY id DESC").all()
    .map((r) => Number(r.id));
}

/** One stored version, or null when there is no such version with weights. */
export function storedModel(db: Database, id: number): StoredModel | null {
  const row = db.prepare("SELECT * FROM models WHERE id = ? AND weights IS NOT NULL").get(id);
  if (!row) return null;
  return {
    id: Number(row.id),
    created: Number(row.created),
    encoding: String(row.encoding),
    topology: String(row.topology),
    weights: row.weights as Uint8Array,
    config: String(row.config),
    threshold: numberOrNull(row.threshold),
    thresholdState: String(row.threshold_state),
    roundsTrained: Number(row.rounds_trained),
    trainedUntil: numberOrNull(row.trained_until),
    metrics: textOrNull(row.metrics),
  };
}

/**
 * Saves a new version in one transaction (the previous one stays loadable until it commits),
 * drops the weights of versions older than the last {@linkcode WEIGHTED_VERSIONS}, and marks
 * the scored rounds `learnedFrom` (the hour the version learned) as learned.
 */
export function saveModel(
  db: Database,
  model: Omit<StoredModel, "id">,
  learnedFrom: readonly number[] = [],
): number {
  return transaction(db, () => {
    markLearned(db, learnedFrom);
    const id = Number(
      db.prepare(
        "INSERT INTO models (created, encoding, topology, weights, config, threshold, " +
          "threshold_state, rounds_trained, trained_until, metrics) " +
          "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) " +
          "RETURNING id",
      ).get(
        model.created,
        model.encoding,
        model.topology,
        model.weights,
        model.config,
        model.threshold,
        model.thresholdState,
        model.roundsTrained,
        model.trainedUntil,
        model.metrics,
      )!.id,
    );
    db.prepare("UPDATE models SET weights = NULL WHERE id <= ? AND weights IS NOT NULL")
      .run(id - WEIGHTED_VERSIONS);
    return id;
  });
}

/** Marks scored rounds as learned (their hour passed through learning, flagged ones skipped). */
export function markLearned(db: Database, roundIds: readonly number[]): void {
  const mark = db.prepare("UPDATE round_scores SET learned = 1 WHERE round_id = ?");
  transaction(db, () => {
    for (const id of roundIds) mark.run(id);
  });
}

/** A contributing port of an anomaly. */
export interface AnomalyPort {
  port: number | null;
  protocol: string;
  error: number;
  pid?: number | null;
  command?: string | null;
}

/** Why a round was flagged: its score, or a listener on a port never listened on before. */
export type AnomalyReason = "score" | "new listener" | "rule";

/** The verdict on one round. */
export interface RoundScore {
  roundId: number;
  /** Null for warm-up rounds met before any model was trained. */
  score: number | null;
  threshold: number | null;
  /** `partial`: a round its capture covered only in part, which the model does not judge. */
  verdict: "warmup" | "normal" | "anomaly" | "partial";
  /** For anomalies: why (default "score": above the threshold). */
  reason?: AnomalyReason;
  /** For anomalies: the ports behind it, worst first. */
  ports?: AnomalyPort[];
  /** For anomalies: what happened, in words (the incident it joins or opens). */
  cause?: IncidentCause;
}

/**
 * Stores scores (replacing earlier ones of the same rounds) and anomalies in one transaction;
 * rounds removed since they were scored are passed over. Returns each stored anomaly's id by
 * its round.
 */
export function storeScores(
  db: Database,
  modelId: number | null,
  scoredAt: number,
  scores: readonly RoundScore[],
): Map<number, number> {
  const upsert = db.prepare(
    "INSERT INTO round_scores (round_id, model_id, scored_at, score, threshold, verdict) " +
      "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (round_id) DO UPDATE SET model_id = excluded.model_id, " +
      "scored_at = excluded.scored_at, score = excluded.score, threshold = excluded.threshold, " +
      "verdict = excluded.verdict",
  );
  // --rescore replaces an earlier verdict, but a round that stays flagged stays in its incident.
  const dropAnomalies = db.prepare(
    "DELETE FROM anomalies WHERE round_id = ? RETURNING incident_id",
  );
  const anomaly = db.prepare(
    "INSERT INTO anomalies (round_id, detected_at, score, threshold, model_id, reason, " +
      "incident_id) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
  );
  const port = db.prepare(
    "INSERT INTO anomaly_ports (anomaly_id, port_id, protocol, error, pid, command) " +
      "VALUES (?, ?, ?, ?, ?, ?)",
  );
  const knownPort = db.prepare(
    "INSERT INTO ports (id, first_seen) VALUES (?, ?) ON CONFLICT DO NOTHING",
  );
  const exists = db.prepare("SELECT 1 FROM rounds WHERE id = ?");
  const anomalies = new Map<number, number>();
  transaction(db, () => {
    for (const s of scores) {
      // A prune running meanwhile may have removed an old round: its verdict goes with it.
      if (exists.get(s.roundId) === undefined) continue;
      upsert.run(s.roundId, modelId, scoredAt, s.score, s.threshold, s.verdict);
      const incident = dropAnomalies.get(s.roundId)?.incident_id ?? null;
      if (s.verdict !== "anomaly") continue;
      const id = Number(
        anomaly.get(
          s.roundId,
          scoredAt,
          s.score!,
          s.threshold!,
          modelId!,
          s.reason ?? "score",
          incident as number | null,
        )!.id,
      );
      anomalies.set(s.roundId, id);
      for (const p of s.ports ?? []) {
        if (p.port !== null) knownPort.run(p.port, scoredAt);
        port.run(id, p.port, p.protocol, p.error, p.pid ?? null, p.command ?? null);
      }
    }
  });
  return anomalies;
}
