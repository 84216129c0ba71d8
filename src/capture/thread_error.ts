/**
 * Errors as they cross between a worker and its owner: class instances do not survive a
 * worker's cloning, so an error goes as its name and message (and libpcap's status) and is
 * made again on the other side, as the class the owner tells errors apart by.
 *
 * @module
 */
import { PcapError } from "../../ffi/mod.ts";
import { PadError, UsageError } from "../errors.ts";
import type { SerializedError } from "./live_protocol.ts";

/** `error` as it can be posted. */
export function serializeError(error: unknown): SerializedError {
  if (error instanceof PcapError) {
    return {
      name: error.name,
      message: error.message,
      code: error.code,
      libpcapMessage: error.libpcapMessage,
    };
  }
  if (error instanceof Error) return { name: error.name, message: error.message };
  return { name: "Error", message: String(error) };
}

/** The error {@linkcode serializeError} posted: a `PcapError`, `PadError` or `UsageError` again. */
export function reviveError(error: SerializedError): Error {
  if (error.name === "PcapError") {
    return new PcapError(error.message, error.code ?? -1, error.libpcapMessage ?? "");
  }
  if (error.name === "PadError") return new PadError(error.message);
  if (error.name === "UsageError") return new UsageError(error.message);
  const revived = new Error(error.message);
  revived.name = error.name;
  return revived;
}
