/**
 * Whether output to a stream may carry colour codes: only to a terminal, and never when the person
 * asked for none (the NO_COLOR convention, https://no-color.org: any non-empty value).
 */
export function colourWanted(stream: { readonly isTTY?: boolean } = process.stdout): boolean {
  const noColor = process.env.NO_COLOR;
  return stream.isTTY === true && (noColor === undefined || noColor === '');
}
