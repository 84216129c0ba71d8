/**
 * `pad completions SHELL`'s definition: its argument and help; src/commands/completions.ts,
 * loaded when it runs, writes the script from the command tree.
 *
 * @module
 */
import { type AnyCommand, Argument, Command } from "./command.ts";
import type { Output } from "../output.ts";
import { examples } from "./shared.ts";

const SHELLS = ["bash", "zsh", "fish"] as const;

/** A shell `pad completions` writes for. */
export type Shell = typeof SHELLS[number];

/** `pad completions SHELL`, for the command tree under `program`. */
export function completionsCommand(program: AnyCommand, out: Output) {
  return new Command("completions")
    .description("print shell completion for bash, zsh or fish")
    .addArgument(new Argument("<shell>", "the shell").choices(SHELLS))
    .addHelpText(
      "after",
      examples([
        ["pad completions bash > /etc/bash_completion.d/pad", "bash, for every user"],
        ["pad completions fish > ~/.config/fish/completions/pad.fish", "fish"],
        ['pad completions zsh > "${fpath[1]}/_pad"', "zsh"],
      ]),
    )
    .action(async (shell) => {
      const { completion } = await import("../commands/completions.ts");
      out.write(completion(program, shell));
    });
}
