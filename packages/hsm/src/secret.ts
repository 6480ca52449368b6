import { inspect } from 'node:util';

const REDACTED = '[REDACTED]';

/**
 * A secret string (an HSM PIN) whose string, JSON and inspect forms print `[REDACTED]`, so that
 * logging a config object cannot leak it. `reveal()` is the one explicit way out.
 */
export class Secret {
  readonly #value: string;

  constructor(value: string) {
    this.#value = value;
  }

  /** The secret itself; call it only where the value is handed to the HSM. */
  reveal(): string {
    return this.#value;
  }

  toString(): string {
    return REDACTED;
  }

  toJSON(): string {
    return REDACTED;
  }

  [inspect.custom](): string {
    return REDACTED;
  }
}
