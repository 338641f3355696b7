/** What the app gives: a preference vector, or names of the catalog's topics. */
export type Preferences = { vector: Float32Array | number[] } | { topics: string[] };

/** How to reach the server. */
export interface ConnectOptions {
  /** The catalog to use; the server's default catalog when absent. */
  catalog?: string;
  /** The app's API key, sent as `x-api-key`, when the server asks for one. */
  apiKey?: string;
  /** How long to wait for a server whose catalog is still being prepared (ms, default 10 000). */
  readyTimeoutMs?: number;
}

/** A ranked item. */
export interface RankedItem {
  /** 1 for the best. */
  rank: number;
  id: string;
  title: string;
  /** The dot product in the units of the original vectors. */
  score: number;
  /** The exact integer score of the quantized vectors. */
  rawScore: number;
}

/** Where the time and the bytes of one query went (milliseconds, bytes). */
export interface Report {
  encryptMs: number;
  /** From sending the query to the response's headers, less the server's own time. */
  uploadMs: number;
  /** The server's time as it reports it (`Server-Timing: total`), when it does. */
  serverMs?: number;
  downloadMs: number;
  /** Downloading and decoding the catalog's hint; 0 when it was kept from earlier. */
  hintMs: number;
  hintBytes: number;
  decryptMs: number;
  rankMs: number;
  bytesSent: number;
  bytesReceived: number;
  /** The catalog version the scores are for. */
  contentVersion: string;
}

/** The answer to a recommendation. */
export interface Recommendations {
  items: RankedItem[];
  report: Report;
}

/** Public metadata of one item. */
export interface ItemInfo {
  id: string;
  title: string;
}

/** A named direction of the catalog, for `{ topics }` preferences. */
export interface Topic {
  name: string;
  vector: number[];
}

/** The catalog manifest (`GET /v1/catalog`), the parts an app reads. */
export interface Manifest {
  id: string;
  content_version: string;
  item_count: number;
  dimension: number;
  topics: Topic[];
  hint_bytes: number;
  /** Bytes of the rounded hint the client downloads (absent: only the exact hint is served). */
  rounded_hint_bytes?: number;
  max_query_bytes: number;
  quantization: { bound: number; query_bound?: number; catalog_scale: number; query_scale: string };
  /** Value bits of the catalog and of its queries (absent from servers before precisions: 8/8). */
  precision?: { catalog_bits: number; query_bits: number };
  parameters: { name: string; fingerprint: string; polynomial_size: number };
  noise: {
    server_prime: string;
    response_bits: number;
    /** Bits per coefficient of the rounded hint (absent: only the exact hint is served). */
    hint_bits?: number;
    log2_failure_per_score: number;
  };
}

/** What the server keeps about a stored profile: metadata, never content. */
export interface ProfileInfo {
  id: string;
  catalog: string;
  dimension: number;
  created_at: string;
  expires_at: string;
  size_bytes: number;
}

/**
 * A stored profile as its owner keeps it. The `token` is secret: whoever holds it can use,
 * replace and erase the profile. Store it beside the key.
 */
export interface Profile {
  server: string;
  id: string;
  catalog: string;
  token: string;
  queryScale: number;
  info: ProfileInfo;
}

/** A secret key held by the SDK (in the worker's WebAssembly memory); export it to store it. */
export interface KeyHandle {
  readonly handle: number;
}
