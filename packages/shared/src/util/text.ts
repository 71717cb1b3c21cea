/**
 * Small text helpers for error messages and logs, shared by the host, the conformance kit and the CLIs.
 */

/** `type:id` of a resource id, as Baton prints it; `missing` when there is no id. */
export function resourceKey(id: { resourceType: string; resource: string } | undefined, missing = ':'): string {
  return id ? `${id.resourceType}:${id.resource}` : missing;
}

/** A page token for a message: JSON-quoted, cut to `max` characters (ending in "...") when longer. */
export function shortToken(token: string, max = 80): string {
  return JSON.stringify(token.length > max ? `${token.slice(0, max - 3)}...` : token);
}

/** The last `n` lines of `text`, trailing whitespace dropped first. */
export function lastLines(text: string, n = 20): string {
  const lines = text.trimEnd().split('\n');
  return lines.slice(Math.max(0, lines.length - n)).join('\n');
}

/** An error's message (or `String(err)` for a thrown non-Error). */
export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
