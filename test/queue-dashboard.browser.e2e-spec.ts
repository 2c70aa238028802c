import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  ALERT_FIRE_JOB,
  ALERT_RECONCILE_JOB,
  ALERTS_QUEUE,
  alertJobId,
  bullOptions,
} from '@app/queues';
import { eventually, testRedisUrl } from '@app/testing';
import { Queue } from 'bullmq';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { startApiAndWorker, type ApiAndWorker } from './support/api-and-worker';
import { dismissSignInPrompts, launchChromium, watchForProblems } from './support/browser';
import { source, suffix, usTariffBody } from './support/write-api';

/** The dashboard's Content Security Policy (its HTTP answers are checked in queue-dashboard.e2e-spec.ts). */
const DASHBOARD_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; " +
  "img-src 'self' data:; font-src 'self'; connect-src 'self'; object-src 'none'; " +
  "base-uri 'self'; form-action 'self'; frame-ancestors 'none'";

/**
 * The queue dashboard as an admin uses it: in Debian's Chromium, signed in with HTTP Basic (the
 * admin key as the password), against the real api and worker, PostgreSQL and Redis. The HTTP
 * answers themselves are tested in queue-dashboard.e2e-spec.ts; here, that a browser draws the
 * page with them, and refuses what they are meant to refuse.
 */
describe('the queue dashboard in a browser', () => {
  const adminKey = `admin-${randomBytes(24).toString('base64url')}`;
  let app: ApiAndWorker;
  let browser: Browser;
  /** The dashboard's origin (`http://127.0.0.1:<port>`) and its own address under it. */
  let origin: string;
  let dashboard: string;
  let queue: Queue;
  let viewerKey: string;
  /** The ids of the delayed jobs of the alerts a suspension scheduled, as Accord names them. */
  let alertJobIds: string[];
  const contexts: BrowserContext[] = [];

  beforeAll(async () => {
    [app, browser] = await Promise.all([
      startApiAndWorker('e2e_dashboard_browser', {
        LOG_LEVEL: 'fatal',
        ADMIN_API_KEY: adminKey,
        ALERT_LEAD_TIMES: 'P30D,P7D,PT0S',
        SUBSCRIPTION_POLL_MS: '100',
        ALERT_RELAY_POLL_MS: '100',
      }),
      launchChromium(),
    ]);
    await app.api.listen(0, '127.0.0.1');
    origin = `http://127.0.0.1:${(app.api.getHttpServer().address() as AddressInfo).port}`;
    dashboard = `${origin}/admin/queues`;
    queue = new Queue(
      ALERTS_QUEUE,
      bullOptions({ REDIS_URL: testRedisUrl(), REDIS_PREFIX: process.env.REDIS_PREFIX! }),
    );
    viewerKey = (
      await app
        .http()
        .post('/api/v1/api-keys')
        .set(asAdmin())
        .send({ name: `dashboard-viewer-${suffix()}`, role: 'viewer' })
        .expect(201)
    ).body.key;
    alertJobIds = await scheduleAlerts();
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await queue?.close();
    await app?.close();
  });

  const asAdmin = () => ({ authorization: `Bearer ${adminKey}` });

  /**
   * A measure suspended until 400 days from now: each lead time gives an alert, a delayed job
   * in the alerts queue by the time this returns. Their ids, read from `GET /alerts`.
   */
  async function scheduleAlerts(): Promise<string[]> {
    const code = `DASHBOARD-${suffix()}`;
    await app.http().post('/api/v1/measures').set(asAdmin()).send(usTariffBody(code)).expect(201);
    const suspension = await app
      .http()
      .post(`/api/v1/measures/${code}/suspensions`)
      .set(asAdmin())
      .send({
        startsAt: '2025-05-14T04:01:00Z',
        endsAt: new Date(Date.now() + 400 * 86_400_000).toISOString(),
        part: { percentPoints: 24 },
        sources: [source('Suspension notice')],
      })
      .expect(201);
    return eventually(
      async () => {
        const alerts = await app
          .http()
          .get('/api/v1/alerts')
          .query({ suspension: suspension.body.suspensionId, state: 'pending' })
          .set(asAdmin())
          .expect(200);
        const items = alerts.body.items as { id: string; endVersion: number }[];
        // One per lead time.
        expect(items).toHaveLength(3);
        const ids = items.map((alert) => alertJobId(alert.id, alert.endVersion));
        for (const id of ids)
          expect({ id, state: await queue.getJobState(id) }).toEqual({ id, state: 'delayed' });
        return ids.sort();
      },
      { timeoutMs: 15_000, intervalMs: 100 },
    );
  }

  async function newContext(httpCredentials?: {
    username: string;
    password: string;
  }): Promise<BrowserContext> {
    // The credentials go to the dashboard only: playwright would answer any site's challenge.
    const context = await browser.newContext(
      httpCredentials ? { httpCredentials: { ...httpCredentials, origin } } : {},
    );
    // A page that never draws fails within seconds, not at the suite's 30 s.
    context.setDefaultTimeout(15_000);
    contexts.push(context);
    return context;
  }
  afterEach(async () => {
    await Promise.all(contexts.splice(0).map((context) => context.close()));
  });

  /** Every address the page asked for that is not the dashboard's own. */
  function watchForOtherAddresses(page: Page): string[] {
    const elsewhere: string[] = [];
    page.on('request', (request) => {
      const url = request.url();
      if (url !== dashboard && !url.startsWith(`${dashboard}/`)) elsewhere.push(url);
    });
    return elsewhere;
  }

  /** The queue names in the sidebar, once the page has drawn them. */
  async function listedQueues(page: Page): Promise<string[]> {
    const links = page.getByRole('navigation').getByRole('link');
    await links.first().waitFor();
    return (await links.allInnerTexts()).map((name) => name.trim());
  }

  /** Picks an action in the queue page's menu and confirms it; the dashboard's answer. */
  async function queueAction(page: Page, action: 'Pause' | 'Resume', path: string) {
    const answer = page.waitForResponse(
      (response) =>
        response.request().method() === 'PUT' && response.url() === `${dashboard}${path}`,
    );
    await page.locator('main button[aria-haspopup="menu"]').click();
    await page.getByRole('menuitem', { name: action, exact: true }).click();
    await page.getByRole('button', { name: 'Confirm' }).click();
    return answer;
  }

  it('shows an admin the page and the queues Accord registers, with nothing refused, failed or fetched elsewhere', async () => {
    const page = await (await newContext({ username: 'admin', password: adminKey })).newPage();
    const problems = await watchForProblems(page);
    const elsewhere = watchForOtherAddresses(page);
    const assets: string[] = [];
    page.on('response', (response) => {
      if (response.url().startsWith(`${dashboard}/static/`) && response.ok())
        assets.push(new URL(response.url()).pathname);
    });

    const response = await page.goto(dashboard);
    expect(response?.status()).toBe(200);
    // The framing headers and the whole policy are there, and the page draws all the same.
    expect(await response?.headerValue('x-frame-options')).toBe('DENY');
    expect(await response?.headerValue('content-security-policy')).toBe(DASHBOARD_CSP);
    expect(await listedQueues(page)).toEqual([ALERTS_QUEUE]);
    await page.getByRole('link', { name: ALERTS_QUEUE, exact: true }).first().waitFor();
    await page.waitForLoadState('networkidle');

    // bull-board's scripts and styles came from under the dashboard's path.
    expect(assets.filter((path) => path.endsWith('.js')).length).toBeGreaterThan(0);
    expect(assets.filter((path) => path.endsWith('.css')).length).toBeGreaterThan(0);
    expect(problems).toEqual([]);
    expect(elsewhere).toEqual([]);
  });

  it('runs nothing a string injected into the page would add, and sends nothing elsewhere', async () => {
    const page = await (await newContext({ username: 'admin', password: adminKey })).newPage();
    const problems = await watchForProblems(page);
    await page.goto(dashboard);
    expect(await listedQueues(page)).toEqual([ALERTS_QUEUE]);
    await page.waitForLoadState('networkidle');
    expect(problems).toEqual([]);

    // What job data or an error from Redis could do if it reached the DOM as markup: an inline
    // script, an event handler, eval, and requests to another host (nothing listens there, so
    // a request the policy let through would fail too: the violations are the proof).
    const elsewhere = 'http://localhost:9';
    const outcome = await page.evaluate(`(async () => {
      const script = document.createElement('script');
      script.textContent = 'window.scriptRan = true';
      document.body.append(script);
      const markup = document.createElement('div');
      markup.innerHTML = '<img src="data:," onerror="window.handlerRan = true">';
      document.body.append(markup);
      // The code the test hands the browser may eval, whatever the policy (DevTools allows it);
      // what runs after a task of the page's own, as an injected string would, may not.
      await new Promise((resolve) => setTimeout(resolve, 0));
      let evaluated;
      try {
        evaluated = eval('"ran"');
      } catch (error) {
        evaluated = error.name;
      }
      const image = new Image();
      image.src = '${elsewhere}/pixel.png';
      document.body.append(image);
      const fetched = await fetch('${elsewhere}/collect', { method: 'POST', body: 'key' }).then(
        () => 'sent',
        () => 'refused',
      );
      // Long enough for the image's error, were its handler allowed to run.
      await new Promise((resolve) => setTimeout(resolve, 200));
      return {
        script: window.scriptRan === true,
        handler: window.handlerRan === true,
        evaluated,
        fetched,
      };
    })()`);

    expect(outcome).toEqual({
      script: false,
      handler: false,
      evaluated: 'EvalError',
      fetched: 'refused',
    });
    await eventually(
      () =>
        expect(problems.filter((problem) => problem.startsWith('csp: ')).sort()).toEqual([
          `csp: connect-src blocked ${elsewhere}/collect`,
          `csp: img-src blocked ${elsewhere}/pixel.png`,
          'csp: script-src blocked eval',
          'csp: script-src-attr blocked inline',
          'csp: script-src-elem blocked inline',
        ]),
      { timeoutMs: 5_000, intervalMs: 100 },
    );
  });

  it('shows the alerts queue’s delayed jobs by their deterministic ids', async () => {
    const page = await (await newContext({ username: 'anyone', password: adminKey })).newPage();
    const problems = await watchForProblems(page);
    await page.goto(dashboard);
    await page.getByRole('navigation').getByRole('link', { name: ALERTS_QUEUE }).click();
    await page.waitForURL(`${dashboard}/queue/${ALERTS_QUEUE}**`);
    await page.getByRole('link', { name: /^delayed/i }).click();
    await page.waitForURL(/status=delayed/);

    const shown = page.getByText(/^alert-[0-9a-f-]{36}-\d+$/);
    await eventually(
      async () =>
        expect((await shown.allInnerTexts()).map((id) => id.trim()).sort()).toEqual(alertJobIds),
      { timeoutMs: 10_000, intervalMs: 100 },
    );
    expect(problems).toEqual([]);
  });

  it('pauses and resumes the alerts queue from the page: a change from its own origin is taken', async () => {
    const page = await (await newContext({ username: 'admin', password: adminKey })).newPage();
    const problems = await watchForProblems(page);
    await page.goto(`${dashboard}/queue/${ALERTS_QUEUE}`);
    const sidebar = page.locator('#bull-board-sidebar');

    const paused = await queueAction(page, 'Pause', `/api/queues/${ALERTS_QUEUE}/pause`);
    expect(paused.status()).toBe(200);
    expect(await queue.isPaused()).toBe(true);
    await sidebar.getByText(/paused/i).waitFor();

    const resumed = await queueAction(page, 'Resume', `/api/queues/${ALERTS_QUEUE}/resume`);
    expect(resumed.status()).toBe(200);
    expect(await queue.isPaused()).toBe(false);
    await sidebar.getByText(/paused/i).waitFor({ state: 'detached' });
    expect(problems).toEqual([]);
  });

  it('shows a browser without credentials the Basic challenge and nothing of the dashboard', async () => {
    const page = await (await newContext()).newPage();
    await dismissSignInPrompts(page);
    const requested: string[] = [];
    page.on('request', (request) => requested.push(request.url()));

    const response = await page.goto(dashboard);
    expect(response?.status()).toBe(401);
    expect(await response?.headerValue('www-authenticate')).toBe(
      'Basic realm="Accord queues", charset="UTF-8"',
    );
    expect(JSON.parse(await page.innerText('body'))).toMatchObject({ code: 'unauthenticated' });
    expect(requested).toEqual([dashboard]);
  });

  it('refuses a viewer’s key with a 403 and shows nothing of the dashboard', async () => {
    const page = await (await newContext({ username: 'viewer', password: viewerKey })).newPage();
    const requested: string[] = [];
    page.on('request', (request) => requested.push(request.url()));

    const response = await page.goto(dashboard);
    expect(response?.status()).toBe(403);
    expect(JSON.parse(await page.innerText('body'))).toMatchObject({ code: 'forbidden' });
    expect(requested).toEqual([dashboard]);
  });

  describe('a page of another origin, in the browser of a signed-in admin', () => {
    let attacker: Server;
    let attackerPort: number;

    beforeAll(async () => {
      attacker = createServer((_request, response) => {
        response.setHeader('content-type', 'text/html; charset=utf-8');
        response.end(forgeryPage(dashboard));
      });
      attacker.listen(0, '127.0.0.1');
      await once(attacker, 'listening');
      attackerPort = (attacker.address() as AddressInfo).port;
    });
    afterAll(async () => {
      attacker?.close();
      if (attacker) await once(attacker, 'close');
    });

    // `localhost` is another site; the same host on another port is the same site, another
    // origin, for which Chromium sends the Basic credentials it holds (the dashboard's
    // cross-site check refuses those requests).
    it.each([
      ['another site', 'localhost'],
      ['the same site on another port', '127.0.0.1'],
    ])('(%s) can neither change the queues nor frame the dashboard', async (_kind, host) => {
      const context = await newContext({ username: 'admin', password: adminKey });
      const admin = await context.newPage();
      await admin.goto(dashboard);
      expect(await listedQueues(admin)).toEqual([ALERTS_QUEUE]);

      const page = await context.newPage();
      const answers: string[] = [];
      page.on('response', (response) => {
        const request = response.request();
        if (response.url().startsWith(dashboard) && request.method() !== 'GET')
          answers.push(`${request.method()} ${response.url()} → ${response.status()}`);
      });
      await page.goto(`http://${host}:${attackerPort}/`);
      const tried = await page.waitForFunction('window.forged');
      // The framing headers keep the dashboard, and the refusal of the form, out of its frames.
      await eventually(
        () =>
          expect(
            page
              .frames()
              .filter((frame) => frame !== page.mainFrame())
              .map((frame) => frame.url()),
          ).toEqual([BLOCKED_FRAME, BLOCKED_FRAME]),
        { timeoutMs: 10_000, intervalMs: 100 },
      );

      expect(await tried.jsonValue()).toEqual({
        // A PUT from elsewhere needs a preflight, which the dashboard does not grant.
        put: 'TypeError: Failed to fetch',
        post: 'opaque',
        add: 'opaque',
      });
      // Each request that reached the dashboard was refused: without credentials (401, the
      // browser kept them from another site) or by the cross-site check (403).
      expect(answers.length).toBeGreaterThan(0);
      for (const answer of answers) expect(answer).toMatch(/ → 40[13]$/);
      expect(await queue.isPaused()).toBe(false);
      const names = new Set((await queue.getJobs()).map((job) => job.name));
      expect(
        [...names].filter((name) => name !== ALERT_FIRE_JOB && name !== ALERT_RECONCILE_JOB),
      ).toEqual([]);
    });
  });
});

/** Where Chromium puts a frame it refuses to show. */
const BLOCKED_FRAME = 'chrome-error://chromewebdata/';

/**
 * A page that tries what a forged request can: a PUT with credentials (preflighted), POSTs that
 * need no preflight (the pause route and bull-board's only POST, adding a job), a form posted
 * into a frame, and the dashboard itself in a frame.
 */
function forgeryPage(dashboard: string): string {
  const pause = `${dashboard}/api/queues/${ALERTS_QUEUE}/pause`;
  const add = `${dashboard}/api/queues/${ALERTS_QUEUE}/add`;
  return `<!doctype html>
<html><body>
<form id="form" method="post" action="${pause}" target="sink"></form>
<iframe name="sink"></iframe>
<iframe src="${dashboard}"></iframe>
<script>
  const outcome = (request) => request.then((response) => response.type, (error) => String(error));
  Promise.all([
    outcome(fetch(${JSON.stringify(pause)}, { method: 'PUT', credentials: 'include' })),
    outcome(fetch(${JSON.stringify(pause)}, { method: 'POST', mode: 'no-cors', credentials: 'include' })),
    outcome(
      fetch(${JSON.stringify(add)}, {
        method: 'POST',
        mode: 'no-cors',
        credentials: 'include',
        headers: { 'content-type': 'text/plain' },
        body: JSON.stringify({ name: 'forged', data: {} }),
      }),
    ),
  ]).then(([put, post, add]) => {
    document.getElementById('form').submit();
    window.forged = { put, post, add };
  });
</script>
</body></html>`;
}
