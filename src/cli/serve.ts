import type { Command } from 'commander';
import type * as Http from '../http/server.ts';
import { loadDemoData, type DemoLoadResult } from '../demo/demo-data.ts';
import { listAllOrganisations } from '../platform/organisations/organisations.ts';
import type { Platform } from '../platform/platform.ts';
import { printSignInDetails } from './demo.ts';
import { openPlatform, print, reportError, withDataOption, type CommonOptions } from './runtime.ts';

export function registerServeCommand(program: Command): void {
  withDataOption(
    program
      .command('serve')
      .description('run the server (API, web app and background jobs) until SIGINT or SIGTERM')
      .option('--demo', 'on an empty database, load demo organisations first and print their sign-in details'),
  ).action(async (options: CommonOptions & { demo?: boolean }) => {
    const platform = await openPlatform(options, { runWorkers: true });
    let server: Awaited<ReturnType<typeof Http.startServer>>;
    let demo: DemoLoadResult | undefined;
    try {
      if (options.demo) demo = await loadDemoIfEmpty(platform);
      // Loaded here, not at the top: one-shot commands should not pay for the HTTP stack.
      const { startServer } = await import('../http/server.ts');
      server = await startServer(platform);
    } catch (error) {
      await platform.close();
      throw error;
    }
    print(`Custos is running at ${server.url}`);
    if (demo) printSignInDetails(demo, server.url);
    else if (options.demo) print('The database already holds organisations, so no demo data was loaded.');
    print('Stop it with Ctrl+C.');

    let stopping = false;
    const stop = async (signal: NodeJS.Signals) => {
      // A second signal means the operator will not wait for a clean stop.
      if (stopping) process.exit(130);
      stopping = true;
      process.stderr.write(`${signal} received: stopping Custos…\n`);
      let code = 0;
      try {
        // Server first, so no request starts on a platform that is closing.
        await server.close();
        await platform.close();
      } catch (error) {
        code = reportError(error);
      }
      process.exit(code);
    };
    process.on('SIGINT', (signal) => void stop(signal));
    process.on('SIGTERM', (signal) => void stop(signal));
  });
}

async function loadDemoIfEmpty(platform: Platform): Promise<DemoLoadResult | undefined> {
  const organisations = await listAllOrganisations(platform);
  return organisations.length === 0 ? loadDemoData(platform) : undefined;
}
