/**
 * Policies: list, create, clone, edit (a form drawn from the shared zod schema and checked
 * with it before sending), import and export as a JSON file, assign to users and groups,
 * and preview what a user gets and which assignment decided it.
 */
import type { ComponentChildren } from 'preact'
import { useMemo, useRef, useState } from 'preact/hooks'
import { CreatePolicySchema, UpdatePolicySchema } from '../../../protocol/api/policies.ts'
import type { Policy, PolicyWithAssignments } from '../../../protocol/api/policies.ts'
import { api, query } from '../api.ts'
import { bytes, isoTime } from '../format.ts'
import { useSession } from '../session.ts'
import { DataTable } from '../table.tsx'
import type { Columns } from '../table.tsx'
import { SchemaForm, fieldsOf, fromForm, schemaErrors, toForm } from '../schema-form.tsx'
import type { FieldErrors, FormValues } from '../schema-form.tsx'
import { ErrorLine, Notice, PageHead, download, message, useAction, useLoad } from '../ui.tsx'

const FIELDS = fieldsOf(CreatePolicySchema)

/** A policy as the tracker answers it → the body that would create it again (for clone and export). */
function policyBody (p: Policy): Record<string, unknown> {
  const raw: Record<string, unknown> = { ...p, downloadWindow: p.downloadWindow?.text ?? null }
  delete raw.channel // answered as latest/pinned; pinnedVersion says the same
  const out: Record<string, unknown> = {}
  for (const f of FIELDS) if (raw[f.key] !== undefined) out[f.key] = raw[f.key]
  return out
}

type Editing = { mode: 'create', values: FormValues } | { mode: 'edit', name: string, values: FormValues }

function Editor ({ editing, onDone, onCancel }: { editing: Editing, onDone: (name: string) => void, onCancel: () => void }): ComponentChildren {
  const { readOnly } = useSession()
  const [values, setValues] = useState<FormValues>(editing.values)
  const [errors, setErrors] = useState<FieldErrors>({})
  const action = useAction()
  const submit = (e: Event): void => {
    e.preventDefault()
    const { body, errors: parseErrors } = fromForm(FIELDS, values, editing.mode === 'edit')
    const checked = editing.mode === 'create' ? CreatePolicySchema.safeParse(body) : UpdatePolicySchema.safeParse(body)
    const all = { ...schemaErrors(checked), ...parseErrors }
    setErrors(all)
    if (Object.keys(all).length > 0) { action.clear(); return }
    void action.run(async () => {
      const saved = editing.mode === 'create'
        ? await api<Policy>('POST', '/policies', body)
        : await api<Policy>('PATCH', `/policies/${encodeURIComponent(editing.name)}`, body)
      onDone(saved.name)
      return undefined
    })
  }
  const count = Object.keys(errors).length
  return (
    <form class="editor" onSubmit={submit} noValidate aria-labelledby="editor-h">
      <h2 id="editor-h">{editing.mode === 'create' ? 'New policy' : `Edit ${editing.name}`}</h2>
      {count > 0 && <p class="error" role="alert">{count === 1 ? 'One field needs' : `${count} fields need`} attention{errors[''] !== undefined ? `: ${errors['']}` : '.'}</p>}
      <SchemaForm idPrefix="policy" fields={FIELDS} values={values} errors={errors} disabled={readOnly || action.busy} required={['name', 'image']}
        onChange={(k, v) => setValues((old) => ({ ...old, [k]: v }))} />
      <div class="buttons">
        <button type="submit" disabled={readOnly || action.busy}>{editing.mode === 'create' ? 'Create policy' : 'Save changes'}</button>
        <button type="button" onClick={onCancel}>Cancel</button>
      </div>
      <ErrorLine error={action.error} />
    </form>
  )
}

function Assignments ({ name, onChange }: { name: string, onChange: () => void }): ComponentChildren {
  const { readOnly } = useSession()
  const [tick, setTick] = useState(0)
  const policy = useLoad(async (signal) => await api<PolicyWithAssignments>('GET', `/policies/${encodeURIComponent(name)}`, undefined, signal), [name, tick])
  const [kind, setKind] = useState<'group' | 'user'>('group')
  const [subject, setSubject] = useState('')
  const action = useAction()
  return (
    <section aria-labelledby="assign-h" class="panel">
      <h2 id="assign-h">Assigned: {name}</h2>
      <ErrorLine error={policy.error} />
      <ul class="assignments">
        {(policy.data?.assignments ?? []).length === 0 && <li>Not assigned to anyone yet.</li>}
        {(policy.data?.assignments ?? []).map((a) => (
          <li key={`${a.kind}:${a.subject}`}>
            {a.kind} <strong>{a.subject}</strong>{' '}
            <button type="button" disabled={readOnly || action.busy} onClick={() => { void action.run(async () => { await api('DELETE', `/assignments${query({ policy: name, [a.kind]: a.subject })}`); setTick((t) => t + 1); onChange(); return `Removed from ${a.kind} ${a.subject}.` }) }}>Remove</button>
          </li>
        ))}
      </ul>
      <form class="inline-form" onSubmit={(e) => {
        e.preventDefault()
        void action.run(async () => {
          await api('POST', '/assignments', { policy: name, [kind]: subject })
          setTick((t) => t + 1); onChange(); setSubject('')
          return `Assigned to ${kind} ${subject}.`
        })
      }}>
        <label>Assign to <select name="assign-kind" value={kind} onChange={(e) => setKind(e.currentTarget.value as 'group' | 'user')} disabled={readOnly}><option value="group">group</option><option value="user">user</option></select></label>
        <label>Name <input name="assign-subject" value={subject} required maxLength={200} onInput={(e) => setSubject(e.currentTarget.value)} disabled={readOnly} /></label>
        <button type="submit" disabled={readOnly || action.busy || subject === ''}>Assign</button>
      </form>
      <ErrorLine error={action.error} /><Notice text={action.notice} />
    </section>
  )
}

interface PreviewAnswer { user: string, groups: string[], workspaces: Array<{ image: string, policy: string, priority: number, via: { kind: string, subject: string }, expired: boolean, reason: string }> }

function Preview (): ComponentChildren {
  const [user, setUser] = useState('')
  const [groups, setGroups] = useState('')
  const [answer, setAnswer] = useState<PreviewAnswer | undefined>(undefined)
  const action = useAction()
  return (
    <section aria-labelledby="preview-h" class="panel">
      <h2 id="preview-h">Preview what a user gets</h2>
      <form class="inline-form" onSubmit={(e) => {
        e.preventDefault()
        void action.run(async () => { setAnswer(await api<PreviewAnswer>('GET', `/console/preview${query({ user, groups })}`)); return undefined })
      }}>
        <label>User <input name="preview-user" value={user} required maxLength={200} onInput={(e) => setUser(e.currentTarget.value)} /></label>
        <label>Groups (comma-separated) <input name="preview-groups" value={groups} maxLength={2000} onInput={(e) => setGroups(e.currentTarget.value)} /></label>
        <button type="submit" disabled={action.busy || user === ''}>Preview</button>
      </form>
      <ErrorLine error={action.error} />
      {answer !== undefined && (answer.workspaces.length === 0
        ? <p role="status">{answer.user} gets no image: no policy reaches this user or these groups.</p>
        : (
          <ul class="preview" role="status">
            {answer.workspaces.map((w) => <li key={w.image}><strong>{w.image}</strong> by policy <strong>{w.policy}</strong>{w.expired ? ' (expired)' : ''} — {w.reason}</li>)}
          </ul>
          ))}
    </section>
  )
}

export function Policies (): ComponentChildren {
  const { readOnly } = useSession()
  const [tick, setTick] = useState(0)
  const policies = useLoad(async (signal) => (await api<{ policies: Policy[] }>('GET', '/policies', undefined, signal)).policies, [tick])
  const [editing, setEditing] = useState<Editing | undefined>(undefined)
  const [selected, setSelected] = useState<string | undefined>(undefined)
  const [importError, setImportError] = useState<string | undefined>(undefined)
  const action = useAction()
  const file = useRef<HTMLInputElement>(null)
  const byName = useMemo(() => new Map((policies.data ?? []).map((p) => [p.name, p])), [policies.data])

  const columns: Columns<Policy> = [
    { accessorKey: 'name', header: 'Policy', cell: (c) => <button type="button" class="link" aria-pressed={selected === c.getValue()} onClick={() => setSelected(c.getValue())}>{c.getValue()}</button> },
    { accessorKey: 'image', header: 'Image' },
    { id: 'version', accessorFn: (p) => p.pinnedVersion ?? 'latest', header: 'Version' },
    { accessorKey: 'priority', header: 'Priority', meta: { numeric: true } },
    { accessorKey: 'p2pAllowed', header: 'Peers', cell: (c) => c.getValue() === true ? 'yes' : 'no' },
    { accessorKey: 'originRateBytesPerSec', header: 'Origin cap', cell: (c) => c.getValue() === null ? 'none' : `${bytes(c.getValue())}/s`, meta: { numeric: true } },
    { accessorKey: 'expiresAt', header: 'Expires', cell: (c) => isoTime(c.getValue()) },
    {
      id: 'actions',
      header: 'Actions',
      enableSorting: false,
      cell: (c) => {
        const p = c.row.original
        return (
          <span class="actions">
            <button type="button" disabled={readOnly} onClick={() => setEditing({ mode: 'edit', name: p.name, values: toForm(FIELDS, policyBody(p)) })}>Edit</button>
            <button type="button" disabled={readOnly} onClick={() => setEditing({ mode: 'create', values: toForm(FIELDS, { ...policyBody(p), name: `${p.name}-copy` }) })}>Clone</button>
            <button type="button" onClick={() => download(`${p.name}.policy.json`, JSON.stringify(policyBody(p), null, 2) + '\n', 'application/json')}>Export</button>
            <button type="button" disabled={readOnly || action.busy} onClick={() => { if (confirm(`Delete policy ${p.name}? Its assignments go with it.`)) void action.run(async () => { await api('DELETE', `/policies/${encodeURIComponent(p.name)}`); if (selected === p.name) setSelected(undefined); setTick((t) => t + 1); return `Policy ${p.name} deleted.` }) }}>Delete</button>
          </span>
        )
      }
    }
  ]

  const onImport = async (f: File): Promise<void> => {
    setImportError(undefined)
    try {
      if (f.size > 256 * 1024) throw new Error('a policy file is at most 256 KiB')
      const obj = JSON.parse(await f.text()) as Record<string, unknown>
      const checked = CreatePolicySchema.safeParse(obj)
      const errs = schemaErrors(checked)
      if (!checked.success) throw new Error(`the file is not a policy: ${Object.entries(errs).map(([k, m]) => k === '' ? m : `${k}: ${m}`).join('; ')}`)
      setEditing({ mode: 'create', values: toForm(FIELDS, obj) })
    } catch (err) {
      setImportError(`Import failed: ${message(err)}`)
    } finally {
      if (file.current !== null) file.current.value = ''
    }
  }

  return (
    <>
      <PageHead title="Policies">
        <span class="actions">
          <button type="button" disabled={readOnly} onClick={() => setEditing({ mode: 'create', values: toForm(FIELDS, {}) })}>New policy</button>
          <label class={readOnly ? 'button disabled' : 'button'}>Import from file<input ref={file} class="sr-only" type="file" accept=".json,application/json" disabled={readOnly} onChange={(e) => { const f = e.currentTarget.files?.[0]; if (f !== undefined) void onImport(f) }} /></label>
        </span>
      </PageHead>
      <ErrorLine error={policies.error ?? importError ?? action.error} /><Notice text={action.notice} />
      {editing !== undefined && <Editor key={JSON.stringify(editing)} editing={editing} onCancel={() => setEditing(undefined)} onDone={(name) => { setEditing(undefined); setSelected(name); setTick((t) => t + 1) }} />}
      <DataTable label="Policies" data={policies.data ?? []} columns={columns} rowId={(p) => p.name} empty={policies.loading ? 'Loading…' : 'No policy yet.'} />
      <div class="two">
        {selected !== undefined && byName.has(selected) && <Assignments name={selected} onChange={() => setTick((t) => t + 1)} />}
        <Preview />
      </div>
    </>
  )
}
