// Builds pcmd's web-form page scripts (src/main.js mounts ODK Web Forms; src/outbox-page.js
// sends what waits, for the list of forms) into
// ../src/pcmd/server/static/webforms/, served by pcmd itself: nothing is fetched from a CDN.
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

// The map of a geopoint question draws OpenStreetMap's tiles from tile.openstreetmap.org: a page
// of pcmd asks no other server for anything, so the tiles are a blank image held in the page
// (the map has no background; the location is still taken and shown).
const OSM_TILES = 'https://tile.openstreetmap.org/{z}/{x}/{y}.png';
const BLANK_TILE =
  'data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mP8/x8AAwMCAO+ip1sAAAAASUVORK5CYII=';

const noOutsideTiles = {
  name: 'pcmd-no-outside-tiles',
  transform(code) {
    return code.includes(OSM_TILES) ? code.replaceAll(OSM_TILES, BLANK_TILE) : null;
  },
  generateBundle(_options, bundle) {
    for (const chunk of Object.values(bundle)) {
      if (chunk.type === 'chunk' && chunk.code.includes('tile.openstreetmap.org/')) {
        this.error(`${chunk.fileName} still loads map tiles from another server`);
      }
    }
  },
};

// A draft kept in the browser is reopened in the engine's "restore" mode, as ODK Web Forms' own
// drafts are: the record stays new (no deprecatedID, the load-time preloads not run again, a
// location question offering to take the location). 0.22's component reaches only the engine's
// edit mode (`editInstance`), which is for editing a stored submission and shows a location as a
// map to place it on; so an `editInstance` that brings `restoreData` (the draft as the
// engine's submission data) is restored instead. The build fails if the component no longer
// has the line this replaces (a new version: check whether it offers restoring itself).
const EDIT_LINE = 'const rA = resolvableFormInstanceInput(tA.editInstance), oA = await AA.editInstance(rA, nA);';
const RESTORE_LINE =
  'const rA = resolvableFormInstanceInput(tA.editInstance), oA = tA.editInstance.restoreData ' +
  '? await AA.restoreInstance({ data: await tA.editInstance.restoreData() }, nA) ' +
  ': await AA.editInstance(rA, nA);';

const restoreDrafts = {
  name: 'pcmd-restore-drafts',
  transform(code, id) {
    if (!id.includes('@getodk/web-forms') || !code.includes('loadFormState = async')) return null;
    if (!code.includes(EDIT_LINE)) {
      this.error(`${id}: the line that opens editInstance changed; see restoreDrafts`);
    }
    return code.replace(EDIT_LINE, RESTORE_LINE);
  },
};

export default defineConfig({
  base: '/static/webforms/',
  plugins: [noOutsideTiles, restoreDrafts],
  publicDir: false,
  logLevel: 'warn',
  define: { 'process.env.NODE_ENV': '"production"' },
  build: {
    outDir: fileURLToPath(new URL('../src/pcmd/server/static/webforms', import.meta.url)),
    emptyOutDir: true,
    chunkSizeWarningLimit: 8000,
    assetsInlineLimit: 0,
    lib: {
      // the form page; the list of forms only shows and sends what waits (no form engine)
      entry: {
        'pcmd-webforms': fileURLToPath(new URL('src/main.js', import.meta.url)),
        'pcmd-outbox': fileURLToPath(new URL('src/outbox-page.js', import.meta.url)),
      },
      formats: ['es'],
      fileName: (_format, name) => `${name}.js`,
    },
    rollupOptions: {
      // emscripten's glue in the engine names eval on paths pcmd never takes (the page's CSP
      // forbids JavaScript eval, and the browser tests run under it): not worth a warning
      onwarn(warning, warn) {
        if (warning.code === 'EVAL' && String(warning.id).includes('@getodk/web-forms')) return;
        warn(warning);
      },
      output: { chunkFileNames: '[name]-[hash].js', assetFileNames: '[name]-[hash][extname]' },
    },
  },
});
