/** The terminal prompt: what it returns, what it hides, and that Ctrl-C or Ctrl-D stop it. */
import { PassThrough } from 'node:stream';
import { ask, type Terminal } from './context';

function fakeTerminal() {
  const input = Object.assign(new PassThrough(), { isTTY: true });
  const echo = new PassThrough();
  let shown = '';
  echo.on('data', (chunk: Buffer) => (shown += chunk.toString()));
  const terminal: Terminal = { input, echo };
  return { terminal, type: (text: string) => input.write(text), shown: () => shown };
}

describe('ask', () => {
  it('returns the typed answer and echoes nothing of a hidden one', async () => {
    const t = fakeTerminal();
    const answer = ask('Passphrase: ', true, t.terminal);
    t.type('s3cret words\r');
    await expect(answer).resolves.toBe('s3cret words');
    expect(t.shown()).toContain('Passphrase: ');
    expect(t.shown()).not.toContain('s3cret');
  });

  it.each([
    ['Ctrl-C', '\x03'],
    ['Ctrl-D', '\x04'],
  ])('rejects when the user presses %s instead of answering', async (_name, key) => {
    const t = fakeTerminal();
    const answer = ask('Passphrase: ', true, t.terminal);
    t.type(key);
    await expect(answer).rejects.toThrow('no answer at the prompt; nothing was changed');
  });

  it('refuses to ask where there is no terminal', async () => {
    const t = fakeTerminal();
    (t.terminal.input as { isTTY?: boolean }).isTTY = false;
    await expect(ask('Passphrase: ', true, t.terminal)).rejects.toThrow(/no terminal to ask on/);
  });
});
