/**
 * Detect's defaults that other commands report (`pad status`) and its flags' help shows, kept
 * apart from the model and from detect itself so that reading them loads nothing else.
 *
 * @module
 */

/**
 * Rounds of history the model learns from before it judges (`--warmup`): two hours of minute
 * rounds. The rules and the new-listener rule flag from the first rounds; a model that judged
 * after one hour flagged the ordinary swings of a busy port its threshold had not seen yet (two
 * false-alarm incidents on README's synthetic host at 60, none at 120).
 */
export const DEFAULT_WARMUP_ROUNDS = 120;

/** How long without a flagged round closes an incident, unless `--quiet-spell` says otherwise. */
export const DEFAULT_QUIET_SPELL_MS = 30 * 60_000;
