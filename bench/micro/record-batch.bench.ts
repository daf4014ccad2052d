/**
 * RecordBatch v2 codec: encode and decode one batch of 1000 records (8-byte keys, 100-byte
 * values, no headers: the common producer shape), about 113 KiB per batch.
 *
 * Expectation, per record (~113 bytes): copying key and value at memory speed costs ~10 ns,
 * the seven one-byte-or-so varints and their stores ~20-30 ns, CRC-32C with the hardware
 * instruction ~10 ns (~10 GB/s). So the columns fast path should encode at 10-20 M records/s.
 * The general path pays for reading one object per record and validating it: expect half of
 * that. Decoding allocates one record object per record (plus the iterator result), so
 * ~50-100 ns per record: 10-20 M records/s without the CRC, a little less with it.
 *
 * Measured on the shared 2-core development machine under load (median of three runner runs):
 * columns 16-18 M records/s into a fresh buffer and 19 M into the scratch, general path
 * 10-11 M, decoding 10 M records/s (9 M with the CRC). Decoding is bound by creating the two
 * key/value views per record (`Buffer#subarray`, ~30 ns each in the profile), not by parsing.
 */
import { RecordBatchEncoder, RecordBatchView, type RecordInput } from '../../src/io/record-batch.js'
import { seededBytes } from './seeded-bytes.js'
import type { MicroSuite, MicroTask } from './task.js'

const BASE_TIMESTAMP = 1_700_000_000_000

const suite: MicroSuite = ({ smoke }) => {
  const count = smoke ? 10 : 1000
  const keys: Buffer[] = []
  const values: Buffer[] = []
  for (let index = 0; index < count; index++) {
    keys.push(seededBytes(8, index + 1))
    values.push(seededBytes(100, index + 7919))
  }
  const records: RecordInput[] = keys.map((key, index) => ({ key, value: values[index]!, timestamp: BASE_TIMESTAMP }))
  const encoder = new RecordBatchEncoder()
  const batch = encoder.encodeColumns({ keys, values, baseTimestamp: BASE_TIMESTAMP })
  const bytesPerOp = batch.length

  const decodeAll = (view: RecordBatchView): number => {
    let total = 0
    for (const record of view) total += record.value!.length + record.offsetDelta
    return total
  }

  const tasks: MicroTask[] = [
    {
      name: 'encode columns (fast path, fresh buffer)',
      fn: () => encoder.encodeColumns({ keys, values, baseTimestamp: BASE_TIMESTAMP }),
      recordsPerOp: count,
      bytesPerOp
    },
    {
      name: 'encode columns (fast path, scratch view)',
      fn: () => encoder.encodeColumns({ keys, values, baseTimestamp: BASE_TIMESTAMP }, 'scratch'),
      recordsPerOp: count,
      bytesPerOp
    },
    {
      name: 'encode records (general path)',
      fn: () => encoder.encode({ records, baseTimestamp: BASE_TIMESTAMP }),
      recordsPerOp: count,
      bytesPerOp
    },
    {
      name: 'decode: validate (CRC) + iterate records',
      fn: () => decodeAll(RecordBatchView.from(batch)),
      recordsPerOp: count,
      bytesPerOp
    },
    {
      name: 'decode: iterate records (no CRC)',
      fn: () => decodeAll(RecordBatchView.unchecked(batch)),
      recordsPerOp: count,
      bytesPerOp
    }
  ]
  return tasks
}

export default suite
