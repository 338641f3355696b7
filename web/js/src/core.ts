/**
 * The client itself: HTTP with `fetch`, the catalog's manifest, hint and item titles cached per
 * content version, and the WebAssembly for keys, encryption, decryption and ranking. It runs in
 * a Web Worker under {@link Veilrank} (index.ts), or directly where there is no Worker.
 */
import init, { EncryptedQuery, Key, Session } from "./gen/veilrank_web.js";
import { readCapped, serverError, VeilrankError } from "./errors.js";
import type {
  ConnectOptions,
  ItemInfo,
  Manifest,
  Preferences,
  Profile,
  ProfileInfo,
  RankedItem,
  Recommendations,
  Report,
} from "./types.js";

/** Items per page of metadata. */
const PAGE = 10_000;
/** The most bytes of JSON the API sends in one body. */
const JSON_LIMIT = 16 << 20;

let ready: Promise<unknown> | undefined;

/** Loads the WebAssembly once per worker (or page). */
export function loadWasm(): Promise<unknown> {
  ready ??= init();
  return ready;
}

/** One catalog version: its session (which holds the hint once given), and its items. */
interface View {
  session: Session;
  manifest: Manifest;
  hint?: Promise<number>;
  items?: Promise<ItemInfo[]>;
}

const now = () => performance.now();

export class ClientCore {
  private readonly base: string;
  private readonly catalogPath: string;
  private readonly headers: Record<string, string>;
  /** The current version, and the one before it (answers to queries sent just before a
   * replacement still name it). */
  private current: View;
  private previous?: View;
  private readonly keys = new Map<number, Key>();
  private nextKey = 1;

  private constructor(base: string, headers: Record<string, string>, view: View) {
    this.base = base;
    this.headers = headers;
    this.current = view;
    this.catalogPath = `${base}/v1/catalogs/${encodeURIComponent(view.manifest.id)}`;
  }

  /** Fetches the manifest and checks that the server speaks this SDK's parameter set. */
  static async connect(baseUrl: string, options: ConnectOptions = {}): Promise<ClientCore> {
    await loadWasm();
    const base = baseUrl.replace(/\/+$/, "");
    const headers: Record<string, string> = {};
    if (options.apiKey) headers["x-api-key"] = options.apiKey;
    const url = options.catalog
      ? `${base}/v1/catalogs/${encodeURIComponent(options.catalog)}`
      : `${base}/v1/catalog`;
    const deadline = now() + (options.readyTimeoutMs ?? 10_000);
    for (;;) {
      const response = await request(url, { headers });
      if (response.status === 503 && now() < deadline) {
        await new Promise((r) => setTimeout(r, 200));
        continue;
      }
      const text = await jsonText(response);
      const session = new Session(text);
      // the public masks' transforms, now rather than in the user's first query
      session.warmUp();
      return new ClientCore(base, headers, view(session, text));
    }
  }

  manifest(): Manifest {
    return this.current.manifest;
  }

  // keys: kept here, in WebAssembly memory, by handle

  generateKey(): number {
    return this.keep(Key.generate());
  }

  importKey(bytes: Uint8Array): number {
    return this.keep(Key.fromBytes(bytes));
  }

  exportKey(handle: number): Uint8Array {
    return this.key(handle).toBytes();
  }

  dropKey(handle: number): void {
    this.keys.get(handle)?.free();
    this.keys.delete(handle);
  }

  private keep(key: Key): number {
    const handle = this.nextKey++;
    this.keys.set(handle, key);
    return handle;
  }

  private key(handle: number): Key {
    const key = this.keys.get(handle);
    if (!key) throw new VeilrankError("unknown_key", "no such key: import or generate it first");
    return key;
  }

  // recommendations

  /** The `k` best items for `prefs`, best first. */
  async recommend(keyHandle: number, prefs: Preferences, k: number): Promise<Recommendations> {
    const key = this.key(keyHandle);
    const started = now();
    const query = this.encrypt(key, prefs);
    const encryptMs = now() - started;
    const body = query.body;
    const scale = query.scale;
    query.free();
    const report = blankReport(encryptMs, body.length);
    const bytes = await this.fetchScores(
      `${this.catalogPath}/score`,
      { method: "POST", body: body as BodyInit, headers: { "content-type": "application/octet-stream" } },
      report,
    );
    return this.finish(key, bytes, scale, k, report);
  }

  // stored profiles

  async createProfile(keyHandle: number, prefs: Preferences): Promise<Profile> {
    const query = this.encrypt(this.key(keyHandle), prefs);
    const [body, scale] = [query.body, query.scale];
    query.free();
    const response = await request(`${this.base}/v1/profiles`, {
      method: "POST",
      body: body as BodyInit,
      headers: { ...this.headers, "content-type": "application/octet-stream" },
    });
    const created = JSON.parse(await jsonText(response)) as { profile: ProfileInfo; token: string };
    return {
      server: this.base,
      id: created.profile.id,
      catalog: created.profile.catalog,
      token: created.token,
      queryScale: scale,
      info: created.profile,
    };
  }

  async profileInfo(profile: Profile): Promise<ProfileInfo> {
    const response = await request(this.profileUrl(profile), {
      headers: this.auth(profile),
    });
    return JSON.parse(await jsonText(response)) as ProfileInfo;
  }

  /** New preferences for a stored profile (same id and token): the profile, updated. */
  async replaceProfile(profile: Profile, keyHandle: number, prefs: Preferences): Promise<Profile> {
    const query = this.encrypt(this.key(keyHandle), prefs);
    const [body, scale] = [query.body, query.scale];
    query.free();
    const response = await request(this.profileUrl(profile), {
      method: "PUT",
      body: body as BodyInit,
      headers: { ...this.auth(profile), "content-type": "application/octet-stream" },
    });
    const info = JSON.parse(await jsonText(response)) as ProfileInfo;
    return { ...profile, catalog: info.catalog, queryScale: scale, info };
  }

  /** Erases a stored profile on the server, for good: the user's erase button. */
  async deleteProfile(profile: Profile): Promise<void> {
    const response = await request(this.profileUrl(profile), {
      method: "DELETE",
      headers: this.auth(profile),
    });
    if (!response.ok) throw await serverError(response);
  }

  /** The `k` best items for a stored profile: a request of a few hundred bytes. */
  async recommendProfile(profile: Profile, keyHandle: number, k: number): Promise<Recommendations> {
    const key = this.key(keyHandle);
    const report = blankReport(0, 0);
    const bytes = await this.fetchScores(
      `${this.profileUrl(profile)}/score`,
      { method: "POST", headers: this.auth(profile) },
      report,
    );
    return this.finish(key, bytes, profile.queryScale, k, report);
  }

  // the steps

  private encrypt(key: Key, prefs: Preferences): EncryptedQuery {
    const session = this.current.session;
    const vector =
      "topics" in prefs
        ? session.preferencesFromTopics(prefs.topics)
        : Float32Array.from(prefs.vector);
    return session.encrypt(key, vector);
  }

  private async fetchScores(url: string, init: RequestInit, report: Report): Promise<Uint8Array> {
    const started = now();
    const response = await request(url, {
      ...init,
      headers: { ...this.headers, ...(init.headers as Record<string, string>) },
    });
    if (!response.ok) throw await serverError(response);
    const headersAt = now() - started;
    const total = /(?:^|,)\s*total;dur=([0-9.]+)/.exec(response.headers.get("server-timing") ?? "");
    report.serverMs = total ? Number(total[1]) : undefined;
    // the largest answer of the current version, or of a replacement twice its size
    const bytes = await readCapped(
      response,
      2 * Math.max(this.current.session.responseSizeLimit, JSON_LIMIT),
    );
    report.downloadMs = now() - started - headersAt;
    report.uploadMs = Math.max(0, headersAt - (report.serverMs ?? 0));
    report.bytesReceived = bytes.length;
    return bytes;
  }

  private async finish(
    key: Key,
    response: Uint8Array,
    scale: number,
    k: number,
    report: Report,
  ): Promise<Recommendations> {
    const view = await this.viewOf(response);
    report.contentVersion = view.manifest.content_version;
    let started = now();
    report.hintBytes = await this.hintOf(view);
    report.hintMs = report.hintBytes > 0 ? now() - started : 0;
    started = now();
    const scores = view.session.decrypt(key, response);
    report.decryptMs = now() - started;
    const items = await this.itemsOf(view);
    started = now();
    const top = Session.topK(scores, k);
    const ranked: RankedItem[] = Array.from(top, (position, i) => ({
      rank: i + 1,
      id: items[position].id,
      title: items[position].title,
      score: view.session.dequantize(scores[position], scale),
      rawScore: scores[position],
    }));
    report.rankMs = now() - started;
    return { items: ranked, report };
  }

  /** The version a response was scored on: the current one, or the catalog's new version,
   * fetched now (a catalog update costs no failed request). */
  private async viewOf(response: Uint8Array): Promise<View> {
    const version = Session.responseVersion(response);
    for (const v of [this.current, this.previous]) {
      if (v && v.manifest.content_version === version) return v;
    }
    const text = await jsonText(await request(this.catalogPath, { headers: this.headers }));
    const fresh = view(this.current.session.successor(text), text);
    if (fresh.manifest.content_version !== version) {
      throw new VeilrankError(
        "catalog_changed",
        `the catalog changed twice meanwhile (now version ${fresh.manifest.content_version}); retry`,
      );
    }
    this.previous?.session.free();
    this.previous = this.current;
    this.current = fresh;
    return fresh;
  }

  /** Downloads the version's hint once; the bytes downloaded now (0 when it was kept). */
  private async hintOf(view: View): Promise<number> {
    if (view.hint) {
      await view.hint;
      return 0;
    }
    view.hint = (async () => {
      const response = await request(`${this.catalogPath}/hint?form=rounded`, {
        headers: this.headers,
      });
      if (!response.ok) throw await serverError(response);
      const bytes = await readCapped(response, view.session.hintSizeLimit);
      view.session.setHint(bytes);
      return bytes.length;
    })();
    view.hint.catch(() => (view.hint = undefined)); // a failed download is tried again
    return view.hint;
  }

  /** Every item's metadata, page by page, once per version: never only the recommended items,
   * which would tell the server what they are. */
  private itemsOf(view: View): Promise<ItemInfo[]> {
    view.items ??= (async () => {
      const all: ItemInfo[] = [];
      while (all.length < view.manifest.item_count) {
        const url = `${this.catalogPath}/items?offset=${all.length}&limit=${PAGE}`;
        const page = JSON.parse(await jsonText(await request(url, { headers: this.headers })));
        if (page.content_version !== view.manifest.content_version) {
          throw new VeilrankError("catalog_changed", "the catalog changed while its items were read");
        }
        if (!page.items.length || all.length + page.items.length > view.manifest.item_count) {
          throw new VeilrankError("bad_manifest", "the item listing does not add up");
        }
        all.push(...page.items);
      }
      return all;
    })();
    view.items.catch(() => (view.items = undefined));
    return view.items;
  }

  private profileUrl(profile: Profile): string {
    return `${this.base}/v1/profiles/${encodeURIComponent(profile.id)}`;
  }

  private auth(profile: Profile): Record<string, string> {
    return { ...this.headers, authorization: `Bearer ${profile.token}` };
  }
}

function view(session: Session, manifestText: string): View {
  return { session, manifest: JSON.parse(manifestText) as Manifest };
}

function blankReport(encryptMs: number, bytesSent: number): Report {
  return {
    encryptMs,
    uploadMs: 0,
    downloadMs: 0,
    hintMs: 0,
    hintBytes: 0,
    decryptMs: 0,
    rankMs: 0,
    bytesSent,
    bytesReceived: 0,
    contentVersion: "",
  };
}

/** `fetch`, with its failure to connect as a `network` error. */
async function request(url: string, init: RequestInit): Promise<Response> {
  try {
    return await fetch(url, init);
  } catch (e) {
    throw new VeilrankError(
      "network",
      `cannot reach the server at ${new URL(url).origin}: ${e instanceof Error ? e.message : e}`,
    );
  }
}

/** A successful response's JSON text (capped); an error response as its typed error. */
async function jsonText(response: Response): Promise<string> {
  if (!response.ok) throw await serverError(response);
  return new TextDecoder().decode(await readCapped(response, JSON_LIMIT));
}
