import { describe, expect, it } from 'vitest';
import { canonicalJson, envWithoutBaton, runProcess } from '../src/testing/index.js';

describe('bin-process helpers', () => {
  it('runProcess collects stdout, stderr and the exit code, and kills what outlives its timeout', async () => {
    const ok = await runProcess(process.execPath, ['-e', 'console.log("out"); console.error("err"); process.exit(3)']);
    expect(ok).toEqual({ code: 3, signal: null, stdout: 'out\n', stderr: 'err\n' });
    const slow = await runProcess(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { timeoutMs: 200 });
    expect(slow.signal).toBe('SIGKILL');
  });

  it('envWithoutBaton drops every BATON_ variable and adds the given ones', async () => {
    process.env.BATON_SHOULD_NOT_PASS = '1';
    try {
      const env = envWithoutBaton({ BATON_KEPT: 'yes' });
      expect(Object.keys(env).filter((k) => k.startsWith('BATON_'))).toEqual(['BATON_KEPT']);
      expect(env.PATH).toBe(process.env.PATH);
    } finally {
      delete process.env.BATON_SHOULD_NOT_PASS;
    }
  });

  it('canonicalJson sorts object keys at every depth and keeps array order', () => {
    expect(canonicalJson({ b: 1, a: { d: [2, 1], c: null } })).toBe('{"a":{"c":null,"d":[2,1]},"b":1}');
  });
});
