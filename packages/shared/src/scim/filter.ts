/**
 * Building SCIM filter expressions (RFC 7644 §3.4.2.2) from values without string pasting: every value is a JSON
 * string literal, so quotes and backslashes in an email or a display name cannot change the expression.
 * Entra only ever sends `eq` and `and`; servers built for it may support nothing else, so that is all we build.
 */

/** `attr eq "value"`, the value JSON-quoted. `attr` must be an attribute path, not user input. */
export function scimEq(attribute: string, value: string): string {
  if (!/^[A-Za-z][\w$-]*(?:\.[A-Za-z][\w$-]*)?$/.test(attribute)) {
    throw new Error(`not a SCIM attribute path: ${JSON.stringify(attribute)}`);
  }
  return `${attribute} eq ${JSON.stringify(value)}`;
}

/** `a and b and c`. */
export function scimAnd(...expressions: string[]): string {
  return expressions.join(' and ');
}
