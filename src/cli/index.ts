export { buildProgram } from './program.js';
export { reportError, formatTable } from './output.js';
