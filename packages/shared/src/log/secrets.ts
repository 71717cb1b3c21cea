/**
 * A process-wide set of secret values (API keys, tokens, client secrets). Config parsing registers every field
 * marked secret; loggers, error formatters and output writers call redactSecrets() on what they emit.
 */
const secrets = new Set<string>();
const MIN_SECRET_LENGTH = 4;

export function registerSecret(value: string | undefined): void {
  if (!value || value.length < MIN_SECRET_LENGTH) return;
  secrets.add(value);
  // The same secret as it appears inside JSON text (log lines are JSON): quotes, backslashes, control characters.
  const jsonEscaped = JSON.stringify(value).slice(1, -1);
  if (jsonEscaped !== value) secrets.add(jsonEscaped);
}

export function redactSecrets(text: string): string {
  let out = text;
  for (const secret of secrets) {
    if (out.includes(secret)) out = out.split(secret).join('[REDACTED]');
  }
  return out;
}
