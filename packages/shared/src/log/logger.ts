/**
 * Structured logging to stderr. stdout is reserved for command output, so nothing here ever writes to it.
 * Every line passes through the secret redactor, so a secret registered once never appears in a log line.
 */
import { redactSecrets } from './secrets.js';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export type LogFormat = 'json' | 'console';

const LEVEL_ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  /** A logger that adds these fields to every line. */
  with(fields: Record<string, unknown>): Logger;
  readonly level: LogLevel;
}

export interface LoggerOptions {
  level?: LogLevel;
  format?: LogFormat;
  /** Where lines go; defaults to process.stderr. */
  write?: (line: string) => void;
  fields?: Record<string, unknown>;
}

export function isLogLevel(value: string): value is LogLevel {
  return value in LEVEL_ORDER;
}

export function createLogger(options: LoggerOptions = {}): Logger {
  const level = options.level ?? 'info';
  const format = options.format ?? 'json';
  const write = options.write ?? ((line: string) => process.stderr.write(line));
  const base = options.fields ?? {};

  const emit = (lineLevel: LogLevel, msg: string, fields?: Record<string, unknown>) => {
    if (LEVEL_ORDER[lineLevel] < LEVEL_ORDER[level]) return;
    const record = { level: lineLevel, ts: new Date().toISOString(), msg, ...base, ...fields };
    let line: string;
    if (format === 'json') {
      line = JSON.stringify(record, errorReplacer);
    } else {
      const extras = Object.entries({ ...base, ...fields })
        .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v, errorReplacer)}`)
        .join(' ');
      line = `${record.ts} ${lineLevel.toUpperCase().padEnd(5)} ${msg}${extras ? ' ' + extras : ''}`;
    }
    write(redactSecrets(line) + '\n');
  };

  return {
    level,
    debug: (m, f) => emit('debug', m, f),
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
    with: (fields) => createLogger({ level, format, write, fields: { ...base, ...fields } }),
  };
}

/** A logger that drops everything; handy for tests and in-process tools. */
export const silentLogger: Logger = createLogger({ level: 'error', write: () => {} });

function errorReplacer(_key: string, value: unknown): unknown {
  if (value instanceof Error) return { name: value.name, message: value.message };
  if (typeof value === 'bigint') return value.toString();
  return value;
}
