/**
 * Issue 6, instance storage: `--instance-file PATH` keeps the running instance's state (linear
 * memory at offset 0, then vmctx and stack) in a file mapped MAP_SHARED instead of the default
 * memfd (docs/image-format.md, "Instance file"). The image's memory pages get there by reflink
 * where the filesystem can (a loop-mounted XFS with reflink=1, which this test mounts as root) and
 * by a sparse copy elsewhere (tmpfs and ext4 refuse FICLONE). Both paths must keep holes holes:
 * the file is as large as the memory's maximum, but only what the image stores and the program
 * touched takes blocks (st_blocks), and a hole inside an image page stays a hole.
 */
import { spawn, spawnSync } from 'child_process';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, readlinkSync, rmSync, statSync, writeSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { compileProgram, type Arch } from '@wagc/linker';
import { wasiModule } from '@wagc/abi';
import { loaderPath } from '@wagc/loader-c';
import { wat } from '../e2e/helpers';

const PAGE = 65536;
const MAX_PAGES = 1000;
const HOLE = 49152; // left unwritten in the image's copy of memory page 1, from HOLE_AT
const HOLE_AT = 8192;
const HAVE_QEMU = spawnSync('qemu-aarch64', ['--version']).status === 0 && existsSync(loaderPath('arm64'));

/**
 * Page 0: a greeting; page 1: 64 KiB of 0xab (so every block of it is data in the image). The
 * program prints the greeting, then 'x' if the byte at page 1 + 40000 is 0xab, '0' if it is 0 (a
 * hole punched in the image reads as zeros), writes a marker at page 3 + 8 (untouched in the
 * image) and reads stdin until EOF, so a test can look at it while it runs.
 */
const PROGRAM = `(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_read" (func $fd_read (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 4 ${MAX_PAGES})
  (data (i32.const 0) "instance file says hello\\n")
  (data (i32.const ${PAGE}) "PAGE-ONE${'\\ab'.repeat(PAGE - 8)}")
  (func (export "_start")
    (i32.store (i32.const 1024) (i32.const 0))
    (i32.store (i32.const 1028) (i32.const 25))
    (drop (call $fd_write (i32.const 1) (i32.const 1024) (i32.const 1) (i32.const 1040)))
    (i32.store8 (i32.const 1100) (select (i32.const 120) (i32.const 48) (i32.eq (i32.load8_u (i32.const ${PAGE + 40000})) (i32.const 0xab))))
    (i32.store8 (i32.const 1101) (i32.const 10))
    (i32.store (i32.const 1024) (i32.const 1100))
    (i32.store (i32.const 1028) (i32.const 2))
    (drop (call $fd_write (i32.const 1) (i32.const 1024) (i32.const 1) (i32.const 1040)))
    (i64.store (i32.const ${3 * PAGE + 8}) (i64.const 0x1122334455667788))
    (i32.store (i32.const 1024) (i32.const 2048))
    (i32.store (i32.const 1028) (i32.const 64))
    (loop $more
      (drop (call $fd_read (i32.const 0) (i32.const 1024) (i32.const 1) (i32.const 1040)))
      (br_if $more (i32.load (i32.const 1040))))))`;

const dir = mkdtempSync(join(tmpdir(), 'wagc-instance-file-'));
const images: Record<string, { whole: Buffer; holed: Buffer }> = {};

beforeAll(async () => {
  const bytes = await wat(PROGRAM);
  for (const arch of ['x86-64', 'arm64'] as Arch[]) {
    const whole = Buffer.from(compileProgram({ modules: [{ name: 'wasi_snapshot_preview1', bytes: wasiModule() }, { name: 'main', bytes }], arch }));
    images[arch] = { whole, holed: whole };
  }
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Writes the image to `path`; `holed` leaves HOLE bytes of memory page 1's copy unwritten (a hole). */
function writeImage(arch: Arch, path: string, holed: boolean): void {
  const img = images[arch].whole;
  // memory pages come last in the file (the module's data segment appears earlier too)
  const page1 = img.lastIndexOf(Buffer.from('PAGE-ONE'));
  expect(page1 % PAGE).toBe(0);
  const fd = openSync(path, 'w');
  try {
    if (!holed) writeSync(fd, img);
    else {
      writeSync(fd, img, 0, page1 + HOLE_AT, 0);
      writeSync(fd, img, page1 + HOLE_AT + HOLE, img.length - page1 - HOLE_AT - HOLE, page1 + HOLE_AT + HOLE);
    }
  } finally {
    closeSync(fd);
  }
  if (holed) expect(statSync(path).blocks * 512).toBe(statSync(path).size - HOLE);
}

/** Runs the image (under qemu for arm64) with --instance-file and the report. */
function runWith(arch: Arch, image: string, instance: string) {
  const args = [image, '--instance-file', instance, '--sandbox-report'];
  const r = arch === 'arm64'
    ? spawnSync('qemu-aarch64', [loaderPath('arm64'), '--emulated', ...args], { encoding: 'utf8', timeout: 60000 })
    : spawnSync(loaderPath('x86-64'), args, { encoding: 'utf8', timeout: 30000 });
  return { status: r.status, stdout: r.stdout, report: r.stderr.split('\n').find((l) => l.includes('instance file')) ?? r.stderr };
}

/** The file's memory as the program left it: page 0's greeting, page 1's fill (or the hole's zeros), page 3's marker. */
function checkContents(path: string, holed: boolean): void {
  const b = readFileSync(path);
  const layoutSize = MAX_PAGES * PAGE;
  expect(b.length).toBeGreaterThan(layoutSize); // memory's maximum, then vmctx and stack
  expect(b.subarray(0, 25).toString()).toBe('instance file says hello\n');
  expect(b.subarray(PAGE, PAGE + 8).toString()).toBe('PAGE-ONE');
  expect(b[PAGE + HOLE_AT - 1]).toBe(0xab);
  expect(b[PAGE + HOLE_AT]).toBe(holed ? 0 : 0xab);
  expect(b[PAGE + HOLE_AT + HOLE]).toBe(0xab);
  expect(b.readBigUInt64LE(3 * PAGE + 8)).toBe(0x1122334455667788n);
  expect(b.subarray(4 * PAGE, layoutSize).equals(Buffer.alloc(layoutSize - 4 * PAGE))).toBe(true);
}

/**
 * Blocks: far fewer than the file's size (the ungrown memory and the unused stack are holes), and
 * the image's hole is one in the instance too: exactly HOLE bytes fewer than with the whole image.
 */
function checkHoles(whole: string, holed: string): void {
  const w = statSync(whole), h = statSync(holed);
  expect(w.size).toBe(h.size);
  expect(w.blocks * 512).toBeLessThan(1024 * 1024);
  expect(w.size).toBeGreaterThan(60 * 1024 * 1024);
  // pages 0 and 1 of the image (128 KiB) are there in full
  expect(w.blocks * 512).toBeGreaterThanOrEqual(2 * PAGE);
  // (st_blocks also counts the filesystem's own blocks, e.g. ext4's indirect blocks: 4 KiB of slack)
  expect(w.blocks - h.blocks).toBeGreaterThanOrEqual((HOLE - 4096) / 512);
  expect(w.blocks - h.blocks).toBeLessThanOrEqual((HOLE + 4096) / 512);
}

function pathCase(arch: Arch, where: string, expectReport: RegExp) {
  const img = join(where, `p-${arch}.img`), holedImg = join(where, `p-${arch}-holed.img`);
  writeImage(arch, img, false);
  writeImage(arch, holedImg, true);
  const a = runWith(arch, img, join(where, `inst-${arch}`));
  const b = runWith(arch, holedImg, join(where, `inst-${arch}-holed`));
  expect(a.stdout).toBe('instance file says hello\nx\n');
  expect(b.stdout).toBe('instance file says hello\n0\n');
  expect(a.status).toBe(0);
  expect(b.status).toBe(0);
  expect(a.report).toMatch(expectReport);
  expect(b.report).toMatch(expectReport);
  checkContents(join(where, `inst-${arch}`), false);
  checkContents(join(where, `inst-${arch}-holed`), true);
  checkHoles(join(where, `inst-${arch}`), join(where, `inst-${arch}-holed`));
}

const SPARSE = /instance file .*: 0 memory pages cloned by reflink, 2 copied sparse \(reflink: (Operation not supported|Invalid cross-device link|Inappropriate ioctl for device)\)/;
const REFLINK = /instance file .*: 2 memory pages cloned by reflink$/;

/** /dev/shm is a tmpfs on every Linux this runs on; the test says so when it is not. */
const SHM_IS_TMPFS = spawnSync('stat', ['-f', '-c', '%T', '/dev/shm'], { encoding: 'utf8' }).stdout.trim() === 'tmpfs';

describe('sparse copy where the filesystem cannot reflink', () => {
  // findmnt names ext4 as such (stat -f says "ext2/ext3")
  const fsType = spawnSync('findmnt', ['-n', '-o', 'FSTYPE', '-T', dir], { encoding: 'utf8' }).stdout.trim() || 'unknown filesystem';
  test(`${fsType} (${dir}): pages copied, holes kept, contents as the program left them`, () => {
    pathCase('x86-64', dir, SPARSE);
  });

  (SHM_IS_TMPFS ? test : test.skip)(`tmpfs (/dev/shm): the same${SHM_IS_TMPFS ? '' : ' (skipped: /dev/shm is not a tmpfs here)'}`, () => {
    const shm = mkdtempSync('/dev/shm/wagc-instance-file-');
    try {
      pathCase('x86-64', shm, SPARSE);
    } finally {
      rmSync(shm, { recursive: true, force: true });
    }
  });

  (HAVE_QEMU ? test : test.skip)('ARM64 loader under qemu-aarch64: the same', () => {
    pathCase('arm64', dir, SPARSE);
  });
});

/* Reflink: XFS with reflink=1 on a loop device. Needs root and a loop device; CI runs as root. */
const ROOT = process.getuid?.() === 0;
const LOOP = existsSync('/dev/loop-control');
const reflinkWhy = !ROOT ? ' (skipped: not root, cannot mount the XFS loop device)' : !LOOP ? ' (skipped: no loop device, /dev/loop-control missing)' : '';
(reflinkWhy ? describe.skip : describe)(`reflink on a loop-mounted XFS (reflink=1)${reflinkWhy}`, () => {
  const xfs = join(dir, 'xfs');
  const backing = join(dir, 'xfs.fs');
  let mounted = false;
  beforeAll(() => {
    // mkfs.xfs is in xfsprogs (scripts/setup.sh installs it): missing is a failure, not a skip
    const mk = spawnSync('sh', ['-c', `truncate -s 320M ${backing} && mkfs.xfs -q -m reflink=1 ${backing}`], { encoding: 'utf8' });
    expect(mk.stderr).toBe('');
    expect(mk.status).toBe(0);
    mkdirSync(xfs);
    const m = spawnSync('mount', ['-o', 'loop', backing, xfs], { encoding: 'utf8' });
    expect(m.stderr).toBe('');
    mounted = m.status === 0;
  });
  afterAll(() => {
    if (mounted) spawnSync('umount', [xfs]);
  });

  test('pages cloned (extents shared with the image), holes kept, contents as the program left them', () => {
    pathCase('x86-64', xfs, REFLINK);
    // the program never wrote page 1: its blocks are still the image's (FIEMAP's shared flag)
    const frag = spawnSync('filefrag', ['-v', join(xfs, 'inst-x86-64')], { encoding: 'utf8' });
    expect(frag.stdout).toMatch(/^\s*\d+:\s+\d+\.\.\s*\d+:.*shared/m);
  });

  (HAVE_QEMU ? test : test.skip)('ARM64 loader under qemu-aarch64: qemu passes FICLONERANGE on', () => {
    pathCase('arm64', xfs, REFLINK);
  });

  test('image on XFS, instance file on another filesystem: EXDEV, then the sparse copy', () => {
    writeImage('x86-64', join(xfs, 'cross.img'), false);
    const r = runWith('x86-64', join(xfs, 'cross.img'), join(dir, 'inst-cross'));
    expect(r.status).toBe(0);
    expect(r.report).toMatch(/2 copied sparse \(reflink: Invalid cross-device link\)/);
    checkContents(join(dir, 'inst-cross'), false);
  });
});

describe('the memfd stays the default', () => {
  /** Starts the loader with stdin open, waits until the program blocks reading it, returns its maps. */
  async function mapsWhileRunning(extra: string[]): Promise<string> {
    const img = join(dir, 'maps.img');
    writeImage('x86-64', img, false);
    const child = spawn(loaderPath('x86-64'), [img, ...extra], { stdio: ['pipe', 'pipe', 'pipe'] });
    try {
      for (let k = 0; k < 500; k++) {
        await new Promise((r) => setTimeout(r, 10));
        let stat = '';
        try {
          stat = readFileSync(`/proc/${child.pid}/stat`, 'utf8');
        } catch {
          break;
        }
        // blocked in the read of stdin (state S, after the program's output)
        // (node's stdio pipes are socketpairs)
        if (/\) S /.test(stat) && readlinkSync(`/proc/${child.pid}/fd/0`).startsWith('socket:')) {
          const maps = readFileSync(`/proc/${child.pid}/maps`, 'utf8');
          if (maps.includes('gate-instance') || extra.length) return maps;
        }
      }
      throw new Error('the loader never blocked on stdin');
    } finally {
      child.stdin.end();
      await new Promise((r) => child.on('exit', r));
    }
  }

  test('without --instance-file the state is a memfd; with it, the file', async () => {
    const plain = await mapsWhileRunning([]);
    expect(plain).toMatch(/\/memfd:gate-instance/);
    const inst = join(dir, 'inst-maps');
    const withFile = await mapsWhileRunning(['--instance-file', inst]);
    expect(withFile).not.toMatch(/gate-instance/);
    expect(withFile).toContain(inst);
  });
});

describe('--instance-file errors: one line, exit 2, no file left', () => {
  test('a directory that does not exist', () => {
    const img = join(dir, 'err.img');
    writeImage('x86-64', img, false);
    const r = spawnSync(loaderPath('x86-64'), [img, '--instance-file', join(dir, 'no/such/dir/inst')], { encoding: 'utf8' });
    expect(r.status).toBe(2);
    expect(r.stderr).toBe(`gate-run: --instance-file ${join(dir, 'no/such/dir/inst')}: cannot create it: No such file or directory\n`);
  });

  test('the image itself is refused, and left intact', () => {
    const img = join(dir, 'self.img');
    writeImage('x86-64', img, false);
    const r = spawnSync(loaderPath('x86-64'), [img, '--instance-file', img], { encoding: 'utf8' });
    expect(r.status).toBe(2);
    expect(r.stderr).toBe(`gate-run: --instance-file ${img}: that is the image itself\n`);
    expect(readFileSync(img).equals(images['x86-64'].whole)).toBe(true);
  });

  test('the gate-run CLI passes it on', () => {
    const img = join(dir, 'cli.img');
    writeImage('x86-64', img, false);
    const inst = join(dir, 'inst-cli');
    const r = spawnSync(process.execPath, [join(__dirname, '../../packages/cli/bin/gate-run.js'), img, '--instance-file', inst], { encoding: 'utf8' });
    expect(r.stdout).toBe('instance file says hello\nx\n');
    expect(r.status).toBe(0);
    checkContents(inst, false);
  });
});
