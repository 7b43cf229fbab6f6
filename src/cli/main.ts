import { buildProgram } from './program.js';
import { reportError } from './output.js';

async function main(): Promise<void> {
  try {
    await buildProgram().parseAsync(process.argv);
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (code === 'commander.helpDisplayed' || code === 'commander.version' || code === 'commander.help') process.exitCode = 0;
    else process.exitCode = reportError(e);
  }
}

await main();
