import { createRequire } from 'node:module';
import {
  context,
  propagation,
  ROOT_CONTEXT,
  SpanStatusCode,
  trace,
  type Attributes,
  type Context,
  type Link,
  type Span,
} from '@opentelemetry/api';
import type { SpanExporter, SpanProcessor } from '@opentelemetry/sdk-trace-base';

export interface TracingOptions {
  /** OTLP/HTTP base URL (`OTEL_EXPORTER_OTLP_ENDPOINT`); spans go to `<endpoint>/v1/traces`. @default unset */
  readonly endpoint?: string | undefined;
  /** Where spans go instead of OTLP: an in-memory exporter in tests, a discarding one in the bench. */
  readonly exporter?: SpanExporter;
  /** Export each span as it ends instead of in batches (tests read them at once). @default false */
  readonly exportEachSpan?: boolean;
  /** @default 'siphon' */
  readonly serviceName?: string;
  readonly serviceVersion?: string;
}

export interface Tracing {
  /** False when neither an endpoint nor an exporter was given: no SDK, the API's no-op tracer. */
  readonly enabled: boolean;
  /** Exports the spans that have ended and are still buffered. */
  forceFlush(): Promise<void>;
  /** Flushes, removes the instrumentations' patches and unregisters the SDK (back to the no-op API). */
  shutdown(): Promise<void>;
}

const DISABLED: Tracing = Object.freeze({
  enabled: false,
  forceFlush: async () => {},
  shutdown: async () => {},
});
const TRACER = 'siphon';
let current: Tracing | undefined;

/**
 * Registers the OpenTelemetry SDK (W3C trace context, async-local context) and the maintained
 * instrumentations for pg, node:http, fetch (undici) and Fastify — but only when there is somewhere to
 * send spans. Without an endpoint nothing is registered: every span helper below then runs against
 * the API's no-op tracer, and nothing is recorded or exported. Call it once, first, in a process.
 */
export async function initTracing(options: TracingOptions): Promise<Tracing> {
  if (current) return current;
  if (!options.exporter && !options.endpoint) return DISABLED;
  // The SDK is loaded only when it is used: a process without tracing never pays for it.
  const [
    { FastifyOtelInstrumentation },
    { OTLPTraceExporter },
    { registerInstrumentations },
    { HttpInstrumentation },
    { PgInstrumentation },
    { UndiciInstrumentation },
    { resourceFromAttributes },
    { BatchSpanProcessor, SimpleSpanProcessor },
    { NodeTracerProvider },
    { ATTR_SERVICE_NAME, ATTR_SERVICE_VERSION },
  ] = await Promise.all([
    import('@fastify/otel'),
    import('@opentelemetry/exporter-trace-otlp-http'),
    import('@opentelemetry/instrumentation'),
    import('@opentelemetry/instrumentation-http'),
    import('@opentelemetry/instrumentation-pg'),
    import('@opentelemetry/instrumentation-undici'),
    import('@opentelemetry/resources'),
    import('@opentelemetry/sdk-trace-base'),
    import('@opentelemetry/sdk-trace-node'),
    import('@opentelemetry/semantic-conventions'),
  ]);
  if (current) return current;
  const exporter =
    options.exporter ??
    new OTLPTraceExporter({ url: new URL('v1/traces', withSlash(options.endpoint!)).toString() });
  const processor: SpanProcessor = options.exportEachSpan
    ? new SimpleSpanProcessor(exporter)
    : new BatchSpanProcessor(exporter);
  const provider = new NodeTracerProvider({
    resource: resourceFromAttributes({
      [ATTR_SERVICE_NAME]: options.serviceName ?? 'siphon',
      ...(options.serviceVersion ? { [ATTR_SERVICE_VERSION]: options.serviceVersion } : {}),
    }),
    spanProcessors: [processor],
  });
  provider.register();
  const unregister = registerInstrumentations({
    tracerProvider: provider,
    instrumentations: [
      // Only queries inside a run, a task or a request: the claim loop's polling stays out of traces.
      // Statement text is recorded, parameter values never are.
      new PgInstrumentation({ requireParentSpan: true, enhancedDatabaseReporting: false }),
      new HttpInstrumentation({
        requireParentforOutgoingSpans: true,
        ignoreIncomingRequestHook: (request) => /^\/(health|metrics)\b/.test(request.url ?? ''),
      }),
      new UndiciInstrumentation({ requireParentforSpans: true }),
      // Subscribes to Fastify's initialisation channel: every app built after this is instrumented.
      new FastifyOtelInstrumentation({ registerOnInitialization: true }),
    ],
  });
  patchLoadedModules();
  const tracing: Tracing = {
    enabled: true,
    forceFlush: () => provider.forceFlush(),
    shutdown: async () => {
      if (current !== tracing) return;
      current = undefined;
      await provider.shutdown();
      unregister();
      trace.disable();
      context.disable();
      propagation.disable();
    },
  };
  current = tracing;
  return tracing;
}

/** Flushes and stops the tracing this process started, if any (before `process.exit`). */
export async function shutdownTracing(): Promise<void> {
  await current?.shutdown();
}

/**
 * The instrumentations patch a module when it is `require`d after they are enabled. This is an ESM
 * application: `import pg from 'pg'` loads pg through the ESM loader, which those hooks never see, and
 * the CLI has imported it before tracing starts. Requiring the modules once here, through the hooked
 * CommonJS loader, patches them; pg and pg-pool are patched on their prototypes, and the ESM import
 * shares the same CommonJS module instance, so every client already imported is traced.
 */
function patchLoadedModules(): void {
  const require = createRequire(import.meta.url);
  require('pg');
  createRequire(require.resolve('pg'))('pg-pool');
  require('node:http');
  require('node:https');
}

function withSlash(url: string): string {
  return url.endsWith('/') ? url : `${url}/`;
}

/**
 * Runs `fn` inside a new active span (a child of the active one, or of `parent`): its queries, HTTP
 * calls and log lines belong to it. A thrown error is recorded on the span, which ends either way.
 */
export function inSpan<T>(
  name: string,
  attributes: Attributes,
  fn: (span: Span) => Promise<T>,
  options: { readonly root?: boolean; readonly links?: Link[]; readonly parent?: Context } = {},
): Promise<T> {
  const parent = options.parent ?? context.active();
  return trace
    .getTracer(TRACER)
    .startActiveSpan(name, { attributes, root: options.root, links: options.links }, parent, async (span) => {
      try {
        return await fn(span);
      } catch (error) {
        markSpanFailed(error, span);
        throw error;
      } finally {
        span.end();
      }
    });
}

/** Marks a span (the active one by default) as failed with `error`, for failures handled as data. */
export function markSpanFailed(error: unknown, span: Span | undefined = trace.getActiveSpan()): void {
  if (!span?.isRecording()) return;
  const exception = error instanceof Error ? error : new Error(String(error));
  span.recordException(exception);
  span.setStatus({ code: SpanStatusCode.ERROR, message: exception.message });
}

/** Sets attributes on the active span, if any (results known only at the end of the work). */
export function setSpanAttributes(attributes: Attributes): void {
  trace.getActiveSpan()?.setAttributes(attributes);
}

/**
 * The active trace context as W3C `traceparent` (and `tracestate`) entries, to store with durable work
 * — a job payload, a task row — so the work joins this trace when it runs, in any process. Empty when
 * tracing is off.
 */
export function injectTraceContext(): Record<string, string> {
  const carrier: Record<string, string> = {};
  propagation.inject(context.active(), carrier);
  return carrier;
}

/**
 * Runs `fn` in a span that continues a context stored by `injectTraceContext`: a child of the stored
 * span, or — with `link`, for work resumed long after its parent ended (an enrichment that waited two
 * days) — the root of a new trace with a span link back to it. An empty or missing carrier starts a
 * new trace.
 */
export function withExtractedContext<T>(
  carrier: Readonly<Record<string, string>> | null | undefined,
  name: string,
  fn: (span: Span) => Promise<T>,
  options: { readonly link?: boolean; readonly attributes?: Attributes } = {},
): Promise<T> {
  const stored = propagation.extract(ROOT_CONTEXT, carrier ?? {});
  const attributes = options.attributes ?? {};
  if (!options.link) return inSpan(name, attributes, fn, { parent: stored });
  const linked = trace.getSpanContext(stored);
  return inSpan(name, attributes, fn, {
    root: true,
    links: linked ? [{ context: linked, attributes: { 'siphon.link.reason': 'resumed' } }] : [],
  });
}

/**
 * The active span's ids for a log line (pino mixin): `trace_id`, `span_id`, `trace_flags`. A new object
 * each time: pino merges the line's own fields into it.
 */
export function traceLogFields(): Record<string, string> {
  const span = trace.getActiveSpan();
  if (!span) return {};
  const spanContext = span.spanContext();
  if (!trace.isSpanContextValid(spanContext)) return {};
  const { traceId, spanId, traceFlags } = spanContext;
  return { trace_id: traceId, span_id: spanId, trace_flags: traceFlags.toString(16).padStart(2, '0') };
}
