import { defineConfig, mergeConfig } from 'vitest/config';
import viteConfig from './vite.config';

// Unit tests of the staff app's logic: TypeScript through the app's own Vite transform, a DOM
// from happy-dom (no browser, no server). The browser suite (tests/browser) covers the rest.
export default mergeConfig(viteConfig, defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    environment: 'happy-dom',
  },
}));
