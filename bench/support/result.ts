/**
 * The one line every bench script prints per figure, for bench/main.ts to collect:
 *
 *     RESULT {"section":"capture","figure":"live capture on lo",…}
 *
 * One JSON object after `RESULT ` on a line of its own on stdout; everything else a script prints
 * is for people. A figure's `ratio` is oriented so that above 1 means pad does better than the
 * anchor (faster, more packets/s, less CPU, less memory), and `ratioText` says how, e.g.
 * "12.3× faster".
 *
 * @module
 */

/** One measured figure, its anchor measured in the same run, and its target if it has one. */
export interface BenchResult {
  /** Which table of RESULTS.md it belongs to, e.g. "probe", "capture", "detect". */
  section: string;
  /** What was measured, e.g. "listen sweep, tcp4". */
  figure: string;
  value: number;
  /** Unit of `value` (and of `anchorValue`), e.g. "s", "packets/s", "MiB", "% of a core". */
  unit: string;
  /** What pad was compared with, e.g. "Python socket.bind sweep, tcp4". */
  anchor?: string;
  anchorValue?: number;
  /** Above 1: pad does better than the anchor; see `ratioText` for how it reads. */
  ratio?: number;
  /** The ratio in words, e.g. "3.1× faster", "0.36× tcpdump's rate". */
  ratioText?: string;
  /** The target from the issue, e.g. "≥ 100,000 packets/s, 0 dropped". */
  target?: string;
  pass?: boolean;
  /** Set instead of `pass` when the run could not test the target, saying why. */
  inconclusive?: string;
  /** Conditions that qualify the figure (rates, sizes, what was left out). */
  note?: string;
}

/** Prefix of a result line. */
export const RESULT_PREFIX = "RESULT ";

/** Prints `result` as a RESULT line on stdout. */
export function emitResult(result: BenchResult): void {
  console.log(RESULT_PREFIX + JSON.stringify(result));
}

/**
 * A ratio where lower is better (time, CPU, memory): how many times less pad needs, worded with
 * `words` = [better, worse], e.g. "3.1× faster", or "1.9× slower" when the anchor did better.
 */
export function lowerIsBetter(
  value: number,
  anchorValue: number,
  words: readonly [string, string] = ["less", "more"],
): { ratio: number; ratioText: string } {
  const ratio = anchorValue / value;
  const ratioText = ratio >= 1 || ratio === 0
    ? `${formatRatio(ratio)} ${words[0]}`
    : `${formatRatio(1 / ratio)} ${words[1]}`;
  return { ratio, ratioText };
}

/** A ratio where higher is better (throughput): pad's figure over the anchor's. */
export function higherIsBetter(
  value: number,
  anchorValue: number,
  of = "the anchor's",
): { ratio: number; ratioText: string } {
  const ratio = value / anchorValue;
  return { ratio, ratioText: `${formatRatio(ratio)} ${of}` };
}

/** "0.36×", "2.5×", "12.3×", "5,706×": about three significant digits, at most one decimal. */
export function formatRatio(ratio: number): string {
  if (!Number.isFinite(ratio)) return "n/a";
  if (ratio >= 100) return `${Math.round(ratio).toLocaleString("en")}×`;
  return `${ratio >= 10 ? ratio.toFixed(1) : ratio.toPrecision(2)}×`;
}

/** The result on `line`, or undefined when it is not a well-formed RESULT line. */
export function parseResultLine(line: string): BenchResult | undefined {
  if (!line.startsWith(RESULT_PREFIX)) return undefined;
  try {
    const parsed = JSON.parse(line.slice(RESULT_PREFIX.length));
    const ok = typeof parsed === "object" && parsed !== null &&
      typeof parsed.section === "string" && typeof parsed.figure === "string" &&
      typeof parsed.value === "number" && typeof parsed.unit === "string";
    return ok ? parsed as BenchResult : undefined;
  } catch {
    return undefined;
  }
}
