import assert from "node:assert/strict";
import { openDatabase } from "../src/store/database.ts";
import { loadRounds, precedingRounds, roundsBefore, roundsToScore } from "../src/store/history.ts";
import { tempDir } from "../fixtures/pad_cli.ts";
import { storeRoundHistory } from "../fixtures/history.ts";
import { generateHistory, HISTORY_START } from "../fixtures/synthetic.ts";

Deno.test("loadRounds() gives back what was stored: ports, owners, traffic and DNS figures", () => {
  using dir = tempDir();
  using db = openDatabase(`${dir.path}/pad.db`);
  const history = generateHistory({ rounds: 30, seed: 7 });
  const ids = storeRoundHistory(db, history);
  const loaded = loadRounds(db, ids);
  assert.deepEqual(loaded.map((r) => r.endTime), history.map((r) => r.startTime + 55_000));
  const canonical = (r: (typeof history)[number]) => ({
    ...r,
    id: 0,
    endTime: 0,
    occupied: r.occupied.map((o) => ({ pid: null, command: null, ...o }))
      .sort((a, b) =>
        a.port - b.port || a.protocol.localeCompare(b.protocol) || a.family - b.family
      ),
    traffic: [...r.traffic].sort((a, b) =>
      (a.port ?? -1) - (b.port ?? -1) || a.protocol.localeCompare(b.protocol) ||
      a.direction.localeCompare(b.direction)
    ),
  });
  assert.deepEqual(loaded.map(canonical), history.map(canonical));
  assert.deepEqual(loaded.map((r) => r.id), ids);
});

Deno.test("roundsToScore(), roundsBefore() and precedingRounds() follow start time, complete rounds only", () => {
  using dir = tempDir();
  using db = openDatabase(`${dir.path}/pad.db`);
  const ids = storeRoundHistory(db, generateHistory({ rounds: 12, seed: 3 }));
  db.prepare("UPDATE rounds SET status = 'failed' WHERE id = ?").run(ids[4]!);
  assert.deepEqual(roundsToScore(db, false).map((r) => r.id), ids.filter((_, i) => i !== 4));
  assert.equal(roundsBefore(db, HISTORY_START + 6 * 60_000), 5); // rounds 0–5 less the failed one
  assert.deepEqual(
    precedingRounds(db, HISTORY_START + 6 * 60_000, 3).map((r) => r.id),
    [ids[2], ids[3], ids[5]], // oldest first, the failed round 4 skipped
  );
});
