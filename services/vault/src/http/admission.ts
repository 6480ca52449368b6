import { BkvError } from '@bkv/protocol';

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
