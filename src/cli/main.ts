import { buildProgram } from './program.js';

// output.ts (reportError) loads the store's error helpers: only when there is an error to report.
async function main(): Promise<void> {
  const program = buildProgram();
  try {
    await program.parseAsync(process.argv);
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (code === 'commander.helpDisplayed' || code === 'commander.version' || code === 'commander.help') process.exitCode = 0;
    // --debug counts wherever it was typed, even when parsing stopped before reaching it.
    else process.exitCode = (await import('./output.js')).reportError(e, { debug: program.opts<{ debug?: boolean }>().debug === true || process.argv.includes('--debug') });
  }
}

await main();
