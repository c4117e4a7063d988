import { defineConfig } from 'vite';

// The same build is served at /admin/ (platform host or a tenant's own host)
// and at /t/{slug}/admin/, so every asset URL must be relative.
export default defineConfig({
  base: './',
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2020',
    // No inline polyfill script: keeps a strict Content-Security-Policy possible.
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
  },
  server: {
    // `npm run dev` against a locally running `kapu serve`.
    proxy: {
      '/api': 'http://127.0.0.1:8080',
      '^/t/[^/]+/api': 'http://127.0.0.1:8080',
    },
  },
});
