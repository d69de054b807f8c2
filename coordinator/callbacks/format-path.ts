/**
 * Keras checkpoint path templates: `ckpt-{epoch:02d}-{val_loss:.2f}.h5`. Supports the Python format
 * specs Keras users write: `{name}`, `{name:0Nd}`, `{name:.Nf}`, `{name:W.Nf}`, `{name:.Ne}`.
 */
import { fleetError } from '../../shared/runtime/catalogue/index.ts';

/** Fills a template from `values`; `epoch` is 1-based as in Keras file names. */
export function formatPath(template: string, values: Readonly<Record<string, number>>): string {
  const placeholder = /\{([A-Za-z_][A-Za-z0-9_]*)(?::([^}]*))?\}/g;
  return template.replace(placeholder, (_m, name: string, spec: string | undefined) => {
    const v = values[name];
    if (v === undefined) {
      throw fleetError('CKPT_PATH_NO_VALUE', { name, template, keys: Object.keys(values).join(', ') });
    }
    if (!spec) return String(v);
    const m = /^(0?)(\d*)(?:\.(\d+))?([dfeg])$/.exec(spec);
    if (!m) throw fleetError('CKPT_PATH_FORMAT_SPEC', { template, spec });
    const [, zero, width, precision, type] = m;
    let text =
      type === 'd'
        ? String(Math.trunc(v))
        : type === 'e'
          ? v.toExponential(Number(precision ?? 6)).replace(/e([+-])(\d)$/, 'e$10$2')
          : v.toFixed(Number(precision ?? 6));
    if (width) text = text.padStart(Number(width), zero ? '0' : ' ');
    return text;
  });
}
