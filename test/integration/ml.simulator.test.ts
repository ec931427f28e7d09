import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  MlClient,
  type MlCallResult,
  type MlFailure,
  type MlJob,
  type MlJobRequest,
  type TextAnalysis,
} from '../../src/connectors/ml/index.js';
import { startMlSimulator, type RunningMlSimulator } from '../../src/simulators/ml/index.js';

const TOKEN = 'ml-test-token';
const T0 = Date.parse('2026-03-04T18:00:00Z');

let sim: RunningMlSimulator;
let client: MlClient;
const clock = { now: T0 };

beforeAll(async () => {
  sim = await startMlSimulator({
    seed: 3,
    tokens: [TOKEN],
    completionDelayMs: { image: 3000, text: 900 },
    now: () => clock.now,
  });
  client = new MlClient({ baseUrl: sim.baseUrl, token: TOKEN, timeoutMs: 2000, now: () => clock.now });
});
afterAll(async () => {
  await sim.close();
});
beforeEach(() => {
  sim.control.reset();
  sim.control.configure({
    failureRate: 0,
    maxActiveJobs: null,
    completionDelayMs: { image: 3000, text: 900 },
  });
  clock.now = T0;
});

async function ok<T>(call: Promise<MlCallResult<T>>): Promise<T> {
  const result = await call;
  if (!result.ok) throw new Error(`${result.error.code} ${result.error.reason}: ${result.error.message}`);
  return result.value;
}

async function failed<T>(call: Promise<MlCallResult<T>>): Promise<MlFailure> {
  const result = await call;
  if (result.ok) throw new Error(`expected a failure, got ${JSON.stringify(result.value)}`);
  return result.error;
}

const text = (t: string): MlJobRequest => ({ analysis: 'text', input: { text: t } });
const image = (url: string): MlJobRequest => ({ analysis: 'image', input: { url } });

describe('jobs: submit, then poll through queued and running to done', () => {
  it('moves a text job along the clock and returns the deterministic analysis', async () => {
    const request = text('Спасибо, супер видео! @Anna_K посмотри #музыка #гитара 🔥');
    const queued = await ok(client.submit(request));
    expect(queued).toEqual({
      job_id: expect.stringMatching(/^job_/),
      analysis: 'text',
      status: 'queued',
      created_at: '2026-03-04T18:00:00Z',
    });
    expect(sim.control.requests()).toEqual([{ route: 'submit', status: 202 }]);

    clock.now = T0 + 299; // queued for a third of 900 ms
    expect((await ok(client.poll(queued.job_id))).status).toBe('queued');
    clock.now = T0 + 300;
    expect(await ok(client.poll(queued.job_id))).toMatchObject({
      status: 'running',
      started_at: expect.any(String),
    });
    clock.now = T0 + 899;
    expect((await ok(client.poll(queued.job_id))).status).toBe('running');
    clock.now = T0 + 900;
    const done = await ok(client.poll(queued.job_id));
    expect(done).toMatchObject({ status: 'done', finished_at: '2026-03-04T18:00:00Z' });
    expect(done).not.toHaveProperty('error');
    expect(done.result).toEqual(sim.control.expected(request));
    expect(done.result).toEqual({
      kind: 'text',
      model: 'sim-text-1',
      language: 'ru',
      sentiment: { label: 'positive', score: 1 },
      topics: ['music'],
      mentions: ['anna_k'],
      hashtags: ['музыка', 'гитара'],
    } satisfies TextAnalysis);
  });

  it('reads language, sentiment and topics from ordinary texts', async () => {
    const cases: [string, Partial<TextAnalysis>][] = [
      ['This is the worst unboxing, a total scam 👎', { language: 'en', topics: ['tech'] }],
      ['Der Test ist nicht gut und das Video ist langweilig', { language: 'de' }],
      ['Watched it twice.\nStill great.', { language: 'en' }],
      ['🎉🎉', { language: 'und' }],
    ];
    const results: TextAnalysis[] = [];
    for (const [t] of cases) {
      const job = await ok(client.submit(text(t)));
      sim.control.finishNow(job.job_id);
      results.push((await ok(client.poll(job.job_id))).result as TextAnalysis);
    }
    cases.forEach(([, expected], i) => expect(results[i]).toMatchObject(expected));
    expect(results[0]!.sentiment.label).toBe('negative');
    expect(results[2]!.sentiment.label).toBe('positive');
    expect(results[3]!.sentiment).toEqual({ label: 'positive', score: 1 });
  });

  it('labels images deterministically: same URL same labels, URL words first, scores descending', async () => {
    const url = 'https://cdn.example.com/media/guitar-on-stage.jpg';
    const [a, b] = [await ok(client.submit(image(url))), await ok(client.submit(image(url)))];
    expect(a.job_id).not.toBe(b.job_id);
    clock.now = T0 + 2999;
    expect((await ok(client.poll(a.job_id))).status).toBe('running');
    clock.now = T0 + 3000;
    const [ra, rb] = [(await ok(client.poll(a.job_id))).result, (await ok(client.poll(b.job_id))).result];
    expect(ra).toEqual(rb);
    if (ra?.kind !== 'image') throw new Error('expected an image analysis');
    expect(ra.model).toBe('sim-vision-1');
    expect(ra.labels.slice(0, 2).map((l) => l.label)).toEqual(['guitar', 'stage']);
    expect(ra.labels.length).toBeGreaterThanOrEqual(3);
    expect(ra.labels.length).toBeLessThanOrEqual(6);
    const scores = ra.labels.map((l) => l.score);
    expect(scores).toEqual([...scores].sort((x, y) => y - x));
    expect(scores.every((s) => s >= 0.3 && s < 1)).toBe(true);
    expect(new Set(ra.labels.map((l) => l.label)).size).toBe(ra.labels.length);

    const other = await startMlSimulator({ seed: 4, tokens: [TOKEN] });
    try {
      const expected = other.control.expected(image('https://cdn.example.com/a.jpg'));
      expect(expected).not.toEqual(sim.control.expected(image('https://cdn.example.com/a.jpg')));
    } finally {
      await other.close();
    }
  });

  it('an Idempotency-Key returns the job made the first time', async () => {
    const first = await ok(client.submit(text('hello'), { idempotencyKey: 'post:1:text' }));
    clock.now = T0 + 500;
    const again = await ok(client.submit(text('hello'), { idempotencyKey: 'post:1:text' }));
    expect(again).toMatchObject({ job_id: first.job_id, status: 'running' });
    const third = await ok(client.submit(text('hello'), { idempotencyKey: 'post:2:text' }));
    expect(third.job_id).not.toBe(first.job_id);
    expect(sim.control.jobs()).toHaveLength(2);
  });

  it('completes on the wall clock with a short delay (no injected clock)', async () => {
    const live = await startMlSimulator({ tokens: [TOKEN], completionDelayMs: 40 });
    try {
      const liveClient = new MlClient({ baseUrl: live.baseUrl, token: TOKEN });
      const job = await ok(liveClient.submit(text('quick one')));
      let state: MlJob = job;
      for (let i = 0; i < 100 && state.status !== 'done'; i++) {
        await sleep(10);
        state = await ok(liveClient.poll(job.job_id));
      }
      expect(state.status).toBe('done');
    } finally {
      await live.close();
    }
  });
});

describe('job failures are results, not API errors', () => {
  it('forced failures, a failure rate, and an unreachable image', async () => {
    sim.control.failNextJobs(1, { code: 'gpu_lost', retryable: false });
    const forced = await ok(client.submit(text('one')));
    const normal = await ok(client.submit(text('two')));
    const unreachable = await ok(client.submit(image('https://media.invalid/x.jpg')));
    clock.now = T0 + 3000;
    expect(await ok(client.poll(forced.job_id))).toMatchObject({
      status: 'failed',
      error: { code: 'gpu_lost', retryable: false, message: expect.any(String) },
    });
    expect(await ok(client.poll(forced.job_id))).not.toHaveProperty('result');
    expect((await ok(client.poll(normal.job_id))).status).toBe('done');
    expect(await ok(client.poll(unreachable.job_id))).toMatchObject({
      status: 'failed',
      error: { code: 'input_unreachable', retryable: false },
    });

    sim.control.configure({ failureRate: 0.5 });
    const jobs: MlJob[] = [];
    for (let i = 0; i < 40; i++) jobs.push(await ok(client.submit(text(`comment ${i}`))));
    sim.control.finishNow();
    const statuses = await Promise.all(jobs.map(async (j) => (await ok(client.poll(j.job_id))).status));
    const failures = statuses.filter((s) => s === 'failed').length;
    expect(failures).toBeGreaterThan(5);
    expect(failures).toBeLessThan(35);
    sim.control.configure({ failureRate: 1 });
    const doomed = await ok(client.submit(text('doomed')));
    sim.control.finishNow();
    expect(await ok(client.poll(doomed.job_id))).toMatchObject({
      status: 'failed',
      error: { code: 'model_error', retryable: true },
    });
  });
});

describe('API failures come back classified, never thrown', () => {
  it('auth, unknown job, invalid requests', async () => {
    const anonymous = new MlClient({ baseUrl: sim.baseUrl });
    expect(await failed(anonymous.submit(text('x')))).toMatchObject({
      kind: 'auth',
      code: 'SIPHON_ERR_CONNECTOR_AUTH',
      httpStatus: 401,
      reason: 'unauthorized',
      method: 'POST /v1/jobs',
    });
    const wrong = new MlClient({ baseUrl: sim.baseUrl, token: 'nope' });
    const refused = await failed(wrong.poll('job_x'));
    expect(refused).toMatchObject({ kind: 'auth', reason: 'invalid_token', method: 'GET /v1/jobs/{id}' });
    expect(JSON.stringify(refused)).not.toContain('nope');

    expect(await failed(client.poll('job_unknown'))).toMatchObject({
      kind: 'not-found',
      code: 'SIPHON_ERR_CONNECTOR_NOT_FOUND',
      httpStatus: 404,
      reason: 'job_not_found',
    });
    const invalid: unknown[] = [
      { analysis: 'video', input: { url: 'https://x/y.mp4' } },
      { analysis: 'image', input: { url: 'ftp://x/y.jpg' } },
      { analysis: 'text', input: { text: '   ' } },
      { analysis: 'text', input: { text: 'x'.repeat(20_001) } },
      { analysis: 'text' },
    ];
    for (const body of invalid) {
      expect(await failed(client.submit(body as MlJobRequest))).toMatchObject({
        kind: 'bad-request',
        code: 'SIPHON_ERR_CONNECTOR_BAD_REQUEST',
        httpStatus: 400,
        reason: 'invalid_request',
      });
    }
    const notJson = await fetch(`${sim.baseUrl}v1/jobs`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: '{"analysis":',
    });
    expect(notJson.status).toBe(400);
    expect(await notJson.json()).toMatchObject({ error: { code: 'invalid_request' } });
    expect(sim.control.jobs()).toEqual([]);
  });

  it('5xx, 429 with Retry-After, dropped connections, timeouts and garbage bodies', async () => {
    sim.control.faults.failNext(1, 503, 'submit');
    expect(await failed(client.submit(text('x')))).toMatchObject({
      kind: 'transient',
      code: 'SIPHON_ERR_CONNECTOR_TRANSIENT',
      httpStatus: 503,
      reason: 'unavailable',
    });
    sim.control.faults.rateLimitNext(1, { retryAfterSeconds: 5, route: 'poll' });
    const job = await ok(client.submit(text('x')));
    expect(await failed(client.poll(job.job_id))).toMatchObject({
      kind: 'rate-limited',
      code: 'SIPHON_ERR_CONNECTOR_RATE_LIMITED',
      httpStatus: 429,
      retryAfterMs: 5000,
    });
    sim.control.faults.dropNext(1);
    expect(await failed(client.poll(job.job_id))).toMatchObject({ kind: 'transient', reason: 'network' });
    sim.control.faults.respondNext(1, { status: 200, body: { hello: 'world' } });
    expect(await failed(client.poll(job.job_id))).toMatchObject({ kind: 'transient', reason: 'invalidBody' });
    sim.control.faults.setDelay(300);
    const impatient = new MlClient({ baseUrl: sim.baseUrl, token: TOKEN, timeoutMs: 50 });
    expect(await failed(impatient.poll(job.job_id))).toMatchObject({ kind: 'transient', reason: 'timeout' });
    await sleep(400); // the abandoned request still finishes on the simulator's side
    sim.control.faults.clear();
    // Faults are consumed in order and then the service answers normally again.
    expect((await ok(client.poll(job.job_id))).job_id).toBe(job.job_id);
    expect(sim.control.requests().map((r) => r.status)).toEqual([503, 202, 429, 0, 200, 200, 200]);
  });

  it('cancellation by the caller rejects instead of being classified', async () => {
    const controller = new AbortController();
    controller.abort(new Error('shutting down'));
    await expect(client.poll('job_x', controller.signal)).rejects.toThrow('shutting down');
  });

  it('answers 429 when overloaded, with a Retry-After until the soonest job finishes', async () => {
    sim.control.configure({ maxActiveJobs: 2 });
    await ok(client.submit(image('https://cdn.example.com/1.jpg')));
    clock.now = T0 + 1000;
    await ok(client.submit(image('https://cdn.example.com/2.jpg')));
    const busy = await failed(client.submit(text('third')));
    expect(busy).toMatchObject({
      kind: 'rate-limited',
      httpStatus: 429,
      reason: 'overloaded',
      retryAfterMs: 2000,
    });
    clock.now = T0 + 3000;
    expect((await ok(client.submit(text('third')))).status).toBe('queued');
  });

  it('forgets the oldest jobs beyond its capacity: polling them answers 404', async () => {
    const small = await startMlSimulator({ tokens: [TOKEN], maxStoredJobs: 2, now: () => clock.now });
    try {
      const c = new MlClient({ baseUrl: small.baseUrl, token: TOKEN });
      const ids: string[] = [];
      for (const t of ['a', 'b', 'c']) ids.push((await ok(c.submit(text(t)))).job_id);
      expect(await failed(c.poll(ids[0]!))).toMatchObject({ kind: 'not-found' });
      expect((await ok(c.poll(ids[2]!))).job_id).toBe(ids[2]);
    } finally {
      await small.close();
    }
  });
});

describe('control over HTTP (for a simulator in another process)', () => {
  const post = async (path: string, body: unknown) => {
    const response = await fetch(`${sim.baseUrl}_control/${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };

  it('changes settings, injects faults and job failures, finishes jobs, reports state', async () => {
    expect(await post('settings', { completionDelayMs: 10_000, failureRate: 0 })).toMatchObject({
      status: 200,
      body: { settings: { completionDelayMs: { image: 10_000, text: 10_000 } } },
    });
    expect((await post('settings', { failureRate: 2 })).status).toBe(400);
    expect((await post('faults', { kind: 'explode' })).status).toBe(400);

    expect((await post('faults', { kind: 'fail', status: 502, count: 1, route: 'submit' })).status).toBe(200);
    expect(await failed(client.submit(text('x')))).toMatchObject({ kind: 'transient', httpStatus: 502 });

    expect((await post('fail-jobs', { count: 1, code: 'bad_luck', retryable: false })).status).toBe(200);
    const doomed = await ok(client.submit(text('x')));
    const fine = await ok(client.submit(text('y')));
    clock.now = T0 + 5000;
    expect((await ok(client.poll(fine.job_id))).status).toBe('running');
    expect((await post('finish', {})).status).toBe(200);
    expect(await ok(client.poll(doomed.job_id))).toMatchObject({
      status: 'failed',
      error: { code: 'bad_luck' },
    });
    expect((await ok(client.poll(fine.job_id))).status).toBe('done');

    const state = await fetch(`${sim.baseUrl}_control/state`);
    expect(await state.json()).toMatchObject({ jobs: { queued: 0, running: 0, done: 1, failed: 1 } });
    expect((await post('reset', {})).body).toMatchObject({ jobs: { done: 0, failed: 0 }, requests: 0 });
  });
});
