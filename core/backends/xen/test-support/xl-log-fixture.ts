// Log lines of one `xl -vvv remus` run, written to the per-cycle line contract the xl emulator follows (xen-colo.md
// §3.3): the primary's lines and the secondary's (arriving through ssh), for COLO with and without -vvv and for
// Remus, and each way a run ends. Used by the assembler's and the splitter's tests.

export interface FixtureOptions {
  mode?: 'colo' | 'remus';
  verbose?: boolean;
  domid?: number;
}

export function startLines(o: FixtureOptions = {}): string[] {
  const d = o.domid ?? 5;
  const lines = [
    'Saving to migration stream new xl format (info 0x3/0x0/1589)',
    `xc: info: Saving domain ${d}, type x86 HVM`,
  ];
  if ((o.mode ?? 'colo') === 'colo') {
    lines.push(
      'migration target: Ready to receive domain.',
      'Loading new save file <incoming migration stream> (new xl fmt info 0x3/0x0/1589)',
      ' Savefile contains xl domain config in JSON format',
      'xc: info: Found x86 HVM domain from Xen 4.17',
      'xc: info: Restoring domain',
    );
  }
  lines.push(
    'xc: progress: Frames iteration 1: 65536/131072  50%',
    'xc: progress: Frames iteration 1: 131072/131072  100%',
    'xc: progress: Frames iteration 2: 512/131072  0%',
  );
  return lines;
}

export function cycleLines(pages: number, o: FixtureOptions = {}): string[] {
  const d = o.domid ?? 5;
  const lines = ['xc: progress: Domain now suspended: 0/0 0%', `xc: progress: Checkpointed save: ${pages}/${pages}  100%`];
  if ((o.mode ?? 'colo') === 'colo') {
    lines.push('xc: info: All records buffered', 'xc: info: All records processed');
    if (o.verbose ?? true) {
      const rec = `libxl: debug: libxl_stream_read.c:${300 + pages % 7}:stream_record_header_done: Domain ${d}:Record: 5, length 4`;
      lines.push(rec, rec);
    }
  }
  return lines;
}

export function primaryDestroyedLines(o: FixtureOptions = {}): string[] {
  const d = o.domid ?? 5;
  return [
    `libxl: warning: libxl_colo_save.c:123:libxl__colo_save_teardown: Domain ${d}:COLO: Domain suspend terminated with rc -3, teardown COLO devices...`,
    'COLO: Primary domain has been destroyed.',
    'xc: info: COLO Failover',
    `libxl: info: libxl_colo_restore.c:702:libxl__colo_restore_teardown: Domain ${d + 1}:failover`,
    `migration target: COLO Failover for domain ${d + 1}`,
  ];
}

export function backupFailedLines(o: FixtureOptions = {}): string[] {
  const d = o.domid ?? 5;
  return [
    `libxl: error: libxl_colo_save.c:612:colo_common_read_stream_done: Domain ${d}:reading data fails`,
    `libxl: warning: libxl_colo_save.c:123:libxl__colo_save_teardown: Domain ${d}:COLO: Domain suspend terminated with rc -3, teardown COLO devices...`,
    'COLO: Backup failed? resuming domain at primary.',
  ];
}
