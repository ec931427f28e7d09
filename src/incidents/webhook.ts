import type { Logger } from 'pino';
import type { IncidentRow } from '../db/repositories/incidents.repository.js';

export type IncidentEvent = 'opened' | 'resolved';

/** Tells the outside world that an incident opened or resolved. Never throws, never rejects. */
export interface IncidentNotifier {
  /** Sends in the background; a failure is logged. */
  notify(event: IncidentEvent, incident: IncidentRow): void;
  /** Resolves when every notification sent so far has been delivered or given up. */
  drain(): Promise<void>;
}

export interface WebhookOptions {
  /** Receives `POST {"event": "opened" | "resolved", "incident": {…}}` as JSON. */
  readonly url: string;
  readonly logger: Logger;
  /** Longest a delivery may take before it is given up. @default 5000 */
  readonly timeoutMs?: number;
  /** @default globalThis.fetch */
  readonly fetch?: typeof globalThis.fetch;
}

/**
 * The incident webhook (SIPHON_INCIDENT_WEBHOOK_URL). One attempt per event, bounded by a timeout:
 * a receiver that is down, slow or answers an error is logged and forgotten, and never slows or
 * breaks a run or an API request.
 */
export function createWebhookNotifier(options: WebhookOptions): IncidentNotifier {
  const timeoutMs = options.timeoutMs ?? 5000;
  const send = options.fetch ?? globalThis.fetch;
  const log = options.logger.child({ component: 'incident-webhook' });
  const inFlight = new Set<Promise<void>>();

  async function deliver(event: IncidentEvent, incident: IncidentRow): Promise<void> {
    const context = { event, incidentId: incident.id, kind: incident.kind };
    try {
      const response = await send(options.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'user-agent': 'siphon-incidents' },
        body: JSON.stringify({ event, incident }),
        signal: AbortSignal.timeout(timeoutMs),
      });
      // Drain the body so the connection can be reused; its content does not matter.
      await response.arrayBuffer().catch(() => undefined);
      if (!response.ok)
        log.warn({ ...context, status: response.status }, 'incident webhook answered an error');
      else log.debug(context, 'incident webhook delivered');
    } catch (error) {
      log.warn({ ...context, err: (error as Error).message }, 'incident webhook failed');
    }
  }

  return {
    notify(event, incident) {
      const delivery = deliver(event, incident).finally(() => inFlight.delete(delivery));
      inFlight.add(delivery);
    },
    async drain() {
      while (inFlight.size > 0) await Promise.allSettled([...inFlight]);
    },
  };
}
