/**
 * The audit log: one JSON line per event an operator must be able to account for — every refused
 * authentication or authorisation, and every admin operation (repository load and unload) with
 * its outcome — with who (principal), from where (address), what (operation, model) and how it
 * ended. Never a credential, a header or tensor data. Written to a file of its own, owner-readable
 * only, appended to across restarts.
 */
import { createWriteStream, openSync, type WriteStream } from 'node:fs';
import { BerthError, toBerthError } from '../ground/index.js';
import type { Call, Interceptor, UnaryOperation } from '../protocol/index.js';
import type { OperationRole } from './key-file.js';
import { modelOf } from './call-model.js';

export interface AuditEvent {
  readonly time: string;
  /** `auth`: a refused authentication or authorisation; `admin`: an admin operation. */
  readonly event: 'auth' | 'admin';
  readonly outcome: string;
  readonly principal: string | null;
  readonly peer: string | null;
  readonly transport: string;
  readonly operation: string;
  readonly model: string | null;
  readonly requestId: string;
  readonly message?: string;
}

/** Where audit lines go: a file (appended), or any function for tests and embedders. */
export class AuditLog {
  private constructor(
    private readonly writeLine: (line: string) => void,
    private readonly closeSink: () => Promise<void>,
  ) {}

  /** Appends to `path`, created owner-readable only (0600); a BerthError when it cannot be opened. */
  static toFile(path: string): AuditLog {
    let fd: number;
    try {
      fd = openSync(path, 'a', 0o600);
    } catch (error) {
      throw new BerthError(
        'BERTH_ERR_AUDIT_LOG_UNWRITABLE',
        `${path}: the audit log cannot be opened for appending (${(error as NodeJS.ErrnoException).code ?? String(error)})`,
        { cause: error },
      );
    }
    const stream: WriteStream = createWriteStream(path, { fd });
    // A failing disk must not take the server down; the error is left to the operator's checks.
    stream.on('error', () => undefined);
    return new AuditLog(
      (line) => stream.write(line),
      () => new Promise((resolve) => stream.end(resolve)),
    );
  }

  static toFunction(write: (line: string) => void): AuditLog {
    return new AuditLog(write, () => Promise.resolve());
  }

  /** One line about `call`; `principal` when the call's context does not carry it yet. */
  record(
    call: Call,
    event: AuditEvent['event'],
    outcome: string,
    message?: string,
    principal?: string,
  ): void {
    this.write({
      event,
      outcome,
      principal: principal ?? call.context.principal?.id ?? null,
      peer: call.context.peer ?? null,
      transport: call.context.transport,
      operation: call.operation,
      model: modelOfCall(call),
      requestId: call.context.requestId,
      ...(message === undefined ? {} : { message }),
    });
  }

  /** One line from its fields, for what is refused before it becomes a call (at a transport). */
  write(fields: Omit<AuditEvent, 'time'>): void {
    this.writeLine(`${JSON.stringify({ time: new Date().toISOString(), ...fields })}\n`);
  }

  close(): Promise<void> {
    return this.closeSink();
  }
}

/** The model a call is about, as the caller named it (bounded); null for none or every model. */
function modelOfCall(call: Call): string | null {
  const model = modelOf(call);
  return model === undefined || model === '*' ? null : model.slice(0, 256);
}

/** Inside access control (the principal is known): records every admin operation and its outcome. */
export function auditAdmin(
  audit: AuditLog,
  roleOf: (operation: UnaryOperation) => OperationRole,
): Interceptor {
  return (next) => (call) => {
    if (roleOf(call.operation) !== 'admin') return next(call);
    return next(call).then(
      (result) => {
        audit.record(call, 'admin', 'OK');
        return result;
      },
      (error: unknown) => {
        const berth = toBerthError(error);
        audit.record(call, 'admin', berth.code, berth.message);
        throw berth;
      },
    );
  };
}
