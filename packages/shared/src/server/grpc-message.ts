/**
 * gRPC percent-encodes the `grpc-message` header, but implementations differ in how much: Connect encodes like
 * encodeURIComponent (":" becomes "%3A"), Go encodes only bytes outside printable ASCII and "%". Decoders that use
 * decodeURI (grpc-js) then show "%3A" to users. We re-encode the way Go does so every client reads the same text.
 */
import type http from 'node:http';
import type http2 from 'node:http2';

export function goStyleGrpcMessage(value: string): string {
  let text: string;
  try {
    text = decodeURIComponent(value);
  } catch {
    return value;
  }
  let out = '';
  for (const byte of Buffer.from(text, 'utf8')) {
    out +=
      byte < 0x20 || byte > 0x7e || byte === 0x25
        ? `%${byte.toString(16).toUpperCase().padStart(2, '0')}`
        : String.fromCharCode(byte);
  }
  return out;
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
