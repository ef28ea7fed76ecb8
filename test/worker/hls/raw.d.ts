// Vite's `?raw` suffix imports a file's text; the worker pool runs test modules through Vite.
declare module '*.m3u8?raw' {
  const text: string;
  export default text;
}
