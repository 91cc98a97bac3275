import autocannon from 'autocannon';

export interface LoadFigures {
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  total: number;
  seconds: number;
  /** Anything but a 2xx, connection errors and timeouts: a run with any of these is not valid. */
  failures: number;
}

export interface LoadOptions {
  url: string;
  headers?: Record<string, string>;
  connections: number;
  seconds: number;
}

/**
 * Fires requests from a worker thread, so the load generator does not share the event loop of
 * the server under test (both run in this process).
 */
export async function measure(options: LoadOptions): Promise<LoadFigures> {
  const result = await autocannon({
    url: options.url,
    headers: options.headers,
    connections: options.connections,
    duration: options.seconds,
    workers: 1,
  });
  return {
    requestsPerSecond: Math.round(result.requests.average),
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    total: result.requests.total,
    seconds: options.seconds,
    failures: result.non2xx + result.errors + result.timeouts,
  };
}

/**
 * Several measurement slices of one target as one figure: throughput over all of them, and the
 * worst slice's latencies (a percentile cannot be averaged, and the worst is the honest bound).
 */
export function combine(slices: LoadFigures[]): LoadFigures {
  const total = slices.reduce((sum, s) => sum + s.total, 0);
  const seconds = slices.reduce((sum, s) => sum + s.seconds, 0);
  return {
    requestsPerSecond: Math.round(total / seconds),
    p50Ms: Math.max(...slices.map((s) => s.p50Ms)),
    p99Ms: Math.max(...slices.map((s) => s.p99Ms)),
    total,
    seconds,
    failures: slices.reduce((sum, s) => sum + s.failures, 0),
  };
}
