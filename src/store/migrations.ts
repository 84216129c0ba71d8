// Every migration is embedded in the program with a static text import, so a compiled pad
// carries its schema and never reads files next to itself.
import initial from "../../sql/0001_initial.sql" with { type: "text" };
import roundTraffic from "../../sql/0002_round_traffic.sql" with { type: "text" };
import detect from "../../sql/0003_detect.sql" with { type: "text" };
import anomalyReason from "../../sql/0004_anomaly_reason.sql" with { type: "text" };
import synSpread from "../../sql/0005_syn_spread.sql" with { type: "text" };
import listenerMemory from "../../sql/0006_listener_memory.sql" with { type: "text" };
import learned from "../../sql/0007_learned.sql" with { type: "text" };
import roundConnections from "../../sql/0008_round_connections.sql" with { type: "text" };
import incidents from "../../sql/0009_incidents.sql" with { type: "text" };
import rules from "../../sql/0010_rules.sql" with { type: "text" };
import imports from "../../sql/0011_imports.sql" with { type: "text" };
import flows from "../../sql/0012_flows.sql" with { type: "text" };
import trafficIndex from "../../sql/0013_traffic_index.sql" with { type: "text" };
import rowsByRound from "../../sql/0014_rows_by_round.sql" with { type: "text" };
import cheapChecks from "../../sql/0015_cheap_checks.sql" with { type: "text" };
import importProgress from "../../sql/0016_import_progress.sql" with { type: "text" };
import trafficInFlows from "../../sql/0017_traffic_in_flows.sql" with { type: "text" };

/** One forward-only schema step; `version` is what `PRAGMA user_version` holds after it. */
export interface Migration {
  version: number;
  name: string;
  sql: string;
}

/** All migrations, in order; the last one's version is the schema this pad writes. */
export const MIGRATIONS: readonly Migration[] = [
  { version: 1, name: "0001_initial", sql: initial },
  { version: 2, name: "0002_round_traffic", sql: roundTraffic },
  { version: 3, name: "0003_detect", sql: detect },
  { version: 4, name: "0004_anomaly_reason", sql: anomalyReason },
  { version: 5, name: "0005_syn_spread", sql: synSpread },
  { version: 6, name: "0006_listener_memory", sql: listenerMemory },
  { version: 7, name: "0007_learned", sql: learned },
  { version: 8, name: "0008_round_connections", sql: roundConnections },
  { version: 9, name: "0009_incidents", sql: incidents },
  { version: 10, name: "0010_rules", sql: rules },
  { version: 11, name: "0011_imports", sql: imports },
  { version: 12, name: "0012_flows", sql: flows },
  { version: 13, name: "0013_traffic_index", sql: trafficIndex },
  { version: 14, name: "0014_rows_by_round", sql: rowsByRound },
  { version: 15, name: "0015_cheap_checks", sql: cheapChecks },
  { version: 16, name: "0016_import_progress", sql: importProgress },
  { version: 17, name: "0017_traffic_in_flows", sql: trafficInFlows },
];

/** The schema version this pad creates and understands. */
export const SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1]!.version;
