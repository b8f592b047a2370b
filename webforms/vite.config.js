// Builds pcmd's web-form page scripts (src/main.js mounts ODK Web Forms; src/outbox-page.js
// sends what waits, for the list of forms) into
// ../src/pcmd/server/static/webforms/, served by pcmd itself: nothing is fetched from a CDN.
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

export default defineConfig({
  base: '/static/webforms/',
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
      output: { chunkFileNames: '[name]-[hash].js', assetFileNames: '[name]-[hash][extname]' },
    },
  },
});
