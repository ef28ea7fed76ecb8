// Vite asset imports used by the worker tests to load the committed media fixtures as data: URLs.
declare module '*.mp4?inline' {
  const dataUrl: string;
  export default dataUrl;
}
