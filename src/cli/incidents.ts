/**
 * `pad incidents [show ID]`, `pad ack ID` and `pad accept ID`'s definitions: their arguments,
 * flags and help; src/commands/incidents.ts, loaded when one runs, reads and answers incidents.
 *
 * @module
 */
import { Command, Option } from "./command.ts";
import { parseCount, parseTime } from "../parse.ts";
import type { IncidentStatus } from "../store/incidents.ts";
import { ROW_FORMATS } from "../table_format.ts";
import { type CommandContext, examples, flag } from "./shared.ts";

/** Statuses `pad incidents --status` takes. */
const INCIDENT_STATUSES: readonly IncidentStatus[] = ["open", "closed", "acknowledged", "accepted"];

/** `pad incidents [show ID]`: its flags, help and action. */
export function incidentsCommand(context: CommandContext) {
  const incidents = new Command("incidents")
    .description("list the incidents, newest first: what happened, in words")
    .addOption(
      new Option("--status <status>", "only incidents in this status").choices(INCIDENT_STATUSES),
    )
    .option(
      "--since <time>",
      "only incidents that lasted until this time or later: ISO 8601 or an age like 7d",
      flag(parseTime, "--since"),
    )
    .addOption(
      new Option("--format <format>", "output format (default: table on a terminal, else tsv)")
        // text: what show calls its table, so one word works for both.
        .choices([...ROW_FORMATS, "text"] as const),
    )
    .option("--limit <n>", "incidents at most; 0 for all", flag(parseCount, "--limit"), 20)
    .addHelpText(
      "after",
      examples([
        ["pad incidents", "the latest incidents"],
        ["pad incidents --status open", "what still needs an answer"],
        ["pad incidents show 12", "its rounds, ports, remote addresses and processes"],
      ]),
    )
    .action(async (opts) => {
      const { runIncidents } = await import("../commands/incidents.ts");
      const format = opts.format === "text" ? "table" : opts.format;
      runIncidents({ db: context.db(), ...opts, format }, context.stdout);
    });
  incidents.command("show")
    .description("one incident: its rounds, ports, remote addresses, processes and status")
    .argument("<id>", "the incident's number")
    .addOption(new Option("--format <format>", "text or json").choices(["text", "json"] as const))
    .action(async (id, opts) => {
      const { runIncidentShow } = await import("../commands/incidents.ts");
      runIncidentShow(
        { db: context.db(), id: incidentId(id), format: opts.format ?? "text" },
        context.stdout,
      );
    });
  return incidents;
}

/** `pad ack ID`: its help and action. */
export function ackCommand(context: CommandContext) {
  return new Command("ack")
    .description("acknowledge an incident: seen, no more alerts for it")
    .argument("<id>", "the incident's number")
    .action(async (id) => {
      const { runAnswer } = await import("../commands/incidents.ts");
      runAnswer({ db: context.db(), id: incidentId(id), answer: "ack" }, context.summary());
    });
}

/** `pad accept ID`: its help and action. */
export function acceptCommand(context: CommandContext) {
  return new Command("accept")
    .description("accept an incident as legitimate: its rounds are learned as normal")
    .argument("<id>", "the incident's number")
    .addHelpText(
      "after",
      examples([[
        "pad accept 12",
        "a service started on purpose: no incident for it again, and the model learns it",
      ]]),
    )
    .action(async (id) => {
      const { runAnswer } = await import("../commands/incidents.ts");
      runAnswer({ db: context.db(), id: incidentId(id), answer: "accept" }, context.summary());
    });
}

function incidentId(text: string): number {
  return parseCount(text, "ID", 1);
}
