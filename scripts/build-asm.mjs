// Compiles every AssemblyScript kernel in asm/ to build/<name>.wasm with the optimizing
// pipeline. The .wasm files ship in the package; src/io loads them relative to itself.
import { readdirSync, mkdirSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { join, dirname, basename } from 'node:path'
import asc from 'assemblyscript/asc'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const sources = readdirSync(join(root, 'asm')).filter((name) => name.endsWith('.ts') && !name.endsWith('.d.ts'))
mkdirSync(join(root, 'build'), { recursive: true })

for (const source of sources) {
  const name = basename(source, '.ts')
  const { error, stderr } = await asc.main([
    join('asm', source),
    '--outFile', join('build', `${name}.wasm`),
    '--optimizeLevel', '3',
    '--shrinkLevel', '0',
    '--runtime', 'stub',
    '--noAssert',
    '--enable', 'simd',
    '--enable', 'bulk-memory',
    '--initialMemory', '2'
  ], { stdout: process.stdout, stderr: process.stderr, baseDir: root })
  if (error) {
    console.error(`asm: ${source}: ${error.message}`)
    process.exit(1)
  }
  console.log(`asm: build/${name}.wasm`)
}
