import { existsSync } from 'node:fs';
import { type Browser, chromium, type Page } from 'playwright-core';

/**
 * Debian's Chromium (`apt-get install chromium`; `npm test` and .ci/run install it when missing,
 * see scripts/ensure-chromium.sh). playwright-core never downloads a browser of its own: the
 * machines reach no host that serves one.
 */
export const CHROMIUM_PATH = '/usr/bin/chromium';

/**
 * A headless Chromium that reaches nothing the test does not ask for: no update checks, no
 * sync, no QUIC probes. playwright gives every launch a fresh user-data-dir of its own, deleted
 * on close, so no profile, cache or credential is left from another run.
 */
export function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM_PATH)) {
    // The hint scripts/ensure-chromium.sh gives, rather than playwright's launch error.
    throw new Error(
      `The browser tests need ${CHROMIUM_PATH}: install it with 'sudo apt-get install -y chromium'`,
    );
  }
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

/**
 * What went wrong on a page as the browser saw it, each as one line, for an assertion that
 * lists them all at once: console errors, uncaught exceptions, Content Security Policy
 * violations, requests that failed, and answers with an error status. Call it before the page
 * navigates.
 */
export async function watchForProblems(page: Page): Promise<string[]> {
  const problems: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(`console: ${message.text()}`);
  });
  page.on('pageerror', (error) => problems.push(`uncaught: ${error.message}`));
  page.on('requestfailed', (request) =>
    problems.push(`failed: ${request.method()} ${request.url()} (${request.failure()?.errorText})`),
  );
  page.on('response', (response) => {
    if (response.status() >= 400)
      problems.push(`${response.status()}: ${response.request().method()} ${response.url()}`);
  });
  // Chromium logs most violations to the console as well; the page's own event names each one
  // by its directive, whatever the console says of it.
  await page.exposeBinding('reportCspViolation', (_source, violation: string) => {
    problems.push(`csp: ${violation}`);
  });
  // A script the page runs, as its text: the tests compile without the DOM's types.
  await page.addInitScript(`
    document.addEventListener('securitypolicyviolation', (event) =>
      window.reportCspViolation(event.effectiveDirective + ' blocked ' + event.blockedURI),
    );
  `);
  return problems;
}

/**
 * Answers every sign-in prompt on the page as a user who dismisses it: the browser then shows
 * the 401 answer itself. (Left alone, headless Chromium has no prompt to show and fails the
 * navigation instead; playwright's `httpCredentials` can only sign in.)
 */
export async function dismissSignInPrompts(page: Page): Promise<void> {
  const cdp = await page.context().newCDPSession(page);
  cdp.on('Fetch.requestPaused', ({ requestId }) => {
    cdp.send('Fetch.continueRequest', { requestId }).catch(() => undefined);
  });
  cdp.on('Fetch.authRequired', ({ requestId }) => {
    cdp
      .send('Fetch.continueWithAuth', {
        requestId,
        authChallengeResponse: { response: 'CancelAuth' },
      })
      .catch(() => undefined);
  });
  await cdp.send('Fetch.enable', { handleAuthRequests: true, patterns: [{ urlPattern: '*' }] });
}
