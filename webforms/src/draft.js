// The draft of the form being filled: the engine's instance, kept in the browser (store.js) as
// soon as an answer changes, so that a reload or a lost connection loses nothing.
//
// When to save is the engine's to say, not the browser's events': ODK Web Forms commits some
// answers (numbers, radios) in tasks of its own after the events that gave them, so a save
// timed from the events may catch the form before the answer is in it (the cause of issue 14's
// empty reopened drafts: the page was reloaded before the answer reached the draft). The
// engine's state is Vue-reactive (the component gives it Vue's `reactive`), so watching the
// instance's XML (`root.instanceState.instanceXML`) sees every committed answer. Events still
// count: they say the person has touched the form (an untouched form's own calculations never
// make a draft) and they mark the draft unsaved until a save has caught up with them.
//
// The host element says where the draft is, for tests and for anyone looking: data-draft is
// "unsaved" while a change is not yet stored, "saved" once every change seen is.
//
// IndexedDB writes are asynchronous, so a page reloaded or closed in the milliseconds after an
// answer can go before its write ends. As the page goes (pagehide), a draft not yet stored is
// also written at once, synchronously, to localStorage: the engine's instance as it stands,
// without files (those of the last stored draft go with it). The newer of the two is reopened.
import { watch } from 'vue';
import { drafts } from './store.js';

const BACKUP = 'pcmd-draft-backup:';

function readBackup(key) {
  try {
    const found = JSON.parse(localStorage.getItem(BACKUP + key));
    return found && typeof found.xml === 'string' ? found : null;
  } catch {
    return null;
  }
}

function dropBackup(key) {
  try {
    localStorage.removeItem(BACKUP + key);
  } catch {
    // storage refused (private mode): nothing was kept there
  }
}

/** The draft to reopen under `key`: the stored one, or the copy written as the page went if
 *  that is newer (with the stored draft's files). */
export async function draftToReopen(key) {
  const stored = (await drafts.get(key)) || null;
  const backup = readBackup(key);
  if (backup && (!stored || backup.savedAt > stored.savedAt)) {
    return { xml: backup.xml, files: stored ? stored.files : [], savedAt: backup.savedAt };
  }
  return stored;
}

const EVENTS = ['input', 'change', 'click', 'keyup', 'focusout'];
const JR = 'http://openrosa.org/javarosa';

/** The names of the form's "end" timestamps (jr:preloadParams="end"): each payload, a draft's
 *  too, sets them to the time it is made, so they are no answer and no reason to save again. */
function endNames(formXml) {
  const doc = new DOMParser().parseFromString(formXml, 'text/xml');
  return [...doc.getElementsByTagNameNS('*', 'bind')]
    .filter((b) => b.getAttributeNS(JR, 'preloadParams') === 'end')
    .map((b) => String(b.getAttribute('nodeset')).split('/').pop())
    .filter((name) => /^[\w.-]+$/.test(name));
}

/**
 * Keep the draft of the form (`formXml`) mounted on `host` under `key`. `findRoot()` gives the engine's
 * current root node (a new one after each sent form); `payloadFiles(payload)` gives the
 * instance XML and files of a payload. Returns `forget()`, which ends the current draft (the
 * form was sent): nothing more is saved until the next form is touched.
 */
export function keepDraft(host, key, formXml, findRoot, payloadFiles) {
  const ends = endNames(formXml).map((n) => new RegExp(`<${n}(/>|>[^<]*</${n}>)`, 'g'));
  const withoutEnd = (xml) => ends.reduce((left, end) => left.replace(end, ''), xml);
  let touched = false;
  let changes = 0; // changes seen (events and engine commits)
  let stored = 0; // the changes the stored draft holds
  let saving = null; // the save under way
  let watched = null;
  let unwatch = null;

  const state = (value) => {
    host.dataset.draft = value;
  };

  const catchUp = async () => {
    while (touched && stored !== changes) {
      const root = findRoot();
      if (!root) return;
      const seen = changes;
      const payload = await root.prepareInstancePayload({ payloadType: 'monolithic' });
      const { xml, files } = await payloadFiles(payload);
      if (!touched) return; // sent meanwhile: its draft is gone, not to be written again
      await drafts.put(key, { xml, files, savedAt: Date.now() });
      stored = seen;
    }
    if (touched) {
      dropBackup(key); // the stored draft holds every change: a copy would only be older
      state('saved');
    }
  };

  const save = () => {
    if (saving) return saving;
    let failed = false;
    saving = catchUp()
      .catch((error) => {
        failed = true; // kept unsaved: the next change tries again
        console.error(error);
      })
      .finally(() => {
        saving = null;
        if (!failed && touched && stored !== changes) save();
      });
    return saving;
  };

  const changed = () => {
    changes += 1;
    state('unsaved');
    save();
  };

  // The engine's root changes when a sent form makes way for a new one: follow it.
  const follow = () => {
    const root = findRoot();
    if (!root || root === watched) return;
    if (unwatch) unwatch();
    watched = root;
    unwatch = watch(
      () => withoutEnd(root.instanceState.instanceXML),
      () => touched && changed(),
    );
  };

  const touch = () => {
    touched = true;
    follow();
    changed();
  };
  // The page goes: what the stored draft does not hold yet is written now, synchronously.
  const keepNow = () => {
    const root = touched && stored !== changes ? findRoot() : null;
    if (!root) return;
    try {
      const xml = root.instanceState.instanceXML;
      localStorage.setItem(BACKUP + key, JSON.stringify({ xml, savedAt: Date.now() }));
    } catch (error) {
      console.error(error); // storage full or refused: the stored draft is what is left
    }
  };

  for (const type of EVENTS) host.addEventListener(type, touch, true);
  document.addEventListener('visibilitychange', () => document.hidden && save());
  window.addEventListener('pagehide', keepNow);

  return {
    forget: async () => {
      touched = false;
      stored = changes;
      delete host.dataset.draft;
      await saving; // a save under way ends before the draft is removed
      dropBackup(key);
      await drafts.remove(key);
    },
  };
}
