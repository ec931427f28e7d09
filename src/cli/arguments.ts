import { InvalidArgumentError } from 'commander';

/**
 * Parsers for option values, checked by commander before a command's action runs (so before it
 * opens the database): a wrong value is a usage error naming the flag and what it accepts, printed
 * by `usageLine` in main.ts as one line with SIPHON_ERR_CLI_USAGE and exit code 2.
 */

/** A whole number from min to max (`--limit 20`). */
export function wholeNumber(flag: string, min: number, max: number): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isInteger(n) || n < min || n > max) {
      throw new InvalidArgumentError(`${flag} must be a whole number from ${min} to ${max}, got "${value}"`);
    }
    return n;
  };
}

/** A whole number in the bounds of the API's schema for the same value, so both accept the same. */
export function wholeNumberOf(flag: string, schema: object): (value: string) => number {
  const { minimum, maximum } = schema as { readonly minimum?: number; readonly maximum?: number };
  return wholeNumber(flag, minimum ?? 0, maximum ?? Number.MAX_SAFE_INTEGER);
}

/** An ISO 8601 instant (`--since 2024-05-01T00:00:00Z`). */
export function instant(flag: string): (value: string) => Date {
  return (value) => {
    const at = new Date(value);
    if (!/^\d{4}-\d{2}-\d{2}/.test(value) || Number.isNaN(at.getTime())) {
      throw new InvalidArgumentError(
        `${flag} must be an ISO 8601 instant (2024-05-01T00:00:00Z), got "${value}"`,
      );
    }
    return at;
  };
}

/**
 * Commander's own message ("error: unknown option '--x'", or a parser's "error: option '--limit <n>'
 * argument '0' is invalid. …") as the one line every other CLI error is: `siphon: … [CODE]`.
 */
export function usageLine(commanderMessage: string): string {
  const text = commanderMessage.trim().replace(/^error:\s*/, '');
  const invalid = /^option '(--[a-z-]+)[^']*' argument '([^']*)' is invalid\.\s*(.*)$/s.exec(text);
  if (invalid) {
    const [, flag, value, reason] = invalid as unknown as [string, string, string, string];
    // Our parsers' reasons name the flag already; commander's (choices) do not.
    const line = reason.startsWith(flag) ? reason : `${flag} "${value}": ${reason}`;
    return `siphon: ${line} [SIPHON_ERR_CLI_USAGE]\n`;
  }
  return `siphon: ${text} (siphon --help lists the commands) [SIPHON_ERR_CLI_USAGE]\n`;
}
