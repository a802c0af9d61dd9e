// `branchcast images list|show|create`: the images an admin publishes versions of.
import { defineCommand, readAction, renderTable } from '../../protocol/index.ts'
import type { Image, ImageVersion } from '../../protocol/index.ts'

const HELP = `Usage: branchcast images <command> [options]

  images list                 every image with its latest published version
  images show NAME            one image and its versions
  images create NAME          an empty image to publish versions into
                              (publish --create does this too)

Options:
  --description TEXT          for create: what the image is`

const ACTIONS = ['list', 'show', 'create']

const command = defineCommand({ name: 'images', usage: HELP, flags: { description: 'string' }, positionals: true, api: true, json: true })

function table (images: Image[], width: number): string {
  return renderTable(
    [{ header: 'NAME' }, { header: 'LATEST', align: 'right', truncate: false }, { header: 'CREATED', truncate: false }, { header: 'DESCRIPTION' }],
    images.map((i) => [i.name, i.latestVersion === null ? '-' : String(i.latestVersion), i.createdAt, i.description]),
    { width }
  )
}

export async function main (argv: string[]): Promise<number> {
  const cli = command.parse(argv)
  if (cli === undefined) return 0
  const { values, positionals } = cli
  const { action, name } = readAction(positionals, ACTIONS, 'an image NAME')
  const client = cli.client()
  switch (action) {
    case 'list': {
      const { images } = await client.json<{ images: Image[] }>('GET', '/api/v1/images')
      cli.print(images, () => images.length === 0 ? 'no images' : table(images, cli.columns))
      return 0
    }
    case 'show': {
      const path = `/api/v1/images/${encodeURIComponent(name!)}`
      const image = await client.json<Image>('GET', path)
      const { versions } = await client.json<{ versions: ImageVersion[] }>('GET', `${path}/versions`)
      cli.print({ ...image, versions }, () => `${table([image], cli.columns)}\n\n${versions.length === 0
        ? 'no versions'
        : renderTable(
          [{ header: 'VERSION', align: 'right', truncate: false }, { header: 'STATE' }, { header: 'BYTES', align: 'right', truncate: false }, { header: 'NEW BYTES', align: 'right', truncate: false }, { header: 'CHUNKS', align: 'right', truncate: false }, { header: 'CREATED', truncate: false }],
          versions.map((v) => [String(v.version), v.state, String(v.totalBytes), String(v.newBytes), String(v.chunkCount), v.createdAt]),
          { width: cli.columns }
        )}`)
      return 0
    }
    default: {
      const image = await client.json<Image>('POST', '/api/v1/images', { json: { name, ...(values.description === undefined ? {} : { description: values.description }) } })
      cli.print(image, `created image ${image.name}`)
      return 0
    }
  }
}
