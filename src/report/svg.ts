/**
 * Small helpers for the report's inline SVG charts: scales, ticks, axes and paths. Nothing here
 * knows about pad's data; `charts.ts` does.
 *
 * @module
 */

import { figure } from "./format.ts";
import { html, type Markup, type Part, raw } from "./markup.ts";

/** A chart's size and the margins around its plot area, in SVG user units. */
export interface Frame {
  width: number;
  height: number;
  left: number;
  right: number;
  top: number;
  bottom: number;
}

/** The plot area's edges. */
export function plotArea(f: Frame): { x0: number; x1: number; y0: number; y1: number } {
  return { x0: f.left, x1: f.width - f.right, y0: f.top, y1: f.height - f.bottom };
}

/** Maps a domain onto a range of user units. */
export type Scale = (value: number) => number;

/** A linear scale from [d0, d1] onto [r0, r1]. */
export function linearScale(d0: number, d1: number, r0: number, r1: number): Scale {
  const k = d1 === d0 ? 0 : (r1 - r0) / (d1 - d0);
  return (v) => r0 + (v - d0) * k;
}

/** A base-10 logarithmic scale; values at or below zero sit at the bottom of the domain. */
export function logScale(d0: number, d1: number, r0: number, r1: number): Scale {
  const linear = linearScale(Math.log10(d0), Math.log10(d1), r0, r1);
  return (v) => linear(Math.log10(Math.max(v, d0)));
}

/** A coordinate rounded to a tenth: enough for a screen, and a much shorter file. */
export function n(value: number): string {
  return String(Math.round(value * 10) / 10);
}

/** Powers of ten spanning `[min, max]` with the domain they round out to. */
export function logDomain(min: number, max: number): { lo: number; hi: number; ticks: number[] } {
  const lo = 10 ** Math.floor(Math.log10(min));
  let hi = 10 ** Math.ceil(Math.log10(max));
  if (hi <= lo) hi = lo * 10;
  const ticks: number[] = [];
  for (let t = lo; t <= hi * 1.0001; t *= 10) ticks.push(t);
  // One decade alone has too few lines to read a value against: add 2 and 5.
  if (ticks.length <= 2) {
    for (const t of [...ticks]) ticks.push(t * 2, t * 5);
    ticks.sort((a, b) => a - b);
  }
  return { lo, hi, ticks: ticks.filter((t) => t <= hi * 1.0001) };
}

/** Round ticks from 0 to at least `max` (1, 2 or 5 times a power of ten apart). */
export function linearTicks(max: number, count = 5): number[] {
  if (!(max > 0)) return [0, 1];
  const rough = max / count;
  const power = 10 ** Math.floor(Math.log10(rough));
  const step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= rough)!;
  const ticks: number[] = [];
  for (let t = 0; t < max + step; t += step) ticks.push(Number(t.toPrecision(12)));
  return ticks;
}

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const TIME_STEPS = [
  MINUTE,
  2 * MINUTE,
  5 * MINUTE,
  10 * MINUTE,
  15 * MINUTE,
  30 * MINUTE,
  HOUR,
  2 * HOUR,
  3 * HOUR,
  6 * HOUR,
  12 * HOUR,
  DAY,
  2 * DAY,
  7 * DAY,
];

/** A tick on the time axis: its time and one or two label lines (UTC). */
export interface TimeTick {
  at: number;
  lines: string[];
}

/**
 * Ticks at round UTC times between `start` and `end`, at most about `max` of them: `14:00`,
 * with the date (`03-02`) under the first tick and wherever the day changes; for steps of a
 * day or more, the date (`03-02`), with the year under the first.
 */
export function timeTicks(start: number, end: number, max = 10): TimeTick[] {
  const span = Math.max(end - start, MINUTE);
  const step = TIME_STEPS.find((s) => span / s <= max) ?? 7 * DAY;
  const ticks: TimeTick[] = [];
  let previousDay = "";
  for (let at = Math.ceil(start / step) * step; at <= end; at += step) {
    const iso = new Date(at).toISOString();
    const day = iso.slice(5, 10);
    const time = iso.slice(11, 16);
    // Whole days are labelled by their date alone, the year under the first.
    if (step >= DAY) ticks.push({ at, lines: ticks.length === 0 ? [day, iso.slice(0, 4)] : [day] });
    else ticks.push({ at, lines: day === previousDay ? [time] : [time, day] });
    previousDay = day;
  }
  return ticks;
}

/** An `<svg class="chart">` of the frame's size that scales to the page's width. */
export function chartSvg(frame: Frame, label: string, body: Part): Markup {
  const box = `0 0 ${frame.width} ${frame.height}`;
  return html`
    <svg class="chart" viewBox="${box}" role="img" aria-label="${label}">${body}</svg>
  `;
}

/** A line from (x1, y1) to (x2, y2). */
export function line(x1: number, y1: number, x2: number, y2: number, className: string): Markup {
  return html`
    <line x1="${n(x1)}" y1="${n(y1)}" x2="${n(x2)}" y2="${n(y2)}" class="${className}" />
  `;
}

/** A rectangle, with a tooltip when `title` is given. */
export function rect(
  x: number,
  y: number,
  width: number,
  height: number,
  className: string,
  title?: string,
): Markup {
  const tip = title === undefined ? "" : html`<title>${title}</title>`;
  return html`
    <rect x="${n(x)}" y="${n(y)}" width="${n(width)}" height="${n(height)}" class="${className}">
      ${tip}
    </rect>
  `;
}

/** A text at (x, y); `anchor` is start, middle or end. */
export function text(
  x: number,
  y: number,
  content: Part,
  className = "",
  anchor = "start",
): Markup {
  return html`
    <text x="${n(x)}" y="${n(y)}" text-anchor="${anchor}"
      class="${className}">${content}</text>
  `;
}

/** The time axis under the plot area, with its gridlines and title. */
export function timeAxis(frame: Frame, x: Scale, ticks: TimeTick[], title = "time (UTC)"): Markup {
  const { x0, x1, y0, y1 } = plotArea(frame);
  const marks = ticks.map((t) => {
    const at = x(t.at);
    // One tspan a line: the date goes under the time where the day changes.
    const lines = t.lines.map((label, i) =>
      html`<tspan x="${n(at)}" dy="${i === 0 ? 0 : 13}">${label}</tspan>`
    );
    return [
      line(at, y0, at, y1, "grid"),
      line(at, y1, at, y1 + 4, "tick"),
      text(at, y1 + 16, lines, "", "middle"),
    ];
  });
  return html`
    <g class="axis x">
      ${line(x0, y1, x1, y1, "domain")} ${marks}
      ${text(x1, frame.height - 4, title, "title", "end")}
    </g>
  `;
}

/** A vertical axis at the left of the plot area, with gridlines across it. */
export function valueAxis(
  frame: Frame,
  y: Scale,
  ticks: number[],
  title: string,
  format: (v: number) => string = figure,
): Markup {
  const { x0, x1, y0, y1 } = plotArea(frame);
  const marks = ticks.map((t) => [
    line(x0, y(t), x1, y(t), "grid"),
    text(x0 - 6, y(t) + 4, format(t), "", "end"),
  ]);
  const turn = `translate(${x0 - 62} ${n((y0 + y1) / 2)}) rotate(-90)`;
  return html`
    <g class="axis y">
      ${line(x0, y0, x0, y1, "domain")} ${marks}
      <text transform="${turn}" text-anchor="middle" class="title">${title}</text>
    </g>
  `;
}

/**
 * A polyline through `points`, broken wherever a point is null (a gap in the data must not be
 * drawn as a straight line across it).
 */
export function brokenLine(points: readonly ([number, number] | null)[]): string {
  let d = "";
  let pen = false;
  for (const p of points) {
    if (p === null) {
      pen = false;
      continue;
    }
    d += `${pen ? "L" : "M"}${n(p[0])} ${n(p[1])}`;
    pen = true;
  }
  return d;
}

/** `<path>` with a `d` built here (numbers only) and a class for the style sheet. */
export function path(d: string, className: string): Markup {
  return d === "" ? raw("") : html`
    <path d="${d}" class="${className}" />
  `;
}
