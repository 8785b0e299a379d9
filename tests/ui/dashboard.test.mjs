// The built-in dashboard (SPEC N4) in a real browser: Debian's Chromium, headless, driven by
// playwright-core. Data is made through the API, checked on the page, changed by clicking, and
// live updates are seen arriving. Its views and actions; dashboard_edges.test.mjs holds the
// races and edge cases. CREW is the binary; SCREENSHOTS, if set, a dir for screenshots.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { crew, open, shot, row, waitFor, sampleGroup, useDashboard } from './page.mjs';

useDashboard();

describe('dashboard', () => {
  test('the groups list shows progress and creates a group', async () => {
    const { g, fetchT } = await sampleGroup('nightly images');
    await crew.call('POST', 'channel/nightly-images-images/acquire', { workerId: 'w1' });
    await crew.call('POST', `task/${fetchT._id}/release`, { workerId: 'w1', output: { bytes: 1024 } });
    const page = await open();
    const line = page.locator('tr', { hasText: 'nightly images' });
    await line.locator('.progress-label', { hasText: '1 / 4' }).waitFor();
    await shot(page, 'groups');
    await page.getByRole('button', { name: 'New group' }).click();
    await page.getByLabel('Name').fill('made in the browser');
    await page.getByRole('button', { name: 'Create' }).click();
    await page.locator('h1', { hasText: 'made in the browser' }).waitFor();
    const groups = await crew.call('GET', 'task_groups');
    assert.ok(groups.some((x) => x.name === 'made in the browser'));
    assert.ok(groups.some((x) => x._id === g._id));
    await page.close();
  });

  test('a group page shows its tasks and follows them live', async () => {
    const { g, fetchT, resize } = await sampleGroup('live');
    const page = await open(`group/${g._id}`);
    await row(page, fetchT._id).locator('.tag', { hasText: 'ready' }).waitFor();
    await row(page, resize._id).locator('td').first().getByText('blocked').waitFor();
    await page.locator('.live.on').waitFor();
    // Acquired and released through the API: the page follows without a reload.
    await crew.call('POST', 'channel/live-images/acquire', { workerId: 'w1' });
    await row(page, fetchT._id).locator('.tag', { hasText: 'running' }).waitFor();
    await crew.call('POST', `task/${fetchT._id}/release`, { workerId: 'w1', output: { ok: true } });
    await row(page, fetchT._id).locator('.tag', { hasText: 'complete' }).waitFor();
    await row(page, resize._id).locator('td').first().getByText('ready').waitFor();
    const late = await crew.task(g._id, { name: 'late arrival', channel: 'web' });
    await row(page, late._id).waitFor();
    await page.locator('.progress-label', { hasText: '1 / 5' }).waitFor();
    await shot(page, 'group-table');
    await page.getByLabel('Hide completed').check();
    await row(page, fetchT._id).waitFor({ state: 'detached' });
    await page.close();
  });

  test('the DAG view draws the window and colours follow status', async () => {
    const { g, fetchT, publish } = await sampleGroup('dag');
    const page = await open(`group/${g._id}`);
    await page.getByRole('button', { name: 'DAG' }).click();
    await page.locator(`svg.dag [data-task="${publish._id}"]`).waitFor();
    assert.equal(await page.locator('svg.dag [data-task]').count(), 4);
    assert.equal(await page.locator('svg.dag path.edge').count(), 4);
    await crew.call('POST', 'channel/dag-images/acquire', { workerId: 'w1' });
    await page.locator(`svg.dag [data-task="${fetchT._id}"][data-status="running"]`).waitFor();
    await shot(page, 'group-dag');
    await page.close();
  });

  test('task detail shows input, output, errors, links and the lease', async () => {
    const { g, fetchT, resize, thumb } = await sampleGroup('detail');
    await crew.call('POST', 'channel/detail-images/acquire', { workerId: 'worker-7' });
    const page = await open(`group/${g._id}`);
    await row(page, fetchT._id).click();
    const panel = page.getByRole('complementary', { name: 'Task detail' });
    await panel.getByText('worker-7').waitFor();
    await panel.getByText('https://example.com/a.png').waitFor();
    await panel.locator('dt', { hasText: 'Lease until' }).waitFor();
    await panel.getByRole('link', { name: 'resize' }).waitFor();
    await panel.getByRole('link', { name: 'thumb' }).waitFor();
    await crew.call('POST', `task/${fetchT._id}/release`, { workerId: 'worker-7', error: 'disk full' });
    await panel.getByText('disk full').waitFor();
    await shot(page, 'task');
    await panel.getByRole('link', { name: 'thumb' }).click();
    await page.locator('.panel h2', { hasText: 'thumb' }).waitFor();
    assert.ok(page.url().endsWith(`task/${thumb._id}`));
    assert.ok(resize);
    await page.close();
  });

  test('actions: add, edit, pause, resume, retry, reset, pluck, delete', async () => {
    const { g, fetchT } = await sampleGroup('actions');
    const page = await open(`group/${g._id}`);
    await row(page, fetchT._id).waitFor();

    await page.getByRole('button', { name: 'Add task' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByLabel('Name').fill('added');
    await dialog.getByLabel('Channel').fill('extra');
    await dialog.getByLabel('Key').fill('k-1');
    await dialog.getByLabel('Parent ids').fill(fetchT._id);
    await dialog.getByLabel('Input (JSON)').fill('{"size": ');
    await dialog.getByRole('button', { name: 'Create' }).click();
    await dialog.getByRole('alert').getByText('not valid JSON').waitFor();  // refused before sending
    await dialog.getByLabel('Input (JSON)').fill('{"size": 3}');
    await dialog.getByLabel('Parent ids').fill('not-an-id');
    await dialog.getByRole('button', { name: 'Create' }).click();
    await dialog.getByRole('alert').waitFor();  // the server's message
    await dialog.getByLabel('Parent ids').fill(fetchT._id);
    await dialog.getByRole('button', { name: 'Create' }).click();
    await dialog.waitFor({ state: 'detached' });
    let tasks = await crew.call('GET', `task_group/${g._id}/tasks`);
    const added = tasks.find((t) => t.name === 'added');
    assert.deepEqual([added.channel, added.key, added.input, added.parentIds], ['extra', 'k-1', { size: 3 }, [fetchT._id]]);
    await row(page, added._id).waitFor();

    await row(page, added._id).click();
    const panel = page.getByRole('complementary', { name: 'Task detail' });
    await panel.getByRole('button', { name: 'Edit' }).click();
    await page.getByRole('dialog').getByLabel('Priority').fill('7');
    await page.getByRole('dialog').getByRole('button', { name: 'Save' }).click();
    await page.getByRole('dialog').waitFor({ state: 'detached' });
    await waitFor(async () => (await crew.call('GET', `task/${added._id}`)).priority === 7, 'the edit');

    await page.getByRole('button', { name: 'Pause' }).click();
    await waitFor(async () => (await crew.call('GET', `task_group/${g._id}`)).isPaused, 'pause');
    await page.locator('h1 .tag-paused').waitFor();
    await page.getByRole('button', { name: 'Resume' }).click();
    await waitFor(async () => !(await crew.call('GET', `task_group/${g._id}`)).isPaused, 'resume');

    // A task out of attempts gets a Retry button; Reset starts it over.
    const solo = await crew.task(g._id, { name: 'fragile', channel: 'fragile', remainingAttempts: 1 });
    await crew.call('POST', 'channel/fragile/acquire', { workerId: 'w' });
    await crew.call('POST', `task/${solo._id}/release`, { workerId: 'w', error: 'boom' });
    await row(page, solo._id).locator('.tag', { hasText: 'failed' }).waitFor();
    await row(page, solo._id).click();
    await panel.getByRole('button', { name: 'Retry' }).click();
    await waitFor(async () => (await crew.call('GET', `task/${solo._id}`)).remainingAttempts === 1, 'retry');
    await panel.getByRole('button', { name: 'Reset' }).click();
    await waitFor(async () => (await crew.call('GET', `task/${solo._id}`)).errors.length === 0, 'reset');
    // A task out of attempts (complete or failed: remainingAttempts 0) can be edited too; the
    // form's minimum of 1 blocked its Save without a word.
    await crew.call('POST', 'channel/fragile/acquire', { workerId: 'w' });
    await crew.call('POST', `task/${solo._id}/release`, { workerId: 'w', output: { ok: 1 } });
    await waitFor(async () => (await crew.call('GET', `task/${solo._id}`)).isComplete, 'the release');
    await row(page, solo._id).locator('.tag', { hasText: 'complete' }).waitFor();
    await panel.getByRole('button', { name: 'Edit' }).click();
    await page.getByRole('dialog').getByLabel('Priority').fill('3');
    await page.getByRole('dialog').getByRole('button', { name: 'Save' }).click();
    await page.getByRole('dialog').waitFor({ state: 'detached' });
    await waitFor(async () => (await crew.call('GET', `task/${solo._id}`)).priority === 3, 'the edit of a complete task');

    await panel.getByRole('button', { name: 'Pluck' }).click();
    await page.waitForURL((u) => !u.hash.includes(g._id));
    const plucked = page.url().match(/group\/([0-9a-f]{24})\/task\/([0-9a-f]{24})/);
    assert.equal((await crew.call('GET', `task/${plucked[2]}`)).name, 'fragile');
    await page.goto(`${crew.url}#/group/${g._id}/task/${solo._id}`);
    await panel.getByRole('button', { name: 'Delete' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Delete' }).click();
    // The dialog closes once the DELETE is answered; the row may go first (socket.io's event).
    await page.getByRole('dialog').waitFor({ state: 'detached' });
    await row(page, solo._id).waitFor({ state: 'detached' });
    await assert.rejects(crew.call('GET', `task/${solo._id}`), /404/);

    await page.getByRole('button', { name: 'Delete' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Delete' }).click();
    await page.locator('h1', { hasText: 'Task groups' }).waitFor();
    await assert.rejects(crew.call('GET', `task_group/${g._id}`), /404/);
    tasks = await crew.call('GET', `channel/extra/tasks`);
    assert.equal(tasks.length, 0);
    await page.close();
  });

  test('channels and operators', async () => {
    const g = await crew.group('channels');
    await crew.task(g._id, { name: 'one', channel: 'mail' });
    const page = await open('channels');
    await page.locator('tr', { hasText: 'mail' }).waitFor();
    await shot(page, 'channels');
    await page.getByRole('link', { name: 'Operators' }).click();
    await page.getByRole('button', { name: 'New operator' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByLabel('Channel').fill('mail');
    await dialog.getByLabel('URL').fill('http://127.0.0.1:9/send');
    await dialog.getByRole('button', { name: 'Create' }).click();
    const line = page.locator('tr', { hasText: 'http://127.0.0.1:9/send' });
    await line.waitFor();
    await line.getByRole('button', { name: 'Pause' }).click();
    await line.locator('.tag-paused').waitFor();
    await shot(page, 'operators');
    const [op] = await crew.call('GET', 'operators');
    assert.equal(op.isPaused, true);
    await line.getByRole('button', { name: 'Delete' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Delete' }).click();
    await line.waitFor({ state: 'detached' });
    assert.equal((await crew.call('GET', 'operators/count')).count, 0);
    // Live: an operator another client makes shows up without a reload.
    await crew.call('POST', 'operators', { channel: 'mail', url: 'http://127.0.0.1:9/elsewhere' });
    await page.locator('tr', { hasText: 'http://127.0.0.1:9/elsewhere' }).waitFor();
    await page.close();
  });

  test('a group link with a malformed id says there is no such group', async () => {
    const page = await open('group/not-an-id');
    await page.getByText('There is no task group with this id.').waitFor();
    await page.close();
  });

  test('a 10,000-task group pages its table and windows its DAG', async () => {
    const g = await crew.group('big');
    for (let i = 0; i < 10; i++) {
      const batch = Array.from({ length: 1000 }, (_, j) => ({ name: `t${i * 1000 + j}`, channel: 'bulk' }));
      await crew.call('POST', `task_group/${g._id}/tasks`, batch);
    }
    const page = await open(`group/${g._id}`);
    await page.locator('.pager', { hasText: '10000 in all' }).waitFor({ timeout: 30000 });
    assert.equal(await page.locator('table.tasks tbody tr').count(), 50);
    await page.getByRole('button', { name: 'Next ›' }).click();
    await page.locator('.pager', { hasText: 'page 2 of 200' }).waitFor();
    await page.getByRole('button', { name: 'DAG' }).click();
    await page.locator('svg.dag').waitFor();
    assert.equal(await page.locator('svg.dag [data-task]').count(), 120);
    await page.close();
  });

  test('resume shows the tasks unpaused without a reload', async () => {
    const g = await crew.call('POST', 'task_groups', { name: 'starts paused', isPaused: true });
    const t = await crew.task(g._id, { name: 'waits', channel: 'starts-paused' });
    const page = await open(`group/${g._id}`);
    await row(page, t._id).locator('.tag', { hasText: 'paused' }).waitFor();
    await page.getByRole('button', { name: 'Resume' }).click();
    await row(page, t._id).locator('.tag', { hasText: 'ready' }).waitFor();
    // The same through the API, as another client would.
    await crew.call('POST', `task_group/${g._id}/pause`);
    await row(page, t._id).locator('.tag', { hasText: 'paused' }).waitFor();
    await crew.call('POST', `task_group/${g._id}/resume`);
    await row(page, t._id).locator('.tag', { hasText: 'ready' }).waitFor();
    assert.equal((await crew.call('GET', `task/${t._id}`)).isPaused, false);
    await page.close();
  });

  test('an edit keeps an untouched runAfter exactly, and reads an edited one as typed', async () => {
    const g = await crew.group('run after');
    // Milliseconds, and 02:30 of the night the clocks go back in Berlin (the second of two).
    const precise = await crew.task(g._id, { name: 'precise', channel: 'run-after', runAfter: '2030-05-06T07:08:09.789Z' });
    const repeated = await crew.task(g._id, { name: 'repeated hour', channel: 'run-after', runAfter: '2030-10-27T01:30:00.000Z' });
    const page = await open(`group/${g._id}/task/${precise._id}`, { timezoneId: 'Europe/Berlin' });
    const panel = page.getByRole('complementary', { name: 'Task detail' });
    const dialog = page.getByRole('dialog');
    const edit = async (id, field, value) => {
      await page.goto(`${crew.url}#/group/${g._id}/task/${id}`);
      await panel.getByRole('button', { name: 'Edit' }).click();
      await dialog.getByLabel(field).fill(value);
      await dialog.getByRole('button', { name: 'Save' }).click();
      await dialog.waitFor({ state: 'detached' });
      return crew.call('GET', `task/${id}`);
    };
    let t = await edit(precise._id, 'Name', 'precise, renamed');
    assert.deepEqual([t.name, t.runAfter], ['precise, renamed', '2030-05-06T07:08:09.789Z']);
    t = await edit(repeated._id, 'Priority', '4');
    assert.deepEqual([t.priority, t.runAfter], [4, '2030-10-27T01:30:00.000Z']);
    t = await edit(repeated._id, 'Run after', '2031-01-02T03:04:05');
    assert.equal(t.runAfter, '2031-01-02T02:04:05.000Z');
    await panel.getByRole('button', { name: 'Edit' }).click();
    assert.equal(await dialog.getByLabel('Run after').inputValue(), '2031-01-02T03:04:05');
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    t = await edit(precise._id, 'Run after', '2030-05-06T10:08:09.789');
    assert.equal(t.runAfter, '2030-05-06T08:08:09.789Z');
    await page.close();
  });
});
