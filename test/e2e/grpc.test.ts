/**
 * The gRPC endpoint of a real `berth serve` process, through @grpc/grpc-js clients built the way
 * third-party tools build theirs: the standard health check (what a Kubernetes gRPC probe
 * sends), server reflection followed by a call made only from the reflected descriptors (what
 * grpcurl does), and raw `inference.GRPCInferenceService` messages for what berth's own client
 * never sends: typed contents mixed with raw ones, classification, streams, deadlines, limits.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  Client,
  credentials,
  loadPackageDefinition,
  Metadata,
  status,
  type GrpcObject,
  type ServiceClientConstructor,
  type ServiceError,
} from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { protoPath as healthProtoPath } from 'grpc-health-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inferenceMethods, type GrpcMethod } from '../../src/protocol/index.js';
import { addSubModel, doubleModel, slowBatchModel, writeModel } from '../fixtures/models.js';
import { startServe, type ServeProcess } from '../helpers/cli.js';
import { metric, waitForMetric } from '../helpers/metrics.js';
import { expectReflectionWorks } from '../helpers/reflection.js';
import { streamReplies } from '../helpers/grpc-call.js';
import { tempDirsForFile } from '../helpers/temp-dir.js';

const tempDir = tempDirsForFile('berth-grpc-');

let server: ServeProcess;
let address: string;

beforeAll(async () => {
  const repo = tempDir();
  writeModel(repo, 'double', doubleModel());
  writeModel(repo, 'pair', addSubModel());
  writeModel(repo, 'slow', slowBatchModel(2000));
  writeFileSync(join(repo, 'slow', 'config.yaml'), 'maxBatchSize: 512\ninstances: 1\n');
  server = await startServe([repo, '--intra-op-threads', '1', '--grpc-max-message-size', '1MiB']);
  address = server.grpcAddress ?? '';
  await server.waitForLog((l) => String(l.msg).startsWith('models loaded'));
});
afterAll(() => server.stop());

/** One unary call of the inference service with berth's codecs; resolves with status and message. */
function call(
  name: string,
  request: unknown,
  options: { deadlineMs?: number } = {},
): Promise<{ error: ServiceError | null; response: Record<string, unknown> | undefined }> {
  const method = inferenceMethods()[name] as GrpcMethod;
  const client = new Client(address, credentials.createInsecure());
  return new Promise((resolve) => {
    client.makeUnaryRequest(
      method.path,
      method.requestSerialize,
      method.responseDeserialize,
      request,
      new Metadata(),
      options.deadlineMs === undefined ? {} : { deadline: Date.now() + options.deadlineMs },
      (error, response) => {
        client.close();
        resolve({ error, response: response as Record<string, unknown> | undefined });
      },
    );
  });
}

const floats = (values: number[]) => Buffer.from(new Float32Array(values).buffer);

describe('gRPC health (grpc.health.v1)', () => {
  it('answers SERVING for the server and for the inference service', async () => {
    const definition = loadSync(healthProtoPath, { keepCase: true, enums: String });
    const health = (loadPackageDefinition(definition).grpc as GrpcObject).health as GrpcObject;
    const Health = (health.v1 as GrpcObject).Health as ServiceClientConstructor;
    const client = new Health(address, credentials.createInsecure()) as unknown as {
      Check(request: object, callback: (error: Error | null, response: unknown) => void): void;
      close(): void;
    };
    const check = (service: string) =>
      new Promise<unknown>((resolve, reject) => {
        client.Check({ service }, (error, response) => (error ? reject(error) : resolve(response)));
      });
    expect(await check('')).toEqual({ status: 'SERVING' });
    expect(await check('inference.GRPCInferenceService')).toEqual({ status: 'SERVING' });
    await expect(check('no.such.Service')).rejects.toMatchObject({ code: status.NOT_FOUND });
    client.close();
  });
});

describe('gRPC server reflection', () => {
  it('lists the services and describes them well enough to call one, as grpcurl does', async () => {
    await expectReflectionWorks(address);
  });
});

describe('gRPC inference messages', () => {
  it('takes typed contents and raw contents in one request, and answers raw outputs', async () => {
    const { error, response } = await call('ModelInfer', {
      model_name: 'double',
      inputs: [
        {
          name: 'INPUT0',
          datatype: 'FP32',
          shape: [2, 4],
          contents: { fp32_contents: [1, 2, 3, 4, 5, 6, 7, 8] },
        },
      ],
    });
    expect(error).toBeNull();
    const raw = (response?.raw_output_contents as Buffer[])[0] as Buffer;
    expect(
      Array.from(new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength))),
    ).toEqual([2, 4, 6, 8, 10, 12, 14, 16]);
    const outputs = response?.outputs as {
      name: string;
      datatype: string;
      shape: { toNumber(): number }[];
    }[];
    expect(outputs[0]?.name).toBe('OUTPUT0');
    expect(outputs[0]?.shape.map(Number)).toEqual([2, 4]);
  });

  it("takes KServe's mix: typed contents for one input, raw bytes with binary_data_size for another", async () => {
    const { error, response } = await call('ModelInfer', {
      model_name: 'pair',
      inputs: [
        {
          name: 'INPUT0',
          datatype: 'INT32',
          shape: [1, 16],
          contents: { int_contents: Array.from({ length: 16 }, (_, i) => i) },
        },
        {
          name: 'INPUT1',
          datatype: 'INT32',
          shape: [1, 16],
          parameters: { binary_data_size: { int64_param: 64 } },
        },
      ],
      raw_input_contents: [Buffer.from(new Int32Array(16).fill(1).buffer)],
    });
    expect(error).toBeNull();
    const raw = (response?.raw_output_contents as Buffer[])[0] as Buffer;
    const sums = new Int32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength));
    expect(Array.from(sums)).toEqual(Array.from({ length: 16 }, (_, i) => i + 1));
  });

  it('names the field and expectation in INVALID_ARGUMENT errors, with the berth code in the trailer', async () => {
    const wrongList = await call('ModelInfer', {
      model_name: 'double',
      inputs: [{ name: 'INPUT0', datatype: 'FP32', shape: [1, 4], contents: { int_contents: [1, 2, 3, 4] } }],
    });
    expect(wrongList.error?.code).toBe(status.INVALID_ARGUMENT);
    expect(wrongList.error?.details).toMatch(
      /inputs\[0\] "INPUT0": contents.int_contents does not match datatype FP32/,
    );
    expect(wrongList.error?.metadata.get('berth-error-code')).toEqual(['BERTH_ERR_PROTOCOL_INVALID_DATA']);

    const extraRaw = await call('ModelInfer', {
      model_name: 'double',
      inputs: [{ name: 'INPUT0', datatype: 'FP32', shape: [1, 4] }],
      raw_input_contents: [floats([1, 2, 3, 4]), floats([1])],
    });
    expect(extraRaw.error?.code).toBe(status.INVALID_ARGUMENT);
    expect(extraRaw.error?.details).toMatch(/raw_input_contents has 2 entries/);

    const noName = await call('ModelInfer', { inputs: [] });
    expect(noName.error?.details).toMatch(/model_name must be a non-empty string/);

    const unknown = await call('ModelInfer', { model_name: 'nope' });
    expect(unknown.error?.code).toBe(status.NOT_FOUND);
  });

  it('answers a message that is not protobuf with INVALID_ARGUMENT, not INTERNAL (regression), on every service', async () => {
    // Field 1 (model_name) says 255 bytes follow; 2 do.
    const truncated = Buffer.from([0x0a, 0xff, 0x01, 0x61, 0x62]);
    const raw = (path: string) =>
      new Promise<ServiceError | null>((resolve) => {
        const client = new Client(address, credentials.createInsecure());
        client.makeUnaryRequest(
          path,
          (bytes: Buffer) => bytes,
          (bytes: Buffer) => bytes,
          truncated,
          (error: ServiceError | null) => {
            client.close();
            resolve(error);
          },
        );
      });
    const infer = await raw((inferenceMethods().ModelInfer as GrpcMethod).path);
    expect(infer?.code).toBe(status.INVALID_ARGUMENT);
    expect(infer?.details).toMatch(
      /^the ModelInfer request is not a valid protobuf message of the inference service: /,
    );
    expect(infer?.metadata.get('berth-error-code')).toEqual(['BERTH_ERR_PROTOCOL_INVALID_REQUEST']);
    expect((await raw((inferenceMethods().ModelMetadata as GrpcMethod).path))?.code).toBe(
      status.INVALID_ARGUMENT,
    );
    const health = await raw('/grpc.health.v1.Health/Check');
    expect(health?.code).toBe(status.INVALID_ARGUMENT);
    expect(health?.details).toMatch(/not a valid grpc.health.v1.HealthCheckRequest/);

    // On a stream, the malformed message gets its error reply and the stream goes on.
    const replies = await streamReplies(address, [
      truncated,
      {
        model_name: 'double',
        id: 'fine',
        inputs: [{ name: 'INPUT0', datatype: 'FP32', shape: [1, 4] }],
        raw_input_contents: [floats([1, 2, 3, 4])],
      },
    ]);
    expect(replies).toHaveLength(2);
    expect(replies[0]?.error_message).toMatch(/not a valid protobuf message/);
    expect(replies[1]).toMatchObject({ error_message: '', infer_response: { id: 'fine' } });
  });

  it('applies the classification parameter tritonclient sends on an output', async () => {
    const { error, response } = await call('ModelInfer', {
      model_name: 'double',
      inputs: [{ name: 'INPUT0', datatype: 'FP32', shape: [1, 4] }],
      outputs: [{ name: 'OUTPUT0', parameters: { classification: { int64_param: 2 } } }],
      raw_input_contents: [floats([1, 9, 3, 4])],
    });
    expect(error).toBeNull();
    const outputs = response?.outputs as { datatype: string }[];
    expect(outputs[0]?.datatype).toBe('BYTES');
    const raw = (response?.raw_output_contents as Buffer[])[0] as Buffer;
    // Two BYTES elements, each a 4-byte length and "value:index".
    expect(raw.toString('latin1')).toContain('18.000000:1');
  });

  it('refuses a message over --grpc-max-message-size with RESOURCE_EXHAUSTED', async () => {
    const { error } = await call('ModelInfer', {
      model_name: 'double',
      inputs: [{ name: 'INPUT0', datatype: 'FP32', shape: [100000, 4] }],
      raw_input_contents: [Buffer.alloc(1_600_000)],
    });
    expect(error?.code).toBe(status.RESOURCE_EXHAUSTED);
  });

  it('answers each streamed request, keeps the stream open after a failed one, and ends', async () => {
    const replies = await streamReplies(
      address,
      (
        [
          ['a', [1, 2, 3, 4]],
          ['bad', [1, 2, 3]],
          ['c', [5, 6, 7, 8]],
        ] as const
      ).map(([id, values]) => ({
        model_name: 'double',
        id,
        inputs: [{ name: 'INPUT0', datatype: 'FP32', shape: [1, 4] }],
        raw_input_contents: [floats([...values])],
      })),
    );
    expect(replies).toHaveLength(3);
    const byId = new Map(replies.map((r) => [r.infer_response?.id, r]));
    expect(byId.get('a')?.error_message).toBe('');
    expect(byId.get('c')?.error_message).toBe('');
    expect(byId.get('bad')?.error_message).toMatch(/binary data has 12 bytes/);
  });

  it('honours the call deadline: a request still queued when it passes is dropped, not run', async () => {
    const rows = new Float32Array(512 * 256).fill(1);
    const filler = call('ModelInfer', {
      model_name: 'slow',
      inputs: [{ name: 'INPUT0', datatype: 'FP32', shape: [512, 256] }],
      raw_input_contents: [Buffer.from(rows.buffer)],
    });
    const pending = /berth_inference_pending_requests\{model="slow",version="1"\} (\d+)/;
    await waitForMetric(server.url, pending, 1);
    const late = await call(
      'ModelInfer',
      {
        model_name: 'slow',
        inputs: [{ name: 'INPUT0', datatype: 'FP32', shape: [1, 256] }],
        raw_input_contents: [Buffer.from(new Float32Array(256).buffer)],
      },
      { deadlineMs: 100 },
    );
    expect(late.error?.code).toBe(status.DEADLINE_EXCEEDED);
    expect((await filler).error).toBeNull();
    const executions = /berth_inference_exec_count_total\{model="slow",version="1"\} (\d+)/;
    expect(await metric(server.url, executions)).toBe(1);
  });
});
