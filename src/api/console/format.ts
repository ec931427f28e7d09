/** Small, pure formatting helpers for the console's pages. */

/** `42 s`, `3 min`, `5 h`, `2 d`: an age or a duration, rounded for a person. */
export function formatSeconds(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return '—';
  const s = Math.max(0, seconds);
  if (s < 1) return `${Math.round(s * 1000)} ms`;
  if (s < 120) return `${Math.round(s)} s`;
  if (s < 7200) return `${Math.round(s / 60)} min`;
  if (s < 172_800) return `${Math.round(s / 3600)} h`;
  return `${Math.round(s / 86_400)} d`;
}

/** 1234567 → `1,234,567`. */
export function formatCount(n: number | null | undefined): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return '—';
  return Math.round(n).toLocaleString('en-US');
}

/** ISO 8601 in UTC, to the second: `2026-12-05 19:07:46Z`. */
export function formatTime(at: Date | string | null | undefined): string {
  if (!at) return '—';
  const d = at instanceof Date ? at : new Date(at);
  if (Number.isNaN(d.getTime())) return '—';
  return `${d.toISOString().slice(0, 19).replace('T', ' ')}Z`;
}

/** Seconds between two instants (end defaults to now). */
export function secondsBetween(
  start: Date | null | undefined,
  end: Date | null | undefined,
  now: Date,
): number | null {
  if (!start) return null;
  return ((end ?? now).getTime() - start.getTime()) / 1000;
}

/** The CSS tone of a status word: colour is always beside the word itself, never instead of it. */
export function statusTone(status: string | null | undefined): 'bad' | 'warn' | 'ok' | 'busy' | 'idle' {
  switch (status) {
    case 'FAILED':
    case 'INTERRUPTED':
    case 'OPEN':
    case 'stale':
      return 'bad';
    case 'PAUSED':
    case 'PAUSE_REQUESTED':
    case 'ACKNOWLEDGED':
    case 'disabled':
      return 'warn';
    case 'SUCCESS':
    case 'RESOLVED':
    case 'fresh':
    case 'live':
      return 'ok';
    case 'RUNNING':
    case 'RUN_REQUESTED':
      return 'busy';
    default:
      return 'idle';
  }
}
