/**
 * A queue of byte pieces as they arrive from a stream. Taking bytes slices the pieces it holds
 * (no copies) except for the small fields that must be contiguous (a frame, a tag, the header).
 */
export class ByteQueue {
  private pieces: Uint8Array[] = [];
  private head = 0;
  /** Bytes held. */
  length = 0;

  push(piece: Uint8Array): void {
    if (piece.length === 0) return;
    this.pieces.push(piece);
    this.length += piece.length;
  }

  /** Removes the first `n` bytes (n <= length) and returns them as slices of the pieces held. */
  take(n: number): Uint8Array[] {
    if (n > this.length) throw new RangeError(`cannot take ${n} of ${this.length} bytes`);
    const out: Uint8Array[] = [];
    let needed = n;
    while (needed > 0) {
      const piece = this.pieces[this.head]!;
      if (piece.length <= needed) {
        out.push(piece);
        needed -= piece.length;
        this.pieces[this.head++] = EMPTY;
      } else {
        out.push(piece.subarray(0, needed));
        this.pieces[this.head] = piece.subarray(needed);
        needed = 0;
      }
    }
    this.length -= n;
    this.compact();
    return out;
  }

  /** Removes the first `n` bytes as one contiguous array (copies only when they straddle). */
  takeBytes(n: number): Uint8Array {
    const parts = this.take(n);
    if (parts.length === 1) return parts[0]!;
    const bytes = new Uint8Array(n);
    let at = 0;
    for (const part of parts) {
      bytes.set(part, at);
      at += part.length;
    }
    return bytes;
  }

  /** Drops the slots of pieces already taken, once they are a good share of the array. */
  private compact(): void {
    if (this.head > 64 && this.head * 2 > this.pieces.length) {
      this.pieces = this.pieces.slice(this.head);
      this.head = 0;
    }
  }
}

const EMPTY = new Uint8Array(0);
