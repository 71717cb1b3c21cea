import type { IncomingHttpHeaders } from 'node:http';

/**
 * What every connector's bundled simulator hands back once it is listening. The CLI runner's demo mode and the
 * end-to-end tests only rely on this; connector-specific handles (state, log, faults) are extra fields.
 */
export interface RunningSimulator {
  /** Origin of the simulator, e.g. `http://127.0.0.1:43123` (no trailing slash). */
  baseUrl: string;
  /** Connector flag name -> value that points the connector at this simulator (e.g. `base-url`, `api-key`). */
  config: Record<string, string>;
  /** Requests received so far (every request, whatever its outcome). */
  requestCount(): number;
  /** Requests received so far and how many were answered with each status (`simulator` prints it on SIGTERM). */
  stats(): SimulatorStats;
  close(): Promise<void>;
}

/** What a simulator served since it started: every request, and how many ended with each HTTP status. */
export interface SimulatorStats {
  requests: number;
  /** Status -> count; `0` counts connections reset by an injected fault. */
  byStatus: Record<string, number>;
}

/** Milliseconds since the epoch; injectable so rate-limit windows can be tested without sleeping. */
export type Clock = () => number;

export const systemClock: Clock = () => Date.now();

/** A request as route handlers, auth hooks and rate-limit classifiers see it. */
export interface SimRequest {
  method: string;
  /** Path without the query string, e.g. `/api/graphql/`. */
  path: string;
  query: URLSearchParams;
  /** Node lower-cases header names, so lookups are case-insensitive by construction. Never logged. */
  headers: IncomingHttpHeaders;
  rawBody: Buffer;
  /** Parsed JSON body, or `undefined` when the request had no body. */
  body: unknown;
  /** Values of `:name` segments of the matched route. */
  params: Record<string, string>;
  /** Identity returned by the auth hook (a label, never the credential itself). */
  identity: string | null;
  /** Scratch space shared by the classifier and the handler of one request (e.g. a parsed GraphQL document). */
  locals: Record<string, unknown>;
  /** Adds fields to this request's log entry (e.g. the GraphQL operation and its arguments). */
  annotate(info: Record<string, unknown>): void;
}

/** What a handler returns. `json` is serialised; `text` is sent as is. */
export interface SimResponse {
  status?: number;
  headers?: Record<string, string>;
  json?: unknown;
  text?: string;
}

export type RouteHandler = (req: SimRequest) => SimResponse | Promise<SimResponse>;

/** Either the caller is known (identity is a non-secret label used for rate limits and the log) or a response to send. */
export type AuthResult = { identity: string } | { response: SimResponse };

export type AuthHook = (req: SimRequest) => AuthResult | Promise<AuthResult>;

/** Maps a request to its rate-limit class (`read`, `write`, ...); `null` means "not rate limited". */
export type RateClassifier = (req: SimRequest) => string | null;
