import { chromium, type Browser } from 'playwright-core';
import { existsSync } from 'node:fs';

/** Debian's Chromium (installed by scripts/ensure-test-tools.sh), never a downloaded one. */
const CHROMIUM = ['/usr/bin/chromium', '/usr/lib/chromium/chromium'].find((p) => existsSync(p));

/** The flags the issue names: headless, no sandbox (root in CI), nothing phoning home. */
const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

export async function launchChromium(): Promise<Browser> {
  if (!CHROMIUM) throw new Error('chromium not found; run scripts/ensure-test-tools.sh (as root) first');
  return chromium.launch({ executablePath: CHROMIUM, args: FLAGS, headless: true });
}
