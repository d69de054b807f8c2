/**
 * ZeroMQ plumbing shared by both roles. zeromq.js allows one pending send per socket (a second
 * concurrent send throws EBUSY), so every socket gets exactly one writer: this queue.
 */
import type * as zmq from 'zeromq';

/** Serialises sends on one socket and counts bytes; `send` resolves when ZeroMQ has queued the frames. */
export class SendQueue {
  private tail: Promise<void> = Promise.resolve();
  private closed = false;

  constructor(
    private readonly socket: zmq.Dealer | zmq.Router,
    private readonly onBytes: (n: number) => void = () => {},
  ) {}

  /** Queues a multipart message; errors after close are swallowed because the peer is gone anyway. */
  send(frames: readonly (Buffer | Uint8Array)[]): Promise<void> {
    const bytes = frames.reduce((n, f) => n + f.byteLength, 0);
    const next = this.tail.then(async () => {
      if (this.closed) return;
      await this.socket.send(frames as Buffer[]);
      this.onBytes(bytes);
    });
    this.tail = next.catch(() => {});
    return next;
  }

  /** Stops sending; pending sends resolve without sending. */
  close(): void {
    this.closed = true;
  }
}

/** Total bytes of a multipart message. */
export function frameBytes(frames: readonly Buffer[]): number {
  return frames.reduce((n, f) => n + f.byteLength, 0);
}
