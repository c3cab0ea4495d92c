// `stopword` ships no type declarations; Curio reads only its word lists.
declare module 'stopword' {
  export const eng: string[];
  export const zho: string[];
}
