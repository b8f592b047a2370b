// Builds pcmd's web-form page script (src/main.js, which mounts ODK Web Forms) into
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
      entry: fileURLToPath(new URL('src/main.js', import.meta.url)),
      formats: ['es'],
      fileName: () => 'pcmd-webforms.js',
    },
    rollupOptions: {
      output: { chunkFileNames: '[name]-[hash].js', assetFileNames: '[name]-[hash][extname]' },
    },
  },
});
