#!/usr/bin/env node
// The installed `tensorfleet` binary: registers tsx so job modules and our sources load as TypeScript.
import { register } from 'tsx/esm/api';

register();
await import('../cli/entry.ts');
