// What the browser keeps between visits, in IndexedDB: drafts (the answers of a form being
// filled, with its files) and the queue of submissions not yet received by pcmd.
const DB_NAME = 'pcmd-webforms';
const DRAFTS = 'drafts';
const QUEUE = 'queue';

let opened = null;

function open() {
  if (opened) return opened;
  opened = new Promise((resolve, reject) => {
    const request = indexedDB.open(DB_NAME, 1);
    request.onupgradeneeded = () => {
      request.result.createObjectStore(DRAFTS);
      request.result.createObjectStore(QUEUE);
    };
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
  return opened;
}

async function run(storeName, mode, work) {
  const db = await open();
  return new Promise((resolve, reject) => {
    const tx = db.transaction(storeName, mode);
    const request = work(tx.objectStore(storeName));
    tx.oncomplete = () => resolve(request ? request.result : undefined);
    tx.onerror = () => reject(tx.error);
    tx.onabort = () => reject(tx.error);
  });
}

export const drafts = {
  get: (key) => run(DRAFTS, 'readonly', (s) => s.get(key)),
  put: (key, value) => run(DRAFTS, 'readwrite', (s) => s.put(value, key)),
  remove: (key) => run(DRAFTS, 'readwrite', (s) => s.delete(key)),
};

export const queue = {
  all: () => run(QUEUE, 'readonly', (s) => s.getAll()),
  put: (item) => run(QUEUE, 'readwrite', (s) => s.put(item, item.id)),
  remove: (id) => run(QUEUE, 'readwrite', (s) => s.delete(id)),
};
