/**
 * The ground every module stands on: `BerthError` and its codes, the category → HTTP/gRPC status
 * map, how a code crosses the wire, and the tensor and protocol types. Pure: no I/O, no npm
 * dependency, no import of any other berth module (docs/adr/0001).
 */
export * from './errors.js';
export * from './error-status.js';
export * from './error-wire.js';
export * from './datatypes.js';
export * from './float16.js';
export * from './types.js';
export * from './shape.js';
export { showValue } from './show-value.js';
export { InFlightCount } from './in-flight.js';
