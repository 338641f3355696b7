/**
 * veilrank for web apps: the user's preferences are encrypted on the device, the server scores
 * its catalog without seeing them, only the page sees the ranking.
 *
 * ```ts
 * import { Veilrank } from "veilrank";
 * const vr = await Veilrank.connect("https://recs.example.com", { apiKey });
 * const key = await vr.generateKey();          // or importKey(bytes) of exportKey(key)
 * const { items } = await vr.recommend(key, { topics: ["jazz"] }, 10);
 * ```
 *
 * Everything heavy runs in a Web Worker (the page never freezes, the key stays in the worker's
 * WebAssembly memory); `{ worker: false }` runs it on the calling thread instead.
 */
import { ClientCore } from "./core.js";
import { VeilrankError } from "./errors.js";
import type { Call, Reply } from "./protocol.js";
import type {
  ConnectOptions,
  KeyHandle,
  Manifest,
  Preferences,
  Profile,
  ProfileInfo,
  Recommendations,
} from "./types.js";

export { VeilrankError } from "./errors.js";
export type * from "./types.js";

/** Where the client runs: in a worker (messages), or here. */
interface Backend {
  call(method: string, args: unknown[]): Promise<unknown>;
  close(): void;
}

class WorkerBackend implements Backend {
  private readonly worker: Worker;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: unknown) => void }>();
  private next = 1;

  constructor() {
    this.worker = new Worker(new URL("./worker.js", import.meta.url), { type: "module" });
    this.worker.onmessage = (event: MessageEvent<Reply>) => {
      const reply = event.data;
      const waiting = this.pending.get(reply.id);
      if (!waiting) return;
      this.pending.delete(reply.id);
      if (reply.ok) waiting.resolve(reply.value);
      else waiting.reject(VeilrankError.fromJSON(reply.error));
    };
    this.worker.onerror = (event) => {
      const error = new VeilrankError("internal", `the SDK's worker failed: ${event.message}`);
      for (const waiting of this.pending.values()) waiting.reject(error);
      this.pending.clear();
    };
  }

  call(method: string, args: unknown[]): Promise<unknown> {
    const id = this.next++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ id, method, args } satisfies Call);
    });
  }

  close(): void {
    this.worker.terminate();
  }
}

class LocalBackend implements Backend {
  constructor(private readonly core: ClientCore) {}

  async call(method: string, args: unknown[]): Promise<unknown> {
    const c = this.core as unknown as Record<string, (...a: unknown[]) => unknown>;
    try {
      return await c[method](...args);
    } catch (e) {
      throw VeilrankError.from(e);
    }
  }

  close(): void {}
}

/** A connection to one veilrank server and one of its catalogs. */
export class Veilrank {
  private constructor(
    private readonly backend: Backend,
    private manifestCache: Manifest,
  ) {}

  /**
   * Connects: fetches the catalog's manifest and checks that the server speaks this SDK's
   * parameter set. `baseUrl` may be relative to the page.
   */
  static async connect(
    baseUrl: string,
    options: ConnectOptions & { worker?: boolean } = {},
  ): Promise<Veilrank> {
    const { worker, ...connect } = options;
    const base = typeof location === "undefined" ? baseUrl : new URL(baseUrl, location.href).href;
    if (worker ?? typeof Worker !== "undefined") {
      const backend = new WorkerBackend();
      try {
        const manifest = (await backend.call("connect", [base, connect])) as Manifest;
        return new Veilrank(backend, manifest);
      } catch (e) {
        backend.close();
        throw e;
      }
    }
    const core = await ClientCore.connect(base, connect);
    return new Veilrank(new LocalBackend(core), core.manifest());
  }

  /** The catalog's manifest as last fetched (id, size, dimension, topics, ...). */
  get manifest(): Manifest {
    return this.manifestCache;
  }

  /** A fresh secret key, kept by the SDK. */
  async generateKey(): Promise<KeyHandle> {
    return { handle: (await this.backend.call("generateKey", [])) as number };
  }

  /** A key from the bytes of {@link exportKey}. */
  async importKey(bytes: Uint8Array): Promise<KeyHandle> {
    return { handle: (await this.backend.call("importKey", [bytes])) as number };
  }

  /** The key's bytes, to store (secret: wrap them before storing, see the README). */
  async exportKey(key: KeyHandle): Promise<Uint8Array> {
    return (await this.backend.call("exportKey", [key.handle])) as Uint8Array;
  }

  /** Forgets a key (its memory is zeroized). */
  async dropKey(key: KeyHandle): Promise<void> {
    await this.backend.call("dropKey", [key.handle]);
  }

  /** The `k` best items for `prefs`, best first (ties to the earlier catalog item). */
  async recommend(key: KeyHandle, prefs: Preferences, k = 10): Promise<Recommendations> {
    const result = (await this.backend.call("recommend", [key.handle, prefs, k])) as Recommendations;
    await this.refreshManifest(result.report.contentVersion);
    return result;
  }

  /** Stores the encrypted preferences on the server once; keep the profile with the key. */
  async createProfile(key: KeyHandle, prefs: Preferences): Promise<Profile> {
    return (await this.backend.call("createProfile", [key.handle, prefs])) as Profile;
  }

  /** The `k` best items for a stored profile: a request of a few hundred bytes. */
  async recommendProfile(profile: Profile, key: KeyHandle, k = 10): Promise<Recommendations> {
    const result = (await this.backend.call("recommendProfile", [profile, key.handle, k])) as Recommendations;
    await this.refreshManifest(result.report.contentVersion);
    return result;
  }

  /** New preferences for a stored profile: the profile, updated (same id and token). */
  async replaceProfile(profile: Profile, key: KeyHandle, prefs: Preferences): Promise<Profile> {
    return (await this.backend.call("replaceProfile", [profile, key.handle, prefs])) as Profile;
  }

  /** What the server keeps about a profile: dates and size, never content. */
  async profileInfo(profile: Profile): Promise<ProfileInfo> {
    return (await this.backend.call("profileInfo", [profile])) as ProfileInfo;
  }

  /** Erases the stored profile on the server, for good. */
  async deleteProfile(profile: Profile): Promise<void> {
    await this.backend.call("deleteProfile", [profile]);
  }

  /** Ends the worker and everything in it, keys included. */
  close(): void {
    this.backend.close();
  }

  private async refreshManifest(version: string): Promise<void> {
    if (version && version !== this.manifestCache.content_version) {
      this.manifestCache = (await this.backend.call("manifest", [])) as Manifest;
    }
  }
}
