// The page's words (Vietnamese first, English alongside), given by pcmd in #wf-texts.
export function texts() {
  const box = document.getElementById('wf-texts');
  return box ? JSON.parse(box.textContent) : { waiting: '{n}' };
}
