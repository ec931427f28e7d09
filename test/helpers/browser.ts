import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { AxeBuilder } from '@axe-core/playwright';
import { chromium, type Browser, type Locator, type Page } from 'playwright-core';
import { expect } from 'vitest';

/** Debian's chromium package; nothing downloads a browser (.ci/run installs the package when missing). */
export const CHROMIUM = '/usr/bin/chromium';

/** Where browser tests keep their screenshots (gitignored, kept after the run as artifacts). */
export const ARTIFACTS = join(process.cwd(), 'test-artifacts', 'console');

/** Headless Chromium with a fresh profile; fails, never skips, when the browser is not installed. */
export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `${CHROMIUM} is missing: the console's browser tests need Debian's chromium package ` +
        '(apt-get install chromium; .ci/run installs it when missing)',
    );
  }
  mkdirSync(ARTIFACTS, { recursive: true });
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

/** axe-core's serious and critical violations on the page (WCAG 2.1 A and AA rules), as readable lines. */
export async function seriousA11yViolations(page: Page): Promise<string[]> {
  const result = await new AxeBuilder({ page })
    .withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'])
    .analyze();
  return result.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
}

export async function screenshot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });
}

/** The element's visible text, whitespace collapsed. */
export async function textOf(locator: Locator): Promise<string> {
  return (await locator.innerText({ timeout: 5_000 })).replace(/\s+/g, ' ').trim();
}

/** Waits until the element's text is `expected` (or contains it, for `{ contains }`). */
export async function expectText(
  locator: Locator,
  expected: string | { contains: string },
  timeout = 10_000,
): Promise<void> {
  const poll = expect.poll(() => textOf(locator).catch(() => ''), { timeout, interval: 100 });
  if (typeof expected === 'string') await poll.toBe(expected);
  else await poll.toContain(expected.contains);
}

export async function expectVisible(locator: Locator, timeout = 10_000): Promise<void> {
  await locator.first().waitFor({ state: 'visible', timeout });
}

export async function expectCount(locator: Locator, count: number, timeout = 10_000): Promise<void> {
  await expect.poll(() => locator.count(), { timeout, interval: 100 }).toBe(count);
}
