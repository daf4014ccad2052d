/**
 * A progress bar for long CLI work, drawn on stderr only when it is a terminal (so pipes and
 * scripts see clean output), redrawn at most every 100 ms.
 */
export class Progress {
  private lastDraw = 0
  private readonly startedMs = performance.now()
  private readonly interactive: boolean

  constructor (private readonly stream: NodeJS.WritableStream, private readonly label: string, private readonly total: number) {
    this.interactive = (stream as { isTTY?: boolean }).isTTY === true && total > 0
  }

  update (done: number): void {
    if (!this.interactive) return
    const now = performance.now()
    if (now - this.lastDraw < 100) return
    this.lastDraw = now
    this.draw(done)
  }

  done (done: number): void {
    if (!this.interactive) return
    this.draw(done)
    this.stream.write('\n')
  }

  private draw (done: number): void {
    const fraction = Math.min(1, done / this.total)
    const width = 30
    const filled = Math.round(fraction * width)
    const seconds = (performance.now() - this.startedMs) / 1000
    const rate = seconds > 0 ? done / seconds / (1024 * 1024) : 0
    this.stream.write(`\r${this.label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${(fraction * 100).toFixed(0).padStart(3)}% ${rate.toFixed(1)} MiB/s`)
  }
}
