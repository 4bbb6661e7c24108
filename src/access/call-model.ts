/** Which model a call is about, for access control and the audit log. */
import type { Call } from '../protocol/index.js';

/**
 * The model a call names; `'*'` for a call about every model (the repository index, statistics
 * without a name); undefined for a call about none.
 */
export function modelOf(call: Call): string | undefined {
  switch (call.operation) {
    case 'infer':
    case 'modelReady':
    case 'modelMetadata':
    case 'modelConfig':
    case 'repositoryLoad':
    case 'repositoryUnload':
      return call.input.name;
    case 'modelStatistics':
      return call.input.name ?? '*';
    case 'repositoryIndex':
      return '*';
    case 'serverLive':
    case 'serverReady':
    case 'serverMetadata':
      return undefined;
  }
}
