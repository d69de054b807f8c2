/**
 * Keras checkpoint path templates: `ckpt-{epoch:02d}-{val_loss:.2f}.h5`. Supports the Python format
 * specs Keras users write: `{name}`, `{name:0Nd}`, `{name:.Nf}`, `{name:W.Nf}`, `{name:.Ne}`.
 */
import { FleetError } from '../../shared/runtime/errors.ts';

/** Fills a template from `values`; `epoch` is 1-based as in Keras file names. */
export function formatPath(template: string, values: Readonly<Record<string, number>>): string {
  return template.replace(/\{([A-Za-z_][A-Za-z0-9_]*)(?::([^}]*))?\}/g, (_m, name: string, spec: string | undefined) => {
    const v = values[name];
    if (v === undefined) throw new FleetError('FLEET_ERR_CONFIG', `Expected "${name}" in the logs to fill the checkpoint path ${template}. Received: keys ${Object.keys(values).join(', ')}`);
    if (!spec) return String(v);
    const m = /^(0?)(\d*)(?:\.(\d+))?([dfeg])$/.exec(spec);
    if (!m) throw new FleetError('FLEET_ERR_CONFIG', `Expected a format spec like 02d, .2f or .3e in ${template}. Received: ${spec}`);
    const [, zero, width, precision, type] = m;
    let text = type === 'd' ? String(Math.trunc(v)) : type === 'e' ? v.toExponential(Number(precision ?? 6)).replace(/e([+-])(\d)$/, 'e$10$2') : v.toFixed(Number(precision ?? 6));
    if (width) text = text.padStart(Number(width), zero ? '0' : ' ');
    return text;
  });
}
