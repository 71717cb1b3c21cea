/** Logs: JSON lines on the chosen writer, levels, and secrets redacted even where JSON escapes them. */
import { describe, expect, it } from 'vitest';
import { createLogger } from '../src/log/logger.js';
import { redactSecrets, registerSecret } from '../src/log/secrets.js';

describe('logger', () => {
  it('writes JSON lines at or above its level', () => {
    const lines: string[] = [];
    const log = createLogger({ level: 'info', write: (l) => lines.push(l) }).with({ component: 'test' });
    log.debug('hidden');
    log.info('shown', { n: 1 });
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0])).toMatchObject({ level: 'info', msg: 'shown', n: 1, component: 'test' });
  });

  it('redacts a registered secret, also in its JSON-escaped form', () => {
    const secret = 'tok"en\\XYZ-9d8c';
    registerSecret(secret);
    const lines: string[] = [];
    const log = createLogger({ write: (l) => lines.push(l) });
    log.error('failed', { error: `server said ${secret}`, nested: { value: secret } });
    expect(lines[0]).not.toContain('XYZ-9d8c');
    expect(lines[0]).toContain('[REDACTED]');
    expect(redactSecrets(`plain ${secret}`)).toBe('plain [REDACTED]');
    expect(JSON.parse(lines[0]).nested.value).toBe('[REDACTED]');
  });
});
