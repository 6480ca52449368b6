/** `bkv decrypt`: a backup back into its plaintext; the plumbing is shared with encrypt. */
import type { Command } from '../command';
import { cipherUsage, runCipher } from './encrypt';

export const decryptCommand: Command = {
  name: 'decrypt',
  summary: 'decrypt a backup (file or stdin) with the backup key',
  usage: cipherUsage('decrypt'),
  run: (argv, ctx) => runCipher('decrypt', argv, ctx),
};
