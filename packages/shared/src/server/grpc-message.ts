/**
 * The `grpc-message` header (or trailer) is percent-encoded, and implementations differ in how much they encode:
 * Go escapes only bytes outside printable ASCII and "%" (docs/protocol.md, "Transport"), Connect escapes like
 * encodeURIComponent, so ":" becomes "%3A". The Go host decodes either form. grpc-js does not: it decodes with
 * decodeURI, which leaves "%3A" and "%2C" as they are, so an error such as
 * "invalid ResourcesServiceListResourcesRequest.ResourceTypeId: value length must be..." would reach a grpc-js client
 * (our own host's client, and the independent client of our tests) as "...ResourceTypeId%3A value...".
 *
 * The child's transport (grpc-server.ts) writes Go's encoding directly with `encodeGrpcMessage`. Local `serve` runs
 * on connect-node, so `withGoGrpcMessages` re-encodes what Connect wrote there; without it, grpc-js users of
 * `serve` would see the escapes.
 */
import type http from 'node:http';
import type http2 from 'node:http2';

/** Go's percent-encoding of a grpc-message: bytes outside printable ASCII, and "%", become %XX. */
export function encodeGrpcMessage(text: string): string {
  let out = '';
  for (const byte of Buffer.from(text, 'utf8')) {
    out +=
      byte < 0x20 || byte > 0x7e || byte === 0x25
        ? `%${byte.toString(16).toUpperCase().padStart(2, '0')}`
        : String.fromCharCode(byte);
  }
  return out;
}

/** A grpc-message as Connect encoded it, re-encoded the way Go does. */
export function goStyleGrpcMessage(value: string): string {
  let text: string;
  try {
    text = decodeURIComponent(value);
  } catch {
    return value;
  }
  return encodeGrpcMessage(text);
}

type AnyResponse = http.ServerResponse | http2.Http2ServerResponse;
type Handler = (req: http.IncomingMessage | http2.Http2ServerRequest, res: AnyResponse) => void;

/** Wraps a node request handler so every grpc-message (headers or trailers) leaves Go-encoded. */
export function withGoGrpcMessages<H extends Handler>(handler: H): H {
  const wrapped = (req: Parameters<H>[0], res: Parameters<H>[1]) => {
    const writeHead = res.writeHead.bind(res) as (...args: unknown[]) => unknown;
    (res as { writeHead: unknown }).writeHead = (status: number, ...rest: unknown[]) => {
      const headers = rest.find((r) => r && typeof r === 'object') as Record<string, unknown> | undefined;
      if (headers) fixHeaderObject(headers);
      return writeHead(status, ...rest);
    };
    const addTrailers = res.addTrailers.bind(res) as (t: Record<string, unknown>) => void;
    (res as { addTrailers: unknown }).addTrailers = (trailers: Record<string, unknown>) => {
      fixHeaderObject(trailers);
      addTrailers(trailers);
    };
    return handler(req, res);
  };
  return wrapped as H;
}

function fixHeaderObject(headers: Record<string, unknown>): void {
  for (const key of Object.keys(headers)) {
    if (key.toLowerCase() === 'grpc-message' && typeof headers[key] === 'string') {
      headers[key] = goStyleGrpcMessage(headers[key] as string);
    }
  }
}
