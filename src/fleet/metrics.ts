/**
 * What a fleet's Prometheus watches on each pad: rounds, the newest complete round's ports and
 * capture, the newest score and threshold, anomalies and the model, from the store's status.
 * A metric with nothing to say (no round yet, no model yet, capture off) is left out, never
 * written as NaN or a made-up zero.
 *
 * @module
 */
import type { StoreStatus } from "../store/status.ts";
import type { MetricFamily, Sample } from "./exposition.ts";

/** pad's metrics of a database's status; every sample carries `db="DB_PATH"`. */
export function metricFamilies(status: StoreStatus, dbPath: string): MetricFamily[] {
  const base = { db: dbPath };
  const one = (value: number | null | undefined, labels: Record<string, string> = {}): Sample[] =>
    value === null || value === undefined || !Number.isFinite(value)
      ? []
      : [{ labels: { ...base, ...labels }, value }];
  const seconds = (ms: number | null | undefined) =>
    ms === null || ms === undefined ? null : ms / 1000;

  const families: MetricFamily[] = [];
  const add = (name: string, type: MetricFamily["type"], help: string, samples: Sample[]) =>
    families.push({ name, type, help, samples });

  // The counters are the newest row id, not count(*): prune deletes the oldest rows every night,
  // which count(*) would show as a fall (a counter reset to Prometheus). A new row gets
  // max(id) + 1 and prune removes the oldest first, so the newest id only falls when every row
  // went; Prometheus reads that as the reset it is.
  add(
    "pad_rounds_total",
    "counter",
    "Rounds stored in this database (live and imported, any status): the newest round's id.",
    one(status.roundsTotal),
  );

  const last = status.lastRound;
  if (last) {
    add(
      "pad_last_round_end_timestamp_seconds",
      "gauge",
      "When the newest complete round ended, in seconds since the Unix epoch.",
      one(seconds(last.endTime)),
    );
    add(
      "pad_last_round_ports_occupied",
      "gauge",
      "Ports found occupied in the newest complete round, by protocol and address family.",
      last.probe === null
        ? []
        : last.occupied.flatMap((p) =>
          one(p.count, { protocol: p.protocol, family: `ipv${p.family}` })
        ),
    );
    const captured = last.captureOff === null;
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
      captured ? one(last.packetsSeen) : [],
    );
    add(
      "pad_last_round_packets_dropped",
      "gauge",
      "Packets libpcap dropped in the newest complete round: by=buffer, no room in the " +
        "capture buffer; by=interface, by the interface or its driver.",
      captured
        ? [
          ...one(last.pcapDropped, { by: "buffer" }),
          ...one(last.pcapIfDropped, { by: "interface" }),
        ]
        : [],
    );
  }

  if (status.lastScore !== undefined) {
    const scored = status.lastScore;
    add(
      "pad_last_scored_round_start_timestamp_seconds",
      "gauge",
      "Start of the newest round pad detect has scored, in seconds since the Unix epoch.",
      one(seconds(scored?.startTime)),
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
  if (status.anomaliesTotal !== undefined) {
    add(
      "pad_anomalies_total",
      "counter",
      "Anomalies pad detect has stored: the newest anomaly's id.",
      one(status.anomaliesTotal),
    );
  }
  if (status.openIncidents !== undefined) {
    add(
      "pad_incidents_open",
      "gauge",
      "Incidents open or acknowledged (not closed by a quiet spell nor accepted), by kind.",
      status.openIncidents.flatMap((i) => one(i.open, { kind: i.kind })),
    );
    add(
      "pad_incidents_total",
      "counter",
      "Incidents pad detect has opened: the newest incident's id.",
      one(status.incidentsTotal),
    );
  }
  if (status.model !== undefined) {
    add("pad_model_version", "gauge", "Version of the newest model.", one(status.model?.version));
    add(
      "pad_model_trained_timestamp_seconds",
      "gauge",
      "When the newest model version was saved, in seconds since the Unix epoch.",
      one(seconds(status.model?.created)),
    );
  }
  return families;
}
