/**
 * pad's command-line parser: subcommands, flags, arguments, help and usage errors. Its
 * interface is the part of commander's that pad used, with the option types inferred from the
 * flag strings as `@commander-js/extra-typings` did (`"--log-format <format>"` with choices
 * gives `opts().logFormat: "text" | "json"`).
 *
 * Why not commander: it imports `node:fs`, `node:child_process`, `node:events` and
 * `node:path`, which boot Deno's Node compatibility layer in every pad process. That alone
 * took about 0.05 CPU s and 15 MiB, half of what `pad --help` or `pad status` cost (measured in
 * bench/collect_bench.ts's start-up section).
 *
 * How a command line is read: flags and operands may come in any order; a flag is looked up in
 * the command reached so far, then in its parents (so `pad inspect --db x` works); a flag that
 * takes a value takes the next word whatever it looks like (`--limit -1` is a value, refused by
 * its parser); `--` ends the flags. Every mistake is one UsageError naming the flag.
 *
 * @module
 */
import { UsageError } from "../errors.ts";
import { stdout } from "../output.ts";
import { formatDuration, parseChoice } from "../parse.ts";

/** Lower camel case of a flag's name: `log-format` → `logFormat`. */
type Camel<S extends string> = S extends `${infer Head}-${infer Tail}`
  ? `${Head}${Capitalize<Camel<Tail>>}`
  : S;
/** The long name in a flags string: `-o, --output <file>` → `output`. */
type LongName<F extends string> = F extends `${string}--${infer Rest}`
  ? Rest extends `${infer Name} ${string}` ? Name : Rest
  : never;
/** The key of an option in `opts()`: `--no-capture` sets `capture`. */
type KeyOf<F extends string> = LongName<F> extends `no-${infer Name}` ? Camel<Name>
  : Camel<LongName<F>>;
/** An option's value before any parser: text if it takes one, else a switch. */
type RawValue<F extends string> = F extends `${string}<${string}>` ? string
  : F extends `${string}[${string}]` ? string | true
  : boolean;
/** A `--no-` switch is on unless given, as if it had a default. */
type DefaultOn<F extends string> = LongName<F> extends `no-${string}` ? true : false;
/** What an option adds to `opts()`. */
type OptionRecord<F extends string, V, HasDefault extends boolean> = {
  [K in KeyOf<F>]: HasDefault extends true ? V : V | undefined;
};
/** An argument's value: `<file>` → string, `[table]` → string | undefined, `<files...>` → string[]. */
type ArgumentValue<S extends string> = S extends `${string}...${string}` ? string[]
  : S extends `<${string}` ? string
  : string | undefined;

/** Where an option's value came from, for `pad config`. */
export type ValueSource = "default" | "env" | "config" | "cli";

/** One flag: `--limit <n>`, `-o, --output <file>`, `--no-capture`, `--syslog [socket]`. */
export class Option<F extends string = string, V = unknown, HasDefault extends boolean = boolean> {
  readonly flags: F;
  readonly description: string;
  /** `--output`; every pad flag has one. */
  readonly long: string;
  /** `-o`, where there is one. */
  readonly short?: string;
  /** Takes a value: `<value>` must be given, `[value]` may be. */
  readonly takesValue: boolean;
  readonly valueOptional: boolean;
  /** `--no-capture`: sets `capture` to false; true unless given. */
  readonly negate: boolean;
  /** Must be given (requiredOption). */
  mandatory = false;
  hidden = false;
  argChoices?: readonly string[];
  defaultValue?: unknown;
  /** How the default is written in the help, where the value itself would not say it well. */
  defaultValueDescription?: string;
  parseArg?: (value: string, previous: unknown) => unknown;
  envVar?: string;

  constructor(flags: F, description = "") {
    this.flags = flags;
    this.description = description;
    const names = /^(?:(-\w), )?(--[\w-]+)(?: ([<[]).*)?$/.exec(flags);
    if (names === null) throw new Error(`Bad flags "${flags}"`);
    this.short = names[1];
    this.long = names[2]!;
    this.takesValue = names[3] !== undefined;
    this.valueOptional = names[3] === "[";
    this.negate = this.long.startsWith("--no-");
    if (this.negate) this.defaultValue = true;
  }

  /** The key in `opts()`: `--log-format` → `logFormat`, `--no-capture` → `capture`. */
  attributeName(): string {
    return this.long.replace(/^--(no-)?/, "").replace(/-(\w)/g, (_, c: string) => c.toUpperCase());
  }

  choices<const C extends readonly string[]>(values: C): Option<F, C[number], HasDefault> {
    this.argChoices = values;
    return this as unknown as Option<F, C[number], HasDefault>;
  }

  default<T extends V>(value: T, description?: string): Option<F, V, true> {
    this.defaultValue = value;
    this.defaultValueDescription = description;
    return this as unknown as Option<F, V, true>;
  }

  argParser<T>(parse: (value: string, previous: T) => T): Option<F, T, HasDefault> {
    this.parseArg = parse as (value: string, previous: unknown) => unknown;
    return this as unknown as Option<F, T, HasDefault>;
  }

  /** Takes its value from this environment variable when the flag is not given. */
  env(name: string): this {
    this.envVar = name;
    return this;
  }

  hideHelp(): this {
    this.hidden = true;
    return this;
  }

  /** The option's line in the help: its description, choices and default. */
  help(): string {
    const extra: string[] = [];
    if (this.argChoices) extra.push(choicesText(this.argChoices));
    const value = this.negate ? undefined : this.defaultValue;
    const silent = value === undefined || value === false ||
      (Array.isArray(value) && value.length === 0);
    if (!silent) extra.push(`default: ${this.defaultValueDescription ?? this.show(value)}`);
    return extra.length === 0 ? this.description : `${this.description} (${extra.join(", ")})`;
  }

  /** A value as a user would write it: a duration as `7d`, not milliseconds. */
  show(value: unknown): string {
    if (typeof value === "number" && this.flags.includes("<duration>")) {
      return formatDuration(value);
    }
    if (Array.isArray(value)) return value.join(", ");
    return typeof value === "string" ? value : JSON.stringify(value);
  }

  /** Turns the flag's text into its value: choices checked, then its parser's. */
  parse(text: string, previous: unknown): unknown {
    if (this.argChoices) parseChoice(text, this.long, this.argChoices);
    if (this.parseArg === undefined) return text;
    try {
      return this.parseArg(text, previous);
    } catch (error) {
      // pad's parsers name the flag and what it accepts.
      throw new UsageError(error instanceof Error ? error.message : String(error));
    }
  }
}

/** A command's operand: `<file>`, `[table]`, `<files...>`. */
export class Argument<V = unknown> {
  readonly description: string;
  readonly required: boolean;
  readonly variadic: boolean;
  readonly #name: string;
  argChoices?: readonly string[];

  constructor(spec: string, description = "") {
    this.description = description;
    this.required = spec.startsWith("<");
    this.variadic = spec.includes("...");
    this.#name = spec.slice(1, -1).replace("...", "");
  }

  name(): string {
    return this.#name;
  }

  choices<const C extends readonly string[]>(values: C): Argument<C[number]> {
    this.argChoices = values;
    return this as unknown as Argument<C[number]>;
  }

  /** The argument's line in the help: its description and choices. */
  help(): string {
    return this.argChoices
      ? `${this.description} (${choicesText(this.argChoices)})`
      : this.description;
  }

  /** `<files...>` as the usage line writes it. */
  usage(): string {
    const name = this.#name + (this.variadic ? "..." : "");
    return this.required ? `<${name}>` : `[${name}]`;
  }
}

/** Any command, whatever its arguments and options: for code that walks the tree. */
// deno-lint-ignore no-explicit-any
export type AnyCommand = Command<any, any>;

type Action = (...args: unknown[]) => void | Promise<void>;
type Hook = (hooked: AnyCommand, actionCommand: AnyCommand) => void | Promise<void>;

const HELP = new Option("-h, --help", "display help for command");
const HELP_WIDTH = 80;

/** A command: its options, arguments, subcommands, help and action. */
export class Command<Args extends unknown[] = [], Opts extends object = Record<never, never>> {
  readonly options: Option[] = [];
  readonly commands: AnyCommand[] = [];
  readonly registeredArguments: Argument[] = [];
  parent: AnyCommand | null = null;
  readonly #name: string;
  #description = "";
  #version?: string;
  #helpAfter: string[] = [];
  #action?: Action;
  #hooks: Hook[] = [];
  readonly #values = new Map<string, unknown>();
  readonly #sources = new Map<string, ValueSource>();

  constructor(name: string) {
    this.#name = name;
  }

  name(): string {
    return this.#name;
  }

  description(): string;
  description(text: string): this;
  description(text?: string): string | this {
    if (text === undefined) return this.#description;
    this.#description = text;
    return this;
  }

  /** `-V, --version` prints `version`. */
  version(version: string): this {
    this.#version = version;
    this.options.push(new Option("-V, --version", "output the version number"));
    return this;
  }

  option<F extends string>(
    flags: F,
    description: string,
  ): Command<Args, Opts & OptionRecord<F, RawValue<F>, DefaultOn<F>>>;
  option<F extends string>(
    flags: F,
    description: string,
    defaultValue: boolean,
  ): Command<Args, Opts & OptionRecord<F, boolean, true>>;
  option<F extends string, T>(
    flags: F,
    description: string,
    parse: (value: string, previous: T) => T,
  ): Command<Args, Opts & OptionRecord<F, T, false>>;
  option<F extends string, T>(
    flags: F,
    description: string,
    parse: (value: string, previous: T) => T,
    defaultValue: T,
  ): Command<Args, Opts & OptionRecord<F, T, true>>;
  option(
    flags: string,
    description: string,
    parse?: ((value: string, previous: unknown) => unknown) | boolean,
    defaultValue?: unknown,
  ): AnyCommand {
    const option = new Option(flags, description);
    if (typeof parse === "boolean") option.default(parse);
    else if (parse) option.argParser(parse);
    if (defaultValue !== undefined) option.default(defaultValue);
    return this.addOption(option);
  }

  /** An option that must be given. */
  requiredOption<F extends string, T>(
    flags: F,
    description: string,
    parse: (value: string, previous: T) => T,
  ): Command<Args, Opts & OptionRecord<F, T, true>> {
    const option = new Option(flags, description).argParser(parse);
    option.mandatory = true;
    return this.addOption(option) as never;
  }

  addOption<F extends string, V, D extends boolean>(
    option: Option<F, V, D>,
  ): Command<Args, Opts & OptionRecord<F, V, D>> {
    this.options.push(option as Option);
    if (option.defaultValue !== undefined) {
      this.setOptionValueWithSource(option.attributeName(), option.defaultValue, "default");
    }
    return this as never;
  }

  argument<S extends string>(
    spec: S,
    description: string,
  ): Command<[...Args, ArgumentValue<S>], Opts> {
    return this.addArgument(new Argument(spec, description)) as never;
  }

  addArgument<V>(argument: Argument<V>): Command<[...Args, V], Opts> {
    this.registeredArguments.push(argument as Argument);
    return this as never;
  }

  /** A new subcommand of this one, returned for its definition. */
  command(name: string): Command {
    const command = new Command(name);
    this.addCommand(command);
    return command;
  }

  /** The subcommand named `name`, if there is one. */
  subcommand(name: string): AnyCommand | undefined {
    return this.commands.find((c) => c.name() === name);
  }

  addCommand(command: AnyCommand): this {
    command.parent = this;
    this.commands.push(command);
    return this;
  }

  /** Text printed after the help, e.g. examples. */
  addHelpText(_position: "after", text: string): this {
    this.#helpAfter.push(text);
    return this;
  }

  /** Runs before the action of this command or any under it. */
  hook(_event: "preAction", hook: Hook): this {
    this.#hooks.push(hook);
    return this;
  }

  action(action: (...args: [...Args, Opts, this]) => void | Promise<void>): this {
    this.#action = action as Action;
    return this;
  }

  opts(): Opts {
    return Object.fromEntries(this.#values) as Opts;
  }

  getOptionValue(key: string): unknown {
    return this.#values.get(key);
  }

  getOptionValueSource(key: string): ValueSource | undefined {
    return this.#sources.get(key);
  }

  setOptionValueWithSource(key: string, value: unknown, source: ValueSource): void {
    this.#values.set(key, value);
    this.#sources.set(key, source);
  }

  /**
   * Reads `args` (without the program's name) and runs the command they name. Help and the
   * version go to stdout (a reader that closed it early is no error); a mistake throws a
   * UsageError and runs nothing.
   */
  async parseAsync(args: readonly string[]): Promise<void> {
    // The command reached so far: this one, then the subcommands the words name.
    // deno-lint-ignore no-this-alias
    let command: AnyCommand = this;
    const operands: string[] = [];
    for (let i = 0; i < args.length; i++) {
      const arg = args[i]!;
      if (arg === "--") {
        operands.push(...args.slice(i + 1));
        break;
      }
      if (arg.startsWith("-") && arg !== "-") {
        const [name, inline] = splitFlag(arg);
        if (name === "-h" || name === "--help") return stdout.write(command.helpText());
        const { option, owner } = findOption(command, name);
        if (option.long === "--version" && owner.#version !== undefined) {
          return stdout.write(owner.#version + "\n");
        }
        let value: unknown;
        if (!option.takesValue) {
          if (inline !== undefined) throw new UsageError(`${option.long} takes no value`);
          value = !option.negate;
        } else if (inline !== undefined) {
          value = option.parse(inline, owner.getOptionValue(option.attributeName()));
        } else if (option.valueOptional && (i + 1 >= args.length || args[i + 1]!.startsWith("-"))) {
          value = true;
        } else {
          if (i + 1 >= args.length) throw new UsageError(`${option.long} needs a value`);
          value = option.parse(args[++i]!, owner.getOptionValue(option.attributeName()));
        }
        owner.setOptionValueWithSource(option.attributeName(), value, "cli");
        continue;
      }
      const sub = operands.length === 0 ? command.subcommand(arg) : undefined;
      if (sub !== undefined) {
        command = sub;
      } else if (command.#action === undefined) {
        throw new UsageError(`unknown command '${arg}': ${commandPath(command)} --help lists them`);
      } else {
        operands.push(arg);
      }
    }
    if (command.#action === undefined) {
      // `pad` or `pad model` alone: what could be run, and a usage error.
      writeStderr(command.helpText());
      throw new UsageError(`${commandPath(command)} needs a command`);
    }
    const values = command.#operandValues(operands);
    const chain = lineage(command);
    for (const c of chain) c.#fromEnvironment();
    for (const option of command.options) {
      if (option.mandatory && command.getOptionValue(option.attributeName()) === undefined) {
        throw new UsageError(`${commandPath(command)} needs ${option.flags}`);
      }
    }
    for (const c of chain) for (const hook of c.#hooks) await hook(c, command);
    await command.#action(...values, command.opts(), command);
  }

  /** The operands as the action's arguments: required ones present, choices kept, no extra. */
  #operandValues(operands: string[]): unknown[] {
    const values: unknown[] = [];
    let next = 0;
    for (const argument of this.registeredArguments) {
      if (argument.variadic) {
        values.push(operands.slice(next));
        next = operands.length;
      } else {
        values.push(operands[next]);
        if (next < operands.length) next++;
      }
      const given = values.at(-1);
      if (argument.required && (given === undefined || (Array.isArray(given) && !given.length))) {
        throw new UsageError(`${commandPath(this)} needs ${argument.usage()}`);
      }
      if (argument.argChoices) {
        for (const value of [given ?? []].flat() as string[]) {
          parseChoice(value, argument.name(), argument.argChoices);
        }
      }
    }
    if (next < operands.length) {
      const extra = operands.slice(next).join(" ");
      const takes = this.registeredArguments.map((a) => a.usage()).join(" ");
      throw new UsageError(
        takes === ""
          ? `too many arguments: ${commandPath(this)} takes none, not "${extra}"`
          : `too many arguments: ${commandPath(this)} takes ${takes}, not also "${extra}"`,
      );
    }
    return values;
  }

  /** Options with an environment variable take it where no flag was given. */
  #fromEnvironment(): void {
    for (const option of this.options) {
      const key = option.attributeName();
      const value = option.envVar === undefined ? undefined : Deno.env.get(option.envVar);
      if (value === undefined || this.getOptionValueSource(key) === "cli") continue;
      this.setOptionValueWithSource(key, option.parse(value, this.getOptionValue(key)), "env");
    }
  }

  /** The help: usage, description, arguments, options, the parents' options, subcommands. */
  helpText(): string {
    const visible = (c: AnyCommand) => c.options.filter((o) => !o.hidden);
    const own = [...visible(this), HELP];
    const inherited = lineage(this).slice(0, -1).flatMap(visible);
    const commandTerm = (c: AnyCommand) =>
      [c.name(), ...(c.options.length > 0 ? ["[options]"] : [])]
        .concat(c.registeredArguments.map((a) => a.usage())).join(" ");
    const sections: [string, [string, string][]][] = [
      [
        "Arguments:",
        this.registeredArguments.filter((a) => a.description !== "").map((a) => [
          a.name(),
          a.help(),
        ]),
      ],
      ["Options:", own.map((o) => [o.flags, o.help()])],
      ["Global Options:", inherited.map((o) => [o.flags, o.help()])],
      ["Commands:", this.commands.map((c) => [commandTerm(c), c.description()])],
    ];
    const width = Math.max(...sections.flatMap(([, rows]) => rows.map(([term]) => term.length)));
    const usage = [
      `Usage: ${commandPath(this)} [options]`,
      ...(this.commands.length > 0 ? ["[command]"] : []),
      ...this.registeredArguments.map((a) => a.usage()),
    ].join(" ");
    const lines = [usage, ""];
    if (this.#description) lines.push(wrap(this.#description, 0), "");
    for (const [title, rows] of sections) {
      if (rows.length === 0) continue;
      lines.push(title, ...rows.map(([term, text]) => helpRow(term, text, width)), "");
    }
    return lines.join("\n").trimEnd() + "\n" + this.#helpAfter.map((t) => t + "\n").join("");
  }
}

/** `--name=value` → [`--name`, `value`]; anything else → [arg, undefined]. */
function splitFlag(arg: string): [string, string | undefined] {
  const equals = arg.startsWith("--") ? arg.indexOf("=") : -1;
  if (equals > 0) return [arg.slice(0, equals), arg.slice(equals + 1)];
  // `-ofile`: a short flag with its value attached.
  if (!arg.startsWith("--") && arg.length > 2) return [arg.slice(0, 2), arg.slice(2)];
  return [arg, undefined];
}

/** The option `name` names, in `command` or the nearest parent that has it. */
function findOption(command: AnyCommand, name: string): { option: Option; owner: AnyCommand } {
  const nearestFirst = lineage(command).reverse();
  for (const c of nearestFirst) {
    const option = c.options.find((o: Option) => o.long === name || o.short === name);
    if (option !== undefined) return { option, owner: c };
  }
  const known = nearestFirst.flatMap((c) =>
    c.options.filter((o: Option) => !o.hidden).map((o: Option) => o.long)
  );
  const near = known.find((k) => editDistance(k, name) <= 2);
  throw new UsageError(
    `unknown option '${name}'${near ? ` (did you mean ${near}?)` : ""}: ` +
      `${commandPath(command)} --help lists them`,
  );
}

/** The program, its subcommand, …, down to `command`. */
function lineage(command: AnyCommand): AnyCommand[] {
  const chain: AnyCommand[] = [];
  for (let c: AnyCommand | null = command; c !== null; c = c.parent) chain.unshift(c);
  return chain;
}

function commandPath(command: AnyCommand): string {
  return lineage(command).map((c) => c.name()).join(" ");
}

/** `choices: "text", "json"`, as the help writes them. */
function choicesText(values: readonly string[]): string {
  return `choices: ${values.map((c) => JSON.stringify(c)).join(", ")}`;
}

/** One row of a help section: the term padded to `width`, the text wrapped at 80 columns. */
function helpRow(term: string, text: string, width: number): string {
  return `  ${term.padEnd(width)}  ${wrap(text, width + 4)}`.trimEnd();
}

/** `text` in lines that end by column 80, each after the first indented by `indent`. */
function wrap(text: string, indent: number): string {
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(" ")) {
    if (line !== "" && indent + line.length + 1 + word.length > HELP_WIDTH) {
      lines.push(line);
      line = word;
    } else {
      line = line === "" ? word : `${line} ${word}`;
    }
  }
  lines.push(line);
  return lines.join("\n" + " ".repeat(indent));
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      row[j] = Math.min(
        previous[j]! + 1,
        row[j - 1]! + 1,
        previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
    }
    previous = row;
  }
  return previous[b.length]!;
}

function writeStderr(text: string): void {
  let bytes = new TextEncoder().encode(text);
  while (bytes.length > 0) bytes = bytes.subarray(Deno.stderr.writeSync(bytes));
}
