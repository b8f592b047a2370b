// The queue of finished submissions: each is kept in the browser until pcmd answers 201, sent
// again when the connection returns, and counted on the page. A resend of the same instanceID is
// a duplicate pcmd accepts once, so a submission is stored once however often it is sent.
import { queue } from './store.js';

let flushing = null;

function fill(template, n) {
  return template.replaceAll('{n}', String(n));
}

export async function showCount(texts) {
  const box = document.getElementById('wf-queue');
  if (!box) return;
  const items = await queue.all();
  const waiting = items.filter((i) => !i.error);
  const refused = items.filter((i) => i.error);
  box.dataset.waiting = String(waiting.length);
  box.textContent = waiting.length ? fill(texts.waiting, waiting.length) : '';
  box.hidden = waiting.length === 0;
  const errors = document.getElementById('wf-refused');
  if (errors) {
    errors.replaceChildren(
      ...refused.map((i) => {
        const li = document.createElement('li');
        li.textContent = `${i.title}: ${i.error}`;
        return li;
      }),
    );
    errors.hidden = refused.length === 0;
  }
}

async function sendOne(item) {
  const body = new FormData();
  for (const file of item.files) body.append(file.name, file, file.name);
  const headers = item.csrf ? { 'X-CSRF-Token': item.csrf } : {};
  let response;
  try {
    response = await fetch(item.url, { method: 'POST', body, headers, credentials: 'same-origin' });
  } catch {
    return 'offline';
  }
  let message = '';
  try {
    message = (await response.json()).message || '';
  } catch {
    message = '';
  }
  if (response.status === 201) {
    await queue.remove(item.id);
    return 'sent';
  }
  if (response.status >= 400 && response.status < 500 && ![408, 429].includes(response.status)) {
    // refused for good (out of scope, closed form): kept and shown, never retried
    await queue.put({ ...item, error: message || String(response.status) });
    return 'refused';
  }
  return 'later';
}

/** Send what waits; resolves to {sent, refused, waiting} counts. One flush at a time. */
export function flush(texts) {
  if (flushing) return flushing;
  flushing = (async () => {
    const counts = { sent: 0, refused: 0, waiting: 0 };
    for (const item of await queue.all()) {
      if (item.error) continue;
      const outcome = navigator.onLine === false ? 'offline' : await sendOne(item);
      if (outcome === 'sent') counts.sent += 1;
      else if (outcome === 'refused') counts.refused += 1;
      else counts.waiting += 1;
    }
    await showCount(texts);
    return counts;
  })().finally(() => {
    flushing = null;
  });
  return flushing;
}

export async function enqueue(item, texts) {
  await queue.put(item);
  await showCount(texts);
}

/** Retry when the connection returns, and every 20 s while anything waits. */
export function watch(texts) {
  window.addEventListener('online', () => flush(texts));
  setInterval(() => flush(texts), 20000);
  return flush(texts);
}
