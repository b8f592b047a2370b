// The few words ODK Web Forms writes in English only, said in Vietnamese first with the English
// alongside (pcmd's pages are Vietnamese first). The page gives the words (#wf-texts).
const SKIP = new Set(['SCRIPT', 'STYLE', 'TEXTAREA', 'INPUT']);

function rewrite(node, map) {
  const walker = document.createTreeWalker(node, NodeFilter.SHOW_TEXT);
  for (let text = walker.nextNode(); text; text = walker.nextNode()) {
    if (text.parentElement && SKIP.has(text.parentElement.tagName)) continue;
    const key = text.nodeValue.trim();
    const said = map[key];
    if (said && text.nodeValue !== said) text.nodeValue = said;
    else if (/^\d+ questions with errors\.$/.test(key) && map['{n} questions with errors.']) {
      text.nodeValue = map['{n} questions with errors.'].replaceAll('{n}', key.split(' ')[0]);
    }
  }
}

export function translate(host, words) {
  const map = words.engine || {};
  const observer = new MutationObserver(() => rewrite(host, map));
  observer.observe(host, { childList: true, subtree: true, characterData: true });
  rewrite(host, map);
}
