/**
 * Timestamps as the Go SDK stores them in DATETIME columns: Go layout `2006-01-02 15:04:05.999999999`, in UTC,
 * trailing fractional zeros dropped (the '.' too when the fraction is zero), no zone suffix. Readers choose the
 * latest sync with a *text* `ORDER BY ended_at DESC`, which is only right if one format is used everywhere, and
 * this layout sorts correctly as text ("…:05" < "…:05.1" < "…:05.25" < "…:06").
 */

let lastMicros = 0n;

/** Current wall-clock time in microseconds, strictly increasing within this process. */
export function nowMicros(): bigint {
  const wall = BigInt(Math.round((performance.timeOrigin + performance.now()) * 1000));
  lastMicros = wall > lastMicros ? wall : lastMicros + 1n;
  return lastMicros;
}

/** Formats a time given in microseconds (or a Date) since the Unix epoch. */
export function formatGoTime(time: Date | bigint = nowMicros()): string {
  const micros = typeof time === 'bigint' ? time : BigInt(time.getTime()) * 1000n;
  const ms = Number(micros / 1000n);
  const subMs = Number(micros % 1000n);
  const iso = new Date(ms).toISOString(); // YYYY-MM-DDTHH:MM:SS.mmmZ
  const fraction = (iso.slice(20, 23) + String(subMs).padStart(3, '0')).replace(/0+$/, '');
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)}${fraction ? '.' + fraction : ''}`;
}

/** Parses the layouts the Go driver accepts (UTC when there is no zone); undefined if unparseable. */
export function parseGoTime(text: string | null | undefined): Date | undefined {
  if (!text) return undefined;
  const m = /^(\d{4}-\d{2}-\d{2})(?:[ T](\d{2}:\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?)?(Z|[+-]\d{2}:\d{2})?$/.exec(
    text.trim(),
  );
  if (!m) return undefined;
  const [, day, hm = '00:00', sec = '00', frac = '', zone = 'Z'] = m;
  const ms = frac ? `.${frac.slice(0, 3).padEnd(3, '0')}` : '';
  const d = new Date(`${day}T${hm}:${sec}${ms}${zone}`);
  return Number.isNaN(d.getTime()) ? undefined : d;
}
