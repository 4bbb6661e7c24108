/** The interceptors berth's servers put on the request seam. */
export { requestLog } from './request-log.js';
export { requestMetrics } from './request-metrics.js';
