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

/**
 * Middleware that holds an admission for the life of the request. A client that went away
 * while it waited (or while it was authenticated and counted) gets no work done for it, and
 * its place goes back at once: 'close' has already fired for it and would never release it.
 */
export function admitted(admission: Admission) {
  return async (req: Request, res: Response, next: NextFunction): Promise<void> => {
    const release = await admission.enter();
    if (req.socket.destroyed || res.writableEnded) {
      release();
      return;
    }
    res.once('close', release);
    next();
  };
}
