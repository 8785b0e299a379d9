import { defineConfig } from 'vite';

// The dashboard is served by crew itself at "/", with hash routes, so its asset paths are
// relative and it works under any mount prefix. `npm run dev` proxies the API to a local crew.
const target = process.env.CREW_URL || 'http://127.0.0.1:3000';

export default defineConfig({
  base: './',
  build: { chunkSizeWarningLimit: 600 },
  server: {
    port: 3001,
    proxy: { '/api': target, '/socket.io': target, '/healthz': target },
  },
});
