// A real workload of two npm libraries built on Redis Lua scripts, against the server on
// 127.0.0.1:<port>; prints one JSON object describing every observable outcome, so that
// tests/integration/test_npm_apps.py can compare Ferrite's run with redis-server's.
//
//   bull (job queue): priorities, delayed jobs, retries with backoff, a job that fails for
//   good, progress, local and global events, job counts, removal, a repeatable job;
//   rate-limiter-flexible: consume/penalty/reward/get/delete/block.
//
// Timing-dependent values (timestamps, ms before next) are reduced to facts that do not
// depend on timing (e.g. "later than the previous", "within the window").
'use strict';
const Queue = require('bull');
const Redis = require('ioredis');
const { RateLimiterRedis } = require('rate-limiter-flexible');

const port = Number(process.argv[2]);
const opts = { host: '127.0.0.1', port, maxRetriesPerRequest: null, enableReadyCheck: false };
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function bullWorkload() {
  const out = { order: [], attempts: {}, failed: {}, results: {}, events: {}, progress: [] };
  const queue = new Queue('ferrite-it', { redis: opts, prefix: 'bq' });
  const count = (name) => { out.events[name] = (out.events[name] || 0) + 1; };
  for (const ev of ['completed', 'failed', 'active', 'waiting', 'progress', 'delayed']) {
    queue.on(ev, () => count(ev));
  }
  for (const ev of ['global:completed', 'global:failed']) queue.on(ev, () => count(ev));
  await queue.isReady();
  await queue.empty();
  await queue.pause(true);

  // Priorities: 1 is highest. Added while the queue is paused, so the order is theirs.
  const prio = [5, 1, 3, 2, 4];
  for (let i = 0; i < prio.length; i++) {
    await queue.add('p', { id: `prio-${prio[i]}` }, { priority: prio[i], jobId: `prio-${prio[i]}` });
  }
  // A job that fails twice and then succeeds (attempts with a fixed backoff).
  await queue.add('retry', { id: 'retry' }, { jobId: 'retry', attempts: 3, backoff: { type: 'fixed', delay: 100 } });
  // A job that fails for good.
  await queue.add('doomed', { id: 'doomed' }, { jobId: 'doomed', attempts: 2, backoff: 50 });
  // Delayed jobs.
  await queue.add('late', { id: 'late-2' }, { jobId: 'late-2', delay: 600 });
  await queue.add('late', { id: 'late-1' }, { jobId: 'late-1', delay: 300 });
  const delayedCounts = await queue.getJobCounts();
  out.before = delayedCounts;

  const seen = {};
  const handler = async (job) => {
    const id = job.data.id;
    seen[id] = (seen[id] || 0) + 1;
    out.order.push(id);
    await job.progress(50);
    if (id === 'retry' && seen[id] < 3) throw new Error(`transient ${seen[id]}`);
    if (id === 'doomed') throw new Error('permanent');
    return { id, n: seen[id] };
  };
  for (const name of ['p', 'retry', 'doomed', 'late']) queue.process(name, 1, handler);
  await queue.resume(true);

  // Wait until everything has settled.
  for (let i = 0; i < 200; i++) {
    const c = await queue.getJobCounts();
    if (c.completed === 8 && c.failed === 1 && c.delayed === 0 && c.active === 0 && c.waiting === 0) break;
    await sleep(50);
  }
  out.after = await queue.getJobCounts();
  for (const id of ['prio-1', 'prio-2', 'prio-3', 'prio-4', 'prio-5', 'retry', 'doomed', 'late-1', 'late-2']) {
    const job = await queue.getJob(id);
    out.attempts[id] = job.attemptsMade;
    if (job.failedReason) out.failed[id] = job.failedReason;
    if (job.returnvalue) out.results[id] = job.returnvalue;
    out.progress.push(job.progress());
    if (id.startsWith('late')) out[`${id}-waited`] = job.processedOn - job.timestamp >= job.opts.delay;
  }
  // The priority jobs ran first, in priority order; the delayed ones in delay order.
  out.prioOrder = out.order.filter((x) => x.startsWith('prio'));
  out.lateOrder = out.order.filter((x) => x.startsWith('late'));
  out.order = undefined;
  // A failed job retried by hand, then removed.
  const doomed = await queue.getJob('doomed');
  out.failedList = (await queue.getFailed()).map((j) => j.id);
  await doomed.remove();
  out.afterRemove = await queue.getJobCounts();
  // Clean: completed jobs older than 0 ms.
  out.cleaned = (await queue.clean(0, 'completed')).length;
  out.final = await queue.getJobCounts();
  await sleep(100);  // let global events arrive
  out.events['global:completed'] = out.events['global:completed'] > 0;
  out.events['global:failed'] = out.events['global:failed'] > 0;
  out.events.progress = out.events.progress > 0;
  out.events.waiting = out.events.waiting > 0;
  out.events.active = out.events.active >= 8;
  await queue.close();
  return out;
}

async function rateLimiterWorkload() {
  const client = new Redis(opts);
  await client.del('rlflx:user1', 'rlflx:user2', 'rlflx:user3');
  const limiter = new RateLimiterRedis({ storeClient: client, points: 5, duration: 2, keyPrefix: 'rlflx' });
  const out = { consumed: [], rejected: 0 };
  const fact = (res) => ({
    remaining: res.remainingPoints,
    consumed: res.consumedPoints,
    first: res.isFirstInDuration,
    windowOk: res.msBeforeNext > 0 && res.msBeforeNext <= 2000,
  });
  for (let i = 0; i < 7; i++) {
    try {
      out.consumed.push(fact(await limiter.consume('user1')));
    } catch (rej) {
      out.rejected++;
      out.lastRejection = fact(rej);
    }
  }
  out.get = fact(await limiter.get('user1'));
  out.penalty = fact(await limiter.penalty('user2', 3));
  out.reward = fact(await limiter.reward('user2', 2));
  out.consume2 = fact(await limiter.consume('user2', 2));
  out.deleted = await limiter.delete('user2');
  out.getDeleted = await limiter.get('user2');
  await limiter.block('user3', 10);
  try {
    await limiter.consume('user3');
    out.blocked = false;
  } catch (rej) {
    out.blocked = rej.remainingPoints === 0 && rej.msBeforeNext > 1000;
  }
  // After the window the points come back.
  await sleep(2100);
  out.afterWindow = fact(await limiter.consume('user1'));
  client.disconnect();
  return out;
}

(async () => {
  const result = { bull: await bullWorkload(), rateLimiter: await rateLimiterWorkload() };
  process.stdout.write(JSON.stringify(result, null, 1) + '\n');
  process.exit(0);
})().catch((e) => {
  process.stderr.write(`workload failed: ${e.stack}\n`);
  process.exit(1);
});
