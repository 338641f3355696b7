/**
 * Every failure of the SDK, typed by a stable `code`: the server's error code where it sent one
 * (`profile_not_found`, `rate_limited`, `unauthorized`, `parameter_mismatch`, ...), else what went
 * wrong on this side (`network`, `too_large`, `invalid_json`, `invalid_preferences`, ...).
 */
export class VeilrankError extends Error {
  /** Stable machine-readable code. */
  readonly code: string;
  /** The HTTP status, when the server answered with an error. */
  readonly status?: number;
  /** Seconds the server asks to wait before retrying (`rate_limited`, `busy`). */
  readonly retryAfterSeconds?: number;

  constructor(code: string, message: string, status?: number, retryAfterSeconds?: number) {
    super(message);
    this.name = "VeilrankError";
    this.code = code;
    this.status = status;
    this.retryAfterSeconds = retryAfterSeconds;
  }

  /** A plain object that survives `postMessage`. */
  toJSON(): SerializedError {
    return {
      code: this.code,
      message: this.message,
      status: this.status,
      retryAfterSeconds: this.retryAfterSeconds,
    };
  }

  /** Any thrown value as a VeilrankError (errors thrown by the WebAssembly carry a `code`). */
  static from(e: unknown): VeilrankError {
    if (e instanceof VeilrankError) return e;
    if (e && typeof e === "object" && "code" in e && "message" in e) {
      const o = e as { code: unknown; message: unknown };
      return new VeilrankError(String(o.code), String(o.message));
    }
    return new VeilrankError("internal", e instanceof Error ? e.message : String(e));
  }

  static fromJSON(o: SerializedError): VeilrankError {
    return new VeilrankError(o.code, o.message, o.status, o.retryAfterSeconds);
  }
}

/** A VeilrankError as it crosses to and from the worker. */
export interface SerializedError {
  code: string;
  message: string;
  status?: number;
  retryAfterSeconds?: number;
}

/** The typed error of an error response: `{"error": {"code", "message"}}` and `Retry-After`. */
export async function serverError(response: Response): Promise<VeilrankError> {
  const retry = Number(response.headers.get("retry-after") ?? "");
  const retryAfter = Number.isFinite(retry) && retry >= 0 ? retry : undefined;
  let code = "unknown";
  let message = `the server answered ${response.status} without a JSON error`;
  try {
    const body = JSON.parse(new TextDecoder().decode(await readCapped(response, 1 << 20)));
    if (body && body.error && typeof body.error.code === "string") {
      code = body.error.code;
      message = String(body.error.message);
    }
  } catch {
    // not JSON: keep the generic message
  }
  switch (code) {
    case "stale_catalog":
      code = "catalog_changed";
      break;
    case "missing_api_key":
    case "bad_api_key":
      code = "unauthorized";
      break;
  }
  return new VeilrankError(code, message, response.status, retryAfter);
}

/**
 * Reads at most `limit` bytes of a body: more is an error after `limit` bytes, whatever the
 * `Content-Length` says, so a hostile or broken server costs an error, not the page's memory.
 */
export async function readCapped(response: Response, limit: number): Promise<Uint8Array> {
  const declared = Number(response.headers.get("content-length") ?? "");
  if (Number.isFinite(declared) && declared > limit) {
    throw new VeilrankError("too_large", `the server's answer is larger than ${limit} bytes`);
  }
  const broken = (e: unknown) =>
    new VeilrankError("network", `the connection broke: ${e instanceof Error ? e.message : e}`);
  if (!response.body) {
    try {
      return new Uint8Array(await response.arrayBuffer());
    } catch (e) {
      throw broken(e);
    }
  }
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let length = 0;
  for (;;) {
    const { done, value } = await reader.read().catch((e) => Promise.reject(broken(e)));
    if (done) break;
    length += value.length;
    if (length > limit) {
      await reader.cancel();
      throw new VeilrankError("too_large", `the server's answer is larger than ${limit} bytes`);
    }
    chunks.push(value);
  }
  const out = new Uint8Array(length);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}
