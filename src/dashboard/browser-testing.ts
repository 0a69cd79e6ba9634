// Test helper: opens the dashboard in headless Chromium (Debian's chromium driven by playwright-core)
// and names the screenshot folder. Shared by the rendering test and the seed integration test.
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

// The little of playwright-core's API the tests use (its types are not a dependency of Skiff).
/** A playwright-core locator. */
export interface Locator {
  waitFor(opts?: { state?: 'attached' | 'visible'; timeout?: number }): Promise<void>;
  count(): Promise<number>;
  textContent(): Promise<string | null>;
  getAttribute(name: string): Promise<string | null>;
}
/** A playwright-core page. */
export interface Page {
  goto(url: string): Promise<unknown>;
  locator(selector: string): Locator;
  screenshot(opts: { path: string; fullPage?: boolean }): Promise<unknown>;
  setViewportSize(size: { width: number; height: number }): Promise<void>;
  on(event: 'pageerror', fn: (err: Error) => void): void;
  waitForFunction(fn: string, arg?: unknown, opts?: { timeout?: number }): Promise<unknown>;
  evaluate<T>(expression: string): Promise<T>;
}
/** A playwright-core browser. */
export interface Browser {
  newPage(): Promise<Page>;
  close(): Promise<void>;
}
interface Playwright {
  chromium: {
    launch(opts: { executablePath: string; args?: string[]; headless?: boolean }): Promise<Browser>;
  };
}

const root = fileURLToPath(new URL('../../', import.meta.url));
const chromiumPath = process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium';

async function loadPlaywright(): Promise<Playwright | undefined> {
  // PLAYWRIGHT_CORE_PATH lets a machine without it in node_modules point at a copy elsewhere.
  const candidates = ['playwright-core'];
  const extra = process.env['PLAYWRIGHT_CORE_PATH'];
  if (extra) candidates.push(pathToFileURL(join(extra, 'index.mjs')).href);
  for (const spec of candidates) {
    try {
      const mod = (await import(spec)) as Partial<Playwright> & { default?: Playwright };
      return mod.chromium ? (mod as Playwright) : mod.default;
    } catch {
      // Try the next candidate.
    }
  }
  return undefined;
}

const playwright = await loadPlaywright();

/** Why the browser tests cannot run here (a `skip` reason), or undefined when they can. */
export const browserMissing: string | undefined = !existsSync(chromiumPath)
  ? `no chromium at ${chromiumPath} (apt-get install -y chromium)`
  : !playwright
    ? 'playwright-core is not installed (npm install -D playwright-core@1.65.1)'
    : undefined;

/** The screenshot folder (test-artifacts/dashboard/ or $SKIFF_TEST_ARTIFACTS), created. */
export function artifactsDir(): string {
  const dir = process.env['SKIFF_TEST_ARTIFACTS'] ?? join(root, 'test-artifacts', 'dashboard');
  mkdirSync(dir, { recursive: true });
  return dir;
}

/**
 * Launches headless Chromium, opens `url` at 1366×900 and waits for the live event stream; page
 * errors are appended to `pageErrors`. Close the returned browser when done.
 */
export async function openDashboard(
  url: string,
  pageErrors: string[],
): Promise<{ browser: Browser; page: Page }> {
  if (!playwright) throw new Error(browserMissing);
  const browser = await playwright.chromium.launch({
    executablePath: chromiumPath,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu'],
  });
  try {
    const page = await browser.newPage();
    await page.setViewportSize({ width: 1366, height: 900 });
    page.on('pageerror', (err) => pageErrors.push(err.message));
    await page.goto(url);
    await page.locator('#conn.live').waitFor({ timeout: 10_000 });
    return { browser, page };
  } catch (err) {
    await browser.close();
    throw err;
  }
}
