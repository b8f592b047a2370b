// pcmd's web-form pages: mounts ODK Web Forms (@getodk/web-forms) on #webform with what the
// page's data attributes say (form, its media, where to send), keeps the answers as a draft in
// the browser while filling, and puts each finished submission in the outbox (outbox.js), which
// sends it to pcmd now or when the connection returns. Pages without a form (the list of forms)
// only show and send what waits.
import { createApp, h } from 'vue';
import { OdkWebForm, POST_SUBMIT__NEW_INSTANCE, webFormsPlugin } from '@getodk/web-forms';
import { draftToReopen, keepDraft } from './draft.js';
import { queue } from './store.js';
import { enqueue, flush, showCount, watch } from './outbox.js';
import { texts } from './texts.js';
import { translate } from './words.js';

const XML_FILE = 'xml_submission_file';


function say(text, isError = false) {
  const box = document.getElementById('wf-message');
  if (!box) return;
  box.textContent = text;
  box.className = isError ? 'error' : 'flash';
  box.hidden = !text;
}

function metaChild(doc, name) {
  const meta = [...doc.documentElement.children].find((e) => e.localName === 'meta');
  if (!meta) return [null, null];
  return [meta, [...meta.children].find((e) => e.localName === name) || null];
}

/** The instance XML as pcmd should receive it: a new record names no version it replaces; an
 *  edit names the version the reviewer opened (not whatever the engine's edit mode put). */
function fixXml(xml, deprecatedId) {
  const doc = new DOMParser().parseFromString(xml, 'text/xml');
  const [meta, old] = metaChild(doc, 'deprecatedID');
  if (old) old.remove();
  if (deprecatedId && meta) {
    const node = doc.createElementNS(meta.namespaceURI, meta.prefix ? `${meta.prefix}:deprecatedID` : 'deprecatedID');
    node.textContent = deprecatedId;
    const [, instanceId] = metaChild(doc, 'instanceID');
    meta.insertBefore(node, instanceId ? instanceId.nextSibling : null);
  }
  const [, idNode] = metaChild(doc, 'instanceID');
  return { xml: new XMLSerializer().serializeToString(doc), instanceId: idNode ? idNode.textContent : '' };
}

/** The engine's root node, found through the mounted component tree (the component offers no
 *  change event; its header is given the root as the `form` prop). Vue keeps the rendered tree
 *  on the element it was mounted on (`_vnode`), in production builds too. */
function findFormRoot(host) {
  const stack = [host._vnode];
  const seen = new Set();
  while (stack.length) {
    const vnode = stack.pop();
    if (!vnode || typeof vnode !== 'object' || seen.has(vnode)) continue;
    seen.add(vnode);
    const form = vnode.component && vnode.component.props && vnode.component.props.form;
    if (form && typeof form.prepareInstancePayload === 'function') return form;
    if (vnode.component) stack.push(vnode.component.subTree);
    if (Array.isArray(vnode.children)) stack.push(...vnode.children);
    if (Array.isArray(vnode.dynamicChildren)) stack.push(...vnode.dynamicChildren);
  }
  return null;
}

async function payloadFiles(payload) {
  const data = payload.data[0];
  const files = [];
  for (const [name, value] of data.entries()) {
    if (name !== XML_FILE && value instanceof File) files.push(value);
  }
  return { xml: await data.get(XML_FILE).text(), files };
}

/** A draft as the engine's submission data: the instance file and its attachments. */
function draftData(draft) {
  const data = new FormData();
  data.append(XML_FILE, new File([draft.xml], XML_FILE, { type: 'text/xml' }));
  for (const file of draft.files) data.append(file.name, file);
  return [data];
}

async function editInstanceFrom(cfg, draft) {
  if (draft) {
    // restored, not edited: see restoreDrafts in vite.config.js
    const byName = new Map(draft.files.map((f) => [f.name, f]));
    return {
      resolveInstance: async () => draft.xml,
      attachmentFileNames: [...byName.keys()],
      resolveAttachment: async (name) => new Response(byName.get(name)),
      restoreData: async () => draftData(draft),
    };
  }
  if (cfg.mode !== 'edit') return null;
  const urls = new Map(JSON.parse(cfg.attachments || '[]').map((a) => [a.name, a.url]));
  return {
    resolveInstance: async () => (await fetch(cfg.instanceUrl, { credentials: 'same-origin' })).text(),
    attachmentFileNames: [...urls.keys()],
    resolveAttachment: (name) => fetch(urls.get(name), { credentials: 'same-origin' }),
  };
}

async function mountForm(host, words) {
  const cfg = host.dataset;
  const formXml = await (await fetch(cfg.formUrl, { credentials: 'same-origin' })).text();
  const draft = await draftToReopen(cfg.draftKey);
  const editInstance = await editInstanceFrom(cfg, draft);
  if (draft) say(words.restored);

  let app = null;
  const draftKept = keepDraft(host, cfg.draftKey, formXml, () => app && findFormRoot(host), payloadFiles);

  const onSubmit = async (payload, callback) => {
    const { xml, files } = await payloadFiles(payload);
    const fixed = fixXml(xml, cfg.mode === 'edit' ? cfg.deprecatedId : '');
    const item = {
      id: fixed.instanceId,
      url: cfg.submitUrl,
      csrf: cfg.csrf || '',
      title: cfg.title,
      files: [new File([fixed.xml], XML_FILE, { type: 'text/xml' }), ...files],
      queuedAt: Date.now(),
    };
    await enqueue(item, words);
    await draftKept.forget(); // queued first, then the draft gone: the answers are always kept
    await flush(words);
    const left = (await queue.all()).find((i) => i.id === item.id);
    if (!left) {
      say(words.sent);
      if (cfg.mode === 'edit' && cfg.doneUrl) {
        window.location.assign(cfg.doneUrl);
        return;
      }
    } else if (left.error) {
      say(`${words.failed} ${left.error}`, true);
    } else {
      say(words.queued);
    }
    host.dataset.submitted = String((Number(host.dataset.submitted) || 0) + 1);
    callback({ next: POST_SUBMIT__NEW_INSTANCE });
  };

  app = createApp({
    render: () =>
      h(OdkWebForm, {
        formXml,
        fetchFormAttachment: (url) => {
          const name = decodeURIComponent(String(url).split('/').pop());
          return fetch(cfg.mediaUrl + encodeURIComponent(name), { credentials: 'same-origin' });
        },
        missingResourceBehavior: 'BLANK',
        editInstance,
        onSubmit,
      }),
  });
  app.use(webFormsPlugin);
  app.mount(host);
  translate(host, words);
}

async function main() {
  const words = texts();
  await showCount(words);
  watch(words);
  const host = document.getElementById('webform');
  if (host) {
    try {
      await mountForm(host, words);
    } catch (error) {
      console.error(error);
      say(words.loadFailed, true);
    }
  }
}

main();
