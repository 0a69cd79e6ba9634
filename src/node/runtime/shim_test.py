# Unit tests of the shim (run by runtime/python.test.ts, so `npm test` covers them): path
# resolution inside a root, CRI log lines, the copying fallback's whiteouts, PATH lookup, resize
# messages, and an exec session's frames end to end over a socket pair.
import json
import os
import pty
import struct
import fcntl
import shutil
import stat
import sys
import socket
import tempfile
import termios
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import shim


class Protocol(unittest.TestCase):
    start = {'op': 'start', 'id': 1, 'name': 'app', 'attempt': 0, 'argv': ['sh'], 'env': {},
             'cwd': '/', 'cgroupProcs': [], 'logFile': 'app/0.log'}

    def test_requests_as_the_schema_says_pass(self):
        shim.check_request(self.start)
        shim.check_request(dict(self.start, uid=33, gid=33, rootfs={'layers': []}))
        shim.check_request({'op': 'signal', 'id': 2, 'name': 'app', 'signal': 15, 'group': True})
        shim.check_request({'op': 'state', 'id': 3})

    def test_bad_requests_are_refused_with_a_reason(self):
        cases = [
            ({'op': 'run', 'id': 1}, "unknown op 'run'"),
            ({'op': 'exec', 'id': 1, 'name': 'app'}, 'exec: missing argv'),
            ({k: v for k, v in self.start.items() if k != 'argv'}, 'start: missing argv'),
            (dict(self.start, extra=1), 'start: unknown field extra'),
            (dict(self.start, attempt='0'), 'start: attempt must be a number'),
            ({'op': 'signal', 'name': 'app', 'signal': True}, 'signal: signal must be a number'),
        ]
        for req, message in cases:
            with self.assertRaises(ValueError) as ctx:
                shim.check_request(req)
            self.assertEqual(str(ctx.exception), message)


class ResolveInRoot(unittest.TestCase):
    def setUp(self):
        self.root = tempfile.mkdtemp()
        os.makedirs(os.path.join(self.root, 'run'))
        os.makedirs(os.path.join(self.root, 'var'))
        os.symlink('/run', os.path.join(self.root, 'var', 'run'))
        os.symlink('../../../../etc', os.path.join(self.root, 'up'))

    def tearDown(self):
        shutil.rmtree(self.root)

    def test_absolute_links_resolve_against_the_root(self):
        self.assertEqual(shim.resolve_in_root(self.root, '/var/run/secrets'), self.root + '/run/secrets')

    def test_dotdot_never_leaves_the_root(self):
        self.assertEqual(shim.resolve_in_root(self.root, '/../../etc/x'), self.root + '/etc/x')
        self.assertEqual(shim.resolve_in_root(self.root, '/up/x'), self.root + '/etc/x')


class CriLog(unittest.TestCase):
    def test_lines_partials_and_rotation(self):
        d = tempfile.mkdtemp()
        try:
            fd = os.open(d, os.O_RDONLY | os.O_DIRECTORY)
            log = shim.Log(fd, 'c.log', 200)
            log.write(b'stdout', b'one\ntw')
            log.write(b'stdout', b'o\n')
            log.write(b'stderr', b'tail')
            log.flush()
            lines = open(os.path.join(d, 'c.log'), 'rb').read().split(b'\n')
            self.assertEqual([l.split(b' ', 1)[1] for l in lines if l],
                             [b'stdout F one', b'stdout F two', b'stderr P tail'])
            for _ in range(5):
                log.write(b'stdout', b'x' * 40 + b'\n')
            log.close()
            os.close(fd)
            self.assertTrue(os.path.exists(os.path.join(d, 'c.log.1')))
            self.assertLessEqual(os.path.getsize(os.path.join(d, 'c.log')), 200)
        finally:
            shutil.rmtree(d)


@unittest.skipUnless(os.geteuid() == 0, 'whiteouts are device nodes: needs root')
class CopyLayers(unittest.TestCase):
    def test_whiteouts_and_opaque_dirs(self):
        d = tempfile.mkdtemp()
        try:
            l1, l2, out = (os.path.join(d, n) for n in ('l1', 'l2', 'out'))
            for p in ('etc', 'opq'):
                os.makedirs(os.path.join(l1, p))
            open(os.path.join(l1, 'etc', 'gone'), 'w').write('1')
            open(os.path.join(l1, 'etc', 'kept'), 'w').write('1')
            open(os.path.join(l1, 'opq', 'old'), 'w').write('1')
            os.symlink('kept', os.path.join(l1, 'etc', 'link'))
            os.makedirs(os.path.join(l2, 'etc'))
            os.makedirs(os.path.join(l2, 'opq'))
            os.mknod(os.path.join(l2, 'etc', 'gone'), stat.S_IFCHR, os.makedev(0, 0))
            os.setxattr(os.path.join(l2, 'opq'), 'trusted.overlay.opaque', b'y')
            open(os.path.join(l2, 'opq', 'new'), 'w').write('2')
            os.makedirs(out)
            shim.copy_layers([l1, l2], out)
            self.assertEqual(sorted(os.listdir(os.path.join(out, 'etc'))), ['kept', 'link'])
            self.assertEqual(os.readlink(os.path.join(out, 'etc', 'link')), 'kept')
            self.assertEqual(os.listdir(os.path.join(out, 'opq')), ['new'])
        finally:
            shutil.rmtree(d)


class ExecInPath(unittest.TestCase):
    def run_child(self, argv, env):
        pid = os.fork()
        if pid == 0:
            try:
                shim.exec_in_path(argv, env)
            except OSError as e:
                os._exit(100 + e.errno % 100)
        _, st = os.waitpid(pid, 0)
        return os.waitstatus_to_exitcode(st)

    def test_searches_the_env_path(self):
        self.assertEqual(self.run_child(['true'], {'PATH': '/nonexistent:/bin:/usr/bin'}), 0)

    def test_reports_a_missing_command(self):
        self.assertEqual(self.run_child(['no-such-cmd'], {'PATH': '/bin'}), 102)


class PtyResize(unittest.TestCase):
    def test_resize_messages(self):
        master, slave = pty.openpty()
        try:
            self.assertTrue(shim.apply_resize(master, b'{"Width": 91, "Height": 27}'))
            rows, cols = struct.unpack('HHHH', fcntl.ioctl(slave, termios.TIOCGWINSZ, b'\0' * 8))[:2]
            self.assertEqual((rows, cols), (27, 91))
            self.assertFalse(shim.apply_resize(master, b'not json'))
            self.assertFalse(shim.apply_resize(master, b'[1]'))
        finally:
            os.close(master)
            os.close(slave)


class ExecSession(unittest.TestCase):
    """exec_session in a child process, driven over a socket pair as shim-exec.ts drives it."""
    to_shim = shim.PROTOCOL['streams']['exec']['toShim']
    from_shim = shim.PROTOCOL['streams']['exec']['fromShim']

    def run_session(self, req, frames=(), hang_up=False):
        ours, theirs = socket.socketpair()
        spec = {'env': {'PATH': '/usr/bin:/bin', 'GREETING': 'hi'}, 'cwd': '/tmp', 'uid': None,
                'gid': None, 'cgroupProcs': []}
        pid = os.fork()
        if pid == 0:
            ours.close()
            code = 0
            try:
                shim.exec_session(theirs, b'', dict(req, op='exec', id=1), spec, None)
            except BaseException:
                code = 1
            os._exit(code)
        theirs.close()
        ours.settimeout(10)
        for ch, data in frames:
            ours.sendall(shim.frame(ch, data))
        f = ours.makefile('rb')
        reply = f.readline()
        if hang_up:
            ours.close()
            f.close()
            _, st = os.waitpid(pid, 0)
            return reply, st
        out, exit_code = {}, None
        while True:
            head = f.read(shim.FRAME.size)
            if len(head) < shim.FRAME.size:
                break
            ch, n = shim.FRAME.unpack(head)
            data = f.read(n)
            if ch == self.from_shim['exit']:
                exit_code = json.loads(data)['exitCode']
            else:
                out[ch] = out.get(ch, b'') + data
        f.close()
        ours.close()
        os.waitpid(pid, 0)
        return reply, out, exit_code

    def test_streams_stdin_env_cwd_and_the_exit_code(self):
        script = 'read line; echo "$line $GREETING $(pwd)"; echo oops >&2; exit 3'
        reply, out, code = self.run_session(
            {'name': 'app', 'argv': ['sh', '-c', script], 'stdin': True},
            [(self.to_shim['stdin'], b'hello\n'), (self.to_shim['closeStdin'], b'')])
        self.assertEqual(json.loads(reply), {'id': 1, 'ok': True})
        self.assertEqual(out.get(self.from_shim['stdout']), b'hello hi /tmp\n')
        self.assertEqual(out.get(self.from_shim['stderr']), b'oops\n')
        self.assertEqual(code, 3)

    def test_a_missing_command_exits_127_with_the_reason(self):
        _, out, code = self.run_session({'name': 'app', 'argv': ['no-such-cmd']})
        self.assertEqual(code, 127)
        self.assertIn(b'executable file not found', out.get(self.from_shim['stderr'], b''))

    def test_a_pty_session_is_a_terminal_of_the_asked_size(self):
        _, out, code = self.run_session(
            {'name': 'app', 'argv': ['sh', '-c', 'sleep 0.5; test -t 0 && stty size; echo $TERM'],
             'tty': True},
            [(self.to_shim['resize'], b'{"Width": 91, "Height": 27}')])
        self.assertEqual(code, 0)
        self.assertEqual(out.get(self.from_shim['stdout'], b'').replace(b'\r', b''), b'27 91\nxterm\n')

    def test_hanging_up_kills_the_command(self):
        reply, st = self.run_session({'name': 'app', 'argv': ['sleep', '30']}, hang_up=True)
        self.assertEqual(json.loads(reply)['ok'], True)
        self.assertEqual(os.waitstatus_to_exitcode(st), 0)


if __name__ == '__main__':
    unittest.main()
