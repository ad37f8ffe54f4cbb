// The smallest guest that gives COLO something to copy: a floppy image whose boot sector (hand-assembled below,
// 30 bytes of 16-bit code) fills 448 KiB of low memory with a new value on every pass and halts until the next
// timer tick in between. Each checkpoint therefore has dirty pages to send, and the guest needs no disk, kernel
// or network. Both QEMU processes open the image with snapshot=on, so they can share one file (qemu-colo.md §3).

import { writeFileSync } from 'node:fs';

/** 16-bit real-mode code, loaded by the BIOS at 0000:7C00. */
const CODE = [
  0xfb, //             sti              ; hlt must be woken by the timer interrupt
  0xfc, //             cld
  0x42, // pass:       inc dx           ; a new value each pass, so every page really changes
  0xbb, 0x00, 0x10, // mov bx, 0x1000   ; first segment: 64 KiB, clear of the IVT, BIOS data and this code
  0x8e, 0xc3, //  seg: mov es, bx
  0x31, 0xff, //       xor di, di
  0xb9, 0x00, 0x80, // mov cx, 0x8000   ; 32 Ki words = one 64 KiB segment
  0x89, 0xd0, //       mov ax, dx
  0xf3, 0xab, //       rep stosw
  0x81, 0xc3, 0x00, 0x10, // add bx, 0x1000
  0x81, 0xfb, 0x00, 0x80, // cmp bx, 0x8000  ; up to 512 KiB
  0x72, 0xeb, //       jb seg
  0xf4, //             hlt
  0xeb, 0xe4, //       jmp pass
];

const SECTOR = 512;
/** A 1.44 MB floppy: the BIOS boots it without any partition table. */
const FLOPPY_BYTES = 2880 * SECTOR;

/** The boot sector alone (code, zero padding, the 0x55AA signature the BIOS looks for). */
export function bootSector(): Buffer {
  const sector = Buffer.alloc(SECTOR);
  Buffer.from(CODE).copy(sector);
  sector[510] = 0x55;
  sector[511] = 0xaa;
  return sector;
}

/** Writes the floppy image to `file`. */
export function writeGuestFloppy(file: string): void {
  const image = Buffer.alloc(FLOPPY_BYTES);
  bootSector().copy(image);
  writeFileSync(file, image);
}
