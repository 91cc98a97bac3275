import { Command, CommanderError } from 'commander';
import { registerAuditCommands } from './audit.ts';
import { registerDemoCommand } from './demo.ts';
import { registerKeysCommands } from './keys.ts';
import { registerMigrateCommand } from './migrate.ts';
import { registerOrgCommands } from './org.ts';
import { registerServeCommand } from './serve.ts';
import { registerPortalCommands } from './portal.ts';
import { registerSyncCommands } from './sync.ts';
import { registerTokenCommands } from './token.ts';
import { registerUserCommands } from './user.ts';
import { reportError } from './runtime.ts';
// The practice roles (staff, client) exist once the portal's permissions are loaded.
import '../products/client-portal/permissions.ts';

/**
 * The `custos` command. Settings come from the environment (see README); `--data` picks the
 * folder of the embedded database and master key. Exit codes: 0 done, 1 failed (or, for
 * `audit verify`, tampering found), 2 bad settings, options or input.
 */
export function buildProgram(): Command {
  const program = new Command('custos')
    .description('Custos: one multi-tenant platform, five products, one security core')
    .showHelpAfterError('(run with --help for usage)')
    // Thrown instead of exiting, so usage errors get exit code 2 like other bad input.
    .exitOverride();
  registerServeCommand(program);
  registerMigrateCommand(program);
  registerOrgCommands(program);
  registerUserCommands(program);
  registerTokenCommands(program);
  registerAuditCommands(program);
  registerKeysCommands(program);
  registerDemoCommand(program);
  registerSyncCommands(program);
  registerPortalCommands(program);
  return program;
}

export async function main(argv: string[]): Promise<number> {
  try {
    await buildProgram().parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (error) {
    // Commander has already printed its own message (unknown option, missing required option…).
    if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : 2;
    return reportError(error);
  }
}

process.exitCode = await main(process.argv);
