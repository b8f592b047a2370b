// The queue of finished submissions: each is kept in the browser until pcmd answers 201, sent
// again when the connection returns, and counted on the page. A resend of the same instanceID is
// a duplicate pcmd accepts once, so a submission is stored once however often it is sent.
//
// A send refused because the sender is no longer signed in (an officer's session ended, a
// volunteer's link revoked: pcmd answers 401/403 with `signin`) is not a refusal of the form:
// the item stays queued and counted, marked, and is not sent again until a page offers what it
// lacks — an officer's page signed in again (its CSRF token), or a volunteer's new link (the
// page's own submission address). Meanwhile the page says what to do, once, plainly.
import { queue } from './store.js';

let flushing = null;

function fill(template, n) {
  return template.replaceAll('{n}', String(n));
}

/** What this page offers to send with: the signed-in session's CSRF token, or a volunteer
 *  link's submission address (pcmd gives them on #wf-texts). */
function offered() {
  const data = document.getElementById('wf-texts')?.dataset || {};
  return { csrf: data.csrf || '', keyUrl: data.keyUrl || '' };
}

/** The item as it is to be sent now, or null while what it lacks is not on this page. */
function ready(item) {
  const page = offered();
  if (item.csrf) {
    // an officer's: the session's cookie is the sign-in; the token only proves the page
    const csrf = page.csrf || item.csrf;
    return item.signin && csrf === item.csrf ? null : { ...item, csrf };
  }
  if (!item.signin) return item;
  return page.keyUrl && page.keyUrl !== item.url ? { ...item, url: page.keyUrl } : null;
}

function showSignIn(texts, items) {
  const box = document.getElementById('wf-signin');
  if (!box) return;
  const kinds = new Set(items.filter((i) => !i.error && i.signin).map((i) => i.signin));
  const said = [...kinds].map((kind) => (kind === 'link' ? texts.newLink : texts.signIn));
  box.textContent = said.filter(Boolean).join(' ');
  box.hidden = said.length === 0;
}

export async function showCount(texts) {
  const box = document.getElementById('wf-queue');
  if (!box) return;
  const items = await queue.all();
  showSignIn(texts, items);
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
  let signin = '';
  try {
    const body = await response.json();
    message = body.message || '';
    signin = body.signin || '';
  } catch {
    message = '';
  }
  if (response.status === 201) {
    await queue.remove(item.id);
    return 'sent';
  }
  if ((response.status === 401 || response.status === 403) && signin) {
    // not signed in any more: kept, counted, said; not sent again until a page can
    await queue.put({ ...item, signin });
    return 'signin';
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
    for (const stored of await queue.all()) {
      if (stored.error) continue;
      const item = ready(stored);
      if (!item) {
        counts.waiting += 1; // waits for a sign-in or a new link, silently
        continue;
      }
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
