/**
 * The error catalogue: every template names a documented code, fills its placeholders, and is raised
 * somewhere; no source file builds a FleetError message inline.
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { MESSAGES, fleetError, render, type MessageSpec } from '../../../shared/runtime/catalogue/index.ts';
import { ERROR_CODES, isFleetError } from '../../../shared/runtime/errors.ts';

const ROOT = path.resolve(import.meta.dirname, '../../..');
const ROOMS = ['api', 'cli', 'coordinator', 'worker', 'shared', 'bench', 'index.ts'];

function sources(at: string): string[] {
  if (!statSync(at).isDirectory()) return at.endsWith('.ts') ? [at] : [];
  return readdirSync(at).flatMap((name) => sources(path.join(at, name)));
}
const files = ROOMS.flatMap((r) => sources(path.join(ROOT, r)));
const catalogueDir = path.join(ROOT, 'shared/runtime/catalogue');

describe('error catalogue', () => {
  it('ties every template to a documented code', () => {
    for (const [id, spec] of Object.entries(MESSAGES)) expect(Object.keys(ERROR_CODES), id).toContain(spec.code);
  });

  it('fills placeholders: {x} as text, {x:q} as a described value', () => {
    expect(render('Expected {n} rows. Received: {got:q}', { n: 3, got: 'abc' })).toBe(
      'Expected 3 rows. Received: "abc"',
    );
    const err = fleetError('CKPT_WEIGHT_COUNT', { count: 4, path: '/tmp/c', received: 3 });
    expect(isFleetError(err, 'FLEET_ERR_WEIGHTS_MISMATCH')).toBe(true);
    expect(err.message).toBe('Expected 4 weights in checkpoint /tmp/c. Received: 3');
    expect(err.details['messageId']).toBe('CKPT_WEIGHT_COUNT');
    expect(render(['Expected {a} ', 'and {b:q}.'], { a: 1, b: [2] })).toBe('Expected 1 and [2].');
    // @ts-expect-error: a missing placeholder value is a type error
    fleetError('CKPT_WEIGHT_COUNT', { count: 4, path: '/tmp/c' });
  });

  it('leaves no placeholder unfilled in any template given every value', () => {
    for (const [id, spec] of Object.entries<MessageSpec>(MESSAGES)) {
      const text0 = typeof spec.template === 'string' ? spec.template : spec.template.join('');
      const names = [...text0.matchAll(/\{(\w+)(:q)?\}/g)].map((m) => m[1] as string);
      const text = render(spec.template, Object.fromEntries(names.map((n) => [n, 'v'])));
      expect(text, id).not.toMatch(/\{\w+(:q)?\}/);
    }
  });

  it('raises every template somewhere in the sources', () => {
    const text = files
      .filter((f) => !f.startsWith(catalogueDir))
      .map((f) => readFileSync(f, 'utf8'))
      .join('\n');
    for (const id of Object.keys(MESSAGES)) expect(text, `${id} is never raised`).toContain(`'${id}'`);
  });
});
