// The list of forms: shows how many finished forms wait in this browser and sends them.
import { showCount, watch } from './outbox.js';
import { texts } from './texts.js';

const words = texts();
showCount(words).then(() => watch(words));
