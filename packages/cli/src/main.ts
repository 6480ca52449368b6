#!/usr/bin/env node
/**
 * `bkv`: end-user commands on top of the client, and operator commands for the vault.
 */
import { EXIT, type CliContext, type Command } from './command';
import { decryptCommand } from './commands/decrypt';
import { encryptCommand } from './commands/encrypt';
import { forgetCommand, enrollCommand, recoverCommand, statusCommand } from './commands/escrow';
import { keyCommand } from './commands/key';
import { modeCommand } from './commands/mode';
import { tokenCommand } from './commands/token';
import { vaultCommand } from './commands/vault';
import { processContext } from './context';
import { describeError } from './messages';

export const COMMANDS: Command[] = [
  enrollCommand,
  recoverCommand,
  statusCommand,
  forgetCommand,
  keyCommand,
  encryptCommand,
  decryptCommand,
  modeCommand,
  tokenCommand,
  vaultCommand,
];

function help(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  const lines = COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`);
  const footer = 'bkv <command> --help for more.';
  return `usage: bkv <command> [options]\n\n${lines.join('\n')}\n\n${footer}\n`;
}

/** Runs one command line; returns the exit code. Errors become a sentence on stderr. */
export async function runCli(argv: string[], ctx: CliContext): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    ctx.stdout.write(help());
    return name === undefined ? EXIT.usage : EXIT.ok;
  }
  const command = COMMANDS.find((c) => c.name === name);
  if (!command) {
    ctx.stderr.write(`bkv: unknown command "${name}"\n\n${help()}`);
    return EXIT.usage;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    ctx.stdout.write(`${command.usage}`);
    return EXIT.ok;
  }
  try {
    return await command.run(rest, ctx);
  } catch (err) {
    const { message, exit } = describeError(err);
    ctx.stderr.write(`bkv ${name}: ${message}\n`);
    return exit;
  }
}

if (require.main === module) {
  runCli(process.argv.slice(2), processContext()).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      process.stderr.write(`bkv: ${String(err)}\n`);
      process.exitCode = EXIT.failure;
    },
  );
}
