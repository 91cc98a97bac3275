import { fileURLToPath } from 'node:url';
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

// Resolved from this file, so the build works whatever directory it is started from
// (`npx vite build --config web/vite.config.ts` at the project root, or Vite's build() in tests).
const webRoot = fileURLToPath(new URL('.', import.meta.url));

export default defineConfig({
  root: webRoot,
  plugins: [react()],
  build: {
    outDir: fileURLToPath(new URL('./dist', import.meta.url)),
    emptyOutDir: true,
    // The server's CSP is script-src 'self': never inline assets as data: URLs or scripts.
    assetsInlineLimit: 0,
    sourcemap: false,
  },
  server: {
    // In `vite dev`, the API is the real server on its default port.
    proxy: { '/api': 'http://127.0.0.1:3000' },
  },
});
