/**
 * What grpcurl does with gRPC server reflection, as one check any berth gRPC endpoint must pass
 * (`berth serve`, and the `berth up` gateway): list the services over v1 and v1alpha, fetch the
 * file that holds the inference service, and make a call built only from the reflected
 * descriptors. The `double` model must be served at `address`.
 */
import { Client, credentials } from '@grpc/grpc-js';
import protobuf from 'protobufjs';
import 'protobufjs/ext/descriptor.js';
import { expect } from 'vitest';

/** The part of grpc/reflection/v1/reflection.proto a client needs, written as a client would. */
const reflectionProto = protobuf.parse(
  `
  syntax = "proto3";
  package grpc.reflection.v1;
  message ServerReflectionRequest {
    string host = 1;
    oneof message_request { string file_containing_symbol = 4; string list_services = 7; }
  }
  message ServerReflectionResponse {
    oneof message_response {
      FileDescriptorResponse file_descriptor_response = 4;
      ListServiceResponse list_services_response = 6;
      ErrorResponse error_response = 7;
    }
  }
  message ErrorResponse { int32 error_code = 1; string error_message = 2; }
  message FileDescriptorResponse { repeated bytes file_descriptor_proto = 1; }
  message ListServiceResponse { repeated ServiceResponse service = 1; }
  message ServiceResponse { string name = 1; }
`,
  { keepCase: true },
).root;
const Request = reflectionProto.lookupType('grpc.reflection.v1.ServerReflectionRequest');
const Response = reflectionProto.lookupType('grpc.reflection.v1.ServerReflectionResponse');

/** One reflection request on its own stream, and its first answer. */
function ask(address: string, request: object, version = 'v1'): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const client = new Client(address, credentials.createInsecure());
    const stream = client.makeBidiStreamRequest(
      `/grpc.reflection.${version}.ServerReflection/ServerReflectionInfo`,
      (v: object) => Buffer.from(Request.encode(Request.fromObject(v)).finish()),
      (b: Buffer) => Response.toObject(Response.decode(b)) as Record<string, unknown>,
    );
    stream.on('data', (response: Record<string, unknown>) => {
      resolve(response);
      stream.end();
      client.close();
    });
    stream.on('error', reject);
    stream.write(request);
  });
}

/** Runs the whole check against the gRPC endpoint at `address` (host:port). */
export async function expectReflectionWorks(address: string): Promise<void> {
  // Older grpcurl and Postman ask v1alpha; it answers the same.
  const alpha = (await ask(address, { list_services: '' }, 'v1alpha')).list_services_response as {
    service: unknown[];
  };
  expect(alpha.service).toContainEqual({ name: 'grpc.reflection.v1alpha.ServerReflection' });
  const listing = await ask(address, { list_services: '*' });
  expect(listing.error_response).toBeUndefined();
  const listed = listing.list_services_response as { service: { name: string }[] };
  expect(listed.service.map((s) => s.name)).toEqual(
    expect.arrayContaining(['inference.GRPCInferenceService', 'grpc.health.v1.Health']),
  );

  const files = (await ask(address, { file_containing_symbol: 'inference.GRPCInferenceService' }))
    .file_descriptor_response as { file_descriptor_proto: Uint8Array[] };
  // A FileDescriptorSet is field 1 (repeated FileDescriptorProto) over the reflected files.
  const set = protobuf.Writer.create();
  for (const file of files.file_descriptor_proto) set.uint32(10).bytes(file);
  const reflected = protobuf.Root.fromDescriptor(set.finish(), { keepCase: true });
  const service = reflected.lookupService('inference.GRPCInferenceService');
  expect(Object.keys(service.methods)).toEqual(
    expect.arrayContaining(['ModelInfer', 'ModelStreamInfer', 'RepositoryIndex', 'ModelMetadata']),
  );
  const inferRequest = reflected.lookupType('inference.ModelInferRequest');
  expect(inferRequest.fields.raw_input_contents?.id).toBe(7);

  // A call built only from what reflection said, like `grpcurl -d '{"name":"double"}' ... ModelMetadata`.
  const metadataRequest = reflected.lookupType('inference.ModelMetadataRequest');
  const metadataResponse = reflected.lookupType('inference.ModelMetadataResponse');
  const client = new Client(address, credentials.createInsecure());
  const answer = await new Promise<Record<string, unknown>>((resolve, reject) => {
    client.makeUnaryRequest(
      '/inference.GRPCInferenceService/ModelMetadata',
      (v: object) => Buffer.from(metadataRequest.encode(metadataRequest.fromObject(v)).finish()),
      (b: Buffer) =>
        metadataResponse.toObject(metadataResponse.decode(b), { longs: Number }) as Record<string, unknown>,
      { name: 'double' },
      (error, response) => (error ? reject(error) : resolve(response as Record<string, unknown>)),
    );
  });
  client.close();
  expect(answer).toMatchObject({ name: 'double', platform: 'onnxruntime_onnx' });
  expect(answer.inputs).toEqual([{ name: 'INPUT0', datatype: 'FP32', shape: [-1, 4] }]);
}
