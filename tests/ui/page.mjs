// The dashboard tests' session and helpers: a real `crew start` and Debian's Chromium, shared
// by the tests of one file (useDashboard() registers their start and stop), and the page-level
// steps the tests repeat. CREW is the binary; SCREENSHOTS, if set, a dir for screenshots.
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { after, before } from 'node:test';
import { chromium } from 'playwright-core';
import { Crew, chromiumOptions } from './crew.mjs';

const CREW = process.env.CREW || '../../build/crew';
const SHOTS = process.env.SCREENSHOTS || '';
// (a live binding: the importers see the server once before() has started it)
export let crew;
let browser;

export function useDashboard() {
  before(async () => {
    crew = await Crew.start(CREW);
    browser = await chromium.launch(chromiumOptions());
  });
  after(async () => {
    await browser?.close();
    await crew?.stop();
  });
}

// A new page at #/<hash>; `setup(page)` runs before it loads (routes, a fake clock), and any other
// option is the browser context's (a time zone).
export async function open(hash = '', { setup, ...options } = {}) {
  const page = await browser.newPage({ viewport: { width: 1440, height: 900 }, ...options });
  page.setDefaultTimeout(10000);
  if (setup) await setup(page);
  await page.goto(`${crew.url}#/${hash}`);
  return page;
}

export async function shot(page, name) {
  if (!SHOTS) return;
  mkdirSync(SHOTS, { recursive: true });
  await page.waitForTimeout(300);  // let the progress bars finish their transition
  await page.screenshot({ path: `${SHOTS}/${name}.png` });
}

export const row = (page, id) => page.locator(`tr[data-task="${id}"]`);
export const waitFor = async (fn, what) => {
  for (let i = 0; i < 100; i++) {
    if (await fn()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.fail(`timed out waiting for ${what}`);
};

// A small DAG, fetch -> (resize, thumb) -> publish, on channels of its own: `${name}-images`...
export async function sampleGroup(name) {
  const g = await crew.group(name);
  const ch = (c) => `${name.replace(/ /g, '-')}-${c}`;
  const fetchT = await crew.task(g._id, { name: 'fetch', channel: ch('images'), input: { url: 'https://example.com/a.png' } });
  const resize = await crew.task(g._id, { name: 'resize', channel: ch('images'), parentIds: [fetchT._id] });
  const thumb = await crew.task(g._id, { name: 'thumb', channel: ch('thumbs'), parentIds: [fetchT._id] });
  const publish = await crew.task(g._id, { name: 'publish', channel: ch('web'), parentIds: [resize._id, thumb._id] });
  return { g, fetchT, resize, thumb, publish };
}

// Makes the list at #/<hash> end with a last page of one item, turns to that page, then removes
// one of the items made, so that page is gone: the list turns to the page before, full, rather than
// staying on an empty page with no buttons to leave it.
export async function lastPageGoes(hash, countPath, make, remove, rows) {
  let { count } = await crew.call('GET', countPath);
  const made = [];
  while (count < 26 || count % 25 !== 1) {
    made.push(await make(made.length));
    count++;
  }
  const page = await open(hash);
  const last = Math.ceil(count / 25);
  await page.locator('.pager', { hasText: `${count} in all` }).waitFor();
  await page.getByRole('button', { name: '»' }).click();
  await page.locator('.pager', { hasText: `page ${last} of ${last}` }).waitFor();
  await waitFor(async () => (await page.locator(rows).count()) === 1, 'the last page');
  await remove(made.at(-1));
  await page.locator('.pager', { hasText: `${count - 1} in all` }).waitFor();
  await waitFor(async () => (await page.locator(rows).count()) === 25, 'the page before, full');
  if (last > 2) await page.locator('.pager', { hasText: `page ${last - 1} of ${last - 1}` }).waitFor();
  await page.close();
}

// A list polled every 3 s (#/<hash>) whose second load answers late, after the third: the request
// is read at once, an item is made, the third load shows it, and then the second's older answer
// arrives; it must not take the item away. The page's clock is Playwright's, run by hand.
export async function lateAnswerDropped(hash, list, make, item) {
  const signal = () => {
    let fire;
    const done = new Promise((r) => { fire = r; });
    return { fire, done };
  };
  const [read, release, answered] = [signal(), signal(), signal()];
  let n = 0;
  const page = await open(hash, {
    setup: async (p) => {
      await p.clock.install();
      await p.route(list, async (route) => {
        if (++n !== 2) return route.continue();
        const response = await route.fetch();
        read.fire();
        await release.done;
        await route.fulfill({ response });
        answered.fire();
      });
    },
  });
  await page.locator('table').waitFor();
  await page.clock.runFor(3000);
  await read.done;
  const made = await make();
  await page.clock.runFor(3000);
  await item(page, made).waitFor();
  release.fire();
  await answered.done;
  await page.waitForTimeout(500);
  assert.equal(await item(page, made).count(), 1, 'an older answer replaced a newer one');
  await page.close();
}
