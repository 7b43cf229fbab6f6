import { buildProgram } from './program.js';
import { reportError } from './output.js';

async function main(): Promise<void> {
  const program = buildProgram();
  try {
    await program.parseAsync(process.argv);
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (code === 'commander.helpDisplayed' || code === 'commander.version' || code === 'commander.help') process.exitCode = 0;
    // --debug counts wherever it was typed, even when parsing stopped before reaching it.
    else process.exitCode = reportError(e, { debug: program.opts<{ debug?: boolean }>().debug === true || process.argv.includes('--debug') });
  }
}

await main();
