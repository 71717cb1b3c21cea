/**
 * `baton-conform`: the conformance runner for any Baton connector, ours or a Go one built with baton-sdk
 * (docs/testing.md). It spawns the connector as a Go host does (or connects to one already serving plaintext gRPC),
 * runs every named check, prints a report, and exits 0 only when no check failed.
 */
import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { registerSecret } from '../log/secrets.js';
import { CHECK_NAMES, type CheckName } from '../testing/checks/result.js';
import {
  DEFAULT_CALL_TIMEOUT_MS,
  DEFAULT_MAX_SYNC_MS,
  DEFAULT_STABILITY_PAGE_SIZE,
  runChecks,
  type ConformanceRunOptions,
} from '../testing/run-checks.js';
import type { ConnectorTarget } from '../testing/session.js';
import { errorMessage } from '../util/text.js';
import { formatJson, formatText } from './report.js';
import { SHARED_VERSION } from '../version.js';

const CONFORM_USAGE = `Usage:
  baton-conform [options] -- <connector> [connector flags...]
  baton-conform [options] --serve-addr HOST:PORT

Checks a Baton connector (a TypeScript one, or a Go one built with baton-sdk): it spawns <connector> exactly as a
Go host does (\`_connector-service\`, the listener as fd 3, Ed25519 mutual TLS, the rate-limit gate), walks it as a
host syncs, and reports the checks lifecycle, protocol, capabilities, walk, stability, validation and provisioning.

Options:
  --json                       print the report as JSON on stdout
  --file PATH                  keep the first walk's sync (.c1z, or JSON Lines for .jsonl)
  --serve-addr HOST:PORT       check a connector already serving plaintext gRPC (\`<connector> serve\`) instead
  --provision ENTITLEMENT_ID PRINCIPAL_TYPE:ID
                               grant the entitlement, see it in ListGrants, grant again, revoke, see it gone,
                               revoke again (use a principal that does not hold it)
  --page-size N                page_size of the second walk (default ${DEFAULT_STABILITY_PAGE_SIZE}; 0: the connector chooses); the
                               first walk sends 0, as hosts do
  --timeout DURATION           time limit for each walk (default ${DEFAULT_MAX_SYNC_MS / 60_000}m)
  --call-timeout DURATION      time limit for one answer (default ${DEFAULT_CALL_TIMEOUT_MS / 1000}s)
  --startup-limit DURATION     how soon the connector must be ready (default 5s: a Go host stops dialing then)
  --read-only                  send nothing that could change the application (no provisioning probes)
  --skip CHECK[,CHECK...]      do not run these checks (lifecycle, protocol, capabilities, stability, validation)
  --expect-type TYPE           fail unless the connector lists resource type TYPE (repeatable)
  --secret VALUE               a value to hide in the report (flags named like *key*, *secret*, *token*,
                               *password* are hidden already)
  -v, --verbose                also print informational notes and the connector's stderr
  -h, --help                   this text
  --version                    print the version

Exit status: 0 when no check failed (warnings allowed), 1 when one did, 2 for a usage error.
`;

export interface ConformIo {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  /** Colour the text report (default: stdout is a terminal and NO_COLOR is unset). */
  color?: boolean;
  env?: NodeJS.ProcessEnv;
}

class UsageError extends Error {}

/** `500ms`, `30s`, `2m`, `1h` (or `0`) in milliseconds. */
function parseDuration(text: string, flag: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(text.trim());
  if (text.trim() === '0') return 0;
  if (!m) throw new UsageError(`${flag} takes a duration such as 500ms, 30s or 2m, got ${JSON.stringify(text)}`);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2] as 'ms' | 's' | 'm' | 'h'];
  return Math.round(Number(m[1]) * unit);
}

const SECRET_FLAG = /(key|secret|token|password|passwd|credential)/i;

/** The connector's command line for the report, with the values of secret-looking flags hidden. */
function displayCommand(command: string, args: string[]): string {
  const shown: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    const eq = /^(--?[^=]+)=(.*)$/.exec(arg);
    if (eq && SECRET_FLAG.test(eq[1])) {
      registerSecret(eq[2]);
      shown.push(`${eq[1]}=***`);
    } else if (/^--?[a-z]/i.test(arg) && SECRET_FLAG.test(arg) && i + 1 < args.length && !args[i + 1].startsWith('-')) {
      registerSecret(args[i + 1]);
      shown.push(arg, '***');
      i++;
    } else {
      shown.push(arg);
    }
  }
  return [command, ...shown].map((a) => (/^[\w@%+=:,./*-]+$/.test(a) ? a : JSON.stringify(a))).join(' ');
}

interface ParsedArgs {
  options: Omit<ConformanceRunOptions, 'target'>;
  target: ConnectorTarget;
  json: boolean;
  verbose: boolean;
  file?: string;
  display: string;
}

function parseArgs(argv: string[], env: NodeJS.ProcessEnv): ParsedArgs | 'help' | 'version' {
  const dash = argv.indexOf('--');
  const own = dash >= 0 ? argv.slice(0, dash) : argv;
  const connector = dash >= 0 ? argv.slice(dash + 1) : [];
  const options: Omit<ConformanceRunOptions, 'target'> = {};
  let json = false;
  let verbose = false;
  let file: string | undefined;
  let serveAddr: string | undefined;
  const expect: string[] = [];
  const value = (i: number, flag: string): string => {
    const v = own[i + 1];
    if (v === undefined) throw new UsageError(`${flag} needs a value`);
    return v;
  };
  for (let i = 0; i < own.length; i++) {
    const arg = own[i];
    switch (arg) {
      case '-h':
      case '--help':
        return 'help';
      case '--version':
        return 'version';
      case '--json':
        json = true;
        break;
      case '-v':
      case '--verbose':
        verbose = true;
        break;
      case '--read-only':
        options.readOnly = true;
        break;
      case '--file':
        file = value(i++, arg);
        break;
      case '--serve-addr':
        serveAddr = value(i++, arg);
        break;
      case '--provision': {
        const entitlementId = value(i++, arg);
        const principal = value(i++, arg);
        const colon = principal.indexOf(':');
        if (colon <= 0 || colon === principal.length - 1) {
          throw new UsageError(
            `--provision takes ENTITLEMENT_ID PRINCIPAL_TYPE:ID, got principal ${JSON.stringify(principal)}`,
          );
        }
        options.provision = {
          entitlementId,
          principal: { resourceType: principal.slice(0, colon), resource: principal.slice(colon + 1) },
        };
        break;
      }
      case '--page-size': {
        const n = Number(value(i++, arg));
        if (!Number.isInteger(n) || n < 0 || n > 250)
          throw new UsageError('--page-size takes a whole number from 0 to 250');
        options.pageSize = n;
        break;
      }
      case '--timeout':
        options.walkTimeoutMs = parseDuration(value(i++, arg), arg);
        break;
      case '--call-timeout':
        options.callTimeoutMs = parseDuration(value(i++, arg), arg);
        break;
      case '--startup-limit':
        options.startupLimitMs = parseDuration(value(i++, arg), arg);
        break;
      case '--skip':
        for (const name of value(i++, arg)
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean)) {
          if (!(CHECK_NAMES as readonly string[]).includes(name) || name === 'walk' || name === 'provisioning') {
            throw new UsageError(
              `--skip takes lifecycle, protocol, capabilities, stability or validation, got ${JSON.stringify(name)}`,
            );
          }
          (options.skip ??= []).push(name as CheckName);
        }
        break;
      case '--expect-type':
        expect.push(value(i++, arg));
        break;
      case '--secret':
        registerSecret(value(i++, arg));
        break;
      default:
        throw new UsageError(`unknown option ${JSON.stringify(arg)} (the connector's own flags go after --)`);
    }
  }
  if (expect.length) options.expectTypes = expect;
  if (options.provision && options.readOnly) throw new UsageError('--provision and --read-only exclude each other');
  let target: ConnectorTarget;
  let display: string;
  if (serveAddr !== undefined) {
    if (connector.length) throw new UsageError('give either --serve-addr or a connector after --, not both');
    if (!/^(\[[^\]]+\]|[^:\s]+):\d{1,5}$/.test(serveAddr))
      throw new UsageError(`--serve-addr takes HOST:PORT, got ${JSON.stringify(serveAddr)}`);
    target = { kind: 'serve', address: serveAddr };
    display = `${serveAddr} (plaintext gRPC)`;
  } else {
    if (connector.length === 0)
      throw new UsageError('no connector given: baton-conform [options] -- <connector> [flags...]');
    const [command, ...args] = connector;
    target = { kind: 'spawn', command, args, env, stderr: verbose ? 'inherit' : 'pipe' };
    display = displayCommand(command, args);
  }
  return { options, target, json, verbose, file, display };
}

/** Runs `baton-conform` with `argv` (without the program name); resolves with the exit status. */
export async function runConformCli(argv: string[], io: ConformIo): Promise<number> {
  const env = io.env ?? process.env;
  let parsed: ParsedArgs | 'help' | 'version';
  try {
    parsed = parseArgs(argv, env);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    io.stderr.write(`baton-conform: ${err.message}\n\n${CONFORM_USAGE}`);
    return 2;
  }
  if (parsed === 'help') {
    io.stdout.write(CONFORM_USAGE);
    return 0;
  }
  if (parsed === 'version') {
    io.stdout.write(`baton-conform ${SHARED_VERSION}\n`);
    return 0;
  }
  const { options, target, json, verbose, file, display } = parsed;
  if (!json) io.stderr.write(`baton-conform: checking ${display} ...\n`);
  const report = await runChecks({ ...options, target, keepStore: file !== undefined });
  let written: string | undefined;
  try {
    if (file !== undefined && report.store) {
      const path = resolve(file);
      mkdirSync(dirname(path), { recursive: true });
      if (path.endsWith('.jsonl')) await report.store.exportJsonl(path);
      else await report.store.saveC1z(path);
      written = file;
    } else if (file !== undefined) {
      io.stderr.write(`baton-conform: ${file} not written: the walk did not finish\n`);
    }
  } catch (err) {
    io.stderr.write(`baton-conform: cannot write ${file}: ${errorMessage(err)}\n`);
  } finally {
    report.store?.close();
  }
  if (json) {
    const about = target.kind === 'spawn' ? { command: display } : { serveAddr: target.address };
    io.stdout.write(formatJson(report, about, written));
  } else {
    const color = io.color ?? ((io.stdout as { isTTY?: boolean }).isTTY === true && !env.NO_COLOR);
    io.stdout.write(formatText(report, display, { color, verbose }));
    if (written) io.stdout.write(`sync kept in ${written}\n`);
  }
  return report.ok ? 0 : 1;
}
