import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Principal } from '../plugins/auth.plugin.js';

/** What the server keeps for a signed-in browser: who, the form token, and a message for the next page. */
export interface ConsoleSession {
  readonly principal: Principal;
  /** The synchronizer token every state-changing form carries (`_csrf`). */
  readonly csrf: string;
  readonly createdAt: number;
  lastSeenAt: number;
  /** Shown once on the next page (the outcome of an action), then forgotten. */
  flash?: Flash;
}

export interface Flash {
  readonly kind: 'ok' | 'error';
  readonly message: string;
  readonly code?: string;
}

export interface SessionStoreOptions {
  /** A session unused this long ends. @default 8 hours */
  readonly idleMs?: number;
  /** A session ends this long after sign-in, used or not. @default 7 days */
  readonly absoluteMs?: number;
  /** Sessions kept at most; the least recently used ends first. @default 10,000 */
  readonly max?: number;
  readonly now?: () => number;
}

const newSecret = () => randomBytes(32).toString('base64url');
/** Sessions are looked up by a digest of their id, so the map holds no cookie value. */
const keyOf = (id: string) => createHash('sha256').update(id).digest('base64url');

/**
 * Console sessions, in this process's memory: a random 256-bit id in the cookie, everything else
 * here. A restart signs everyone out, and two API processes do not share sessions (ADR 0015).
 */
export class SessionStore {
  readonly #sessions = new Map<string, ConsoleSession>();
  readonly #idleMs: number;
  readonly #absoluteMs: number;
  readonly #max: number;
  readonly #now: () => number;

  constructor(options: SessionStoreOptions = {}) {
    this.#idleMs = options.idleMs ?? 8 * 3600_000;
    this.#absoluteMs = options.absoluteMs ?? 7 * 24 * 3600_000;
    this.#max = options.max ?? 10_000;
    this.#now = options.now ?? Date.now;
  }

  /** Starts a session and returns its id (the cookie's value). */
  create(principal: Principal): string {
    const id = newSecret();
    const now = this.#now();
    if (this.#sessions.size >= this.#max) {
      const oldest = this.#sessions.keys().next().value;
      if (oldest !== undefined) this.#sessions.delete(oldest);
    }
    this.#sessions.set(keyOf(id), { principal, csrf: newSecret(), createdAt: now, lastSeenAt: now });
    return id;
  }

  /** The live session of this id, touched; undefined when unknown or expired. */
  get(id: string | undefined): ConsoleSession | undefined {
    if (!id || id.length > 100) return undefined;
    const key = keyOf(id);
    const session = this.#sessions.get(key);
    if (!session) return undefined;
    const now = this.#now();
    if (now - session.lastSeenAt > this.#idleMs || now - session.createdAt > this.#absoluteMs) {
      this.#sessions.delete(key);
      return undefined;
    }
    session.lastSeenAt = now;
    // Least recently used last: re-insert.
    this.#sessions.delete(key);
    this.#sessions.set(key, session);
    return session;
  }

  destroy(id: string | undefined): void {
    if (id) this.#sessions.delete(keyOf(id));
  }

  get size(): number {
    return this.#sessions.size;
  }
}

/** Whether a presented form token is the session's, in constant time. */
export function csrfMatches(session: ConsoleSession, presented: unknown): boolean {
  if (typeof presented !== 'string' || presented.length !== session.csrf.length) return false;
  return timingSafeEqual(Buffer.from(presented), Buffer.from(session.csrf));
}
