/**
 * Debian's Chromium driven by playwright-core, for tests that run the SDK in a real browser.
 * Playwright never downloads a browser here: it is pointed at the system one. Without it the
 * tests say loudly that they were skipped (a failure instead when
 * `BKV_TEST_REQUIRE_BROWSER=1`, as in CI, which installs it).
 */
import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

/** Where Debian's `chromium` package puts the browser. */
export const CHROMIUM_PATH = '/usr/bin/chromium';

/** Headless, no sandbox (CI runs as root), and nothing that reaches out on its own. */
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** Starts the system Chromium; the caller closes it. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, args: CHROMIUM_ARGS });
}

/** `describe` when Chromium is installed; otherwise a loud skip, or a failure in CI. */
export function describeWithChromium(title: string, body: () => void): void {
  if (existsSync(CHROMIUM_PATH)) {
    describe(title, body);
    return;
  }
  if (process.env.BKV_TEST_REQUIRE_BROWSER === '1') {
    it(`${title}: has a browser to test in`, () => {
      throw new Error(`BKV_TEST_REQUIRE_BROWSER=1 but ${CHROMIUM_PATH} is not installed`);
    });
    return;
  }
  console.warn(
    `\n*** SKIPPED: "${title}" needs Chromium at ${CHROMIUM_PATH} ` +
      '(Debian: apt-get install chromium). ***\n',
  );
  it.skip(`${title} (${CHROMIUM_PATH} is not installed)`, () => undefined);
}
