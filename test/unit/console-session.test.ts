import { describe, expect, it } from 'vitest';
import { csrfMatches, SessionStore } from '../../src/api/console/session.store.js';
import { escapeHtml, html, trusted } from '../../src/api/console/html.js';
import { freshnessVerdict } from '../../src/api/console/freshness.js';

const operator = { role: 'operator', name: 'operator-1' } as const;

describe('console session store', () => {
  it('ends a session after its idle time and after its absolute lifetime, even when used', () => {
    let now = 0;
    const store = new SessionStore({ idleMs: 1000, absoluteMs: 5000, now: () => now });
    const id = store.create(operator);
    now = 900;
    expect(store.get(id)?.principal).toEqual(operator);
    now = 1800; // 900 ms after the last use: still in
    expect(store.get(id)).toBeDefined();
    now = 2801; // 1001 ms idle
    expect(store.get(id)).toBeUndefined();
    now = 3000;
    const used = store.create(operator);
    for (now = 3000; now <= 8000; now += 500) {
      if (now - 3000 <= 5000) expect(store.get(used), `at ${now}`).toBeDefined();
    }
    now = 8001;
    expect(store.get(used)).toBeUndefined();
  });

  it('keeps at most max sessions, the least recently used leaving first; ids are random and not stored as such', () => {
    const store = new SessionStore({ max: 2 });
    const a = store.create(operator);
    const b = store.create(operator);
    store.get(a); // a is now the most recent
    const c = store.create(operator);
    expect(store.get(b)).toBeUndefined();
    expect(store.get(a)).toBeDefined();
    expect(store.get(c)).toBeDefined();
    expect(new Set([a, b, c]).size).toBe(3);
    expect(a).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(store.get(undefined)).toBeUndefined();
    expect(store.get('x'.repeat(1000))).toBeUndefined();
  });

  it('compares the form token exactly', () => {
    const store = new SessionStore();
    const session = store.get(store.create(operator))!;
    expect(csrfMatches(session, session.csrf)).toBe(true);
    expect(csrfMatches(session, `${session.csrf}x`)).toBe(false);
    expect(csrfMatches(session, session.csrf.slice(1) + 'A')).toBe(false);
    expect(csrfMatches(session, undefined)).toBe(false);
    expect(csrfMatches(session, [session.csrf])).toBe(false);
  });
});

describe('console html tag', () => {
  it('escapes every interpolation, in text and in attributes, and nested lists', () => {
    const name = `<img src=x onerror="alert('1')">&\``;
    expect(html`<a title="${name}">${name}</a>`.toString()).toBe(
      '<a title="&lt;img src=x onerror=&quot;alert(&#39;1&#39;)&quot;&gt;&amp;&#96;">&lt;img src=x onerror=&quot;alert(&#39;1&#39;)&quot;&gt;&amp;&#96;</a>',
    );
    // prettier-ignore
    const list = html`<ul>${['<b>', html`<li>${'<i>'}</li>`]}</ul>`;
    expect(list.toString()).toBe('<ul>&lt;b&gt;<li>&lt;i&gt;</li></ul>');
    expect(html`${null}${undefined}${false}${0}`.toString()).toBe('0');
    expect(html`${trusted('<br />')}`.toString()).toBe('<br />');
    expect(escapeHtml('plain')).toBe('plain');
  });
});

describe('console freshness', () => {
  const now = new Date('2026-12-05T12:00:00Z');
  it('uses the declared freshness, else twice the schedule interval, else has no budget', () => {
    expect(freshnessVerdict({ freshness: '2h', schedule: null }, 3 * 3600, now)).toEqual({
      state: 'stale',
      budgetSeconds: 7200,
      basis: 'freshness',
    });
    expect(freshnessVerdict({ freshness: '2h', schedule: '* * * * *' }, 3600, now).state).toBe('fresh');
    expect(freshnessVerdict({ freshness: null, schedule: '0 * * * *' }, 3 * 3600, now)).toEqual({
      state: 'stale',
      budgetSeconds: 7200,
      basis: 'schedule',
    });
    expect(freshnessVerdict({ freshness: null, schedule: '0 * * * *' }, 3600, now).state).toBe('fresh');
    expect(freshnessVerdict({ freshness: null, schedule: null }, 1e9, now)).toEqual({ state: 'unknown' });
  });
});
