/** berth's log level onto onnxruntime's severity, and the telemetry switch. */
import { describe, expect, it } from 'vitest';
import { LOG_LEVELS } from '../../../observability/index.js';
import {
  disableOnnxTelemetry,
  ONNX_LOG_LEVELS,
  onnxLogLevelFor,
  onnxSeverityNumber,
} from './onnx-logging.js';

describe('onnxLogLevelFor', () => {
  it('keeps onnxruntime quiet at every level but debug and trace', () => {
    const mapped = Object.fromEntries(LOG_LEVELS.map((level) => [level, onnxLogLevelFor(level)]));
    expect(mapped).toEqual({
      fatal: 'fatal',
      error: 'fatal',
      warn: 'fatal',
      info: 'fatal',
      debug: 'info',
      trace: 'verbose',
      silent: 'fatal',
    });
  });

  it('keeps onnxruntime quiet for a level name berth does not know', () => {
    expect(onnxLogLevelFor('chatty')).toBe('fatal');
    expect(onnxLogLevelFor('constructor')).toBe('fatal');
  });
});

describe('onnxSeverityNumber', () => {
  it("gives onnxruntime's logSeverityLevel numbers, verbose 0 to fatal 4", () => {
    expect(ONNX_LOG_LEVELS.map(onnxSeverityNumber)).toEqual([0, 1, 2, 3, 4]);
    expect(onnxSeverityNumber('warning')).toBe(2);
  });
});

describe('disableOnnxTelemetry', () => {
  it('sets ORT_DISABLE_TELEMETRY=1 when it is unset or empty', () => {
    for (const env of [{}, { ORT_DISABLE_TELEMETRY: '' }] as NodeJS.ProcessEnv[]) {
      expect(disableOnnxTelemetry(env)).toBe(true);
      expect(env).toEqual({ ORT_DISABLE_TELEMETRY: '1' });
    }
  });

  it("leaves the user's own setting, so ORT_DISABLE_TELEMETRY=0 keeps telemetry on", () => {
    for (const value of ['0', 'false', '1']) {
      const env: NodeJS.ProcessEnv = { ORT_DISABLE_TELEMETRY: value };
      expect(disableOnnxTelemetry(env)).toBe(false);
      expect(env).toEqual({ ORT_DISABLE_TELEMETRY: value });
    }
  });
});
