/**
 * gRPC server reflection (v1 and v1alpha, grpc/grpc `src/proto/grpc/reflection/v1/reflection.proto`),
 * so that grpcurl and similar tools can list berth's services and call them without a .proto file,
 * on `berth serve` and through the `berth up` gateway alike. The file descriptors are made from
 * berth's own schemas by protobufjs on the first reflection request, so reflection costs nothing
 * at start. It takes the server structurally (grpc-js's `Server` fits), so that this module, like
 * the rest of protocol/, needs no transport library.
 */
import type protobuf from 'protobufjs';
import { healthRoot, inferenceRoot, reflectionService } from './grpc-schema.js';

/** A schema served by reflection: its root and the file name its descriptor gets. */
export interface ReflectedFile {
  readonly file: string;
  readonly root: protobuf.Root;
}

interface ReflectionRequest {
  readonly host?: string;
  readonly file_by_filename?: string | null;
  readonly file_containing_symbol?: string | null;
  readonly file_containing_extension?: object | null;
  readonly all_extension_numbers_of_type?: string | null;
  readonly list_services?: string | null;
  readonly message_request?:
    | 'file_by_filename'
    | 'file_containing_symbol'
    | 'file_containing_extension'
    | 'all_extension_numbers_of_type'
    | 'list_services';
}

/** berth's schemas, under the file names their descriptors get: what a berth server reflects. */
export const REFLECTED_FILES: readonly ReflectedFile[] = [
  { file: 'inference/grpc_service.proto', root: inferenceRoot },
  { file: 'grpc/health/v1/health.proto', root: healthRoot },
];

/** The one RPC's stream, as grpc-js's ServerDuplexStream offers it. */
interface ReflectionCall {
  readonly cancelled: boolean;
  readonly writable: boolean;
  on(event: 'data', listener: (request: ReflectionRequest) => void): unknown;
  on(event: 'end' | 'error', listener: () => void): unknown;
  write(reply: unknown): unknown;
  end(): unknown;
}

/** What reflection needs of a gRPC server: grpc-js's `Server.addService`. */
export interface ServiceHost {
  addService(
    definition: ReturnType<typeof reflectionService>['methods'],
    implementation: { ServerReflectionInfo: (call: ReflectionCall) => void },
  ): void;
}

const NOT_FOUND = 5;
const UNIMPLEMENTED = 12;

/** Serialized FileDescriptorProto of each file, made once. */
async function describe(files: readonly ReflectedFile[]): Promise<Map<string, Uint8Array>> {
  await import('protobufjs/ext/descriptor.js'); // adds Root.prototype.toDescriptor
  const out = new Map<string, Uint8Array>();
  for (const { file, root } of files) {
    // A FileDescriptorSet message; each file is a message of type FileDescriptorProto.
    root.resolveAll();
    const set = root.toDescriptor('proto3') as unknown as {
      file: { name: string }[];
    };
    const [descriptor] = set.file;
    if (descriptor === undefined) continue;
    descriptor.name = file;
    const type = descriptor.constructor as unknown as { encode(m: unknown): protobuf.Writer };
    out.set(file, type.encode(descriptor).finish());
  }
  return out;
}

/**
 * Adds `grpc.reflection.v1.ServerReflection` and its v1alpha twin, describing `files` and
 * listing `services` (themselves included).
 */
export function addReflection(
  server: ServiceHost,
  files: readonly ReflectedFile[],
  services: readonly string[],
): void {
  const versions = (['v1', 'v1alpha'] as const).map((v) => reflectionService(v));
  const all = [
    ...files,
    ...versions.map((v) => ({
      file: `grpc/reflection/${v.name.split('.')[2] ?? ''}/reflection.proto`,
      root: v.root,
    })),
  ];
  const listed = [...services, ...versions.map((v) => v.name)];
  let described: Promise<Map<string, Uint8Array>> | undefined;

  const answer = async (request: ReflectionRequest): Promise<Record<string, unknown>> => {
    const base = { valid_host: request.host ?? '', original_request: request };
    const error = (code: number, message: string) => ({
      ...base,
      error_response: { error_code: code, error_message: message },
    });
    const descriptors = () => (described ??= describe(all));
    const fileResponse = (bytes: Uint8Array | undefined, what: string) =>
      bytes === undefined
        ? error(NOT_FOUND, `${what} not found`)
        : { ...base, file_descriptor_response: { file_descriptor_proto: [bytes] } };
    switch (request.message_request) {
      case 'list_services':
        return { ...base, list_services_response: { service: listed.map((name) => ({ name })) } };
      case 'file_by_filename': {
        const name = request.file_by_filename ?? '';
        return fileResponse((await descriptors()).get(name), `file "${name}"`);
      }
      case 'file_containing_symbol': {
        const symbol = (request.file_containing_symbol ?? '').replace(/^\./, '');
        const owner = all.find(({ root }) => {
          try {
            return root.lookup(symbol) !== null;
          } catch {
            return false;
          }
        });
        return fileResponse(
          owner === undefined ? undefined : (await descriptors()).get(owner.file),
          `symbol "${symbol}"`,
        );
      }
      case 'all_extension_numbers_of_type':
        // proto3 schemas declare no extensions.
        return {
          ...base,
          all_extension_numbers_response: {
            base_type_name: request.all_extension_numbers_of_type ?? '',
            extension_number: [],
          },
        };
      case 'file_containing_extension':
      case undefined:
        break;
    }
    return error(
      UNIMPLEMENTED,
      'berth answers list_services, file_by_filename, file_containing_symbol and all_extension_numbers_of_type',
    );
  };

  for (const version of versions) {
    server.addService(version.methods, {
      ServerReflectionInfo: (call: ReflectionCall) => {
        let pending = Promise.resolve();
        call.on('data', (request: ReflectionRequest) => {
          pending = pending.then(async () => {
            const reply = await answer(request);
            if (!call.cancelled && call.writable) call.write(reply);
          });
        });
        call.on('end', () => void pending.then(() => call.end()));
        call.on('error', () => undefined);
      },
    });
  }
}
