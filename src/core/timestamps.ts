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
