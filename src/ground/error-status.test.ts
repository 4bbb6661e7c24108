import { describe, expect, it } from 'vitest';

import { GRPC_STATUS, grpcStatusOf, httpStatusOf } from './error-status.js';
import { BerthError, ERROR_CATEGORIES, ERROR_CODES, type ErrorCategory, type ErrorCode } from './errors.js';

/** An error of `category` whose code has no HTTP status of its own, to see the category default. */
function ofCategory(category: ErrorCategory): BerthError {
  const error = new BerthError('BERTH_ERR_INTERNAL', 'x');
  Object.defineProperty(error, 'category', { value: category });
  return error;
}

describe('httpStatusOf', () => {
  it.each([
    { category: 'INVALID_ARGUMENT', status: 400 },
    { category: 'UNAUTHENTICATED', status: 401 },
    { category: 'PERMISSION_DENIED', status: 403 },
    { category: 'NOT_FOUND', status: 404 },
    { category: 'RESOURCE_EXHAUSTED', status: 429 },
    { category: 'INTERNAL', status: 500 },
    { category: 'UNAVAILABLE', status: 503 },
    { category: 'DEADLINE_EXCEEDED', status: 504 },
  ] as const)('maps the $category category to $status', ({ category, status }) => {
    expect(httpStatusOf(ofCategory(category))).toBe(status);
  });

  it.each([
    { code: 'BERTH_ERR_PROTOCOL_INVALID_JSON', status: 400 },
    { code: 'BERTH_ERR_INFER_SHAPE_MISMATCH', status: 400 },
    { code: 'BERTH_ERR_MODEL_NOT_FOUND', status: 404 },
    { code: 'BERTH_ERR_MODEL_VERSION_NOT_FOUND', status: 404 },
    { code: 'BERTH_ERR_MODEL_NOT_READY', status: 503 },
    { code: 'BERTH_ERR_SERVER_SHUTTING_DOWN', status: 503 },
    { code: 'BERTH_ERR_RUNTIME_EXECUTION_FAILED', status: 500 },
    { code: 'BERTH_ERR_INTERNAL', status: 500 },
    // Codes whose HTTP status is more precise than their category's.
    { code: 'BERTH_ERR_PROTOCOL_BODY_TOO_LARGE', status: 413 },
    { code: 'BERTH_ERR_PROTOCOL_TENSOR_TOO_LARGE', status: 413 },
    { code: 'BERTH_ERR_PROTOCOL_UNSUPPORTED_MEDIA_TYPE', status: 415 },
    { code: 'BERTH_ERR_SERVER_TIMEOUT', status: 408 },
  ] as const)('answers $code with HTTP $status', ({ code, status }) => {
    expect(httpStatusOf(new BerthError(code, 'x'))).toBe(status);
  });

  it('gives every code an HTTP error status', () => {
    for (const code of Object.keys(ERROR_CODES) as ErrorCode[]) {
      const status = httpStatusOf(new BerthError(code, 'x'));
      expect(status, code).toBeGreaterThanOrEqual(400);
      expect(status, code).toBeLessThan(600);
    }
  });
});

describe('grpcStatusOf', () => {
  it.each([
    { code: 'BERTH_ERR_PROTOCOL_INVALID_JSON', status: 3 },
    { code: 'BERTH_ERR_MODEL_NOT_FOUND', status: 5 },
    { code: 'BERTH_ERR_MODEL_NOT_READY', status: 14 },
    { code: 'BERTH_ERR_INTERNAL', status: 13 },
    { code: 'BERTH_ERR_SERVER_TIMEOUT', status: 4 },
    // The HTTP override does not leak into gRPC: a body that is too large is RESOURCE_EXHAUSTED.
    { code: 'BERTH_ERR_PROTOCOL_BODY_TOO_LARGE', status: 8 },
    { code: 'BERTH_ERR_PROTOCOL_UNSUPPORTED_MEDIA_TYPE', status: 3 },
  ] as const)('answers $code with gRPC status $status', ({ code, status }) => {
    expect(grpcStatusOf(new BerthError(code, 'x'))).toBe(status);
  });

  it('maps each category to the gRPC code of the same name, never OK', () => {
    expect(grpcStatusOf(ofCategory('UNAUTHENTICATED'))).toBe(16);
    expect(grpcStatusOf(ofCategory('PERMISSION_DENIED'))).toBe(7);
    for (const category of ERROR_CATEGORIES) {
      const status = grpcStatusOf(ofCategory(category));
      expect(status).toBe(GRPC_STATUS[category]);
      expect(status).not.toBe(GRPC_STATUS.OK);
    }
  });
});
