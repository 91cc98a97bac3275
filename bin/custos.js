#!/usr/bin/env node
// Custos runs its TypeScript sources directly; tsx compiles them as they load, so there is no
// build step between a checkout and a working command.
import { register } from 'tsx/esm/api';

register();
await import('../src/cli/main.ts');
