import { defineConfig } from "vite";
import { svelte } from "@sveltejs/vite-plugin-svelte";

// The desktop app embeds ui/dist (see tauri.conf.json); relative asset paths keep it
// working under Tauri's custom protocol.
export default defineConfig({
  plugins: [svelte()],
  base: "./",
  clearScreen: false,
  server: { port: 5174, strictPort: true },
  build: { outDir: "dist", emptyOutDir: true, target: "es2022" },
});
