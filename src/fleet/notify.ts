/**
 * Telling a fleet's own tools about incidents: Prometheus' Alertmanager (the alert router a
 * fleet already runs: grouping, silences, mail, chat, pagers), an exec hook, and syslog. Each
 * event of an incident (opened; resolved: closed, acknowledged or accepted) is told once per
 * target; the caller keeps what failed and tries again on the next run.
 *
 * @module
 */
import { errorMessage, UsageError } from "../errors.ts";
import type { Incident } from "../store/incidents.ts";
import {
  type IncidentEvent,
  incidentJson,
  incidentLine,
  type IncidentSource,
} from "./incident_message.ts";

/** Where incidents are told. */
export type Target =
  | { kind: "alertmanager"; url: string }
  | { kind: "hook"; command: string }
  | { kind: "syslog"; socket: string };

/** An Alertmanager's base URL as given to `--alertmanager`, checked; without a trailing slash. */
export function alertmanagerUrl(text: string): string {
  let url: URL | null = null;
  try {
    url = new URL(text);
  } catch {
    // said below
  }
  if (!url || !["http:", "https:"].includes(url.protocol) || url.search || url.hash) {
    throw new UsageError(
      `Invalid --alertmanager "${text}": give its base URL, e.g. http://127.0.0.1:9093`,
    );
  }
  return text.replace(/\/+$/, "");
}

/** A target's name in `incident_deliveries.target`: its kind and address. */
export function targetName(target: Target): string {
  switch (target.kind) {
    case "alertmanager":
      return `alertmanager ${target.url}`;
    case "hook":
      return `hook ${target.command}`;
    case "syslog":
      return `syslog ${target.socket}`;
  }
}

/**
 * How long Alertmanager keeps an open incident's alert firing after pad last told it: detect
 * runs hourly and tells every open incident again each time, so a missed run or two does not
 * resolve it, while a pad that stopped running does not leave it firing for ever.
 */
export const ALERT_LIFETIME_MS = 3 * 3_600_000;

/** The syslog tag: `journalctl -t pad` shows pad's incidents. */
export const SYSLOG_TAG = "pad";

/** Tells `target` about `event` of `incident`; throws with a reason when it could not. */
export async function deliver(
  target: Target,
  incident: Incident,
  event: IncidentEvent,
  source: IncidentSource,
  now: number,
): Promise<void> {
  switch (target.kind) {
    case "alertmanager":
      return await postAlerts(target.url, [alertOf(incident, event, source, now)]);
    case "hook":
      return await runHook(target.command, incident, event, source);
    case "syslog":
      return await sendSyslog(target.socket, incidentLine(incident, event, source.host), event);
  }
}

/**
 * Tells Alertmanager again about the incidents still open, so their alerts keep firing while
 * pad runs (an alert Alertmanager is not told about again resolves at its `endsAt`).
 */
export async function refreshAlerts(
  url: string,
  open: readonly Incident[],
  source: IncidentSource,
  now: number,
): Promise<void> {
  if (open.length === 0) return;
  await postAlerts(url, open.map((i) => alertOf(i, "opened", source, now)));
}

/** An incident as an Alertmanager v2 alert; resolved ones end when they stopped mattering. */
function alertOf(
  incident: Incident,
  event: IncidentEvent,
  source: IncidentSource,
  now: number,
): Record<string, unknown> {
  const ended = incident.closedAt ?? incident.acknowledgedAt ?? incident.acceptedAt ?? now;
  return {
    labels: {
      alertname: "PadIncident",
      host: source.host ?? "unknown",
      incident: String(incident.id),
      kind: incident.kind,
      severity: "warning",
    },
    annotations: {
      summary: incident.summary,
      description: `${incidentLine(incident, null, source.host)}; see: pad incidents show ` +
        `${incident.id}`,
      status: incident.status,
    },
    startsAt: new Date(incident.startTime).toISOString(),
    endsAt: new Date(event === "resolved" ? ended : now + ALERT_LIFETIME_MS).toISOString(),
  };
}

async function postAlerts(url: string, alerts: Record<string, unknown>[]): Promise<void> {
  const endpoint = `${url.replace(/\/+$/, "")}/api/v2/alerts`;
  let response: Response;
  try {
    response = await fetch(endpoint, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(alerts),
      signal: AbortSignal.timeout(10_000),
    });
  } catch (error) {
    throw new Error(`Alertmanager at ${url} did not answer: ${errorMessage(error)}`);
  }
  const text = await response.text();
  if (!response.ok) {
    throw new Error(`Alertmanager at ${url} refused the alert (${response.status}): ${text}`);
  }
}

/**
 * Runs the hook with `sh -c`, the incident as one JSON object on stdin, and PAD_INCIDENT_ID and
 * PAD_INCIDENT_EVENT in its environment; it must exit 0 within a minute.
 */
async function runHook(
  command: string,
  incident: Incident,
  event: IncidentEvent,
  source: IncidentSource,
): Promise<void> {
  const child = new Deno.Command("/bin/sh", {
    args: ["-c", command],
    stdin: "piped",
    stdout: "null",
    stderr: "piped",
    env: { PAD_INCIDENT_ID: String(incident.id), PAD_INCIDENT_EVENT: event },
  }).spawn();
  const timer = setTimeout(() => child.kill("SIGKILL"), 60_000);
  try {
    const writer = child.stdin.getWriter();
    try {
      await writer.write(
        new TextEncoder().encode(JSON.stringify(incidentJson(incident, event, source)) + "\n"),
      );
      await writer.close();
    } catch {
      // a hook that does not read its stdin still decides by its exit code
    }
    const output = await child.output();
    if (!output.success) {
      const said = new TextDecoder().decode(output.stderr).trim().split("\n").at(-1) ?? "";
      throw new Error(
        `hook "${command}" exited ${output.code ?? output.signal}${said ? `: ${said}` : ""}`,
      );
    }
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Sends one RFC 3164 line to the syslog socket (journald and rsyslog both listen on /dev/log):
 * facility daemon, warning when an incident opens and notice when it resolves.
 */
async function sendSyslog(socket: string, line: string, event: IncidentEvent): Promise<void> {
  const priority = 3 * 8 + (event === "opened" ? 4 : 5); // daemon.warning, daemon.notice
  const message = `<${priority}>${SYSLOG_TAG}[${Deno.pid}]: ${line}`;
  // A datagram socket needs an address of its own to send from.
  const dir = Deno.makeTempDirSync({ prefix: "pad-syslog-" });
  const self = `${dir}/s`;
  try {
    const conn = Deno.listenDatagram({ transport: "unixpacket", path: self });
    try {
      await conn.send(new TextEncoder().encode(message), { transport: "unixpacket", path: socket });
    } finally {
      conn.close();
    }
  } catch (error) {
    throw new Error(`syslog at ${socket} did not take the line: ${errorMessage(error)}`);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
}
