/**
 * Timestamp parsing shared by the connectors' mappers (pure). `match` is what a connector's own
 * pattern matched: groups 1–6 year…second, 7 an optional fraction (`.123`), 8 the zone (`Z`,
 * `+02:00` or `+0200`). Returns the instant as UTC ISO and the zone's offset in minutes, or null when
 * the fields are not a real date and time (`2023-02-30`, `25:00`).
 */
export function utcFromMatch(match: RegExpExecArray): { iso: string; offsetMin: number } | null {
  const [year, month, day, hour, minute, second] = match.slice(1, 7).map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const local = new Date(Date.UTC(year, month - 1, day, hour, minute, second));
  const fits =
    local.getUTCFullYear() === year &&
    local.getUTCMonth() === month - 1 &&
    local.getUTCDate() === day &&
    local.getUTCHours() === hour &&
    local.getUTCMinutes() === minute &&
    local.getUTCSeconds() === second;
  if (!fits) return null;
  const fraction = match[7] ? Math.floor(Number(`0${match[7]}`) * 1000) : 0;
  const zone = match[8]!.toUpperCase().replace(':', '');
  const offsetMin =
    zone === 'Z'
      ? 0
      : (zone[0] === '-' ? -1 : 1) * (Number(zone.slice(1, 3)) * 60 + Number(zone.slice(3, 5)));
  return { iso: new Date(local.getTime() + fraction - offsetMin * 60_000).toISOString(), offsetMin };
}

const wallClockFormats = new Map<string, Intl.DateTimeFormat>();

/** The wall-clock time of `ms` in `zone` (an IANA name), written as if it were UTC. */
function wallClock(zone: string, ms: number): number {
  let format = wallClockFormats.get(zone);
  if (!format) {
    format = new Intl.DateTimeFormat('en-US', {
      timeZone: zone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    wallClockFormats.set(zone, format);
  }
  const parts = format.formatToParts(ms);
  const part = (type: string) => Number(parts.find((p) => p.type === type)!.value);
  return Date.UTC(part('year'), part('month') - 1, part('day'), part('hour'), part('minute'), part('second'));
}

/**
 * The next midnight in `zone` after `now` (epoch ms), DST-aware: a platform's quota day (YouTube's
 * ends at midnight in America/Los_Angeles). For zones where midnight itself can be skipped by a DST
 * change, the instant returned is the first one of the new day.
 */
export function nextMidnightIn(zone: string, now: number): number {
  const wall = new Date(wallClock(zone, now));
  const target = Date.UTC(wall.getUTCFullYear(), wall.getUTCMonth(), wall.getUTCDate() + 1);
  const offsetAt = (ms: number) => wallClock(zone, ms) - Math.floor(ms / 1000) * 1000;
  const guess = target - offsetAt(now);
  return target - offsetAt(guess);
}
