// The page's words (Vietnamese first, English alongside), given by pcmd in #wf-texts's
// data-texts (a data attribute: the pages carry no inline script, not even a JSON block).
export function texts() {
  const box = document.getElementById('wf-texts');
  return box ? JSON.parse(box.dataset.texts) : { waiting: '{n}' };
}
