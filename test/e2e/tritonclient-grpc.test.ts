/**
 * A third-party gRPC client against a real berth server: Python's grpcio (Debian python3-grpcio,
 * the transport NVIDIA's tritonclient.grpc is built on) with message classes that protoc generates
 * from a .proto written here, independently of berth's own schema, from Triton's
 * grpc_service.proto (triton-inference-server/common, protobuf/grpc_service.proto) for the
 * messages tritonclient sends. The Python script sends exactly what tritonclient.grpc sends
 * (src/python/library/tritonclient/grpc/_utils.py `_get_inference_request`: raw_input_contents,
 * `priority` as uint64_param, `timeout` as int64_param, `classification` on an output; _client.py
 * for the repository, statistics and stream calls) and reads answers as it does (`as_numpy`: the
 * raw_output_contents entry at the output's index).
 *
 * tritonclient itself is not installable here (PyPI is not reachable); grpcio and protoc come from
 * Debian through scripts/test-deps.sh.
 */
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { doubleModel, identityModel, writeModel } from '../fixtures/models.js';
import { makeCa, makeCert } from '../helpers/certs.js';
import { runCli, startServe, type ServeProcess } from '../helpers/cli.js';
import { tempDirsForFile } from '../helpers/temp-dir.js';

const tempDir = tempDirsForFile('berth-pygrpc-');

const PYTHON = '/usr/bin/python3';

const PROTO = `syntax = "proto3";
package inference;
message ServerLiveRequest {}
message ServerLiveResponse { bool live = 1; }
message ServerReadyRequest {}
message ServerReadyResponse { bool ready = 1; }
message ServerMetadataRequest {}
message ServerMetadataResponse { string name = 1; string version = 2; repeated string extensions = 3; }
message ModelMetadataRequest { string name = 1; string version = 2; }
message ModelMetadataResponse {
  message TensorMetadata { string name = 1; string datatype = 2; repeated int64 shape = 3; }
  string name = 1; repeated string versions = 2; string platform = 3;
  repeated TensorMetadata inputs = 4; repeated TensorMetadata outputs = 5;
}
message InferParameter {
  oneof parameter_choice { bool bool_param = 1; int64 int64_param = 2; string string_param = 3; double double_param = 4; uint64 uint64_param = 5; }
}
message InferTensorContents { repeated bytes bytes_contents = 8; }
message ModelInferRequest {
  message InferInputTensor {
    string name = 1; string datatype = 2; repeated int64 shape = 3;
    map<string, InferParameter> parameters = 4; InferTensorContents contents = 5;
  }
  message InferRequestedOutputTensor { string name = 1; map<string, InferParameter> parameters = 2; }
  string model_name = 1; string model_version = 2; string id = 3;
  map<string, InferParameter> parameters = 4;
  repeated InferInputTensor inputs = 5; repeated InferRequestedOutputTensor outputs = 6;
  repeated bytes raw_input_contents = 7;
}
message ModelInferResponse {
  message InferOutputTensor {
    string name = 1; string datatype = 2; repeated int64 shape = 3;
    map<string, InferParameter> parameters = 4; InferTensorContents contents = 5;
  }
  string model_name = 1; string model_version = 2; string id = 3;
  map<string, InferParameter> parameters = 4;
  repeated InferOutputTensor outputs = 5; repeated bytes raw_output_contents = 6;
}
message ModelStreamInferResponse { string error_message = 1; ModelInferResponse infer_response = 2; }
message StatisticDuration { uint64 count = 1; uint64 ns = 2; }
message InferStatistics { StatisticDuration success = 1; StatisticDuration fail = 2; StatisticDuration queue = 3; StatisticDuration compute_input = 4; StatisticDuration compute_infer = 5; StatisticDuration compute_output = 6; }
message InferBatchStatistics { uint64 batch_size = 1; StatisticDuration compute_input = 2; StatisticDuration compute_infer = 3; StatisticDuration compute_output = 4; }
message ModelStatistics { string name = 1; string version = 2; uint64 last_inference = 3; uint64 inference_count = 4; uint64 execution_count = 5; InferStatistics inference_stats = 6; repeated InferBatchStatistics batch_stats = 7; }
message ModelStatisticsRequest { string name = 1; string version = 2; }
message ModelStatisticsResponse { repeated ModelStatistics model_stats = 1; }
message ModelRepositoryParameter { oneof parameter_choice { bool bool_param = 1; int64 int64_param = 2; string string_param = 3; bytes bytes_param = 4; } }
message RepositoryIndexRequest { string repository_name = 1; bool ready = 2; }
message RepositoryIndexResponse {
  message ModelIndex { string name = 1; string version = 2; string state = 3; string reason = 4; }
  repeated ModelIndex models = 1;
}
message RepositoryModelLoadRequest { string repository_name = 1; string model_name = 2; map<string, ModelRepositoryParameter> parameters = 3; }
message RepositoryModelLoadResponse {}
message RepositoryModelUnloadRequest { string repository_name = 1; string model_name = 2; map<string, ModelRepositoryParameter> parameters = 3; }
message RepositoryModelUnloadResponse {}
message ModelConfigRequest { string name = 1; string version = 2; }
message ModelInput { string name = 1; int32 data_type = 2; repeated int64 dims = 4; }
message ModelConfig { string name = 1; string platform = 2; int32 max_batch_size = 4; repeated ModelInput input = 5; string backend = 17; }
message ModelConfigResponse { ModelConfig config = 1; }
`;

const SCRIPT = String.raw`
import json, struct, sys
sys.path.insert(0, sys.argv[1])
import grpc
import grpc_service_pb2 as pb

MAX = 2**31 - 1
channel = grpc.insecure_channel(sys.argv[2], options=[
    ('grpc.max_send_message_length', MAX), ('grpc.max_receive_message_length', MAX)])
SERVICE = '/inference.GRPCInferenceService/'

def call(name, request, response_class, timeout=None):
    stub = channel.unary_unary(SERVICE + name, request_serializer=type(request).SerializeToString,
                               response_deserializer=response_class.FromString)
    return stub(request, timeout=timeout)

def infer_request(model, values, request_id, version=''):
    # tritonclient: InferInput.set_data_from_numpy puts the bytes in raw_input_contents.
    request = pb.ModelInferRequest(model_name=model, model_version=version, id=request_id)
    tensor = request.inputs.add()
    tensor.name, tensor.datatype = 'INPUT0', 'FP32'
    tensor.shape.extend([1, len(values)])
    request.raw_input_contents.append(struct.pack('<%df' % len(values), *values))
    return request

def as_numpy_fp32(response, name):
    index = [o.name for o in response.outputs].index(name)
    raw = response.raw_output_contents[index]
    return list(struct.unpack('<%df' % (len(raw) // 4), raw))

def bytes_tensor(raw):
    out, at = [], 0
    while at < len(raw):
        (length,) = struct.unpack_from('<I', raw, at)
        out.append(raw[at + 4:at + 4 + length].decode())
        at += 4 + length
    return out

out = {}
out['live'] = call('ServerLive', pb.ServerLiveRequest(), pb.ServerLiveResponse).live
out['ready'] = call('ServerReady', pb.ServerReadyRequest(), pb.ServerReadyResponse).ready
metadata = call('ServerMetadata', pb.ServerMetadataRequest(), pb.ServerMetadataResponse)
out['server'] = {'name': metadata.name, 'extensions': list(metadata.extensions)}
model = call('ModelMetadata', pb.ModelMetadataRequest(name='double'), pb.ModelMetadataResponse)
out['model'] = {'versions': list(model.versions), 'platform': model.platform,
                'inputs': [[t.name, t.datatype, list(t.shape)] for t in model.inputs]}

request = infer_request('double', [1.5, 2, 3, 4], 'py-1')
request.parameters['priority'].uint64_param = 1
request.parameters['timeout'].int64_param = 5000000
request.outputs.add().name = 'OUTPUT0'
response = call('ModelInfer', request, pb.ModelInferResponse, timeout=30)
out['infer'] = {'id': response.id, 'model': response.model_name, 'version': response.model_version,
                'data': as_numpy_fp32(response, 'OUTPUT0'), 'shape': list(response.outputs[0].shape)}

request = infer_request('double', [1, 9, 3, 4], 'py-2')
wanted = request.outputs.add()
wanted.name = 'OUTPUT0'
wanted.parameters['classification'].int64_param = 2
response = call('ModelInfer', request, pb.ModelInferResponse)
out['classification'] = bytes_tensor(response.raw_output_contents[0])

# A BYTES input the way tritonclient serializes it (serialize_byte_tensor).
strings = pb.ModelInferRequest(model_name='strings')
tensor = strings.inputs.add()
tensor.name, tensor.datatype = 'INPUT0', 'BYTES'
tensor.shape.extend([1, 2])
strings.raw_input_contents.append(b''.join(struct.pack('<I', len(s)) + s for s in [b'caf\xc3\xa9', b'']))
out['strings'] = bytes_tensor(call('ModelInfer', strings, pb.ModelInferResponse).raw_output_contents[0])

try:
    call('ModelInfer', infer_request('missing', [1, 2, 3, 4], 'x'), pb.ModelInferResponse)
except grpc.RpcError as error:
    out['missing'] = [error.code().name, error.details()]
try:
    call('ModelInfer', infer_request('double', [1, 2, 3], 'x'), pb.ModelInferResponse)
except grpc.RpcError as error:
    out['bad_shape'] = [error.code().name, error.details()]

# get_model_repository_index sends an empty request.
index = call('RepositoryIndex', pb.RepositoryIndexRequest(), pb.RepositoryIndexResponse)
out['index'] = [[m.name, m.version, m.state, m.reason] for m in index.models]
# unload_model always sends unload_dependents; load_model sends the config as a string.
unload = pb.RepositoryModelUnloadRequest(model_name='strings')
unload.parameters['unload_dependents'].bool_param = False
call('RepositoryModelUnload', unload, pb.RepositoryModelUnloadResponse)
load = pb.RepositoryModelLoadRequest(model_name='strings')
load.parameters['config'].string_param = json.dumps({'max_batch_size': 4})
call('RepositoryModelLoad', load, pb.RepositoryModelLoadResponse)
config = call('ModelConfig', pb.ModelConfigRequest(name='strings'), pb.ModelConfigResponse).config
out['config'] = {'name': config.name, 'platform': config.platform, 'backend': config.backend,
                 'max_batch_size': config.max_batch_size,
                 'input': [[i.name, i.data_type, list(i.dims)] for i in config.input]}

stats = call('ModelStatistics', pb.ModelStatisticsRequest(name='double'), pb.ModelStatisticsResponse)
s = stats.model_stats[0]
out['stats'] = {'name': s.name, 'version': s.version, 'success': s.inference_stats.success.count,
                'fail': s.inference_stats.fail.count, 'executions': s.execution_count,
                'compute_ns': s.inference_stats.compute_infer.ns}

# stream_infer: responses carry error_message for a failed request; the stream goes on.
stream = channel.stream_stream(SERVICE + 'ModelStreamInfer',
                               request_serializer=pb.ModelInferRequest.SerializeToString,
                               response_deserializer=pb.ModelStreamInferResponse.FromString)
requests = [infer_request('double', [1, 1, 1, 1], 's1'), infer_request('double', [1], 's2'),
            infer_request('double', [2, 2, 2, 2], 's3')]
replies = {}
for reply in stream(iter(requests), timeout=30):
    key = reply.infer_response.id
    replies[key] = reply.error_message or as_numpy_fp32(reply.infer_response, 'OUTPUT0')
out['stream'] = replies
print(json.dumps(out))
`;

/**
 * tritonclient.grpc with ssl=True and a key in headers: `grpc.secure_channel` with
 * `ssl_channel_credentials(root_certificates)`, and the headers sent as call metadata
 * (src/python/library/tritonclient/grpc/_client.py, `InferenceServerClient.__init__` and
 * `_get_metadata`).
 */
const TLS_SCRIPT = String.raw`
import json, struct, sys
sys.path.insert(0, sys.argv[1])
import grpc
import grpc_service_pb2 as pb

with open(sys.argv[3], 'rb') as f:
    credentials = grpc.ssl_channel_credentials(root_certificates=f.read())
channel = grpc.secure_channel(sys.argv[2], credentials)
infer = channel.unary_unary('/inference.GRPCInferenceService/ModelInfer',
                            request_serializer=pb.ModelInferRequest.SerializeToString,
                            response_deserializer=pb.ModelInferResponse.FromString)
request = pb.ModelInferRequest(model_name='double', id='tls-1')
tensor = request.inputs.add()
tensor.name, tensor.datatype = 'INPUT0', 'FP32'
tensor.shape.extend([1, 4])
request.raw_input_contents.append(struct.pack('<4f', 1, 2, 3, 4))
out = {}
response = infer(request, metadata=[('authorization', 'Bearer ' + sys.argv[4])], timeout=30)
out['data'] = list(struct.unpack('<4f', response.raw_output_contents[0]))
try:
    infer(request, timeout=30)
except grpc.RpcError as error:
    out['without_key'] = error.code().name
print(json.dumps(out))
`;

let server: ServeProcess;
let work: string;

beforeAll(async () => {
  work = tempDir();
  writeFileSync(join(work, 'grpc_service.proto'), PROTO);
  writeFileSync(join(work, 'client.py'), SCRIPT);
  const protoc = spawnSync('protoc', [`--proto_path=${work}`, `--python_out=${work}`, 'grpc_service.proto'], {
    encoding: 'utf8',
  });
  if (protoc.status !== 0) throw new Error(`protoc failed (run scripts/test-deps.sh): ${protoc.stderr}`);
  const repo = tempDir('berth-pygrpc-repo-');
  writeModel(repo, 'double', doubleModel());
  writeModel(repo, 'strings', identityModel('STRING', ['batch', 2]));
  server = await startServe([repo, '--model-control-mode', 'explicit', '--load-model', '*']);
  await server.waitForLog((l) => String(l.msg).startsWith('models loaded'));
});
afterAll(() => server.stop());

describe('a Python grpcio client sending what tritonclient.grpc sends', () => {
  it('gets the answers tritonclient expects from every RPC it uses', () => {
    const run = spawnSync(PYTHON, [join(work, 'client.py'), work, server.grpcAddress ?? ''], {
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    const out = JSON.parse(run.stdout) as Record<string, unknown>;
    expect(out.live).toBe(true);
    expect(out.ready).toBe(true);
    expect(out.server).toEqual({ name: 'berth', extensions: expect.arrayContaining(['binary_tensor_data']) });
    expect(out.model).toEqual({
      versions: ['1'],
      platform: 'onnxruntime_onnx',
      inputs: [['INPUT0', 'FP32', [-1, 4]]],
    });
    expect(out.infer).toEqual({
      id: 'py-1',
      model: 'double',
      version: '1',
      data: [3, 4, 6, 8],
      shape: [1, 4],
    });
    expect(out.classification).toEqual(['18.000000:1', '8.000000:3']);
    expect(out.strings).toEqual(['café', '']);
    expect(out.missing).toEqual(['NOT_FOUND', expect.stringContaining('unknown model: "missing"')]);
    expect(out.bad_shape).toEqual(['INVALID_ARGUMENT', expect.stringContaining('INPUT0')]);
    expect(out.index).toEqual([
      ['double', '1', 'READY', ''],
      ['strings', '1', 'READY', ''],
    ]);
    expect(out.config).toEqual({
      name: 'strings',
      platform: 'onnxruntime_onnx',
      backend: 'onnxruntime',
      max_batch_size: 4,
      input: [['INPUT0', 13, [2]]],
    });
    expect(out.stats).toMatchObject({ name: 'double', version: '1', success: 2, fail: 1, executions: 2 });
    expect((out.stats as { compute_ns: number }).compute_ns).toBeGreaterThan(0);
    expect(out.stream).toEqual({
      s1: [2, 2, 2, 2],
      s2: expect.stringContaining('expected shape [-1,4], got [1,1]'),
      s3: [4, 4, 4, 4],
    });
  });
});

describe('the same client with ssl=True and a key in its headers', () => {
  it('is answered over TLS with the key, and refused without it', async () => {
    const dir = tempDir();
    const ca = makeCa(dir);
    const cert = makeCert(dir, ca, 'server', 'server');
    const keyFile = join(dir, 'keys.json');
    const made = runCli(['keys', 'create', '--file', keyFile, '--role', 'infer', '--json']);
    const key = (JSON.parse(made.stdout) as { key: string }).key;
    writeFileSync(join(work, 'tls_client.py'), TLS_SCRIPT);
    const repo = tempDir('berth-pygrpc-tls-repo-');
    writeModel(repo, 'double', doubleModel());
    const secure = await startServe([
      repo,
      '--tls-cert',
      cert.cert,
      '--tls-key',
      cert.key,
      '--api-keys',
      keyFile,
    ]);
    try {
      await secure.waitForLog((l) => String(l.msg).startsWith('models loaded'));
      // The certificate names localhost: the client connects by that name, as it would in use.
      const address = (secure.grpcAddress ?? '').replace('127.0.0.1', 'localhost');
      const run = spawnSync(PYTHON, [join(work, 'tls_client.py'), work, address, ca.cert, key], {
        encoding: 'utf8',
        timeout: 60_000,
      });
      expect(run.stderr).toBe('');
      expect(JSON.parse(run.stdout)).toEqual({ data: [2, 4, 6, 8], without_key: 'UNAUTHENTICATED' });
    } finally {
      await secure.stop();
    }
  });
});
