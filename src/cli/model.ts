/**
 * `pad model export|import|merge`'s definitions: their arguments, flags and help;
 * src/commands/model.ts, loaded when one runs, reads and writes the model files.
 *
 * @module
 */
import { Command } from "./command.ts";
import { parsePath } from "../parse.ts";
import { type CommandContext, examples, flag } from "./shared.ts";

/** `pad model export|import|merge`: their flags, help and actions. */
export function modelCommand(context: CommandContext) {
  const model = new Command("model")
    .description("move models between hosts: export, import, merge (federated averaging)")
    .addHelpText(
      "after",
      examples([
        ["pad model export web1.padmodel", "on each host: its newest model"],
        ["pad model merge web1.padmodel web2.padmodel -o fleet.padmodel", "average them"],
        ["pad model import fleet.padmodel", "on each host: score with the merged model"],
      ]),
    );
  model.command("export")
    .description("write the current model (weights, threshold, rounds trained on) to one file")
    .argument("<file>", "model file to write")
    .action(async (file) => {
      const { runModelExport } = await import("../commands/model.ts");
      runModelExport({ db: context.db(), file: parsePath(file, "FILE") }, context.summary());
    });
  model.command("import")
    .description("install a model file as the next model version")
    .argument("<file>", "model file to read")
    .action(async (file) => {
      const { runModelImport } = await import("../commands/model.ts");
      await runModelImport({ db: context.db(), file: parsePath(file, "FILE") }, context.summary());
    });
  model.command("merge")
    .description("average models weighted by the rounds each was trained on")
    .argument("<files...>", "model files (two or more)")
    .requiredOption("-o, --output <file>", "merged model file", flag(parsePath, "--output"))
    .action(async (files, opts) => {
      const { runModelMerge } = await import("../commands/model.ts");
      await runModelMerge({
        inputs: files.map((f) => parsePath(f, "FILE")),
        output: opts.output,
        db: context.dbIfKnown(),
      }, context.summary());
    });
  return model;
}
