// What TypeScript sees of a single-file component (the Vue plugin compiles it).
declare module '*.vue' {
  import type { DefineComponent } from 'vue'
  const component: DefineComponent
  export default component
}
