export { createProgram, main } from './program';
