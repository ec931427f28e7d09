import { CronExpressionParser } from 'cron-parser';

/** Whether `cron` is a valid 5- or 6-field cron expression; returns the reason when it is not. */
export function cronProblem(cron: string): string | undefined {
  const fields = cron.trim().split(/\s+/).length;
  if (fields < 5 || fields > 6)
    return 'must have 5 fields (minute hour day month weekday) or 6 (with seconds first)';
  try {
    CronExpressionParser.parse(cron, { tz: 'UTC' });
    return undefined;
  } catch (error) {
    return (error as Error).message;
  }
}

/** The first occurrence of `cron` strictly after `after`, in UTC. */
export function nextOccurrence(cron: string, after: Date): Date {
  return CronExpressionParser.parse(cron, { currentDate: after, tz: 'UTC' }).next().toDate();
}
