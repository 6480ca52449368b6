import { readFile } from 'node:fs/promises';
import type { CliContext } from './command';

export class UsageError extends Error {
  override name = 'UsageError';
}

/**
 * The passphrase, from `--passphrase-file`, from `BKV_PASSPHRASE`, or from a prompt without
 * echo (asked twice when `confirm`). A file's one trailing line break is not part of it.
 */
export async function readPassphrase(
  ctx: CliContext,
  options: { confirm: boolean; file?: string },
): Promise<string> {
  if (options.file !== undefined) {
    const text = await readFile(options.file, 'utf8');
    return nonEmpty(text.replace(/\r?\n$/, ''));
  }
  const fromEnv = ctx.env.BKV_PASSPHRASE;
  if (fromEnv !== undefined && fromEnv !== '') return fromEnv;

  const first = await ctx.prompt('Passphrase: ', { hidden: true });
  if (options.confirm) {
    const second = await ctx.prompt('Passphrase again: ', { hidden: true });
    if (first !== second) throw new UsageError('the two passphrases differ');
  }
  return nonEmpty(first);
}

function nonEmpty(passphrase: string): string {
  if (passphrase.length === 0) throw new UsageError('the passphrase is empty');
  return passphrase;
}
