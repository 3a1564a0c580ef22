// Vite build of the dashboard. `npm run build` writes dist/, which Warden embeds at compile
// time. The API docs page (api-docs/) is copied to dist/api/docs/ together with the
// swagger-ui-dist assets, so it is served by Warden at /api/docs/ with no inline script.
import { copyFileSync, mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Plugin } from 'vite';
import { defineConfig } from 'vitest/config';

const root = dirname(fileURLToPath(import.meta.url));

function apiDocs(): Plugin {
  return {
    name: 'warden-api-docs',
    apply: 'build',
    closeBundle() {
      const out = join(root, 'dist', 'api', 'docs');
      mkdirSync(out, { recursive: true });
      const swagger = join(root, 'node_modules', 'swagger-ui-dist');
      for (const f of ['swagger-ui-bundle.js', 'swagger-ui.css', 'favicon-32x32.png']) {
        copyFileSync(join(swagger, f), join(out, f));
      }
      for (const f of ['index.html', 'init.js', 'docs.css']) {
        copyFileSync(join(root, 'api-docs', f), join(out, f));
      }
    },
  };
}

export default defineConfig({
  plugins: [apiDocs()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    // The index must not get an inline module-preload polyfill (CSP: no inline script).
    modulePreload: { polyfill: false },
    sourcemap: false,
    target: 'es2022',
  },
  server: {
    // `npm run dev`: the dashboard on :5173, the API from a running Warden.
    proxy: {
      '/api': { target: process.env.WARDEN_API ?? 'http://127.0.0.1:9000', changeOrigin: false },
    },
  },
  test: {
    environment: 'happy-dom',
    include: ['src/**/*.test.ts'],
    root: resolve(root),
  },
});
