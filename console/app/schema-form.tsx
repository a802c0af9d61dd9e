/**
 * A form drawn from a zod object schema (the policy schemas in `protocol/api/`), so a
 * field added there appears here without a console change: text, number, yes/no and
 * choice inputs for plain fields, JSON for lists and objects. Values are checked with the
 * same schema the tracker validates with, and each message is shown beside its field.
 */
import type { ComponentChildren } from 'preact'
import type { z } from 'zod'

type Kind = 'text' | 'number' | 'bool' | 'choice' | 'json'

export interface FieldSpec {
  key: string
  label: string
  kind: Kind
  optional: boolean
  nullable: boolean
  choices: string[]
}

/** Form values: text as typed, booleans as booleans. */
export type FormValues = Record<string, string | boolean>
export type FieldErrors = Record<string, string>

interface Def { type: string, innerType?: z.ZodType, entries?: Record<string, string>, values?: unknown[], options?: z.ZodType[] }
const defOf = (s: z.ZodType): Def => (s as unknown as { def: Def }).def

function label (key: string): string {
  const words = key.replace(/([a-z0-9])([A-Z])/g, '$1 $2').toLowerCase()
  return words.charAt(0).toUpperCase() + words.slice(1)
    .replace(/\bp2p\b/, 'peer-to-peer').replace(/\bvm\b/g, 'VM').replace(/\bmb\b/, '(MiB)').replace(/\bbytes per sec\b/, '(bytes/s)').replace(/\bseconds\b/, '(s)')
}

function kindOf (schema: z.ZodType): { kind: Kind, choices: string[] } {
  const d = defOf(schema)
  switch (d.type) {
    case 'string': return { kind: 'text', choices: [] }
    case 'number': return { kind: 'number', choices: [] }
    case 'boolean': return { kind: 'bool', choices: [] }
    case 'enum': return { kind: 'choice', choices: Object.values(d.entries ?? {}) }
    case 'literal': return { kind: 'choice', choices: (d.values ?? []).map(String) }
    case 'union': return (d.options ?? []).some((o) => ['string', 'number'].includes(defOf(o).type)) ? { kind: 'text', choices: [] } : { kind: 'json', choices: [] }
    default: return { kind: 'json', choices: [] }
  }
}

/** The fields of an object schema, in its order. */
export function fieldsOf (schema: z.ZodObject): FieldSpec[] {
  return Object.entries(schema.shape as Record<string, z.ZodType>).map(([key, s]) => {
    let inner = s
    let optional = false
    let nullable = false
    for (let i = 0; i < 4; i++) {
      const d = defOf(inner)
      if (d.type === 'optional' || d.type === 'default') { optional = true; inner = d.innerType! } else if (d.type === 'nullable') { nullable = true; inner = d.innerType! } else break
    }
    return { key, label: label(key), optional, nullable, ...kindOf(inner) }
  })
}

/** Values of an object (an existing policy, an imported file) as form values. */
export function toForm (fields: FieldSpec[], obj: Record<string, unknown>): FormValues {
  const out: FormValues = {}
  for (const f of fields) {
    const v = obj[f.key]
    if (f.kind === 'bool') out[f.key] = f.optional ? (v === undefined || v === null ? '' : v === true ? 'yes' : 'no') : v === true
    else if (v === undefined || v === null) out[f.key] = ''
    else if (f.kind === 'json') out[f.key] = JSON.stringify(v, null, 2)
    else out[f.key] = String(v)
  }
  return out
}

/** Form values → the request body; fields left empty are omitted (or null where the schema takes null and `nullEmpty`). */
export function fromForm (fields: FieldSpec[], values: FormValues, nullEmpty: boolean): { body: Record<string, unknown>, errors: FieldErrors } {
  const body: Record<string, unknown> = {}
  const errors: FieldErrors = {}
  for (const f of fields) {
    const v = values[f.key]
    if (f.kind === 'bool') {
      // an optional yes/no left at "(default)" is omitted: the tracker's default applies
      if (v === true || v === 'yes') body[f.key] = true
      else if (v === false || v === 'no' || (!f.optional && v === undefined)) body[f.key] = false
      continue
    }
    const text = typeof v === 'string' ? v.trim() : ''
    if (text === '') { if (f.nullable && nullEmpty) body[f.key] = null; continue }
    if (f.kind === 'number') body[f.key] = Number(text)
    else if (f.kind === 'json') {
      try { body[f.key] = JSON.parse(text) } catch { errors[f.key] = 'not valid JSON' }
    } else body[f.key] = /^\d+$/.test(text) && f.key !== 'name' && f.kind === 'text' && defNumberAllowed(f) ? Number(text) : text
  }
  return { body, errors }
}

/** A text field whose schema is a union with a number (an epoch time) takes digits as a number. */
function defNumberAllowed (f: FieldSpec): boolean {
  return f.key === 'expiresAt'
}

/** The schema's complaints, one per field (the first), plus any not tied to a field under ''. */
export function schemaErrors (result: { success: boolean, error?: { issues: Array<{ path: PropertyKey[], message: string }> } }): FieldErrors {
  const out: FieldErrors = {}
  if (result.success) return out
  for (const issue of result.error?.issues ?? []) {
    const key = String(issue.path[0] ?? '')
    const where = issue.path.slice(1).map(String).join('.')
    out[key] ??= where === '' ? issue.message : `${where}: ${issue.message}`
  }
  return out
}

export interface SchemaFormProps {
  fields: FieldSpec[]
  values: FormValues
  errors: FieldErrors
  onChange: (key: string, value: string | boolean) => void
  disabled: boolean
  /** the field's name in ids, so two forms on a page do not clash */
  idPrefix: string
  /** fields that must be filled (besides the schema's own) */
  required?: string[]
}

export function SchemaForm ({ fields, values, errors, onChange, disabled, idPrefix, required = [] }: SchemaFormProps): ComponentChildren {
  return (
    <div class="schema-form">
      {fields.map((f) => {
        const id = `${idPrefix}-${f.key}`
        const err = errors[f.key]
        const described = err === undefined ? undefined : `${id}-err`
        const v = values[f.key]
        let input: ComponentChildren
        if (f.kind === 'bool' && f.optional) {
          input = (
            <select id={id} name={f.key} value={String(v ?? '')} disabled={disabled} onChange={(e) => onChange(f.key, e.currentTarget.value)} aria-describedby={described}>
              <option value="">(default)</option><option value="yes">yes</option><option value="no">no</option>
            </select>
          )
        } else if (f.kind === 'bool') input = <input id={id} name={f.key} type="checkbox" checked={v === true} disabled={disabled} onChange={(e) => onChange(f.key, e.currentTarget.checked)} aria-describedby={described} />
        else if (f.kind === 'choice') {
          input = (
            <select id={id} name={f.key} value={String(v ?? '')} disabled={disabled} onChange={(e) => onChange(f.key, e.currentTarget.value)} aria-describedby={described}>
              {f.optional && <option value="">(default)</option>}
              {f.choices.map((c) => <option key={c} value={c}>{c}</option>)}
            </select>
          )
        } else if (f.kind === 'json') input = <textarea id={id} name={f.key} rows={3} value={String(v ?? '')} disabled={disabled} onInput={(e) => onChange(f.key, e.currentTarget.value)} aria-invalid={err !== undefined} aria-describedby={described} placeholder={f.optional ? '(default)' : ''} />
        else input = <input id={id} name={f.key} type={f.kind === 'number' ? 'number' : 'text'} value={String(v ?? '')} disabled={disabled} required={required.includes(f.key)} onInput={(e) => onChange(f.key, e.currentTarget.value)} aria-invalid={err !== undefined} aria-describedby={described} placeholder={f.nullable ? '(none)' : f.optional ? '(default)' : ''} />
        return (
          <div key={f.key} class={`field field-${f.kind === 'bool' && f.optional ? 'choice' : f.kind}`}>
            <label for={id}>{f.label}</label>
            {input}
            {err !== undefined && <span id={described} class="field-error" role="alert">{err}</span>}
          </div>
        )
      })}
    </div>
  )
}
