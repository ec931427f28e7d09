/** A control call about something the simulator does not hold is a mistake in the test that made it. */
export function held<T>(found: T | undefined, what: string): T {
  if (!found) throw new Error(`the simulator has no ${what}`);
  return found;
}
