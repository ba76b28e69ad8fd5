#!/usr/bin/env node
// `npm run bench`: measures ninetd on loopback and prints figures (never pass/fail).
//
// For each scenario and each client count it starts one fresh server, lets the C load
// generator (bench/loadgen.c) drive it for a fixed time, and reads from /proc the supervisor's
// CPU time and memory. The same scenarios run against a plain C server (the "C limit") and,
// when their Debian packages can be unpacked, against openbsd-inetd, xinetd and tcpserver.
// Raw results go to bench/.cache/last.json; `node bench/report.mjs` turns them into
// docs/benchmarks.md. See bench/README.md.
//
//   node bench/run.mjs [--duration S] [--rounds N] [--quick] [--only REGEX] [--no-anchors] [--soak N]
//
// Only loopback addresses are used. Every process started here is tracked by pid and stopped
// by pid, also on Ctrl-C.

import { spawn, spawnSync } from 'node:child_process';
import dgram from 'node:dgram';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { resultsTable, ratiosTable, scaleTable, soakTable, toText } from './table.mjs';

const BENCH = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(BENCH, '..');
const CACHE = path.join(BENCH, '.cache');
const RUNDIR = path.join(CACHE, 'run'); // generated configs and server logs of the last run
const ANCHOR_DIR = path.join(CACHE, 'anchors');
const ANCHOR_ROOT = path.join(ANCHOR_DIR, 'root'); // where the .deb files are unpacked
const NINETD = path.join(ROOT, 'dist', 'cli.js');
const bin = (name) => path.join(CACHE, name);
/** The Node flags on dist/cli.js's `#!` line, so that ninetd runs here as it does when installed. */
const NINETD_FLAGS = !fs.existsSync(NINETD) ? [] : (/^#!\S*env -S node(.*)$/m.exec(fs.readFileSync(NINETD, 'utf8').split('\n', 1)[0]) ?? [])[1]?.trim().split(/\s+/).filter(Boolean) ?? [];

// ---------------------------------------------------------------------------------------------
// Options

const { values: opts } = parseArgs({
  options: {
    duration: { type: 'string' },
    rounds: { type: 'string' },
    quick: { type: 'boolean', default: false },
    only: { type: 'string' },
    'no-anchors': { type: 'boolean', default: false },
    soak: { type: 'string' },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (opts.help) {
  console.log(`usage: node bench/run.mjs [options]
  --duration S    seconds per scenario run (default 4; --quick: 1)
  --rounds N      runs of each scenario per server, taken in turn; the median one is kept
                  (default 3; --quick: 1)
  --quick         short runs and a short soak, to check that everything works
  --only REGEX    run only the scenarios whose id matches (ids: daytime, echo64, exec-hello,
                  exec-cat, udp-echo, udp-wait; "soak" for the RSS soak; "scale" for start-up
                  and reload with 500 and 5000 services)
  --no-anchors    do not unpack or run openbsd-inetd, xinetd and tcpserver
  --soak N        connections of the RSS soak (default 100000; --quick: 20000; 0: none)`);
  process.exit(0);
}
const DURATION = Number(opts.duration ?? (opts.quick ? 1 : 4));
const ROUNDS = Number(opts.rounds ?? (opts.quick ? 1 : 3));
const SOAK = Number(opts.soak ?? (opts.quick ? 20000 : 100000));
const ONLY = opts.only ? new RegExp(opts.only) : null;
const CLIENTS = [1, 32];
if (!(DURATION > 0 && DURATION <= 120) || !(SOAK >= 0 && SOAK <= 1000000) || !(Number.isInteger(ROUNDS) && ROUNDS >= 1 && ROUNDS <= 9)) {
  console.error('bench: --duration must be in (0, 120], --soak in [0, 1000000] and --rounds in 1..9');
  process.exit(2);
}

// ---------------------------------------------------------------------------------------------
// Scenarios. `load` are the load generator's arguments besides address, port, clients, time.

const HELLO = bin('hello');
const UDPWAIT = bin('udpwait');
const SCENARIOS = [
  {
    id: 'daytime',
    title: 'internal daytime, TCP: connect, read the line until EOF, close',
    proto: 'tcp', host: '127.0.0.1', builtin: 'daytime', load: [],
  },
  {
    id: 'echo64',
    title: 'internal echo, TCP: send 64 B, read 64 B, close with a reset (no TIME_WAIT: bench/README.md)',
    proto: 'tcp', host: '127.0.0.1', builtin: 'echo', load: ['-s', '64', '-e', '64', '-E', '-R'],
  },
  {
    id: 'exec-hello',
    title: 'exec of a tiny C handler (bench/hello.c) that writes 6 bytes',
    proto: 'tcp', host: '127.0.0.1', exec: [HELLO, 'hello'], load: ['-e', '6'],
  },
  {
    id: 'exec-cat',
    title: 'exec of /bin/cat: send 1 KiB, half-close, read 1 KiB back until EOF',
    proto: 'tcp', host: '127.0.0.1', exec: ['/bin/cat', 'cat'], load: ['-s', '1024', '-H', '-e', '1024'],
  },
  {
    // On ::1 because openbsd-inetd's internal UDP services drop datagrams from 127.0.0.0/8
    // (its loop protection) and would answer nothing on 127.0.0.1.
    id: 'udp-echo',
    title: 'internal echo, UDP on ::1: one 64 B datagram, wait for the reply, 1 s timeout',
    proto: 'udp', host: '::1', builtin: 'echo', load: ['-s', '64', '-e', '64'],
  },
  {
    id: 'udp-wait',
    title: 'UDP wait handler (bench/udpwait.c): answers until idle 200 ms, then exits',
    proto: 'udp', host: '127.0.0.1', exec: [UDPWAIT, 'udpwait'], load: ['-s', '64', '-e', '64'],
  },
];

// ---------------------------------------------------------------------------------------------
// Processes: every one we start is in `live` until it has exited, so that an interrupted run
// can stop them all by pid.

const live = new Set();

function launch(cmd, args, logName) {
  const log = fs.openSync(path.join(RUNDIR, `${logName}.log`), 'w');
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const p = { child, pid: child.pid, tag: logName, out: '', exited: false, code: null };
  live.add(p);
  p.exit = new Promise((resolve) => {
    child.on('exit', (code, signal) => {
      p.exited = true;
      p.code = code ?? signal;
      live.delete(p);
      resolve();
    });
    child.on('error', (err) => {
      p.exited = true;
      p.code = err.code;
      live.delete(p);
      resolve();
    });
  });
  // Keep the first 64 KiB of output to find readiness lines in, and log all of it.
  const take = (chunk) => {
    if (p.out.length < 65536) p.out += chunk.toString();
    fs.writeSync(log, chunk);
  };
  child.stdout.on('data', take);
  child.stderr.on('data', take);
  p.exit.then(() => fs.closeSync(log));
  return p;
}

async function waitForOutput(p, re, ms) {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    const m = p.out.match(re);
    if (m) return m;
    if (p.exited) break;
    await sleep(20);
  }
  throw new Error(`${p.exited ? `exited (${p.code})` : 'not ready'}: ${lastLine(p.out)}`);
}

/** The line of a log most likely to say what went wrong: the last error-looking one. */
function lastLine(text) {
  const lines = text.trim().split('\n').filter((l) => l.trim());
  const err = lines.findLast((l) => /"level":(50|60)|Error|error|fatal|failed/.test(l));
  return (err ?? lines[lines.length - 1] ?? 'no output').trim().slice(0, 240);
}

/** Fields of /proc/PID/stat, numbered as in proc(5) (fields[14] is utime). */
function procStat(pid) {
  try {
    const text = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return [null, pid, null, ...rest];
  } catch {
    return null;
  }
}

function statusKb(pid, key) {
  try {
    const m = fs.readFileSync(`/proc/${pid}/status`, 'utf8').match(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm'));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

const CLK_TCK = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout) || 100;

/** CPU time of the process itself (utime + stime) and of its reaped children, in ms. */
function cpuMs(pid) {
  const f = procStat(pid);
  if (!f) return null;
  const t = (i) => (Number(f[i]) * 1000) / CLK_TCK;
  return { self: t(14) + t(15), children: t(16) + t(17) };
}

/** Live children of pid, each with its start time so that a reused pid is never mistaken. */
function childrenOf(pid) {
  const kids = [];
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const f = procStat(Number(name));
    if (f && Number(f[4]) === pid) kids.push({ pid: Number(name), start: f[22] });
  }
  return kids;
}

function killIfSame(kid, signal) {
  const f = procStat(kid.pid);
  if (f && f[22] === kid.start) {
    try {
      process.kill(kid.pid, signal);
    } catch {
      // it exited meanwhile
    }
  }
}

/** Stop a server by its pid, then any handler it left behind, also by pid. */
async function stop(p) {
  const kids = p.exited ? [] : childrenOf(p.pid);
  if (!p.exited) {
    try {
      process.kill(p.pid, 'SIGTERM');
    } catch {
      // already gone
    }
    await Promise.race([p.exit, sleep(3000)]);
    if (!p.exited) {
      process.kill(p.pid, 'SIGKILL');
      await p.exit;
    }
  }
  for (const kid of kids) killIfSame(kid, 'SIGKILL');
}

function stopAllNow() {
  for (const p of live) {
    const kids = childrenOf(p.pid);
    try {
      process.kill(p.pid, 'SIGKILL');
    } catch {
      // gone
    }
    for (const kid of kids) killIfSame(kid, 'SIGKILL');
  }
}
/** Ctrl-C or SIGTERM stops every process started here. */
function stopOnSignals() {
  for (const sig of ['SIGINT', 'SIGTERM']) {
    process.on(sig, () => {
      console.error(`\nbench: ${sig}, stopping ${live.size} process(es)`);
      stopAllNow();
      process.exit(130);
    });
  }
}

/** Whether we have a controlling terminal: /dev/tty opens. */
function onTerminal() {
  try {
    fs.closeSync(fs.openSync('/dev/tty', fs.constants.O_RDONLY | fs.constants.O_NOCTTY | fs.constants.O_NONBLOCK));
    return true;
  } catch {
    return false;
  }
}

/**
 * Every server runs as a daemon does, in a session without a controlling terminal: ninetd gives
 * its handlers sessions of their own only when it has a terminal (docs/handlers.md, Session).
 * From a terminal the benchmark runs itself again under setsid(1), in a session of its own,
 * and passes Ctrl-C on to it as SIGTERM.
 */
function rerunWithoutTerminal() {
  const child = spawn('setsid', [process.execPath, ...process.execArgv, ...process.argv.slice(1)], { stdio: 'inherit' });
  for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => child.kill('SIGTERM'));
  child.on('exit', (code, signal) => process.exit(code ?? (signal ? 130 : 1)));
}

// ---------------------------------------------------------------------------------------------
// Building

function compile() {
  fs.mkdirSync(CACHE, { recursive: true });
  for (const name of ['loadgen', 'forkserver', 'nofork', 'hello', 'udpwait']) {
    const src = path.join(BENCH, `${name}.c`);
    const out = bin(name);
    if (fs.existsSync(out) && fs.statSync(out).mtimeMs >= fs.statSync(src).mtimeMs) continue;
    const r = spawnSync('cc', ['-O2', '-Wall', '-o', out, src], { stdio: 'inherit' });
    if (r.status !== 0) throw new Error(`cc failed on bench/${name}.c`);
  }
}

// ---------------------------------------------------------------------------------------------
// Anchors: unpacked from Debian packages into bench/.cache/anchors, never installed.

const ANCHOR_PKGS = { 'openbsd-inetd': 'usr/sbin/inetd', xinetd: 'usr/sbin/xinetd', tcpserver: 'usr/bin/tcpserver' };
const DEB_NAMES = { 'openbsd-inetd': 'openbsd-inetd', xinetd: 'xinetd', tcpserver: 'ucspi-tcp' };
/** Libraries the anchors link against that a machine may lack; unpacked beside them. */
const LIB_DEBS = ['libwrap0'];
const LIB_DIRS = ['lib/x86_64-linux-gnu', 'usr/lib/x86_64-linux-gnu'].map((d) => path.join(ANCHOR_ROOT, d));

function sh(cmd, args, cwd) {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', timeout: 180000 });
  return { ok: r.status === 0, out: `${r.stdout ?? ''}${r.stderr ?? ''}${r.error ? r.error.message : ''}` };
}

function setupAnchors() {
  const status = {};
  const debs = path.join(ANCHOR_DIR, 'debs');
  fs.mkdirSync(debs, { recursive: true });
  const have = () => fs.readdirSync(debs).filter((f) => f.endsWith('.deb'));
  const missing = () => [...Object.values(DEB_NAMES), ...LIB_DEBS].filter((d) => !have().some((f) => f.startsWith(`${d}_`)));
  if (missing().length) {
    let r = sh('apt-get', ['download', ...missing()], debs);
    if (!r.ok) {
      // The package lists may be missing or stale on a fresh machine.
      sh('apt-get', ['update'], debs);
      r = sh('apt-get', ['download', ...missing()], debs);
    }
    if (!r.ok) console.error(`bench: apt-get download failed: ${lastLine(r.out)}`);
  }
  for (const [name, rel] of Object.entries(ANCHOR_PKGS)) {
    const deb = have().find((f) => f.startsWith(`${DEB_NAMES[name]}_`));
    if (!deb) {
      status[name] = { ok: false, reason: `could not download the ${DEB_NAMES[name]} package` };
      continue;
    }
    const exe = path.join(ANCHOR_ROOT, rel);
    if (!fs.existsSync(exe)) {
      const r = sh('dpkg', ['-x', path.join(debs, deb), ANCHOR_ROOT]);
      if (!r.ok) {
        status[name] = { ok: false, reason: `dpkg -x failed: ${lastLine(r.out)}` };
        continue;
      }
    }
    const version = sh('dpkg-deb', ['-f', path.join(debs, deb), 'Version']).out.trim();
    // The binaries are linked against libraries the unpacked package does not bring: the
    // machine's, else those unpacked from LIB_DEBS, given to the dynamic loader on its command
    // line (a wrapper script), so that the anchor's handlers do not inherit a library path.
    const notFound = (env) => sh('env', [...env, 'ldd', exe]).out.split('\n').filter((l) => l.includes('not found'));
    let run = exe;
    if (notFound([]).length) {
      for (const lib of LIB_DEBS) {
        const libDeb = have().find((f) => f.startsWith(`${lib}_`));
        if (libDeb && !fs.existsSync(path.join(ANCHOR_DIR, `${lib}.unpacked`)) && sh('dpkg', ['-x', path.join(debs, libDeb), ANCHOR_ROOT]).ok)
          fs.writeFileSync(path.join(ANCHOR_DIR, `${lib}.unpacked`), '');
      }
      const still = notFound([`LD_LIBRARY_PATH=${LIB_DIRS.join(':')}`]);
      const loader = /\s(\/\S*ld-linux\S*)/.exec(sh('ldd', [exe]).out)?.[1];
      if (still.length || !loader) {
        status[name] = { ok: false, reason: `missing libraries: ${(still.length ? still : notFound([])).map((l) => l.trim().split(' ')[0]).join(', ')}` };
        continue;
      }
      run = path.join(ANCHOR_DIR, `run-${name}`);
      fs.writeFileSync(run, `#!/bin/sh\nexec ${loader} --library-path ${LIB_DIRS.join(':')} ${exe} "$@"\n`, { mode: 0o755 });
    }
    status[name] = { ok: true, exe: run, version, package: DEB_NAMES[name] };
  }
  // openbsd-inetd takes ports only from /etc/services and finds its internal services by those
  // names; it runs in a private mount namespace where our own services file is bind-mounted.
  if (status['openbsd-inetd']?.ok && !sh('unshare', ['-m', 'true']).ok) {
    status['openbsd-inetd'] = { ok: false, reason: 'needs `unshare -m` (root) to give it a services file' };
  }
  return status;
}

// ---------------------------------------------------------------------------------------------
// Ports and readiness

async function freePort(proto, host) {
  if (proto === 'tcp') {
    const s = net.createServer();
    await new Promise((res, rej) => s.once('error', rej).listen(0, host, res));
    const { port } = s.address();
    await new Promise((res) => s.close(res));
    return port;
  }
  const s = dgram.createSocket(host.includes(':') ? 'udp6' : 'udp4');
  await new Promise((res, rej) => s.once('error', rej).bind(0, host, res));
  const { port } = s.address();
  await new Promise((res) => s.close(res));
  return port;
}

/** The local port and state of every IPv4 and IPv6 socket of `proto` ('tcp' or 'udp'), from /proc, so no traffic. */
function procSockets(proto) {
  const out = [];
  for (const file of [`/proc/net/${proto}`, `/proc/net/${proto}6`]) {
    let text;
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length > 3) out.push({ port: parseInt(f[1].split(':')[1], 16), listening: f[3] === '0A' });
    }
  }
  return out;
}

/** Is something bound to the port (listening, for TCP)? */
function isBound(proto, port) {
  return procSockets(proto).some((s) => s.port === port && (proto === 'udp' || s.listening));
}

async function waitBound(p, proto, port, ms = 10000) {
  const until = Date.now() + ms;
  while (Date.now() < until && !p.exited) {
    if (isBound(proto, port)) return;
    await sleep(20);
  }
  throw new Error(`${p.exited ? `exited (${p.code})` : `port ${port} not bound`}: ${lastLine(p.out)}`);
}

// ---------------------------------------------------------------------------------------------
// Servers. start(sc, tag) returns { p, port } once the server is ready.

const ME = os.userInfo().username;
const svcName = (sc) => sc.builtin ?? `bench-${sc.id}`;
const sockType = (sc) => (sc.proto === 'tcp' ? 'stream' : 'dgram');
const v6 = (sc) => sc.host.includes(':');
const waitField = (sc) => (sc.proto === 'udp' ? 'wait' : 'nowait');
const program = (sc) => (sc.builtin ? 'internal' : sc.exec.join(' '));

/** bench/forkserver in one of its vfork modes (`flag` -v, or -s: -v with a new session per handler), for exec scenarios. */
function vforkServer(id, label, flag) {
  return {
    id,
    label: () => label,
    supports: (sc) => sc.proto === 'tcp' && Boolean(sc.exec),
    async start(sc, tag) {
      const p = launch(bin('forkserver'), [flag, '0', ...sc.exec], tag);
      const m = await waitForOutput(p, /\{"port":(\d+)\}/, 5000);
      return { p, port: Number(m[1]) };
    },
  };
}

const SERVERS = [
  {
    id: 'ninetd',
    label: () => 'ninetd',
    supports: () => true,
    async start(sc, tag) {
      const dir = path.join(RUNDIR, tag);
      fs.mkdirSync(dir, { recursive: true });
      const name = svcName(sc);
      // Port 0 in the services file: ninetd binds an ephemeral port and logs it.
      fs.writeFileSync(path.join(dir, 'services'), `${name} 0/${sc.proto}\n`);
      const host = v6(sc) ? `[${sc.host}]` : sc.host;
      const proto = `${sc.proto}${v6(sc) ? '6' : ''}`;
      fs.writeFileSync(
        path.join(dir, 'inetd.conf'),
        `${host}:${name} ${sockType(sc)} ${proto} ${waitField(sc)} - ${program(sc)}\n`,
      );
      const p = launch(
        process.execPath,
        [...NINETD_FLAGS, NINETD, '-d', '-p', '', '-R', '0', '--services', path.join(dir, 'services'), path.join(dir, 'inetd.conf')],
        tag,
      );
      const m = await waitForOutput(p, /"port":(\d+)[^\n]*"msg":"listening"[\s\S]*"msg":"started"/, 15000);
      return { p, port: Number(m[1]) };
    },
  },
  {
    id: 'c-limit',
    // Without a fork for the internal services (the generator's ceiling), with fork+exec for
    // the handlers: the least any super-server has to do.
    label: (sc) => (sc.builtin ? 'C no-fork' : 'C fork+exec'),
    supports: () => true,
    async start(sc, tag) {
      let args;
      if (sc.builtin) {
        args = [bin('nofork'), sc.proto === 'udp' ? 'udp-echo' : sc.builtin, '0', sc.host];
      } else {
        args = [bin('forkserver'), ...(sc.proto === 'udp' ? ['-u'] : []), '0', ...sc.exec];
      }
      const p = launch(args[0], args.slice(1), tag);
      const m = await waitForOutput(p, /\{"port":(\d+)\}/, 5000);
      return { p, port: Number(m[1]) };
    },
  },
  // The true floor of a spawning server: vfork shares our memory until exec (as ninetd's
  // clone(CLONE_VM | CLONE_VFORK) does), so no page tables are copied.
  vforkServer('c-vfork', 'C vfork+exec', '-v'),
  // The same, each handler the leader of a new session, as openbsd-inetd's and xinetd's are.
  vforkServer('c-vfork-setsid', 'C vfork+setsid', '-s'),
  {
    id: 'openbsd-inetd',
    label: () => 'openbsd-inetd',
    supports: () => true,
    async start(sc, tag, anchor) {
      const dir = path.join(RUNDIR, tag);
      fs.mkdirSync(dir, { recursive: true });
      const port = await freePort(sc.proto, sc.host);
      const name = svcName(sc);
      const services = path.join(dir, 'services');
      const conf = path.join(dir, 'inetd.conf');
      fs.writeFileSync(services, `${name} ${port}/${sc.proto}\n`);
      const proto = `${sc.proto}${v6(sc) ? '6' : ''}`;
      fs.writeFileSync(conf, `${sc.host}:${name} ${sockType(sc)} ${proto} ${waitField(sc)} ${ME} ${program(sc)}\n`);
      // -i: stay in the foreground; -R: its spawn-rate guard, out of the way like ninetd's.
      // `exec` keeps the pid: unshare execs sh, which execs inetd.
      const p = launch(
        'unshare',
        ['-m', 'sh', '-c', `mount --bind "$1" /etc/services && exec "$2" -i -R 100000000 "$3"`, 'sh', services, anchor.exe, conf],
        tag,
      );
      await waitBound(p, sc.proto, port);
      return { p, port };
    },
  },
  {
    id: 'xinetd',
    label: () => 'xinetd',
    supports: () => true,
    async start(sc, tag, anchor) {
      const dir = path.join(RUNDIR, tag);
      fs.mkdirSync(dir, { recursive: true });
      const port = await freePort(sc.proto, sc.host);
      const conf = path.join(dir, 'xinetd.conf');
      // cps and instances lift its rate and instance limits (default 50 connections/s).
      // flags IPv4/IPv6 are needed: without them its internal UDP services call recvfrom with
      // a zero address length and answer to a garbage address.
      const lines = [
        'defaults',
        '{',
        '\tinstances = UNLIMITED',
        '\tper_source = UNLIMITED',
        '\tcps = 1000000 1',
        '\tlog_on_success =',
        '\tlog_on_failure =',
        '}',
        `service ${svcName(sc)}`,
        '{',
        `\ttype = ${sc.builtin ? 'INTERNAL UNLISTED' : 'UNLISTED'}`,
        ...(sc.builtin ? [`\tid = ${sc.builtin}-${sockType(sc)}`] : []),
        `\tsocket_type = ${sockType(sc)}`,
        `\tprotocol = ${sc.proto}`,
        `\twait = ${sc.proto === 'udp' ? 'yes' : 'no'}`,
        `\tuser = ${ME}`,
        `\tbind = ${sc.host}`,
        `\tport = ${port}`,
        `\tflags = ${v6(sc) ? 'IPv6' : 'IPv4'}`,
        '\tcps = 1000000 1',
        '\tinstances = UNLIMITED',
        ...(sc.exec ? [`\tserver = ${sc.exec[0]}`] : []),
        '}',
      ];
      fs.writeFileSync(conf, `${lines.join('\n')}\n`);
      const p = launch(
        anchor.exe,
        ['-dontfork', '-f', conf, '-filelog', path.join(dir, 'xinetd.log'), '-pidfile', path.join(dir, 'xinetd.pid')],
        tag,
      );
      await waitBound(p, sc.proto, port);
      return { p, port };
    },
  },
  {
    id: 'tcpserver',
    label: () => 'tcpserver',
    supports: (sc) => sc.proto === 'tcp' && Boolean(sc.exec),
    async start(sc, tag, anchor) {
      const port = await freePort('tcp', sc.host);
      // -H -R -l0: no DNS or ident lookups (no traffic beyond loopback); -b 128: the same
      // listen backlog as openbsd-inetd, more than its default 20 (which is below 32 clients).
      const p = launch(anchor.exe, ['-c', '1000', '-b', '128', '-HRl0', sc.host, String(port), sc.exec[0]], tag);
      await waitBound(p, 'tcp', port);
      return { p, port };
    },
  },
];

// ---------------------------------------------------------------------------------------------
// Measuring

function loadgen(args, maxMs) {
  return new Promise((resolve, reject) => {
    const child = spawn(bin('loadgen'), args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const p = { pid: child.pid };
    live.add(p);
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    // loadgen bounds itself; this is only a backstop.
    const timer = setTimeout(() => child.kill('SIGKILL'), maxMs);
    child.on('exit', (code) => {
      clearTimeout(timer);
      live.delete(p);
      if (code !== 0) return reject(new Error(`loadgen exited ${code}: ${err.trim()}`));
      try {
        resolve(JSON.parse(out.trim().split('\n').pop()));
      } catch {
        reject(new Error(`loadgen output: ${out.slice(0, 200)}`));
      }
    });
  });
}

const loadArgs = (sc, port, clients) => [
  '-a', sc.host, '-p', String(port), '-m', sc.proto, '-c', String(clients), ...sc.load,
];

/** server.start(), but a server that started and then never became ready is stopped too. */
async function startServer(server, sc, tag, anchor) {
  try {
    return await server.start(sc, tag, anchor);
  } catch (err) {
    for (const p of [...live]) if (p.tag === tag) await stop(p);
    throw err;
  }
}

/** Let handlers of the run finish (a wait handler exits 200 ms after its last datagram). */
async function settle(pid, ms) {
  const until = Date.now() + ms;
  while (Date.now() < until && childrenOf(pid).length > 0) await sleep(50);
}

async function measure(server, sc, clients, anchor) {
  const tag = `${sc.id}-c${clients}-${server.id}`;
  const base = { scenario: sc.id, clients, server: server.id, label: server.label(sc) };
  let srv;
  try {
    try {
      srv = await startServer(server, sc, tag, anchor);
    } catch (err) {
      // One more try for a server that did not start: the work tree may be shared with a
      // build in progress. A failure during the run itself is not retried.
      console.error(`bench: ${tag}: did not start (${err.message}); trying once more`);
      await sleep(2000);
      base.start_retry = err.message;
      srv = await startServer(server, sc, `${tag}-retry`, anchor);
    }
    await sleep(300); // past start-up, so that "idle" is idle
    const rssIdle = statusKb(srv.p.pid, 'VmRSS');
    const cpu0 = cpuMs(srv.p.pid);
    const r = await loadgen(
      [...loadArgs(sc, srv.port, clients), '-t', String(DURATION)],
      DURATION * 1000 + 20000,
    );
    const cpu1 = cpuMs(srv.p.pid);
    if (!cpu1 || srv.p.exited) throw new Error(`server exited during the run: ${lastLine(srv.p.out)}`);
    await settle(srv.p.pid, 1000);
    const rssAfter = statusKb(srv.p.pid, 'VmRSS');
    return {
      ...base,
      ok: true,
      ...r,
      cpu_ms_per_req: r.requests ? (cpu1.self - cpu0.self) / r.requests : null,
      supervisor_cpu_ms: cpu1.self - cpu0.self,
      children_cpu_ms: cpu1.children - cpu0.children,
      rss_idle_kb: rssIdle,
      rss_after_kb: rssAfter,
      rss_hwm_kb: statusKb(srv.p.pid, 'VmHWM'),
    };
  } catch (err) {
    return { ...base, ok: false, error: err.message };
  } finally {
    if (srv) await stop(srv.p);
  }
}

// ---------------------------------------------------------------------------------------------
// Start-up and reload at scale: N exec services (bench/hello) on fixed loopback ports below the
// ephemeral range, so that openbsd-inetd (which takes ports from /etc/services only) can serve
// the same set. "Ready" is the moment the last service's port accepts a connection (after which
// every port is checked to be listening); "reload" appends one service, sends SIGHUP and waits
// until that new port accepts. Then the first service serves the exec load at 1 and 32 clients:
// what the size of the table costs each spawn.

const SCALE_SIZES = [500, 5000];

/** TCP ports in LISTEN now. */
function listeningPorts() {
  return new Set(procSockets('tcp').filter((s) => s.listening).map((s) => s.port));
}

/** `n` ports nobody listens on, below the ephemeral range (so no client socket takes one meanwhile). */
function scalePorts(n) {
  const low = Number(fs.readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]) || 32768;
  const taken = listeningPorts();
  const out = [];
  for (let port = 10000; port < low && out.length < n; port++) if (!taken.has(port)) out.push(port);
  if (out.length < n) throw new Error(`only ${out.length} free ports below ${low}`);
  return out;
}

/** Resolves with the ms from `t0` until `port` accepts a connection (bounded by `ms`). */
async function acceptsAt(p, port, t0, ms = 60000) {
  for (;;) {
    const ok = await new Promise((resolve) => {
      const s = net.connect(port, '127.0.0.1');
      s.once('connect', () => (s.destroy(), resolve(true)));
      s.once('error', () => resolve(false));
    });
    const now = performance.now();
    if (ok) return now - t0;
    if (p.exited || now - t0 > ms) throw new Error(`${p.exited ? `exited (${p.code})` : `port ${port} not listening`}: ${lastLine(p.out)}`);
    await sleep(2);
  }
}

/** Start-up and reload times of `server` with `n` services. */
async function scaleRun(server, n, anchor) {
  const tag = `scale-${n}-${server}`;
  const dir = path.join(RUNDIR, tag);
  fs.mkdirSync(dir, { recursive: true });
  const ports = scalePorts(n + 1);
  const services = path.join(dir, 'services');
  const conf = path.join(dir, 'inetd.conf');
  fs.writeFileSync(services, ports.map((port, i) => `s${i} ${port}/tcp\n`).join(''));
  const user = server === 'ninetd' ? '-' : ME;
  const lines = (k) => ports.slice(0, k).map((_, i) => `127.0.0.1:s${i} stream tcp nowait ${user} ${HELLO} hello\n`).join('');
  fs.writeFileSync(conf, lines(n));
  const t0 = performance.now();
  const p =
    server === 'ninetd'
      ? launch(process.execPath, [...NINETD_FLAGS, NINETD, '-d', '-p', '', '-R', '0', '--services', services, conf], tag)
      : launch('unshare', ['-m', 'sh', '-c', 'mount --bind "$1" /etc/services && exec "$2" -i -R 100000000 "$3"', 'sh', services, anchor.exe, conf], tag);
  try {
    const startMs = await acceptsAt(p, ports[n - 1], t0);
    const listening = listeningPorts();
    const bound = ports.slice(0, n).filter((port) => listening.has(port)).length;
    const cpuStart = cpuMs(p.pid)?.self ?? null;
    await sleep(300);
    const rssKb = statusKb(p.pid, 'VmRSS');
    fs.writeFileSync(conf, lines(n + 1));
    const cpu0 = cpuMs(p.pid)?.self ?? null;
    const t1 = performance.now();
    process.kill(p.pid, 'SIGHUP');
    const reloadMs = await acceptsAt(p, ports[n], t1);
    await sleep(300);
    const cpu1 = cpuMs(p.pid)?.self ?? null;
    const rssAfterReload = statusKb(p.pid, 'VmRSS');
    return {
      ok: true, server, services: n, start_ms: startMs, bound, start_cpu_ms: cpuStart, reload_ms: reloadMs,
      reload_cpu_ms: cpu0 !== null && cpu1 !== null ? cpu1 - cpu0 : null, rss_kb: rssKb, rss_after_reload_kb: rssAfterReload,
      exec: await scaleExec(p, ports[0]),
    };
  } catch (err) {
    return { ok: false, server, services: n, error: err.message };
  } finally {
    await stop(p);
  }
}

/** The exec-hello load on `port` at each client count: { [clients]: { rate, errors, us_per_req } }. */
async function scaleExec(p, port) {
  const sc = SCENARIOS.find((s) => s.id === 'exec-hello');
  const out = {};
  for (const clients of CLIENTS) {
    const cpu0 = cpuMs(p.pid)?.self ?? null;
    const r = await loadgen([...loadArgs(sc, port, clients), '-t', String(DURATION)], DURATION * 1000 + 20000);
    const cpu1 = cpuMs(p.pid)?.self ?? null;
    if (p.exited) throw new Error(`exited during the exec load: ${lastLine(p.out)}`);
    out[clients] = { rate: r.rate, errors: r.errors, us_per_req: r.requests && cpu0 !== null && cpu1 !== null ? ((cpu1 - cpu0) * 1000) / r.requests : null };
  }
  return out;
}

async function scale(anchors) {
  const out = [];
  const servers = ['ninetd', 'openbsd-inetd'].filter((server) => server === 'ninetd' || anchors[server]?.ok);
  for (const n of SCALE_SIZES) {
    const rounds = new Map(servers.map((server) => [server, []]));
    for (let round = 1; round <= ROUNDS; round++) {
      for (const server of servers) {
        const r = await scaleRun(server, n, anchors[server]);
        rounds.get(server).push(r);
        const execs = r.ok ? CLIENTS.map((c) => `, exec c${c} ${Math.round(r.exec[c].rate)}/s`).join('') : '';
        console.error(`bench: scale ${n} ${server}${ROUNDS > 1 ? ` (round ${round})` : ''}: ${r.ok ? `ready ${Math.round(r.start_ms)} ms, reload ${Math.round(r.reload_ms)} ms${execs}` : `FAILED: ${r.error}`}`);
      }
    }
    for (const server of servers) out.push(medianScale(rounds.get(server)));
  }
  return out;
}

/**
 * One server's scale rounds: the round with the median start-up time, its reload time replaced
 * by the median of the rounds' reloads (the two are measured apart). A failed round counts as the
 * slowest; a server that failed in most rounds is reported failed.
 */
function medianScale(rounds) {
  const mid = (key) => {
    const sorted = [...rounds].sort((a, b) => (a.ok ? a[key] : Infinity) - (b.ok ? b[key] : Infinity));
    return sorted[Math.floor((sorted.length - 1) / 2)];
  };
  const start = mid('start_ms');
  if (!start.ok) return { ...start, rounds: rounds.length };
  const reload = mid('reload_ms');
  // Per client count, the exec figures of the round with the median rate.
  const ok = rounds.filter((r) => r.ok);
  const exec = Object.fromEntries(
    CLIENTS.map((c) => {
      const sorted = ok.map((r) => r.exec[c]).sort((a, b) => a.rate - b.rate);
      return [c, { ...sorted[Math.floor((sorted.length - 1) / 2)], round_rates: ok.map((r) => r.exec[c].rate) }];
    }),
  );
  return {
    ...start,
    exec,
    reload_ms: reload.ok ? reload.reload_ms : null,
    reload_cpu_ms: reload.ok ? reload.reload_cpu_ms : null,
    rounds: rounds.length,
    round_start_ms: rounds.map((r) => (r.ok ? r.start_ms : null)),
    round_reload_ms: rounds.map((r) => (r.ok ? r.reload_ms : null)),
  };
}

/** ninetd's memory over many connections to internal daytime, in two steps. */
async function soak() {
  const sc = SCENARIOS.find((s) => s.id === 'daytime');
  const clients = 32;
  const first = Math.min(10000, SOAK);
  let srv;
  try {
    srv = await startServer(SERVERS[0], sc, 'soak');
    await sleep(300);
    const out = { ok: true, clients, rss_idle_kb: statusKb(srv.p.pid, 'VmRSS'), steps: [] };
    let total = 0;
    for (const n of [first, SOAK - first]) {
      if (n <= 0) continue;
      // Bounded in count and in time: 10 minutes at most per step, whatever the rate.
      const r = await loadgen([...loadArgs(sc, srv.port, clients), '-n', String(n), '-t', '600'], 630000);
      total += r.requests + r.errors;
      await sleep(200);
      out.steps.push({
        total,
        requests: r.requests,
        errors: r.errors,
        seconds: r.seconds,
        rss_kb: statusKb(srv.p.pid, 'VmRSS'),
        hwm_kb: statusKb(srv.p.pid, 'VmHWM'),
      });
    }
    return out;
  } catch (err) {
    return { ok: false, error: err.message };
  } finally {
    if (srv) await stop(srv.p);
  }
}

function loadavg() {
  return os.loadavg().map((l) => Number(l.toFixed(2)));
}

function machine() {
  const cpu = os.cpus()[0]?.model ?? 'unknown';
  return {
    nproc: os.availableParallelism(),
    cpu,
    kernel: `${os.type()} ${os.release()}`,
    node: process.version,
    mem_gib: Math.round(os.totalmem() / 2 ** 30),
    loadavg: loadavg(),
    user: ME,
  };
}

/**
 * The median of one server's rounds by req/s (a failed round counts as the slowest), with every
 * round's req/s alongside. A server that failed in most rounds is reported failed.
 */
function medianRound(rounds) {
  const sorted = [...rounds].sort((a, b) => (a.ok ? a.rate : -1) - (b.ok ? b.rate : -1));
  const median = sorted[Math.floor((sorted.length - 1) / 2)];
  return { ...median, rounds: rounds.length, round_rates: rounds.map((r) => (r.ok ? r.rate : null)) };
}

// ---------------------------------------------------------------------------------------------

async function main() {
  stopOnSignals();
  if (!fs.existsSync(NINETD)) {
    console.error('bench: dist/cli.js is missing; run `npm run build` first');
    process.exit(1);
  }
  const t0 = Date.now();
  const atStart = machine();
  compile();
  fs.rmSync(RUNDIR, { recursive: true, force: true });
  fs.mkdirSync(RUNDIR, { recursive: true });

  const anchors = opts['no-anchors'] ? {} : setupAnchors();
  for (const [name, st] of Object.entries(anchors)) {
    console.error(`bench: ${name}: ${st.ok ? `${st.package} ${st.version}` : `skipped, ${st.reason}`}`);
  }

  const scenarios = SCENARIOS.filter((sc) => !ONLY || ONLY.test(sc.id));
  const results = [];
  for (const sc of scenarios) {
    for (const clients of CLIENTS) {
      const servers = SERVERS.filter((server) => server.supports(sc) && (!(server.id in ANCHOR_PKGS) || anchors[server.id]?.ok));
      // The servers take turns, round after round, so that a slow spell of the machine falls on
      // all of them rather than on one; each server's median round is kept.
      const rounds = new Map(servers.map((server) => [server.id, []]));
      for (let round = 1; round <= ROUNDS; round++) {
        for (const server of servers) {
          const r = await measure(server, sc, clients, anchors[server.id]);
          rounds.get(server.id).push(r);
          const what = r.ok
            ? `${Math.round(r.rate)} req/s, ${r.errors} errors, p99 ${r.p99_ms} ms`
            : `FAILED: ${r.error}`;
          console.error(`bench: ${sc.id} c=${clients} ${r.label}${ROUNDS > 1 ? ` (round ${round})` : ''}: ${what}`);
        }
      }
      for (const server of servers) results.push(medianRound(rounds.get(server.id)));
    }
  }

  const scaleResults = !ONLY || ONLY.test('scale') ? await scale(anchors) : null;
  const soakResult = SOAK > 0 && (!ONLY || ONLY.test('soak')) ? await soak() : null;
  if (soakResult) {
    console.error(`bench: soak: ${soakResult.ok ? 'done' : `FAILED: ${soakResult.error}`}`);
  }

  const data = {
    date: new Date().toISOString(),
    machine: { ...atStart, loadavg_end: loadavg() },
    settings: { duration_s: DURATION, rounds: ROUNDS, clients: CLIENTS, soak: SOAK, quick: opts.quick, only: opts.only ?? null },
    scenarios: scenarios.map(({ id, title, proto, host }) => ({ id, title, proto, host })),
    anchors,
    results,
    soak: soakResult,
    scale: scaleResults,
    wall_s: Math.round((Date.now() - t0) / 1000),
  };
  fs.writeFileSync(path.join(CACHE, 'last.json'), `${JSON.stringify(data, null, 2)}\n`);

  console.log(`\nninetd benchmark, ${data.date}, ${data.machine.nproc} cores, ${data.machine.kernel}, node ${data.machine.node}`);
  console.log(`${DURATION} s per run, median of ${ROUNDS} round${ROUNDS > 1 ? 's' : ''}; figures vary from run to run (loopback, generator on the same cores)\n`);
  console.log(toText(resultsTable(data)));
  console.log('\nninetd req/s divided by the other server\'s (above 1: ninetd is faster)\n');
  const ratios = ratiosTable(data);
  console.log(toText(ratios));
  if (ratios.rows.some((r) => r.some((c) => c.endsWith('*')))) {
    console.log('* the other server had errors (lost or refused requests): see its row above');
  }
  if (scaleResults) {
    console.log('\nStart-up (until the last service accepts) and reload (one service added, until it accepts)');
    console.log(toText(scaleTable(data)));
  }
  if (soakResult) {
    console.log(`\nRSS soak: ninetd, internal daytime, ${SOAK} connections`);
    console.log(soakResult.ok ? toText(soakTable(data)) : `failed: ${soakResult.error}`);
  }
  console.log(`\nraw results: ${path.relative(ROOT, path.join(CACHE, 'last.json'))} (${data.wall_s} s); ` +
    'node bench/report.mjs writes docs/benchmarks.md');
}

if (onTerminal()) {
  rerunWithoutTerminal();
} else {
  main().catch((err) => {
    console.error(`bench: ${err.stack ?? err}`);
    stopAllNow();
    process.exit(1);
  });
}
