/**
 * `pad completions bash|zsh|fish` and `pad help --man`: shell completion and a manual page,
 * both made from the same command definitions as `--help`, so they never disagree with it. The
 * command is defined in src/cli/completions.ts, which loads this module when it runs, as main.ts
 * does for `pad help --man`.
 *
 * @module
 */
import type { AnyCommand, Option } from "../cli/command.ts";
import type { Shell } from "../cli/completions.ts";

/** The completion script for `shell`, for the command tree under `program`. */
export function completion(program: AnyCommand, shell: Shell): string {
  return shell === "fish" ? fish(program) : shell === "zsh" ? zsh(program) : bash(program);
}

/** Every command path under `program` ("", "collect", "model merge", …) with its command. */
function commandsOf(program: AnyCommand): [path: string, command: AnyCommand][] {
  const all: [string, AnyCommand][] = [];
  const walk = (command: AnyCommand, path: string[]) => {
    all.push([path.join(" "), command]);
    for (const sub of command.commands) walk(sub, [...path, sub.name()]);
  };
  walk(program, []);
  return all;
}

const longFlags = (command: AnyCommand) =>
  command.options.flatMap((o) => (o.long && !o.hidden ? [o.long] : [])).concat("--help");

/** Flags that take a value: their next word is not a command name. */
function valueFlags(program: AnyCommand): string[] {
  return [
    ...new Set(
      commandsOf(program).flatMap(([, c]) =>
        c.options.filter((o) => o.takesValue).flatMap((o) => [o.long, o.short])
          .filter((f): f is string => f !== undefined)
      ),
    ),
  ];
}

function bash(program: AnyCommand): string {
  const cases = commandsOf(program).map(([path, command]) => {
    const words = [...command.commands.map((c) => c.name()), ...longFlags(command)];
    return `    "${path}") words="${words.join(" ")}" ;;`;
  });
  return `# bash completion for pad (pad completions bash)
_pad() {
  local cur=\${COMP_WORDS[COMP_CWORD]} path="" skip="" words="" i
  for ((i = 1; i < COMP_CWORD; i++)); do
    local w=\${COMP_WORDS[i]}
    if [[ -n $skip ]]; then skip=""; continue; fi
    case " ${valueFlags(program).join(" ")} " in *" $w "*) skip=1; continue ;; esac
    [[ $w == -* ]] && continue
    path=\${path:+$path }$w
  done
  case $path in
${cases.join("\n")}
  esac
  COMPREPLY=($(compgen -W "$words" -- "$cur"))
}
complete -o default -F _pad pad
`;
}

function zsh(program: AnyCommand): string {
  // zsh runs bash completion functions through bashcompinit, shipped with zsh.
  return `#compdef pad
# zsh completion for pad (pad completions zsh)
autoload -U +X bashcompinit && bashcompinit
${bash(program)}`;
}

function fish(program: AnyCommand): string {
  const lines = ["# fish completion for pad (pad completions fish)", "complete -c pad -f"];
  for (const [path, command] of commandsOf(program)) {
    const names = path.split(" ").filter((n) => n !== "");
    const seen = names.map((n) => `__fish_seen_subcommand_from ${n}`);
    const subs = command.commands.map((c) => c.name());
    // Subcommands are offered until one of them is on the line.
    const before = subs.length > 0 ? [`not __fish_seen_subcommand_from ${subs.join(" ")}`] : [];
    const condition = names.length === 0
      ? `-n "__fish_use_subcommand"`
      : `-n "${[...seen, ...before].join("; and ")}"`;
    for (const sub of command.commands) {
      lines.push(`complete -c pad ${condition} -a ${sub.name()} -d ${quote(sub.description())}`);
    }
    for (const option of command.options) {
      if (!option.long || option.hidden) continue;
      const value = option.takesValue ? " -r" : "";
      const choices = option.argChoices ? ` -a ${quote(option.argChoices.join(" "))}` : "";
      lines.push(
        `complete -c pad ${names.length === 0 ? "" : `${condition} `}-l ${
          option.long.slice(2)
        }${value}${choices} -d ${quote(option.description)}`,
      );
    }
  }
  return lines.join("\n") + "\n";
}

function quote(text: string): string {
  return `'${text.replaceAll("\\", "\\\\").replaceAll("'", "\\'")}'`;
}

/** pad(1) in roff: every command with its arguments and options. */
export function manPage(program: AnyCommand, version: string, date: string): string {
  const esc = (text: string) =>
    text.replaceAll("\\", "\\e").replaceAll("-", "\\-").replace(/^([.'])/gm, "\\&$1");
  const option = (o: Option) => `.TP\n.B ${esc(o.flags)}\n${esc(o.help())}`;
  const lines = [
    `.TH PAD 1 "${date}" "pad ${version}" "User Commands"`,
    ".SH NAME",
    `pad \\- ${esc(program.description())}`,
    ".SH SYNOPSIS",
    ".B pad",
    "[\\fIoptions\\fR] \\fIcommand\\fR [\\fIcommand options\\fR]",
    ".SH OPTIONS",
    ...program.options.map(option),
    ".SH COMMANDS",
  ];
  for (const [path, command] of commandsOf(program)) {
    if (path === "" || path === "help") continue;
    const args = command.registeredArguments.map((a) => a.usage());
    lines.push(`.SS "pad ${esc([path, ...args].join(" "))}"`, esc(command.description()));
    lines.push(...command.options.filter((o) => !o.hidden).map(option));
  }
  lines.push(
    ".SH EXIT STATUS",
    ".TP\n0\ndone",
    ".TP\n1\na runtime failure; one line on stderr says what and what to do",
    ".TP\n2\na bad flag, value or argument: nothing was done",
    ".TP\n3\npad detect \\-\\-exit\\-code opened an incident",
    ".TP\n4\nanother pad of the same role holds the lock: did nothing",
    ".SH ENVIRONMENT",
    ".TP\n.B PAD_DB\nthe database, when \\-\\-db is not given",
    ".TP\n.B XDG_DATA_HOME\nthe database is $XDG_DATA_HOME/pad/pad.db without either",
    ".SH SEE ALSO",
    "crontab(5), systemd.timer(5), tcpdump(8)",
  );
  return lines.join("\n") + "\n";
}
