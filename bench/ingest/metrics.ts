// ternd's own event-loop delay during a run, read from its /metrics endpoint (the prom-client
// default metrics ternd registers, src/control/metrics.ts): nodejs_eventloop_lag_{max,p99,mean}_
// seconds come from a monitorEventLoopDelay histogram that prom-client resets on every scrape.
// So: one scrape just before the injection (the reset), one at done (the run's figures).
// Plain HTTP text, parsed here: the harness imports nothing from the daemon.

import * as http from 'node:http';

export interface EventLoopLag {
  /**
   * Longest delay of one loop turn over the run, s (nodejs_eventloop_lag_max_seconds); 0 when
   * the histogram took no sample between the two scrapes (a run shorter than its period).
   */
  maxSeconds: number;
  p99Seconds: number;
  meanSeconds: number;
  /**
   * The histogram's sampling period (prom-client's eventLoopMonitoringPrecision as ternd sets
   * it, 100 ms). Node records the time between two samples, so an idle loop reads about this
   * much and a stall reads as the stall plus up to this: the lag is max - resolution.
   */
  resolutionSeconds: number;
}

const RESOLUTION_SECONDS = 0.1;

export function parseEventLoopLag(text: string): EventLoopLag | undefined {
  const get = (name: string): number | undefined => {
    // prom-client prints NaN for the mean of an empty histogram: kept as NaN (null in JSON).
    const m = new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(text);
    return m ? Number(m[1]) : undefined;
  };
  const max = get('nodejs_eventloop_lag_max_seconds');
  const p99 = get('nodejs_eventloop_lag_p99_seconds');
  const mean = get('nodejs_eventloop_lag_mean_seconds');
  if (max === undefined || p99 === undefined || mean === undefined) return undefined;
  return { maxSeconds: max, p99Seconds: p99, meanSeconds: mean, resolutionSeconds: RESOLUTION_SECONDS };
}

/** GET /metrics and parse the event-loop figures; rejects when ternd does not answer in 10 s. */
export function scrapeEventLoopLag(host: string, port: number): Promise<EventLoopLag | undefined> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host, port, path: '/metrics', timeout: 10_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => (res.statusCode === 200 ? resolve(parseEventLoopLag(body)) : reject(new Error(`/metrics: HTTP ${res.statusCode}`))));
    });
    req.on('timeout', () => req.destroy(new Error('/metrics: no answer in 10 s')));
    req.on('error', reject);
  });
}
