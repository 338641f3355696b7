/** The messages between the page and the worker. */
import type { SerializedError } from "./errors.js";

export interface Call {
  id: number;
  method: string;
  args: unknown[];
}

export type Reply =
  | { id: number; ok: true; value: unknown }
  | { id: number; ok: false; error: SerializedError };
