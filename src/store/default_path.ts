/**
 * Where the database is when `--db` does not say. Apart from database.ts so that the command line
 * knows it at start-up without loading SQLite and the schema.
 *
 * @module
 */
import { join } from "../path.ts";
import { PadError } from "../errors.ts";

/** `$PAD_DB`, else `$XDG_DATA_HOME/pad/pad.db`, else `~/.local/share/pad/pad.db`. */
export function defaultDatabasePath(env: Pick<typeof Deno.env, "get"> = Deno.env): string {
  const explicit = env.get("PAD_DB");
  if (explicit) return explicit;
  const dataHome = env.get("XDG_DATA_HOME");
  if (dataHome) return join(dataHome, "pad", "pad.db");
  const home = env.get("HOME");
  if (!home) {
    throw new PadError(
      "Cannot choose a database path: HOME is not set; pass --db PATH or set PAD_DB",
    );
  }
  return join(home, ".local", "share", "pad", "pad.db");
}
