export { createLogger, redactUrl, type Logger } from './logger.js';
export { createMetrics } from './metrics.js';
export {
  initTracing,
  injectTraceContext,
  inSpan,
  markSpanFailed,
  setSpanAttributes,
  shutdownTracing,
  traceLogFields,
  withExtractedContext,
  type Tracing,
  type TracingOptions,
} from './tracing.js';
export type { MetricsEndpoint } from './metrics.js';
export { createRunnerMetrics, serveRunnerMetrics, type RunnerMetricsOptions } from './runner-metrics.js';
export { startMetricsServer, type MetricsServer } from './metrics.server.js';
export { registeredMetricNames } from './metric-names.js';
