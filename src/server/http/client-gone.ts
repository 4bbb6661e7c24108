/**
 * A cancel signal that fires when the client closes its connection before its response was
 * written. It listens to the socket only once the scheduler asks (when a request has to wait),
 * since an AbortController per request costs more than the dispatch of a small request.
 */
import type { ServerResponse } from 'node:http';
import type { CancelSignal } from '../../scheduler/index.js';

export class ClientGone implements CancelSignal {
  private gone = false;
  private listener: (() => void) | undefined;

  constructor(private readonly response: ServerResponse) {}

  get aborted(): boolean {
    return this.gone;
  }

  addEventListener(_type: 'abort', listener: () => void): void {
    this.listener = listener;
    this.response.once('close', this.onClose);
  }

  removeEventListener(_type: 'abort', listener: () => void): void {
    if (this.listener !== listener) return;
    this.listener = undefined;
    this.response.off('close', this.onClose);
  }

  private readonly onClose = (): void => {
    if (this.response.writableFinished) return;
    this.gone = true;
    const listener = this.listener;
    this.listener = undefined;
    listener?.();
  };
}
