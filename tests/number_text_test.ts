import assert from "node:assert/strict";
import { count } from "../src/number_text.ts";

Deno.test("count() groups thousands with commas and rounds half away from zero, as Intl did", () => {
  const cases: [number, string][] = [
    [0, "0"],
    [999, "999"],
    [1000, "1,000"],
    [65535, "65,535"],
    [1234567, "1,234,567"],
    [-1234, "-1,234"],
    [2.5, "3"],
    [-2.5, "-3"],
    [999.5, "1,000"],
    [-0.4, "0"],
  ];
  for (const [n, text] of cases) assert.equal(count(n), text, String(n));
});
