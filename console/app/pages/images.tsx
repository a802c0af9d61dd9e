/**
 * Images: create one, upload a new version from the browser (streamed from disk with a
 * progress bar), and the versions' lifecycle — publish, retire, roll back, delete a draft.
 */
import type { ComponentChildren } from 'preact'
import { useRef, useState } from 'preact/hooks'
import type { Image, ImageVersion, UploadResult } from '../../../protocol/api/images.ts'
import { api, uploadFile } from '../api.ts'
import type { UploadProgress } from '../api.ts'
import { bytes, duration, isoTime, percent } from '../format.ts'
import { useSession } from '../session.ts'
import { DataTable } from '../table.tsx'
import type { Columns } from '../table.tsx'
import { ErrorLine, Notice, PageHead, useAction, useLoad } from '../ui.tsx'

function CreateImage ({ onCreated }: { onCreated: (name: string) => void }): ComponentChildren {
  const { readOnly } = useSession()
  const [name, setName] = useState('')
  const [description, setDescription] = useState('')
  const action = useAction()
  return (
    <form class="inline-form" onSubmit={(e) => {
      e.preventDefault()
      void action.run(async () => {
        await api('POST', '/images', { name, ...(description === '' ? {} : { description }) })
        onCreated(name); setName(''); setDescription('')
        return `Image ${name} created.`
      })
    }}>
      <h2>New image</h2>
      <label>Name <input name="image-name" value={name} onInput={(e) => setName(e.currentTarget.value)} required maxLength={200} pattern="[A-Za-z0-9][A-Za-z0-9._\-]*" disabled={readOnly} /></label>
      <label>Description <input name="image-description" value={description} onInput={(e) => setDescription(e.currentTarget.value)} maxLength={1000} disabled={readOnly} /></label>
      <button type="submit" disabled={readOnly || action.busy}>Create image</button>
      <ErrorLine error={action.error} /><Notice text={action.notice} />
    </form>
  )
}

function Upload ({ image, onDone }: { image: string, onDone: () => void }): ComponentChildren {
  const { readOnly } = useSession()
  const file = useRef<HTMLInputElement>(null)
  const [publish, setPublish] = useState(true)
  const [progress, setProgress] = useState<UploadProgress | undefined>(undefined)
  const [started, setStarted] = useState(0)
  const abort = useRef<AbortController | undefined>(undefined)
  const action = useAction()
  const rate = progress === undefined || started === 0 ? 0 : progress.sentBytes / Math.max(0.001, (performance.now() - started) / 1000)
  return (
    <form class="inline-form" aria-label="Upload a version" onSubmit={(e) => {
      e.preventDefault()
      const f = file.current?.files?.[0]
      if (f === undefined) return
      abort.current = new AbortController()
      setStarted(performance.now())
      setProgress({ sentBytes: 0, totalBytes: f.size })
      void action.run(async () => {
        try {
          const r = await uploadFile(`/images/${encodeURIComponent(image)}/versions${publish ? '?publish=true' : ''}`, f, setProgress, abort.current!.signal) as UploadResult
          onDone()
          return `Version ${r.version} ${r.state === 'published' ? 'published' : 'uploaded as a draft'}: ${bytes(r.totalBytes)} in ${r.chunkCount} chunks, ${bytes(r.newBytes)} new.`
        } finally {
          abort.current = undefined
        }
      })
    }}>
      <h2>Upload a new version of {image}</h2>
      <label>Disk image (raw or qcow2) <input ref={file} type="file" name="image-file" required disabled={readOnly || action.busy} /></label>
      <label class="check"><input type="checkbox" name="publish" checked={publish} onChange={(e) => setPublish(e.currentTarget.checked)} disabled={readOnly || action.busy} /> Publish when uploaded</label>
      <button type="submit" disabled={readOnly || action.busy}>Upload</button>
      {action.busy && <button type="button" onClick={() => abort.current?.abort()}>Cancel</button>}
      {progress !== undefined && action.busy && (
        <div class="upload-progress">
          <progress max={progress.totalBytes} value={progress.sentBytes} aria-label="upload progress" />
          <span>{percent(progress.totalBytes === 0 ? 1 : progress.sentBytes / progress.totalBytes)} · {bytes(progress.sentBytes)} of {bytes(progress.totalBytes)} · {bytes(rate)}/s{rate > 0 && progress.sentBytes < progress.totalBytes ? ` · ${duration((progress.totalBytes - progress.sentBytes) / rate)} left` : ''}{progress.sentBytes === progress.totalBytes ? ' · chunking and signing…' : ''}</span>
        </div>
      )}
      <ErrorLine error={action.error} /><Notice text={action.notice} />
    </form>
  )
}

function Versions ({ image, tick }: { image: string, tick: number }): ComponentChildren {
  const { readOnly } = useSession()
  const versions = useLoad(async (signal) => (await api<{ versions: ImageVersion[] }>('GET', `/images/${encodeURIComponent(image)}/versions`, undefined, signal)).versions.reverse(), [image, tick])
  const action = useAction()
  const act = (label: string, fn: () => Promise<unknown>): void => { void action.run(async () => { await fn(); versions.reload(); return label }) }
  const path = `/images/${encodeURIComponent(image)}`
  const columns: Columns<ImageVersion> = [
    { accessorKey: 'version', header: 'Version', meta: { numeric: true } },
    { accessorKey: 'state', header: 'State', cell: (c) => <span class={`state state-${c.getValue()}`}>{c.getValue()}</span> },
    { accessorKey: 'totalBytes', header: 'Size', cell: (c) => bytes(c.getValue()), meta: { numeric: true } },
    { accessorKey: 'chunkCount', header: 'Chunks', meta: { numeric: true } },
    { accessorKey: 'newBytes', header: 'Bytes new', cell: (c) => bytes(c.getValue()), meta: { numeric: true } },
    { accessorKey: 'createdAt', header: 'Uploaded', cell: (c) => isoTime(c.getValue()) },
    { accessorKey: 'publishedAt', header: 'Published', cell: (c) => isoTime(c.getValue()) },
    { accessorKey: 'createdBy', header: 'By' },
    {
      id: 'actions',
      header: 'Actions',
      enableSorting: false,
      cell: (c) => {
        const v = c.row.original
        return (
          <span class="actions">
            {v.state === 'draft' && <button type="button" disabled={readOnly || action.busy} onClick={() => act(`Version ${v.version} published.`, async () => await api('POST', `${path}/versions/${v.version}/publish`))}>Publish</button>}
            {v.state === 'draft' && <button type="button" disabled={readOnly || action.busy} onClick={() => { if (confirm(`Delete draft version ${v.version} of ${image}?`)) act(`Draft version ${v.version} deleted.`, async () => await api('DELETE', `${path}/versions/${v.version}`)) }}>Delete draft</button>}
            {v.state === 'published' && <button type="button" disabled={readOnly || action.busy} onClick={() => act(`Version ${v.version} retired.`, async () => await api('POST', `${path}/versions/${v.version}/retire`))}>Retire</button>}
            {v.state !== 'draft' && <button type="button" disabled={readOnly || action.busy} onClick={() => act(`Version ${v.version}'s content republished as a new version.`, async () => await api('POST', `${path}/rollback`, { to: v.version }))}>Roll back to this</button>}
          </span>
        )
      }
    }
  ]
  return (
    <section aria-labelledby="versions-h">
      <h2 id="versions-h">Versions of {image}</h2>
      <ErrorLine error={versions.error ?? action.error} /><Notice text={action.notice} />
      <DataTable label={`Versions of ${image}`} data={versions.data ?? []} columns={columns} rowId={(v) => String(v.version)} empty={versions.loading ? 'Loading…' : 'No version yet: upload one.'} />
      <p class="hint">Drafts whose upload did not finish are deleted by the repository's garbage collection (<code>branchcast gc</code>).</p>
    </section>
  )
}

export function Images (): ComponentChildren {
  const [tick, setTick] = useState(0)
  const images = useLoad(async (signal) => (await api<{ images: Image[] }>('GET', '/images', undefined, signal)).images, [tick])
  const [selected, setSelected] = useState<string | undefined>(undefined)
  const current = selected ?? images.data?.[0]?.name
  const columns: Columns<Image> = [
    { accessorKey: 'name', header: 'Image', cell: (c) => <button type="button" class="link" aria-pressed={c.getValue() === current} onClick={() => setSelected(c.getValue())}>{c.getValue()}</button> },
    { accessorKey: 'description', header: 'Description' },
    { accessorKey: 'latestVersion', header: 'Current version', cell: (c) => c.getValue() ?? 'none published', meta: { numeric: true } },
    { accessorKey: 'createdAt', header: 'Created', cell: (c) => isoTime(c.getValue()) }
  ]
  return (
    <>
      <PageHead title="Images" />
      <ErrorLine error={images.error} />
      <DataTable label="Images" data={images.data ?? []} columns={columns} rowId={(i) => i.name} empty={images.loading ? 'Loading…' : 'No image yet: create one below.'} />
      <div class="two">
        <CreateImage onCreated={(name) => { setSelected(name); setTick((t) => t + 1) }} />
        {current !== undefined && <Upload image={current} onDone={() => setTick((t) => t + 1)} />}
      </div>
      {current !== undefined && <Versions image={current} tick={tick} />}
    </>
  )
}
