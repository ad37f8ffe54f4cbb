// Builds the renderer: root renderer/, output out/renderer at the repository root, relative asset URLs (base
// './') so the same files load from the browser-mode server and from Electron. Nothing is fetched from a CDN.
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

const here = import.meta.dirname;

export default defineConfig({
  root: here,
  base: './',
  plugins: [react()],
  publicDir: false,
  build: {
    outDir: `${here}/../out/renderer`,
    emptyOutDir: true,
    sourcemap: false,
    target: 'es2022',
    // The polyfill would be the only code in the page that is not ours; Chromium and Electron need none.
    modulePreload: { polyfill: false },
    chunkSizeWarningLimit: 1500,
  },
  server: { strictPort: true },
});
