/**
 * The end of a \`switch\` over a closed union: the compiler refuses the call while a member is not
 * handled, and a value from outside the union (bad data at run time) throws instead of falling through.
 */
export function assertNever(value: never, what: string): never {
  throw new Error(`unexpected ${what}: ${JSON.stringify(value)}`);
}
