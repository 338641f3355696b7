/**
 * The Web Worker that runs the client: encryption, decryption and ranking never block the page,
 * and the secret keys live in this worker's WebAssembly memory.
 */
import { ClientCore } from "./core.js";
import { VeilrankError } from "./errors.js";
import type { Call, Reply } from "./protocol.js";

let client: ClientCore | undefined;

const scope = self as unknown as DedicatedWorkerGlobalScope;

scope.onmessage = async (event: MessageEvent<Call>) => {
  const { id, method, args } = event.data;
  let reply: Reply;
  try {
    reply = { id, ok: true, value: await dispatch(method, args) };
  } catch (e) {
    reply = { id, ok: false, error: VeilrankError.from(e).toJSON() };
  }
  scope.postMessage(reply);
};

async function dispatch(method: string, args: unknown[]): Promise<unknown> {
  if (method === "connect") {
    client = await ClientCore.connect(args[0] as string, args[1] as object);
    return client.manifest();
  }
  if (!client) throw new VeilrankError("not_connected", "connect first");
  const c = client as unknown as Record<string, (...a: unknown[]) => unknown>;
  if (typeof c[method] !== "function" || method.startsWith("_")) {
    throw new VeilrankError("internal", `no such call: ${method}`);
  }
  return c[method](...args);
}
