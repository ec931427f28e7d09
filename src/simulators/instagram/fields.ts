/**
 * The Graph API `fields` syntax with field expansion: a comma list of fields, each optionally
 * followed by modifiers `.name(value)` and a nested list in braces, e.g.
 * `id,children{id,media_url},business_discovery.username(x){media.limit(5).after(QVF…){id}}`.
 */
export interface FieldSpec {
  readonly name: string;
  readonly modifiers: Readonly<Record<string, string>>;
  /** The nested list in braces; undefined when none was given (the edge's default fields). */
  readonly fields?: readonly FieldSpec[];
}

export class FieldSyntaxError extends Error {}

export function parseFields(text: string): FieldSpec[] {
  let at = 0;
  const fail = (expected: string): never => {
    const found = at < text.length ? `"${text[at]}"` : 'end of string';
    throw new FieldSyntaxError(`Syntax error "Expected ${expected} instead of ${found}." at character ${at}`);
  };
  const name = (): string => {
    const match = /^[A-Za-z_][A-Za-z0-9_]*/.exec(text.slice(at));
    if (!match) return fail('a field name');
    at += match[0].length;
    return match[0];
  };
  const list = (): FieldSpec[] => {
    const out: FieldSpec[] = [];
    for (;;) {
      out.push(field());
      if (text[at] !== ',') return out;
      at += 1;
    }
  };
  const field = (): FieldSpec => {
    const fieldName = name();
    const modifiers: Record<string, string> = {};
    while (text[at] === '.') {
      at += 1;
      const modifier = name();
      if (text[at] !== '(') fail('"("');
      const close = text.indexOf(')', at);
      if (close < 0) {
        at = text.length;
        fail('")"');
      }
      modifiers[modifier] = text.slice(at + 1, close);
      at = close + 1;
    }
    if (text[at] !== '{') return { name: fieldName, modifiers };
    at += 1;
    const fields = list();
    if (text[at] !== '}') fail('"}"');
    at += 1;
    return { name: fieldName, modifiers, fields };
  };
  const fields = list();
  if (at !== text.length) fail('end of string');
  return fields;
}
