/**
 * What a fleet's Prometheus watches on each pad, read from the database: rounds, the newest
 * complete round's ports and capture, the newest score and threshold, anomalies and the model.
 * A metric with nothing to say (no round yet, no model yet, capture off) is left out, never
 * written as NaN or a made-up zero.
 *
 * @module
 */
import type { Database } from "../store/database.ts";
import type { MetricFamily, Sample } from "./exposition.ts";

/** Reads pad's metrics from `db`; every sample carries `db="DB_PATH"`. */
export function readMetrics(db: Database, dbPath: string): MetricFamily[] {
  const tables = new Set(
    db.prepare("SELECT name FROM sqlite_schema WHERE type = 'table'").all().map((r) =>
      String(r.name)
    ),
  );
  const base = { db: dbPath };
  const one = (value: unknown, labels: Record<string, string> = {}): Sample[] =>
    value === null || value === undefined || !Number.isFinite(Number(value))
      ? []
      : [{ labels: { ...base, ...labels }, value: Number(value) }];
  const seconds = (ms: unknown) => (ms === null || ms === undefined ? null : Number(ms) / 1000);

  const families: MetricFamily[] = [];
  const add = (name: string, type: MetricFamily["type"], help: string, samples: Sample[]) =>
    families.push({ name, type, help, samples });

  // The counters are the newest row id, not count(*): prune deletes the oldest rows every night,
  // which count(*) would show as a fall (a counter reset to Prometheus). A new row gets
  // max(id) + 1 and prune removes the oldest first, so the newest id only falls when every row
  // went; Prometheus reads that as the reset it is.
  const rounds = db.prepare("SELECT coalesce(max(id), 0) AS n FROM rounds").get()!;
  add(
    "pad_rounds_total",
    "counter",
    "Rounds stored in this database (live and imported, any status): the newest round's id.",
    one(rounds.n),
  );

  const last = db.prepare(
    "SELECT id, end_time, probe, capture_off, packets_seen, pcap_dropped, pcap_if_dropped " +
      "FROM rounds WHERE status = 'complete' ORDER BY start_time DESC LIMIT 1",
  ).get();
  if (last) {
    add(
      "pad_last_round_end_timestamp_seconds",
      "gauge",
      "When the newest complete round ended, in seconds since the Unix epoch.",
      one(seconds(last.end_time)),
    );
    add(
      "pad_last_round_ports_occupied",
      "gauge",
      "Ports found occupied in the newest complete round, by protocol and address family.",
      last.probe === null
        ? []
        : occupiedPorts(db, Number(last.id)).flatMap((p) =>
          one(p.count, { protocol: p.protocol, family: p.family })
        ),
    );
    const captured = last.capture_off === null;
    add(
      "pad_last_round_capture",
      "gauge",
      "1 when the newest complete round captured packets, 0 when capture was off.",
      one(captured ? 1 : 0),
    );
    add(
      "pad_last_round_packets",
      "gauge",
      "IP packets seen in the newest complete round (absent when capture was off).",
      captured ? one(last.packets_seen) : [],
    );
    add(
      "pad_last_round_packets_dropped",
      "gauge",
      "Packets libpcap dropped in the newest complete round: by=buffer, no room in the " +
        "capture buffer; by=interface, by the interface or its driver.",
      captured
        ? [
          ...one(last.pcap_dropped, { by: "buffer" }),
          ...one(last.pcap_if_dropped, { by: "interface" }),
        ]
        : [],
    );
  }

  if (tables.has("round_scores")) {
    const scored = db.prepare(
      "SELECT r.start_time, s.score, s.threshold FROM rounds r " +
        "JOIN round_scores s ON s.round_id = r.id ORDER BY r.start_time DESC LIMIT 1",
    ).get();
    add(
      "pad_last_scored_round_start_timestamp_seconds",
      "gauge",
      "Start of the newest round pad detect has scored, in seconds since the Unix epoch.",
      one(seconds(scored?.start_time)),
    );
    add(
      "pad_last_score",
      "gauge",
      "Score of the newest scored round (absent in warm-up before the first model).",
      one(scored?.score),
    );
    add(
      "pad_last_threshold",
      "gauge",
      "Threshold the newest scored round was judged against (absent while not calibrated).",
      one(scored?.threshold),
    );
  }
  if (tables.has("anomalies")) {
    const anomalies = db.prepare("SELECT coalesce(max(id), 0) AS n FROM anomalies").get()!;
    add(
      "pad_anomalies_total",
      "counter",
      "Anomalies pad detect has stored: the newest anomaly's id.",
      one(anomalies.n),
    );
  }
  if (tables.has("models")) {
    const model = db.prepare("SELECT id, created FROM models ORDER BY id DESC LIMIT 1").get();
    add("pad_model_version", "gauge", "Version of the newest model.", one(model?.id));
    add(
      "pad_model_trained_timestamp_seconds",
      "gauge",
      "When the newest model version was saved, in seconds since the Unix epoch.",
      one(seconds(model?.created)),
    );
  }
  return families;
}

/** The four protocol/family counts of a round, zeros included. */
function occupiedPorts(
  db: Database,
  roundId: number,
): { protocol: string; family: string; count: number }[] {
  const counts = new Map(
    db.prepare(
      "SELECT protocol, family, count(*) AS n FROM rounds_ports WHERE round_id = ? " +
        "GROUP BY protocol, family",
    ).all(roundId).map((r) => [`${r.protocol}/${r.family}`, Number(r.n)]),
  );
  return ["tcp", "udp"].flatMap((protocol) =>
    [4, 6].map((family) => ({
      protocol,
      family: `ipv${family}`,
      count: counts.get(`${protocol}/${family}`) ?? 0,
    }))
  );
}
