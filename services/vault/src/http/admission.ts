import { BkvError } from '@bkv/protocol';
import type { NextFunction, Request, Response } from 'express';

/**
 * A bound on HSM work in flight: up to `maxConcurrent` requests run, up to `maxQueue` wait, and
 * the rest are refused at once with OVERLOADED. Admission happens before a request touches the
 * guess counter, so a refused request never costs the user a guess.
 */
export class Admission {
  private running = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(
    private readonly maxConcurrent: number,
    private readonly maxQueue: number,
  ) {}

  /** Resolves with a release function once admitted; throws OVERLOADED when full. */
  async enter(): Promise<() => void> {
    if (this.running >= this.maxConcurrent) {
      if (this.waiting.length >= this.maxQueue) {
        throw new BkvError('OVERLOADED', 'the vault is busy; try again shortly', { retryAfter: 1 });
      }
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    } else {
      this.running++;
    }
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.waiting.shift();
      if (next) next();
      else this.running--;
    };
  }
}

type Handler = (req: Request, res: Response, next: NextFunction) => Promise<void> | void;

/**
 * `handler` run under an admission, held until the handler's work is done. Not until the
 * response closes: that fires as soon as a client hangs up, while the HSM work it started goes
 * on, and releasing then would let clients that time out under load pile up work past the
 * bound. A client that went away while it waited gets no work done for it.
 */
export function admitted(admission: Admission, handler: Handler): Handler {
  return async (req, res, next) => {
    const release = await admission.enter();
    try {
      if (req.socket.destroyed || res.writableEnded) return;
      await handler(req, res, next);
    } finally {
      release();
    }
  };
}
